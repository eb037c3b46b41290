package actions

import (
	"sync/atomic"

	"github.com/b7cafead/datapath/flow"
	dpio "github.com/b7cafead/datapath/io"
)

// TunnelPort is what tnl_push and tnl_pop need of a tunnel vport: its
// type, which selects how a header is pushed and how one is read (as
// OVS's netdev class of the port does, whatever the tnl_push header's own
// type says), and, for GRE, the sequence number the port's pushes count.
// A TunnelPort is shared by every goroutine that executes actions.
type TunnelPort struct {
	// Type is TunnelVXLAN, TunnelGeneve or TunnelGRE.
	Type uint32
	seq  atomic.Uint32
}

// NextSeq returns the GRE sequence number of the next packet pushed
// through the port and counts it: 0 first, as OVS starts its gre_seqno.
func (t *TunnelPort) NextSeq() uint32 { return t.seq.Add(1) - 1 }

// udp reports whether the port's header is UDP based.
func (t *TunnelPort) udp() bool { return t.Type == TunnelVXLAN || t.Type == TunnelGeneve }

// Tunneler is implemented by a Sink whose datapath has tunnel ports;
// without it, tnl_push and tnl_pop are refused.
type Tunneler interface {
	// TunnelPort returns datapath port port if it is a tunnel port, or
	// nil.
	TunnelPort(port uint32) *TunnelPort
	// TunnelReceive takes a packet tnl_pop decapsulated back into the
	// datapath, as OVS's userspace datapath recirculates it: key's
	// in_port is the tunnel port, its tunnel fields are what the outer
	// headers carried, and its other metadata (recirc_id, dp_hash,
	// skb_priority, skb_mark, conntrack) carry over; the headers are to
	// be extracted anew. pkt and key are lent as for Recirculate.
	TunnelReceive(pkt *dpio.Packet, key *flow.Key)
	// TunnelDrop is told of each packet tnl_push or tnl_pop dropped,
	// and why.
	TunnelDrop(reason TunnelDrop)
}

// TunnelDrop is why tnl_push or tnl_pop dropped a packet.
type TunnelDrop uint8

// Reasons for a tunnel action to drop a packet. The first three are
// OVS's coverage counters datapath_drop_tunnel_push_error,
// datapath_drop_invalid_tnl_port and (all the others)
// datapath_drop_tunnel_pop_error.
const (
	// DropTunnelPush: tnl_push's tunnel port is not a tunnel port, or the
	// packet's buffer has no room for the header.
	DropTunnelPush TunnelDrop = iota + 1
	// DropInvalidTunnelPort: tnl_pop's port is not a tunnel port.
	DropInvalidTunnelPort
	// DropPopTruncated: the packet is too short for the headers it
	// announces.
	DropPopTruncated
	// DropPopNotIP: no IPv4 or IPv6 header with a layer 4 (OVS asserts
	// this; we drop).
	DropPopNotIP
	// DropPopIPChecksum: the outer IPv4 header checksum is wrong.
	DropPopIPChecksum
	// DropPopIPLength: the IPv4 total length runs past the frame.
	DropPopIPLength
	// DropPopIPOptions: the outer IPv4 header has options.
	DropPopIPOptions
	// DropPopIPVersion: the outer IP header's version is not 4 or 6.
	DropPopIPVersion
	// DropPopL4Checksum: the UDP or GRE checksum is wrong.
	DropPopL4Checksum
	// DropPopHeader: the VXLAN, Geneve or GRE header is not valid (flags,
	// reserved bits, version, protocol), or a VXLAN-GPE OAM packet.
	DropPopHeader
	// DropPopUnsupported: the payload is NSH (VXLAN-GPE), which the
	// flow key does not have.
	DropPopUnsupported

	// NumTunnelDrops is one more than the largest reason, for tables
	// indexed by reason.
	NumTunnelDrops
)

var tunnelDropNames = [...]string{
	DropTunnelPush: "tunnel push error", DropInvalidTunnelPort: "invalid tunnel port",
	DropPopTruncated: "truncated", DropPopNotIP: "not IP", DropPopIPChecksum: "bad IPv4 checksum",
	DropPopIPLength: "bad IPv4 length", DropPopIPOptions: "IPv4 options", DropPopIPVersion: "bad IP version",
	DropPopL4Checksum: "bad UDP or GRE checksum", DropPopHeader: "bad tunnel header",
	DropPopUnsupported: "NSH payload",
}

// String names the reason.
func (r TunnelDrop) String() string {
	if int(r) < len(tunnelDropNames) && tunnelDropNames[r] != "" {
		return tunnelDropNames[r]
	}
	return "unknown"
}

