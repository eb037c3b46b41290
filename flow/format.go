package flow

import (
	"net/netip"
	"strconv"
)

// Format returns the OVS datapath flow text of key under mask, as
// ovs-appctl dpctl/dump-flows prints it: attributes and fields whose mask
// is all zero are left out, fully masked fields print their value, and
// partially masked fields print value/mask.
func Format(key, mask *Key) string {
	return string(AppendFormat(nil, key, mask))
}

// String formats the match as Format does.
func (m Match) String() string { return Format(&m.Key, &m.Mask) }

// AppendFormat appends Format(key, mask) to dst and returns the extended
// buffer.
func AppendFormat(dst []byte, key, mask *Key) []byte {
	f := formatter{b: dst, start: len(dst)}
	k, m := key, mask
	f.u32hex("skb_priority", k.Priority, m.Priority)
	f.tunnel(k, m)
	f.u32hex("skb_mark", k.SkbMark, m.SkbMark)
	f.ct(k, m)
	f.u32hex("recirc_id", k.RecircID, m.RecircID)
	f.u32hex("dp_hash", k.DpHash, m.DpHash)
	if m.InPort != 0 {
		f.attr("in_port")
		f.b = strconv.AppendUint(f.b, uint64(k.InPort), 10)
		if m.InPort != ^uint32(0) {
			f.b = append(f.b, '/')
			f.b = appendHexC(f.b, uint64(m.InPort))
		}
		f.end()
	}
	if m.PacketType != 0 {
		f.attr("packet_type")
		f.be16("ns", uint16(k.PacketType>>16), uint16(m.PacketType>>16))
		f.be16x("id", uint16(k.PacketType), uint16(m.PacketType))
		f.end()
	}
	if k.PacketType != 0 {
		// Not Ethernet: no layer 2 attributes, the EtherType is the
		// packet type's.
		f.ethType(k.EthType, m.EthType)
		f.l3l4(k, m)
		return f.b
	}
	// An Ethernet packet type that is not matched explicitly is implied by
	// the eth() attribute, which then prints even when empty.
	if m.EthSrc != ([6]byte{}) || m.EthDst != ([6]byte{}) || m.PacketType == 0 {
		f.whole("eth", k, m)
	}
	f.vlanAndBelow(k, m, 0)
	return f.b
}

// vlanAndBelow formats the VLAN tag at index i (if the key has one) with
// everything it encapsulates, or the EtherType and layer 3 and 4.
func (f *formatter) vlanAndBelow(k, m *Key, i int) {
	if i < MaxVLANs && k.VlanTCI[i]&VLANCFI != 0 {
		f.ethType(k.VlanTPID[i], m.VlanTPID[i])
		f.attr("vlan")
		f.vlanTCI(k.VlanTCI[i], m.VlanTCI[i])
		f.end()
		f.attr("encap")
		f.first = true
		f.vlanAndBelow(k, m, i+1)
		f.end()
		return
	}
	f.ethType(k.EthType, m.EthType)
	f.l3l4(k, m)
}

func (f *formatter) ethType(v, mask uint16) {
	if mask == 0 {
		return
	}
	f.attr("eth_type")
	f.b = appendHex04(f.b, v)
	if mask != 0xffff {
		f.b = append(f.b, '/')
		f.b = appendHex04(f.b, mask)
	}
	f.end()
}

