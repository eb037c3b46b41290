package actions

import (
	"hash/crc32"

	"github.com/b7cafead/datapath/flow"
)

// This file holds the set actions of IPv6, ICMP, ICMPv6, SCTP, ARP and
// IPv6 neighbour discovery, written after what OVS 3.1's userspace
// datapath does to the packet (lib/odp-execute.c, lib/packets.c): the
// same fields, the same checksum updates, the same conditions.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// l4Len returns the length of the layer 4 header and payload, without
// Ethernet padding (OVS's dp_packet_l4_size), or -1 if there is none.
func l4Len(b []byte, lay *flow.Layout) int {
	if lay.L4 == 0 || lay.L4 > len(b) {
		return -1
	}
	end := len(b)
	if lay.End > 0 && lay.End < end {
		end = lay.End
	}
	return max(end-lay.L4, 0)
}

// setIPv6 applies a set of ipv6: the addresses (updating the TCP, UDP or
// ICMPv6 checksum that covers them, as OVS's packet_set_ipv6 does), the
// traffic class, the flow label and the hop limit. proto and frag are
// not changed.
func setIPv6(b []byte, lay *flow.Layout, k, m *flow.Key) {
	if lay.End == 0 || lay.L3+40 > len(b) {
		return
	}
	nh := b[lay.L3:]
	var src, dst [16]byte
	for i := range src {
		src[i] = k.IPv6Src[i] | nh[8+i]&^m.IPv6Src[i]
		dst[i] = k.IPv6Dst[i] | nh[24+i]&^m.IPv6Dst[i]
	}
	word := be.Uint32(nh[0:])
	tc := k.NwTos | uint8(word>>20)&^m.NwTos
	fl := k.IPv6Label&0xfffff | word&0xfffff&^m.IPv6Label
	hl := k.NwTTL | nh[7]&^m.NwTTL

	proto, rh, recalc := ipv6Walk(b, lay)
	if [16]byte(nh[8:24]) != src {
		if recalc {
			csum128(b, lay, proto, nh[8:24], src)
		}
		copy(nh[8:24], src[:])
	}
	if [16]byte(nh[24:40]) != dst {
		if recalc && !rh {
			csum128(b, lay, proto, nh[24:40], dst)
		}
		copy(nh[24:40], dst[:])
	}
	word = word&0xf00fffff | uint32(tc)<<20
	word = word&^0xfffff | fl
	be.PutUint32(nh[0:], word)
	nh[7] = hl
}

// ipv6Walk follows the IPv6 extension headers as OVS's packet_rh_present
// does. It returns the protocol it stops at, whether a routing header
// with segments left was found (then the destination's change does not
// update the layer 4 checksum) and whether the checksums are to be
// updated at all (not for a fragment other than the first of several).
func ipv6Walk(b []byte, lay *flow.Layout) (proto uint8, rh, recalc bool) {
	recalc = true
	end := lay.L4
	if end == 0 {
		end = lay.End
	}
	if end == 0 || end > len(b) || end-lay.L3 < 40 {
		return 0, false, recalc
	}
	data := b[lay.L3+40 : end]
	proto = b[lay.L3+6]
	for {
		var n int
		switch proto {
		case 0, 43, 60, 51, 44: // hop-by-hop, routing, destination, AH, fragment
		default:
			return proto, false, recalc
		}
		if len(data) < 8 {
			return proto, false, recalc
		}
		switch proto {
		case 51:
			proto, n = data[0], (int(data[1])+2)*4
		case 44:
			off := be.Uint16(data[2:])
			recalc = off&0xfff8 == 0 && off&1 != 0
			proto, n = data[0], 8
		case 43:
			if data[3] > 0 {
				return proto, true, recalc
			}
			proto, n = data[0], (int(data[1])+1)*8
		default:
			proto, n = data[0], (int(data[1])+1)*8
		}
		if len(data) < n {
			return proto, false, recalc
		}
		data = data[n:]
	}
}

// csum128 updates the layer 4 checksum of protocol proto for a 16-byte
// field changing from old to v (OVS's packet_update_csum128).
func csum128(b []byte, lay *flow.Layout, proto uint8, old []byte, v [16]byte) {
	n := l4Len(b, lay)
	var c []byte
	switch {
	case proto == flow.IPProtoTCP && n >= 20:
		c = b[lay.L4+16 : lay.L4+18]
	case proto == flow.IPProtoUDP && n >= 8:
		c = b[lay.L4+6 : lay.L4+8]
		if be.Uint16(c) == 0 {
			return
		}
	case proto == flow.IPProtoICMPv6 && n >= 4:
		c = b[lay.L4+2 : lay.L4+4]
	default:
		return
	}
	s := be.Uint16(c)
	for i := 0; i < 16; i += 4 {
		s = Recalc32(s, be.Uint32(old[i:]), be.Uint32(v[i:]))
	}
	if proto == flow.IPProtoUDP && s == 0 {
		s = 0xffff
	}
	be.PutUint16(c, s)
}