// Tunnel header constants.
const (
	ethTypeIPv4     = 0x0800
	ethTypeIPv6     = 0x86dd
	vxlanFlags      = 0x08000000
	vxlanGPE        = 0x04000000 // VXLAN_HF_GPE, the next protocol bit
	vxlanGPEUsed    = 3<<28 | 1<<26 | 1<<24 | 0xff
	vxlanGPEOAM     = 0x01 // in the first byte
	vxlanGPEEth     = 3
	tnlUDPPortMin   = 32768 // OVS's default tunnel source port range
	tnlUDPPortMax   = 61000
	geneveBaseLen   = 8
	greBaseLen      = 4
	greKnownFlags   = greCsum | greKey | greSeq
	ethTypeMinValid = 0x600
)

// pushTunnel prepends the tnl_push header t to pkt as the tunnel port tp
// does (OVS's netdev_tnl_push_udp_header or netdev_gre_push_header):
// the IP total length (IPv4, with the header checksum updated
// incrementally) or payload length (IPv6), then for UDP the source port
// from the packet's RSS hash rss, the length and, when the header's
// checksum is not zero, the checksum; for GRE the checksum and the
// sequence number when its flags ask for them. It reports false if the
// buffer has no room for the header.
func pushTunnel(pkt *dpio.Packet, t *TunnelPush, tp *TunnelPort, rss uint32) bool {
	h := t.Header
	n := len(h)
	if n < 14+20 {
		return false
	}
	if _, err := pkt.Push(n); err != nil {
		// Not enough headroom: move the frame within the buffer.
		m := pkt.Len()
		if pkt.Tailroom() < n {
			return false
		}
		b := pkt.Extend()
		copy(b[n:], b[:m])
		pkt.SetLen(m + n)
	}
	b := pkt.Bytes()
	copy(b, h)
	ipTot := len(b) - 14
	var l4 []byte
	v6 := be.Uint16(b[12:]) == ethTypeIPv6
	if v6 {
		if n < 14+40 {
			return false
		}
		plen := ipTot - 40
		be.PutUint16(b[14+4:], uint16(plen))
		l4 = b[14+40:]
	} else {
		ip := b[14:]
		be.PutUint16(ip[2:], uint16(ipTot))
		be.PutUint16(ip[10:], Recalc16(be.Uint16(ip[10:]), 0, uint16(ipTot)))
		l4 = b[14+20:]
	}
	if tp.udp() {
		if len(l4) < 8 || n-(len(b)-len(l4)) < 8 {
			return true
		}
		be.PutUint16(l4[0:], uint16(uint64(rss)*(tnlUDPPortMax-tnlUDPPortMin)>>32+tnlUDPPortMin))
		be.PutUint16(l4[4:], uint16(len(l4)))
		if be.Uint16(l4[6:]) != 0 {
			s := pseudoHeader(b[14:], v6) + sum16(l4)
			c := ^fold(s)
			if c == 0 {
				c = 0xffff
			}
			be.PutUint16(l4[6:], c)
		}
		return true
	}
	// GRE.
	hl := n - (len(b) - len(l4)) // the GRE header's length
	if hl < greBaseLen {
		return true
	}
	flags := be.Uint16(l4[0:])
	if flags&greCsum != 0 && hl >= 8 {
		be.PutUint16(l4[4:], ^fold(sum16(l4)))
	}
	if flags&greSeq != 0 {
		if off := greHeaderLen(flags) - 4; off+4 <= hl {
			be.PutUint32(l4[off:], tp.NextSeq())
		}
	}
	return true
}

// greHeaderLen is the length of a GRE header with these flags.
func greHeaderLen(flags uint16) int {
	n := greBaseLen
	for _, f := range [...]uint16{greCsum, greKey, greSeq} {
		if flags&f != 0 {
			n += 4
		}
	}
	return n
}

// pseudoHeader returns the one's complement sum of the pseudo-header of
// the IP header ip, as OVS's packet_csum_pseudoheader and
// packet_csum_pseudoheader6 compute it (from the header's own length
// fields).
func pseudoHeader(ip []byte, v6 bool) uint32 {
	if v6 {
		return sum16(ip[8:40]) + uint32(ip[6]) + uint32(be.Uint16(ip[4:]))
	}
	hl := int(ip[0]&0xf) * 4
	return sum16(ip[12:20]) + uint32(ip[9]) + uint32(be.Uint16(ip[2:])-uint16(hl))
}