func (f *formatter) l3l4(k, m *Key) {
	switch k.EthType {
	case EthTypeIPv4:
		if m.NwSrc != ([4]byte{}) || m.NwDst != ([4]byte{}) || m.NwProto != 0 || m.NwTos != 0 || m.NwTTL != 0 || m.NwFrag&FragAny != 0 {
			f.whole("ipv4", k, m)
		}
	case EthTypeIPv6:
		if m.IPv6Src != ([16]byte{}) || m.IPv6Dst != ([16]byte{}) || m.IPv6Label != 0 || m.NwProto != 0 || m.NwTos != 0 || m.NwTTL != 0 || m.NwFrag&FragAny != 0 {
			f.whole("ipv6", k, m)
		}
	case EthTypeMPLS, EthTypeMPLSM:
		f.mpls(k, m)
		return
	case EthTypeARP, EthTypeRARP:
		if m.NwSrc != ([4]byte{}) || m.NwDst != ([4]byte{}) || m.NwProto != 0 || m.ArpSHA != ([6]byte{}) || m.ArpTHA != ([6]byte{}) {
			f.whole("arp", k, m)
		}
		return
	default:
		return
	}
	if k.NwFrag&FragLater != 0 {
		return
	}
	switch k.NwProto {
	case IPProtoTCP, IPProtoUDP, IPProtoSCTP:
		name := "tcp"
		if k.NwProto == IPProtoUDP {
			name = "udp"
		} else if k.NwProto == IPProtoSCTP {
			name = "sctp"
		}
		if m.TpSrc != 0 || m.TpDst != 0 {
			f.whole(name, k, m)
		}
		if k.NwProto == IPProtoTCP && m.TCPFlags != 0 {
			f.attr("tcp_flags")
			f.tcpFlags(k.TCPFlags, m.TCPFlags)
			f.end()
		}
	case IPProtoICMP, IPProtoICMPv6:
		if (k.NwProto == IPProtoICMP) != (k.EthType == EthTypeIPv4) {
			return
		}
		name := "icmp"
		if k.NwProto == IPProtoICMPv6 {
			name = "icmpv6"
		}
		if m.TpSrc != 0 || m.TpDst != 0 {
			f.whole(name, k, m)
		}
		if name == "icmpv6" && (k.TpSrc == 135 || k.TpSrc == 136) && k.TpDst == 0 &&
			(m.NdTarget != ([16]byte{}) || m.ArpSHA != ([6]byte{}) || m.ArpTHA != ([6]byte{})) {
			f.whole("nd", k, m)
		}
	}
}

// AppendAttr appends one key attribute (eth, ipv4, ipv6, tcp, udp, sctp,
// icmp, icmpv6, arp or nd) with the fields of key under mask, as OVS
// formats the argument of a set action. It reports false for an attribute
// name it does not know.
func AppendAttr(dst []byte, name string, key, mask *Key) ([]byte, bool) {
	f := formatter{b: dst, start: len(dst), first: true}
	ok := f.whole(name, key, mask)
	return f.b, ok
}

// whole formats attribute name with its fields.
func (f *formatter) whole(name string, k, m *Key) bool {
	switch name {
	case "eth", "ipv4", "ipv6", "tcp", "udp", "sctp", "icmp", "icmpv6", "arp", "nd":
	default:
		return false
	}
	f.attr(name)
	switch name {
	case "eth":
		f.mac("src", k.EthSrc, m.EthSrc)
		f.mac("dst", k.EthDst, m.EthDst)
	case "ipv4":
		f.ipv4("src", k.NwSrc, m.NwSrc)
		f.ipv4("dst", k.NwDst, m.NwDst)
		f.u8("proto", k.NwProto, m.NwProto)
		f.u8x("tos", k.NwTos, m.NwTos)
		f.u8("ttl", k.NwTTL, m.NwTTL)
		f.frag(k.NwFrag, m.NwFrag)
	case "ipv6":
		f.ipv6("src", k.IPv6Src, m.IPv6Src)
		f.ipv6("dst", k.IPv6Dst, m.IPv6Dst)
		f.num("label", uint64(k.IPv6Label), uint64(m.IPv6Label), 0xfffff, true)
		f.u8("proto", k.NwProto, m.NwProto)
		f.u8x("tclass", k.NwTos, m.NwTos)
		f.u8("hlimit", k.NwTTL, m.NwTTL)
		f.frag(k.NwFrag, m.NwFrag)
	case "tcp", "udp", "sctp":
		f.be16("src", k.TpSrc, m.TpSrc)
		f.be16("dst", k.TpDst, m.TpDst)
	case "icmp", "icmpv6":
		f.u8("type", uint8(k.TpSrc), uint8(m.TpSrc))
		f.u8("code", uint8(k.TpDst), uint8(m.TpDst))
	case "arp":
		f.ipv4("sip", k.NwSrc, m.NwSrc)
		f.ipv4("tip", k.NwDst, m.NwDst)
		// The opcode is 16 bits on the wire but matched through 8.
		opMask := uint16(m.NwProto)
		if opMask == 0xff {
			opMask = 0xffff
		}
		f.be16("op", uint16(k.NwProto), opMask)
		f.mac("sha", k.ArpSHA, m.ArpSHA)
		f.mac("tha", k.ArpTHA, m.ArpTHA)
	case "nd":
		f.ipv6("target", k.NdTarget, m.NdTarget)
		f.mac("sll", k.ArpSHA, m.ArpSHA)
		f.mac("tll", k.ArpTHA, m.ArpTHA)
	}
	f.end()
	return true
}

// ctStateNames are OVS's names of the ct_state bits, lowest first.
var ctStateNames = [8]string{"new", "est", "rel", "rpl", "inv", "trk", "snat", "dnat"}