// setICMP applies a set of icmp or icmpv6: type and code, with the
// checksum (OVS's packet_set_icmp; OVS itself only has the unmasked
// form).
func setICMP(b []byte, lay *flow.Layout, k, m *flow.Key) {
	if l4Len(b, lay) < 8 {
		return
	}
	ih := b[lay.L4:]
	typ := uint8(k.TpSrc) | ih[0]&^uint8(m.TpSrc)
	code := uint8(k.TpDst) | ih[1]&^uint8(m.TpDst)
	old := be.Uint16(ih[0:])
	v := uint16(typ)<<8 | uint16(code)
	if old != v {
		ih[0], ih[1] = typ, code
		be.PutUint16(ih[2:], Recalc16(be.Uint16(ih[2:]), old, v))
	}
}

// setSCTP applies a set of sctp: the ports, with the CRC32c checksum
// updated as OVS's packet_set_sctp_port does: the checksums of the header
// and payload before and after are XORed into the stored one, so a wrong
// checksum stays as wrong.
func setSCTP(b []byte, lay *flow.Layout, k, m *flow.Key) {
	n := l4Len(b, lay)
	if n < 12 {
		return
	}
	sh := b[lay.L4 : lay.L4+n]
	src := k.TpSrc | be.Uint16(sh[0:])&^m.TpSrc
	dst := k.TpDst | be.Uint16(sh[2:])&^m.TpDst
	stored := be.Uint32(sh[8:])
	be.PutUint32(sh[8:], 0)
	oldC := crc32.Checksum(sh, castagnoli)
	be.PutUint16(sh[0:], src)
	be.PutUint16(sh[2:], dst)
	newC := crc32.Checksum(sh, castagnoli)
	// The checksum is stored least significant byte first.
	be.PutUint32(sh[8:], stored^swap32(oldC)^swap32(newC))
}

func swap32(v uint32) uint32 { return v>>24 | v>>8&0xff00 | v<<8&0xff0000 | v<<24 }

// setARP applies a set of arp: operation, addresses (OVS's set_arp).
// The key holds the operation's low byte; a full mask of it writes the
// whole 16-bit field, as OVS's 16-bit mask does.
func setARP(b []byte, lay *flow.Layout, k, m *flow.Key) {
	if lay.L3 == 0 || lay.L3+28 > len(b) {
		return
	}
	a := b[lay.L3:]
	if m.NwProto == 0xff {
		a[6] = 0
	}
	a[7] = k.NwProto | a[7]&^m.NwProto
	for i := 0; i < 6; i++ {
		a[8+i] = k.ArpSHA[i] | a[8+i]&^m.ArpSHA[i]
		a[18+i] = k.ArpTHA[i] | a[18+i]&^m.ArpTHA[i]
	}
	for i := 0; i < 4; i++ {
		a[14+i] = k.NwSrc[i] | a[14+i]&^m.NwSrc[i]
		a[24+i] = k.NwDst[i] | a[24+i]&^m.NwDst[i]
	}
}

// setND applies a set of nd: the target address and the first source or
// target link-layer address option, with the ICMPv6 checksum (OVS's
// odp_set_nd and packet_set_nd, including how they step over options).
func setND(b []byte, lay *flow.Layout, k, m *flow.Key) {
	n := l4Len(b, lay)
	if n < 24 {
		return
	}
	ns := b[lay.L4 : lay.L4+n]
	csum := ns[2:4]
	var tgt [16]byte
	for i := range tgt {
		tgt[i] = k.NdTarget[i] | ns[8+i]&^m.NdTarget[i]
	}
	if [16]byte(ns[8:24]) != tgt {
		s := be.Uint16(csum)
		for i := 0; i < 16; i += 4 {
			s = Recalc32(s, be.Uint32(ns[8+i:]), be.Uint32(tgt[i:]))
		}
		be.PutUint16(csum, s)
		copy(ns[8:24], tgt[:])
	}
	opts := ns[24:]
	remain := len(opts)
	off := 0
	for remain >= 8 && off+8 <= len(opts) && opts[off+1] != 0 {
		o := opts[off:]
		var v, mk *[6]byte
		switch {
		case o[0] == 1 && o[1] == 1:
			v, mk = &k.ArpSHA, &m.ArpSHA
		case o[0] == 2 && o[1] == 1:
			v, mk = &k.ArpTHA, &m.ArpTHA
		}
		if v != nil {
			var mac [6]byte
			for i := range mac {
				mac[i] = v[i] | o[2+i]&^mk[i]
			}
			if [6]byte(o[2:8]) != mac {
				s := be.Uint16(csum)
				for i := 0; i < 6; i += 2 {
					s = Recalc16(s, be.Uint16(o[2+i:]), be.Uint16(mac[i:]))
				}
				be.PutUint16(csum, s)
				copy(o[2:8], mac[:])
			}
			return
		}
		// As OVS: step by this option's length, then count the next
		// one's.
		off += int(o[1]) * 8
		if off+2 > len(opts) {
			return
		}
		remain -= int(opts[off+1]) * 8
	}
}