// PopTunnel removes the outer headers of a packet that arrived through
// a tunnel port of type typ (TunnelVXLAN, TunnelGeneve or TunnelGRE), as
// OVS 3.1's netdev_vxlan_pop_header, netdev_geneve_pop_header and
// netdev_gre_pop_header do, and writes what they carried into k's tunnel
// fields (which it clears first; nothing else of k changes). lay is the
// frame's layout from flow.ExtractLayout. On success the packet starts
// with the inner packet, k.PacketType says what it is (Ethernet; or, as
// OVS, (1, protocol) for GRE with another protocol than transparent
// Ethernet bridging, IPv4 or IPv6 for VXLAN-GPE with those payloads) and
// PopTunnel returns 0; otherwise it
// returns why the packet must be dropped, having changed neither the
// packet nor k's fields other than the tunnel ones.
//
// As in OVS, the outer headers removed are counted from the start of the
// frame as 14 bytes of Ethernet, the IP header and the tunnel header,
// checksums are checked (IPv4 header; UDP or GRE when not zero; over
// everything to the end of the frame, Ethernet padding included), and
// the don't-fragment flag is not set in the key (OVS's userspace datapath
// never sets it on decapsulation).
func PopTunnel(pkt *dpio.Packet, typ uint32, k *flow.Key, lay *flow.Layout) TunnelDrop {
	k.ClearTunnel()
	if k.PacketType != flow.PacketTypeEthernet {
		// The outer headers start with Ethernet (OVS asserts they do).
		return DropPopNotIP
	}
	b := pkt.Bytes()
	l3 := lay.L3
	ipv6Hdr := len(b) >= 14 && be.Uint16(b[12:]) == ethTypeIPv6 // netdev_tnl_is_header_ipv6
	if typ == TunnelGRE {
		min := 14 + greBaseLen + 20
		if ipv6Hdr {
			min = 14 + greBaseLen + 40
		}
		if min > len(b) {
			return DropPopTruncated
		}
	}
	if l3 == 0 || l3 >= len(b) {
		return DropPopNotIP
	}
	l4 := lay.L4
	if l4 == 0 && b[l3]>>4 == 4 && l3+int(b[l3]&0xf)*4 <= len(b) {
		// A later fragment: OVS's layer 4 offset is still there.
		l4 = l3 + int(b[l3]&0xf)*4
	}
	if l4 == 0 || l4 > len(b) {
		return DropPopNotIP
	}
	end := lay.End // of the IP packet: the layer 4 size excludes padding
	if end == 0 || end > len(b) {
		end = len(b)
	}
	l4Size := end - l4
	switch typ {
	case TunnelVXLAN:
		if 16 > l4Size {
			return DropPopTruncated
		}
	case TunnelGeneve:
		if 8+geneveBaseLen > l4Size {
			return DropPopTruncated
		}
	}

	// netdev_tnl_ip_extract_tnl_md.
	hlen := 14
	ip := b[l3:]
	switch ip[0] >> 4 {
	case 4:
		ihl := int(ip[0]&0xf) * 4
		if ihl < 20 || ihl > len(ip) {
			return DropPopTruncated
		}
		if fold(sum16(ip[:ihl])) != 0xffff {
			return DropPopIPChecksum
		}
		if int(be.Uint16(ip[2:])) > len(ip) {
			return DropPopIPLength
		}
		if ihl > 20 {
			return DropPopIPOptions
		}
		copy(k.TunSrc[:], ip[12:16])
		copy(k.TunDst[:], ip[16:20])
		k.TunTOS, k.TunTTL = ip[1], ip[8]
		hlen += 20
	case 6:
		if len(ip) < 40 {
			return DropPopTruncated
		}
		copy(k.TunIPv6Src[:], ip[8:24])
		copy(k.TunIPv6Dst[:], ip[24:40])
		k.TunTOS = uint8(be.Uint32(ip[0:]) >> 20)
		k.TunTTL = ip[7]
		hlen += l4 - l3
	default:
		return DropPopIPVersion
	}
	th := b[l4:]

	var r TunnelDrop
	pt := uint32(flow.PacketTypeEthernet)
	switch typ {
	case TunnelVXLAN, TunnelGeneve:
		r = popUDP(b, l3, th, ipv6Hdr, k)
		if r == 0 {
			if typ == TunnelVXLAN {
				hlen, pt, r = popVXLAN(th[8:], hlen, k)
			} else {
				hlen, r = popGeneve(th[8:], hlen, len(b), k)
			}
		}
	case TunnelGRE:
		hlen, pt, r = popGRE(b, th, hlen, k)
	default:
		r = DropPopHeader
	}
	if r != 0 {
		k.ClearTunnel()
		return r
	}
	if hlen > len(b) {
		k.ClearTunnel()
		return DropPopTruncated
	}
	pkt.Pull(hlen)
	k.PacketType = pt
	return 0
}