// ct formats the connection tracking attributes as OVS does: ct_state as
// +flag/-flag for every matched bit, zone, mark and label in hex, and the
// original tuple (for a key with a tuple protocol) as ct_tuple4 or
// ct_tuple6.
func (f *formatter) ct(k, m *Key) {
	if m.CtState != 0 {
		f.attr("ct_state")
		for i, n := range ctStateNames {
			if m.CtState&(1<<i) != 0 {
				if k.CtState&(1<<i) != 0 {
					f.b = append(f.b, '+')
				} else {
					f.b = append(f.b, '-')
				}
				f.b = append(f.b, n...)
			}
		}
		f.end()
	}
	if m.CtZone != 0 {
		f.attr("ct_zone")
		f.b = appendHexC(f.b, uint64(k.CtZone))
		if m.CtZone != 0xffff {
			f.b = append(f.b, '/')
			f.b = appendHexC(f.b, uint64(m.CtZone))
		}
		f.end()
	}
	f.u32hex("ct_mark", k.CtMark, m.CtMark)
	if m.CtLabel != ([16]byte{}) {
		f.attr("ct_label")
		f.b = appendHexBytes(f.b, k.CtLabel[:])
		if m.CtLabel != allOnes16 {
			f.b = append(f.b, '/')
			f.b = appendHexBytes(f.b, m.CtLabel[:])
		}
		f.end()
	}
	if k.CtNwProto == 0 {
		return
	}
	switch k.EthType {
	case EthTypeIPv4:
		if m.CtNwSrc != ([4]byte{}) || m.CtNwDst != ([4]byte{}) || m.CtNwProto != 0 || m.CtTpSrc != 0 || m.CtTpDst != 0 {
			f.attr("ct_tuple4")
			f.ipv4("src", k.CtNwSrc, m.CtNwSrc)
			f.ipv4("dst", k.CtNwDst, m.CtNwDst)
			f.u8("proto", k.CtNwProto, m.CtNwProto)
			f.be16("tp_src", k.CtTpSrc, m.CtTpSrc)
			f.be16("tp_dst", k.CtTpDst, m.CtTpDst)
			f.end()
		}
	case EthTypeIPv6:
		if m.CtIPv6Src != ([16]byte{}) || m.CtIPv6Dst != ([16]byte{}) || m.CtNwProto != 0 || m.CtTpSrc != 0 || m.CtTpDst != 0 {
			f.attr("ct_tuple6")
			f.ipv6("src", k.CtIPv6Src, m.CtIPv6Src)
			f.ipv6("dst", k.CtIPv6Dst, m.CtIPv6Dst)
			f.u8("proto", k.CtNwProto, m.CtNwProto)
			// OVS prints the IPv6 tuple's ports under these names.
			f.be16("src_port", k.CtTpSrc, m.CtTpSrc)
			f.be16("dst_port", k.CtTpDst, m.CtTpDst)
			f.end()
		}
	}
}

// appendHexBytes formats a big-endian byte string as OVS's ds_put_hex
// does: "0x" and the digits without leading zero bytes, or "0".
func appendHexBytes(dst []byte, b []byte) []byte {
	const hex = "0123456789abcdef"
	printed := false
	for _, c := range b {
		switch {
		case printed:
			dst = append(dst, hex[c>>4], hex[c&15])
		case c != 0:
			dst = append(dst, "0x"...)
			if c>>4 != 0 {
				dst = append(dst, hex[c>>4])
			}
			dst = append(dst, hex[c&15])
			printed = true
		}
	}
	if !printed {
		dst = append(dst, '0')
	}
	return dst
}

// mplsLabels counts the label stack entries a key holds, as OVS's
// flow_count_mpls_labels does: up to the first with the bottom-of-stack
// bit, else the non-zero ones.
func mplsLabels(k *Key) int {
	n := 0
	for i, lse := range k.MplsLSE {
		if lse&MPLSBOSMask != 0 {
			return i + 1
		}
		if lse != 0 {
			n++
		}
	}
	return n
}