// popUDP checks the UDP checksum when there is one (setting the csum
// flag) and takes the ports, as OVS's udp_extract_tnl_md.
func popUDP(b []byte, l3 int, udp []byte, ipv6Hdr bool, k *flow.Key) TunnelDrop {
	if len(udp) < 8 {
		return DropPopTruncated
	}
	if be.Uint16(udp[6:]) != 0 {
		ip := b[l3:]
		if ipv6Hdr && len(ip) < 40 || !ipv6Hdr && len(ip) < 20 {
			return DropPopTruncated
		}
		if fold(pseudoHeader(ip, ipv6Hdr)+sum16(udp)) != 0xffff {
			return DropPopL4Checksum
		}
		k.TunFlags |= flow.TunFlagCsum
	}
	k.TunTpSrc = be.Uint16(udp[0:])
	k.TunTpDst = be.Uint16(udp[2:])
	return 0
}

// popVXLAN reads a VXLAN header (v, which has at least 8 bytes), as
// OVS 3.1's netdev_vxlan_pop_header, and returns the header length and
// the payload's packet type: Ethernet, or IPv4 or IPv6 for VXLAN-GPE.
func popVXLAN(v []byte, hlen int, k *flow.Key) (int, uint32, TunnelDrop) {
	flags := be.Uint32(v[0:])
	pt := uint32(flow.PacketTypeEthernet)
	if flags&vxlanGPE != 0 {
		flags &^= vxlanGPEUsed
		if v[0]&vxlanGPEOAM != 0 {
			return 0, 0, DropPopHeader
		}
		switch v[3] {
		case vxlanGPEEth:
		case 1:
			pt = flow.PacketTypeIPv4
		case 2:
			pt = flow.PacketTypeIPv6
		case 4: // NSH, which the key does not have
			if flags != vxlanFlags || v[7] != 0 {
				return 0, 0, DropPopHeader
			}
			return 0, 0, DropPopUnsupported
		default:
			return 0, 0, DropPopHeader
		}
	}
	if flags != vxlanFlags || v[7] != 0 {
		return 0, 0, DropPopHeader
	}
	k.TunID = uint64(be.Uint32(v[4:]) >> 8)
	k.TunFlags |= flow.TunFlagKey
	return hlen + 16, pt, 0
}

// popGeneve reads a Geneve header (g, which has at least 8 bytes), as
// OVS 3.1's netdev_geneve_pop_header: the options go to the key as they
// are on the wire.
func popGeneve(g []byte, hlen, size int, k *flow.Key) (int, TunnelDrop) {
	optLen := int(g[0]&0x3f) * 4
	hlen += 8 + geneveBaseLen + optLen
	if hlen > size || 8+optLen > len(g) {
		return 0, DropPopTruncated
	}
	if g[0]>>6 != 0 {
		return 0, DropPopHeader
	}
	if be.Uint16(g[2:]) != ethTypeTEB {
		return 0, DropPopHeader
	}
	if g[1]&0x80 != 0 {
		k.TunFlags |= flow.TunFlagOAM
	}
	k.TunID = uint64(be.Uint32(g[4:]) >> 8)
	k.TunFlags |= flow.TunFlagKey | flow.TunFlagGeneve
	k.TunGeneveLen = uint8(optLen)
	copy(k.TunGeneve[:], g[8:8+optLen])
	return hlen, 0
}

// popGRE reads a GRE header, as OVS 3.1's parse_gre_header, and returns
// the header length and the payload's packet type: Ethernet for
// transparent Ethernet bridging, (1, protocol) for any other protocol.
func popGRE(b, g []byte, hlen int, k *flow.Key) (int, uint32, TunnelDrop) {
	if len(g) < greBaseLen {
		return 0, 0, DropPopTruncated
	}
	flags := be.Uint16(g[0:])
	if flags&^greKnownFlags != 0 {
		return 0, 0, DropPopHeader
	}
	gl := greHeaderLen(flags)
	hlen += gl
	if hlen > len(b) || gl > len(g) {
		return 0, 0, DropPopTruncated
	}
	opt := g[greBaseLen:]
	if flags&greCsum != 0 {
		if fold(sum16(g)) != 0xffff {
			return 0, 0, DropPopL4Checksum
		}
		k.TunFlags = flow.TunFlagCsum
		opt = opt[4:]
	}
	if flags&greKey != 0 {
		k.TunID = uint64(be.Uint32(opt))
		k.TunFlags |= flow.TunFlagKey
	}
	switch p := be.Uint16(g[2:]); {
	case p == ethTypeTEB:
		return hlen, flow.PacketTypeEthernet, 0
	case p >= ethTypeMinValid:
		return hlen, flow.PacketTypeOf(p), 0
	default:
		return 0, 0, DropPopHeader
	}
}