// mpls formats the mpls() attribute: every entry as label,tc,ttl,bos, all
// with masks unless every entry is matched exactly.
func (f *formatter) mpls(k, m *Key) {
	n := mplsLabels(k)
	exact, any := true, false
	for i := 0; i < n; i++ {
		exact = exact && m.MplsLSE[i] == ^uint32(0)
		any = any || m.MplsLSE[i] != 0
	}
	if !any {
		return
	}
	f.attr("mpls")
	for i := 0; i < n; i++ {
		v, mk := k.MplsLSE[i], m.MplsLSE[i]
		f.b = append(f.b, "label="...)
		f.b = strconv.AppendUint(f.b, uint64(v>>MPLSLabelShift), 10)
		if !exact {
			f.b = append(f.b, "/0x"...)
			f.b = strconv.AppendUint(f.b, uint64(mk>>MPLSLabelShift), 16)
		}
		f.b = append(f.b, ",tc="...)
		f.b = strconv.AppendUint(f.b, uint64(v&MPLSTCMask>>MPLSTCShift), 10)
		if !exact {
			f.b = append(f.b, '/')
			f.b = strconv.AppendUint(f.b, uint64(mk&MPLSTCMask>>MPLSTCShift), 16)
		}
		f.b = append(f.b, ",ttl="...)
		f.b = strconv.AppendUint(f.b, uint64(v&MPLSTTLMask), 10)
		if !exact {
			f.b = append(f.b, "/0x"...)
			f.b = strconv.AppendUint(f.b, uint64(mk&MPLSTTLMask), 16)
		}
		f.b = append(f.b, ",bos="...)
		f.b = strconv.AppendUint(f.b, uint64(v&MPLSBOSMask>>8), 10)
		if !exact {
			f.b = append(f.b, '/')
			f.b = strconv.AppendUint(f.b, uint64(mk&MPLSBOSMask>>8), 16)
		}
		f.sep()
	}
	f.end()
}

// formatter appends attributes and fields with OVS's separators.
type formatter struct {
	b     []byte
	start int
	first bool // next attribute is the first inside an encap()
}

func (f *formatter) attr(name string) {
	if len(f.b) > f.start && !f.first {
		f.b = append(f.b, ',')
	}
	f.first = false
	f.b = append(f.b, name...)
	f.b = append(f.b, '(')
}

// end closes an attribute, dropping a trailing field separator.
func (f *formatter) end() {
	if n := len(f.b); n > 0 && f.b[n-1] == ',' {
		f.b = f.b[:n-1]
	}
	f.b = append(f.b, ')')
}

func (f *formatter) field(name string) {
	f.b = append(f.b, name...)
	f.b = append(f.b, '=')
}

func (f *formatter) sep() { f.b = append(f.b, ',') }

func (f *formatter) u32hex(name string, v, mask uint32) {
	if mask == 0 {
		return
	}
	f.attr(name)
	f.b = appendHexC(f.b, uint64(v))
	if mask != ^uint32(0) {
		f.b = append(f.b, '/')
		f.b = appendHexC(f.b, uint64(mask))
	}
	f.end()
}

func (f *formatter) mac(name string, v, mask [6]byte) {
	if mask == ([6]byte{}) {
		return
	}
	f.field(name)
	f.b = AppendMAC(f.b, v)
	if mask != [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff} {
		f.b = append(f.b, '/')
		f.b = AppendMAC(f.b, mask)
	}
	f.sep()
}

func (f *formatter) ipv4(name string, v, mask [4]byte) {
	if mask == ([4]byte{}) {
		return
	}
	f.field(name)
	f.b = netip.AddrFrom4(v).AppendTo(f.b)
	if mask != [4]byte{0xff, 0xff, 0xff, 0xff} {
		f.b = append(f.b, '/')
		f.b = netip.AddrFrom4(mask).AppendTo(f.b)
	}
	f.sep()
}

func (f *formatter) ipv6(name string, v, mask [16]byte) {
	if mask == ([16]byte{}) {
		return
	}
	f.field(name)
	f.b = netip.AddrFrom16(v).AppendTo(f.b)
	if mask != allOnes16 {
		f.b = append(f.b, '/')
		f.b = netip.AddrFrom16(mask).AppendTo(f.b)
	}
	f.sep()
}

var allOnes16 = [16]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// num formats a numeric field: nothing when its mask is zero, the value
// (decimal, or C-style hex when hex is set) when the mask is full, and
// value/mask (the mask in hex) otherwise.
func (f *formatter) num(name string, v, mask, full uint64, hex bool) {
	if mask == 0 {
		return
	}
	f.field(name)
	if hex {
		f.b = appendHexC(f.b, v)
	} else {
		f.b = strconv.AppendUint(f.b, v, 10)
	}
	if mask != full {
		f.b = append(f.b, '/')
		f.b = appendHexC(f.b, mask)
	}
	f.sep()
}

// u8 formats a decimal byte field (OVS format_u8u).
func (f *formatter) u8(name string, v, mask uint8) { f.num(name, uint64(v), uint64(mask), 0xff, false) }

// u8x formats a hexadecimal byte field (OVS format_u8x).
func (f *formatter) u8x(name string, v, mask uint8) { f.num(name, uint64(v), uint64(mask), 0xff, true) }

// be16 formats a decimal 16-bit field (OVS format_be16).
func (f *formatter) be16(name string, v, mask uint16) {
	f.num(name, uint64(v), uint64(mask), 0xffff, false)
}

// be16x formats a hexadecimal 16-bit field (OVS format_be16x).
func (f *formatter) be16x(name string, v, mask uint16) {
	f.num(name, uint64(v), uint64(mask), 0xffff, true)
}

func (f *formatter) frag(v, mask uint8) {
	if mask&FragAny == 0 {
		return
	}
	f.field("frag")
	f.b = append(f.b, fragName(v)...)
	f.sep()
}

func fragName(v uint8) string {
	switch {
	case v&FragAny == 0:
		return "no"
	case v&FragLater != 0:
		return "later"
	}
	return "first"
}

func (f *formatter) vlanTCI(tci, mask uint16) {
	vid, vmask := tci&0x0fff, mask&0x0fff
	pcp, pmask := tci>>13, mask>>13
	if vid != 0 || vmask != 0 {
		f.b = append(f.b, "vid="...)
		f.b = strconv.AppendUint(f.b, uint64(vid), 10)
		if vmask != 0x0fff {
			f.b = append(f.b, "/0x"...)
			f.b = strconv.AppendUint(f.b, uint64(vmask), 16)
		}
		f.sep()
	}
	if pcp != 0 || pmask != 0 {
		f.b = append(f.b, "pcp="...)
		f.b = strconv.AppendUint(f.b, uint64(pcp), 10)
		if pmask != 7 {
			f.b = append(f.b, "/0x"...)
			f.b = strconv.AppendUint(f.b, uint64(pmask), 16)
		}
		f.sep()
	}
	if tci&VLANCFI == 0 {
		f.b = append(f.b, "cfi=0,"...)
	}
}

// tcpFlagNames are OVS's names of the TCP flag bits, lowest bit first.
var tcpFlagNames = [12]string{"fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr", "ns", "[200]", "[400]", "[800]"}

func (f *formatter) tcpFlags(v, mask uint16) {
	if mask&0x0fff == 0x0fff {
		if v&0x0fff == 0 {
			f.b = append(f.b, '0')
			return
		}
		first := true
		for i, n := range tcpFlagNames {
			if v&(1<<i) != 0 {
				if !first {
					f.b = append(f.b, '|')
				}
				f.b = append(f.b, n...)
				first = false
			}
		}
		return
	}
	for i, n := range tcpFlagNames {
		if mask&(1<<i) != 0 {
			if v&(1<<i) != 0 {
				f.b = append(f.b, '+')
			} else {
				f.b = append(f.b, '-')
			}
			f.b = append(f.b, n...)
		}
	}
}

// AppendTCPFlagsStat appends TCP flags the way OVS prints a flow's
// accumulated flags in its statistics ("S." for SYN and ACK, "none" for
// none).
func AppendTCPFlagsStat(dst []byte, flags uint16) []byte {
	if flags == 0 {
		return append(dst, "none"...)
	}
	for _, c := range [...]struct {
		bit uint16
		s   string
	}{{0x002, "S"}, {0x001, "F"}, {0x008, "P"}, {0x004, "R"}, {0x020, "U"}, {0x010, "."},
		{0x040, "E"}, {0x080, "C"}, {0x100, "N"}, {0x200, "[200]"}, {0x400, "[400]"}, {0x800, "[800]"}} {
		if flags&c.bit != 0 {
			dst = append(dst, c.s...)
		}
	}
	return dst
}

// AppendMAC appends a MAC address as six colon-separated lowercase hex
// bytes.
func AppendMAC(dst []byte, a [6]byte) []byte {
	const hex = "0123456789abcdef"
	for i, c := range a {
		if i > 0 {
			dst = append(dst, ':')
		}
		dst = append(dst, hex[c>>4], hex[c&15])
	}
	return dst
}

// appendHexC formats like C's "%#x": "0" for zero, "0x..." otherwise.
func appendHexC(dst []byte, v uint64) []byte {
	if v == 0 {
		return append(dst, '0')
	}
	dst = append(dst, "0x"...)
	return strconv.AppendUint(dst, v, 16)
}

// appendHex04 formats like C's "0x%04x".
func appendHex04(dst []byte, v uint16) []byte {
	const hex = "0123456789abcdef"
	return append(dst, '0', 'x', hex[v>>12], hex[v>>8&15], hex[v>>4&15], hex[v&15])
}
