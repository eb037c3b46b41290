package actions

import (
	"errors"
	"math/bits"
	"strconv"
	"strings"

	"github.com/b7cafead/datapath/flow"
)

// Attributes whose netlink structure has padding (arp, ct_tuple4,
// ct_tuple6, nd_ext) or a field narrower than its bytes (the IPv6 flow
// label) can never have an all-ones mask, so OVS's parser always makes a
// masked set of them; so does Parse.
var alwaysMasked = map[Attr]bool{
	AttrIPv6: true, AttrARP: true, AttrCtTuple4: true, AttrCtTuple6: true, AttrNDExtension: true,
}

// fullMask returns the mask of every field of a settable attribute: the
// mask of an unmasked set. For tunnel and mpls, whose fields are present
// or not, it covers every field. The mask is shared: callers do not
// change it. Attributes without settable fields give a zero mask.
func fullMask(a Attr) *flow.Key {
	if int(a) < len(fullMasks) {
		return &fullMasks[a]
	}
	return &noSet.Mask
}

// fullMasks are the masks fullMask returns, by attribute.
var fullMasks = func() (m [AttrNDExtension + 1]flow.Key) {
	for a := range m {
		m[a] = makeFullMask(Attr(a))
	}
	return m
}()

// makeFullMask computes fullMask(a).
func makeFullMask(a Attr) flow.Key {
	var m flow.Key
	ff6 := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	ff4 := [4]byte{0xff, 0xff, 0xff, 0xff}
	ff16 := [16]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	switch a {
	case AttrPriority:
		m.Priority = ^uint32(0)
	case AttrInPort:
		m.InPort = ^uint32(0)
	case AttrEthernet:
		m.EthSrc, m.EthDst = ff6, ff6
	case AttrVLAN:
		m.VlanTCI[0] = 0xffff
	case AttrEthType:
		m.EthType = 0xffff
	case AttrIPv4:
		m.NwSrc, m.NwDst = ff4, ff4
		m.NwProto, m.NwTos, m.NwTTL, m.NwFrag = 0xff, 0xff, 0xff, flow.FragMask
	case AttrIPv6:
		m.IPv6Src, m.IPv6Dst, m.IPv6Label = ff16, ff16, 0xfffff
		m.NwProto, m.NwTos, m.NwTTL, m.NwFrag = 0xff, 0xff, 0xff, flow.FragMask
	case AttrTCP, AttrUDP, AttrSCTP:
		m.TpSrc, m.TpDst = 0xffff, 0xffff
	case AttrICMP, AttrICMPv6:
		m.TpSrc, m.TpDst = 0xff, 0xff
	case AttrARP:
		m.NwSrc, m.NwDst, m.NwProto, m.ArpSHA, m.ArpTHA = ff4, ff4, 0xff, ff6, ff6
	case AttrND:
		m.NdTarget, m.ArpSHA, m.ArpTHA = ff16, ff6, ff6
	case AttrSkbMark:
		m.SkbMark = ^uint32(0)
	case AttrTunnel:
		m.TunID, m.TunSrc, m.TunDst, m.TunIPv6Src, m.TunIPv6Dst = ^uint64(0), ff4, ff4, ff16, ff16
		m.TunTOS, m.TunTTL, m.TunTpSrc, m.TunTpDst, m.TunFlags = 0xff, 0xff, 0xffff, 0xffff, flow.TunFlagMask
	case AttrTCPFlags:
		m.TCPFlags = 0x0fff
	case AttrDpHash:
		m.DpHash = ^uint32(0)
	case AttrRecircID:
		m.RecircID = ^uint32(0)
	case AttrMPLS:
		for i := range m.MplsLSE {
			m.MplsLSE[i] = ^uint32(0)
		}
	case AttrCtState:
		m.CtState = 0xff
	case AttrCtZone:
		m.CtZone = 0xffff
	case AttrCtMark:
		m.CtMark = ^uint32(0)
	case AttrCtLabels:
		m.CtLabel = ff16
	case AttrCtTuple4:
		m.CtNwSrc, m.CtNwDst, m.CtNwProto, m.CtTpSrc, m.CtTpDst = ff4, ff4, 0xff, 0xffff, 0xffff
	case AttrCtTuple6:
		m.CtIPv6Src, m.CtIPv6Dst, m.CtNwProto, m.CtTpSrc, m.CtTpDst = ff16, ff16, 0xff, 0xffff, 0xffff
	case AttrPacketType:
		m.PacketType = ^uint32(0)
	}
	return m
}

// flowAttrs are the attributes whose fields flow.AppendAttr formats as
// OVS does. IPv6 addresses are formatted here instead, with glibc's rules
// (flow prints "::1:2" where OVS prints "::0.1.0.2").
var flowAttrs = map[Attr]bool{
	AttrEthernet: true, AttrIPv4: true, AttrTCP: true, AttrUDP: true, AttrSCTP: true,
	AttrICMP: true, AttrICMPv6: true, AttrARP: true,
}

// set parses the argument of set( (already consumed) and its closing
// parenthesis.
func (p *scanner) set(start int) (Action, error) {
	p.depth++
	defer func() { p.depth-- }()
	at := p.i
	name := p.word()
	a := Action{Type: TypeSetMasked}
	switch name {
	case "vlan", "eth_type", "encap":
		if err := p.setLocal(name, &a); err != nil {
			return Action{}, err
		}
	case "nsh":
		// OVS 3.1 formats set(nsh(...)) but its parser refuses it.
		return Action{}, p.errAt(at, "set of nsh is not supported (OVS 3.1 cannot parse it either)")
	default:
		n, m, used, err := flow.ParseAttr(p.rest())
		if err != nil {
			var se *flow.SyntaxError
			if errors.As(err, &se) {
				return Action{}, p.errAt(p.i+se.Offset, "set: %s", strings.TrimPrefix(se.Msg, "flow: "))
			}
			return Action{}, p.errAt(at, "set: %v", err)
		}
		attr, ok := attrByName[n]
		if !ok {
			return Action{}, p.errAt(at, "set of %s is not supported", n)
		}
		if attr == AttrTunnel {
			if err := tunnelOptMasks(p.rest()[:used], &m.Key, &m.Mask); err != nil {
				return Action{}, p.errAt(at, "set: %v", err)
			}
		}
		if attr == AttrRecircID && m.Mask.RecircID != ^uint32(0) {
			// OVS scans recirc_id without a mask.
			return Action{}, p.errAt(at, "set: recirc_id cannot be masked")
		}
		a.Attr, a.Set = attr, &Set{Key: m.Key, Mask: m.Mask}
		p.i += used
	}
	p.spaces()
	if !p.lit(")") {
		return Action{}, p.errAt(p.i, "expected ) to close set(")
	}
	classifySet(&a)
	return a, nil
}

// setLocal parses the attributes package flow does not accept on their own:
// vlan(vid,pcp,cfi), eth_type(T) and an empty encap().
func (p *scanner) setLocal(name string, a *Action) error {
	at := p.i
	p.lit(name + "(")
	a.Set = new(Set)
	switch name {
	case "eth_type":
		a.Attr = AttrEthType
		v, err := p.num(16, 0, "eth_type")
		if err != nil {
			return err
		}
		a.Set.Key.EthType, a.Set.Mask.EthType = uint16(v), 0xffff
		if p.lit("/") {
			if v, err = p.num(16, 0, "eth_type mask"); err != nil {
				return err
			}
			a.Set.Mask.EthType = uint16(v)
		}
	case "encap":
		a.Attr = AttrEncap
		p.spaces()
		if p.peek() != ')' {
			return p.errAt(at, "set of encap() with attributes is not supported")
		}
	case "vlan":
		// As OVS: the key and mask start with the CFI bit set; each field
		// sets its bits, with a full mask unless one is given.
		a.Attr = AttrVLAN
		tci, mask := uint16(flow.VLANCFI), uint16(flow.VLANCFI)
		for first := true; ; first = false {
			p.spaces()
			if p.peek() == ')' {
				break
			}
			if !first {
				if err := p.expect(","); err != nil {
					return err
				}
			}
			var width, shift uint
			switch {
			case p.lit("vid="):
				width, shift = 12, 0
			case p.lit("pcp="):
				width, shift = 3, 13
			case p.lit("cfi="):
				width, shift = 1, 12
			default:
				return p.errAt(p.i, "vlan: expected vid=, pcp= or cfi=")
			}
			fm := uint16(1<<width-1) << shift
			v, err := p.num(16, 0, "vlan")
			if err != nil {
				return err
			}
			if v>>width != 0 {
				return p.errAt(at, "vlan: %d does not fit in %d bits", v, width)
			}
			tci = tci&^fm | uint16(v)<<shift
			if p.lit("/") {
				m, err := p.num(16, 0, "vlan mask")
				if err != nil {
					return err
				}
				if m>>width != 0 {
					return p.errAt(at, "vlan: mask %d does not fit in %d bits", m, width)
				}
				mask = mask&^fm | uint16(m)<<shift
			} else {
				mask |= fm
			}
		}
		a.Set.Key.VlanTCI[0], a.Set.Mask.VlanTCI[0] = tci, mask
	}
	p.spaces()
	return p.expect(")")
}

// classifySet makes a an unmasked set if its mask covers the whole
// attribute, as OVS's parser decides by comparing the netlink key and mask.
func classifySet(a *Action) {
	a.Type = TypeSetMasked
	switch {
	case a.Attr == AttrEncap:
		a.Type = TypeSet // both are empty: an all-ones mask, vacuously
	case a.Attr == AttrTunnel:
		// OVS writes one netlink attribute per tunnel field given, in key
		// and mask alike, plus one per df, csum and oam flag set (in the
		// key) or masked (in the mask). When the two differ in length the
		// set is unmasked; when they agree, the nested headers are never
		// all ones, so the set is masked.
		if n := tunnelSize(a); n != tunnelMaskSize(a) || n == 0 {
			a.Type = TypeSet
		}
	case alwaysMasked[a.Attr]:
	case a.Attr == AttrMPLS:
		m := &a.set().Mask
		n := mplsCount(m)
		all := true
		for i := 0; i < n; i++ {
			all = all && m.MplsLSE[i] == ^uint32(0)
		}
		if all {
			a.Type = TypeSet
		}
	default:
		if a.set().Mask == *fullMask(a.Attr) {
			a.Type = TypeSet
		}
	}
}

// mplsCount returns the number of label stack entries a set of mpls
// carries: those up to the last one with any bit given.
func mplsCount(m *flow.Key) int {
	n := 0
	for i, v := range m.MplsLSE {
		if v != 0 {
			n = i + 1
		}
	}
	return n
}

// tunnelSize returns the size of the netlink payload OVS builds for the
// key of set(tunnel(...)): one attribute per field given and per df, csum
// and oam flag set.
func tunnelSize(a *Action) int {
	k, m := &a.set().Key, &a.set().Mask
	n := 4 * bits.OnesCount16(k.TunFlags&(flow.TunFlagOAM|flow.TunFlagDF|flow.TunFlagCsum))
	if m.TunID != 0 {
		n += 12
	}
	if m.TunSrc != ([4]byte{}) {
		n += 8
	}
	if m.TunDst != ([4]byte{}) {
		n += 8
	}
	if m.TunIPv6Src != ([16]byte{}) {
		n += 20
	}
	if m.TunIPv6Dst != ([16]byte{}) {
		n += 20
	}
	for _, x := range []bool{m.TunTOS != 0, m.TunTTL != 0, m.TunTpSrc != 0, m.TunTpDst != 0} {
		if x {
			n += 8
		}
	}
	if gbp(k) != 0 {
		n += 12
	}
	return n + tunnelOptsSize(a)
}

// tunnelMaskSize is tunnelSize for the mask OVS builds: the same fields,
// and one attribute per df, csum and oam flag masked and for a non-zero
// VXLAN GBP mask.
func tunnelMaskSize(a *Action) int {
	k, m := &a.set().Key, &a.set().Mask
	const fl = flow.TunFlagOAM | flow.TunFlagDF | flow.TunFlagCsum
	n := tunnelSize(a) - 4*bits.OnesCount16(k.TunFlags&fl) + 4*bits.OnesCount16(m.TunFlags&fl)
	if gbp(k) != 0 {
		n -= 12
	}
	if gbp(m) != 0 {
		n += 12
	}
	return n
}

// gbp returns the VXLAN GBP extension word as OVS puts it in netlink:
// flags << 16 | id. OVS writes the attribute only when it is not zero.
func gbp(k *flow.Key) uint32 { return uint32(k.TunGbpFlags)<<16 | uint32(k.TunGbpID) }

// tunnelOptsSize returns the bytes of the Geneve, ERSPAN and GTP-U option
// attributes, which OVS's parser writes alike in key and mask whenever
// the text gives them: the Geneve options as they are, struct
// erspan_metadata (8 bytes) and struct gtpu_metadata (2 bytes, padded).
func tunnelOptsSize(a *Action) int {
	n := 0
	if hasGeneve(a) {
		n += 4 + int(a.set().Key.TunGeneveLen)
	}
	if hasErspan(a) {
		n += 12
	}
	if hasGtpu(a) {
		n += 8
	}
	return n
}

func hasGeneve(a *Action) bool { return a.set().Mask.TunFlags&flow.TunFlagGeneve != 0 }
func hasErspan(a *Action) bool { return a.set().Key.TunErspanVer != 0 }
func hasGtpu(a *Action) bool {
	k, m := &a.set().Key, &a.set().Mask
	return k.TunGtpuFlags|k.TunGtpuMsgType|m.TunGtpuFlags|m.TunGtpuMsgType != 0
}

// tunnelOptMasks completes the masks of the tunnel options of a set's
// tunnel(...) text the way OVS's parser fills them for a set (package flow
// keeps a flow's masks, which differ): erspan() keeps the masks given for
// idx, dir (one bit) and hwid (four bits), all ones when none is given,
// and its version mask is all ones. A gtpu() that sets no bit cannot be
// represented and is refused.
func tunnelOptMasks(text string, k, m *flow.Key) error {
	if k.TunGtpuFlags|k.TunGtpuMsgType|m.TunGtpuFlags|m.TunGtpuMsgType == 0 && strings.Contains(text, "gtpu(") {
		return errors.New("tunnel: a gtpu() with no bit set or masked is not supported")
	}
	if k.TunErspanVer == 0 {
		return nil
	}
	i := strings.Index(text, "erspan(")
	if i < 0 {
		return nil
	}
	s := text[i+len("erspan("):]
	field := func(name string, bits int) (uint64, bool) {
		if !strings.HasPrefix(s, name+"=") {
			return 0, false
		}
		s = s[len(name)+1:]
		j := strings.IndexAny(s, ",)")
		if j < 0 {
			return 0, false
		}
		tok := s[:j]
		s = strings.TrimPrefix(s[j:], ",")
		mask := uint64(1)<<bits - 1
		if _, ms, ok := strings.Cut(tok, "/"); ok {
			v, err := strconv.ParseUint(ms, 0, bits)
			if err != nil {
				return 0, false
			}
			mask = v
		}
		return mask, true
	}
	field("ver", 8)
	m.TunErspanVer = 0xff
	if k.TunErspanVer == 1 {
		idx, _ := field("idx", 32)
		m.TunErspanIdx = uint32(idx)
		return nil
	}
	dir, _ := field("dir", 8)
	hwid, _ := field("hwid", 8)
	m.TunErspanDir, m.TunErspanHwID = uint8(dir)&1, uint8(hwid)&0xf
	return nil
}

// appendSet formats a set or masked set action as OVS's format_odp_action
// does: an unmasked set prints every field of its attribute, a masked one
// the fields its mask touches, with value/mask where the mask is partial.
func appendSet(dst []byte, a *Action) []byte {
	dst = append(dst, "set("...)
	verbose := a.Type == TypeSet
	mask := &a.set().Mask
	if verbose && a.Attr != AttrTunnel && a.Attr != AttrMPLS {
		mask = fullMask(a.Attr)
	}
	k := &a.set().Key
	name := a.Attr.String()
	if flowAttrs[a.Attr] {
		dst, _ = flow.AppendAttr(dst, name, k, mask)
		return append(dst, ')')
	}
	dst = append(dst, name...)
	dst = append(dst, '(')
	switch a.Attr {
	case AttrPriority:
		dst = appendU32Attr(dst, k.Priority, mask.Priority, verbose)
	case AttrSkbMark:
		dst = appendU32Attr(dst, k.SkbMark, mask.SkbMark, verbose)
	case AttrDpHash:
		dst = appendU32Attr(dst, k.DpHash, mask.DpHash, verbose)
	case AttrRecircID:
		dst = appendU32Attr(dst, k.RecircID, mask.RecircID, verbose)
	case AttrInPort:
		dst = strconv.AppendUint(dst, uint64(k.InPort), 10)
		if mask.InPort != ^uint32(0) {
			dst = appendHexC(append(dst, '/'), uint64(mask.InPort))
		}
	case AttrEthType:
		dst = appendHex04(dst, k.EthType)
		if mask.EthType != 0xffff {
			dst = appendHex04(append(dst, '/'), mask.EthType)
		}
	case AttrVLAN:
		dst = appendVLANTCI(dst, k.VlanTCI[0], mask.VlanTCI[0], verbose)
	case AttrMPLS:
		dst = appendMPLSSet(dst, k, mask, verbose)
	case AttrCtState:
		switch {
		case verbose:
			dst = appendHexC(dst, uint64(k.CtState))
		case mask.CtState == 0xff:
			dst = appendFlags(dst, ctStateName, uint32(k.CtState), '|')
		default:
			dst = appendFlagsMasked(dst, ctStateName, uint32(k.CtState), uint32(mask.CtState), ^uint32(0))
		}
	case AttrCtZone:
		if verbose || mask.CtZone != 0 {
			dst = appendHexC(dst, uint64(k.CtZone))
			if mask.CtZone != 0xffff {
				dst = appendHexC(append(dst, '/'), uint64(mask.CtZone))
			}
		}
	case AttrCtMark:
		if verbose || mask.CtMark != 0 {
			dst = appendU32Attr(dst, k.CtMark, mask.CtMark, verbose)
		}
	case AttrCtLabels:
		if verbose || mask.CtLabel != ([16]byte{}) {
			dst = appendHexBytes(dst, k.CtLabel[:])
			if mask.CtLabel != fullMask(AttrCtLabels).CtLabel {
				dst = appendHexBytes(append(dst, '/'), mask.CtLabel[:])
			}
		}
	case AttrIPv6:
		f := fields{b: dst, verbose: verbose}
		f.ipv6("src", k.IPv6Src, mask.IPv6Src)
		f.ipv6("dst", k.IPv6Dst, mask.IPv6Dst)
		f.num("label", uint64(k.IPv6Label), uint64(mask.IPv6Label&0xfffff), 0xfffff, true)
		f.num("proto", uint64(k.NwProto), uint64(mask.NwProto), 0xff, false)
		f.num("tclass", uint64(k.NwTos), uint64(mask.NwTos), 0xff, true)
		f.num("hlimit", uint64(k.NwTTL), uint64(mask.NwTTL), 0xff, false)
		if mask.NwFrag != 0 {
			f.b = append(f.b, "frag="...)
			switch {
			case k.NwFrag&flow.FragAny == 0:
				f.b = append(f.b, "no"...)
			case k.NwFrag&flow.FragLater != 0:
				f.b = append(f.b, "later"...)
			default:
				f.b = append(f.b, "first"...)
			}
		}
		dst = f.end()
	case AttrND:
		f := fields{b: dst, verbose: verbose}
		f.ipv6("target", k.NdTarget, mask.NdTarget)
		f.mac("sll", k.ArpSHA, mask.ArpSHA)
		f.mac("tll", k.ArpTHA, mask.ArpTHA)
		dst = f.end()
	case AttrNDExtension:
		// OVS prints nd_reserved whatever its mask; the options type
		// (kept in TCPFlags, as flow does) under its mask.
		// nd_reserved prints as "0x%x", zero included.
		dst = strconv.AppendUint(append(dst, "nd_reserved=0x"...), uint64(k.NdReserved), 16)
		dst = append(dst, ',')
		f := fields{b: dst, verbose: verbose}
		f.num("nd_options_type", uint64(uint8(k.TCPFlags)), uint64(uint8(mask.TCPFlags)), 0xff, false)
		dst = f.end()
	case AttrCtTuple4:
		f := fields{b: dst, verbose: verbose}
		f.ipv4("src", k.CtNwSrc, mask.CtNwSrc)
		f.ipv4("dst", k.CtNwDst, mask.CtNwDst)
		f.num("proto", uint64(k.CtNwProto), uint64(mask.CtNwProto), 0xff, false)
		f.num("tp_src", uint64(k.CtTpSrc), uint64(mask.CtTpSrc), 0xffff, false)
		f.num("tp_dst", uint64(k.CtTpDst), uint64(mask.CtTpDst), 0xffff, false)
		dst = f.end()
	case AttrCtTuple6:
		f := fields{b: dst, verbose: verbose}
		f.ipv6("src", k.CtIPv6Src, mask.CtIPv6Src)
		f.ipv6("dst", k.CtIPv6Dst, mask.CtIPv6Dst)
		f.num("proto", uint64(k.CtNwProto), uint64(mask.CtNwProto), 0xff, false)
		f.num("src_port", uint64(k.CtTpSrc), uint64(mask.CtTpSrc), 0xffff, false)
		f.num("dst_port", uint64(k.CtTpDst), uint64(mask.CtTpDst), 0xffff, false)
		dst = f.end()
	case AttrPacketType:
		f := fields{b: dst, verbose: verbose}
		f.num("ns", uint64(k.PacketType>>16), uint64(mask.PacketType>>16), 0xffff, false)
		f.num("id", uint64(k.PacketType&0xffff), uint64(mask.PacketType&0xffff), 0xffff, true)
		dst = f.end()
	case AttrTCPFlags:
		if mask.TCPFlags&0x0fff == 0x0fff {
			dst = appendFlags(dst, tcpFlagName, uint32(k.TCPFlags), '|')
		} else {
			dst = appendFlagsMasked(dst, tcpFlagName, uint32(k.TCPFlags), uint32(mask.TCPFlags&0x0fff), 0x0fff)
		}
	case AttrTunnel:
		dst = appendTunnelSet(dst, a)
	}
	return append(dst, "))"...)
}

// appendU32Attr formats a 32-bit metadata value as OVS does: "%#x", and
// "/%#x" unless the mask is exact.
func appendU32Attr(dst []byte, v, mask uint32, exact bool) []byte {
	dst = appendHexC(dst, uint64(v))
	if !exact && mask != ^uint32(0) {
		dst = appendHexC(append(dst, '/'), uint64(mask))
	}
	return dst
}

// appendMPLSSet formats the label stack entries of a set of mpls.
func appendMPLSSet(dst []byte, k, m *flow.Key, verbose bool) []byte {
	n := mplsCount(m)
	if verbose && n == 0 {
		n = 1
	}
	exact := true
	for i := 0; i < n; i++ {
		exact = exact && m.MplsLSE[i] == ^uint32(0)
	}
	for i := 0; i < n; i++ {
		if i > 0 {
			dst = append(dst, ',')
		}
		v, mk := k.MplsLSE[i], m.MplsLSE[i]
		if verbose || exact {
			dst = appendLSE(dst, v)
			continue
		}
		dst = append(dst, "label="...)
		dst = strconv.AppendUint(dst, uint64(v>>flow.MPLSLabelShift), 10)
		dst = appendHex(append(dst, '/'), uint64(mk>>flow.MPLSLabelShift))
		dst = append(dst, ",tc="...)
		dst = strconv.AppendUint(dst, uint64(v&flow.MPLSTCMask>>flow.MPLSTCShift), 10)
		dst = strconv.AppendUint(append(dst, '/'), uint64(mk&flow.MPLSTCMask>>flow.MPLSTCShift), 16)
		dst = append(dst, ",ttl="...)
		dst = strconv.AppendUint(dst, uint64(v&flow.MPLSTTLMask), 10)
		dst = appendHex(append(dst, '/'), uint64(mk&flow.MPLSTTLMask))
		dst = append(dst, ",bos="...)
		dst = strconv.AppendUint(dst, uint64(v&flow.MPLSBOSMask>>8), 10)
		dst = strconv.AppendUint(append(dst, '/'), uint64(mk&flow.MPLSBOSMask>>8), 16)
	}
	return dst
}

// appendTunnelSet formats the fields of set(tunnel(...)). An unmasked
// set prints the fields given and the flags; a masked one prints the
// fields under their masks and the flags as +flag/-flag, except that when
// the key's netlink payload exceeds 40 bytes OVS prints the key and the
// mask one after the other as if both were keys (and drops tun_id), which
// is reproduced.
func appendTunnelSet(dst []byte, a *Action) []byte {
	k, m := &a.set().Key, &a.set().Mask
	const fl = flow.TunFlagOAM | flow.TunFlagDF | flow.TunFlagCsum
	hasID := m.TunID != 0
	flags := uint32(k.TunFlags & fl)
	if hasID {
		flags |= flow.TunFlagKey
	}
	f := fields{b: dst, verbose: true}
	switch {
	case a.Type == TypeSet:
		tunnelFields(&f, k, m, true, true)
		tunnelOpts(&f, a, optsKey)
		f.b = append(f.b, "flags("...)
		f.b = appendFlags(f.b, tunFlagName, flags, '|')
		f.b = append(f.b, "),"...)
	case tunnelSize(a) <= 40:
		f.verbose = false
		tunnelFields(&f, k, m, false, true)
		tunnelOpts(&f, a, optsMasked)
		f.verbose = true
		mflags := uint32(m.TunFlags & fl)
		if hasID {
			mflags |= flow.TunFlagKey
		}
		if mflags != 0 {
			f.b = append(f.b, "flags("...)
			f.b = appendFlagsMasked(f.b, tunFlagName, flags, mflags, flow.TunFlagMask)
			f.b = append(f.b, "),"...)
		}
	default:
		tunnelFields(&f, k, m, true, false)
		tunnelOpts(&f, a, optsKey)
		tunnelFields(&f, m, m, true, false)
		tunnelOpts(&f, a, optsMaskAsKey)
		f.b = append(f.b, "flags("...)
		f.b = appendFlags(f.b, tunFlagName, flags|uint32(m.TunFlags&fl), '|')
		f.b = append(f.b, "),"...)
	}
	return f.end()
}

// tunnelFields formats the tunnel fields present in presence, with values
// from k; unmasked prints them without masks, withID includes tun_id.
func tunnelFields(f *fields, k, presence *flow.Key, unmasked, withID bool) {
	m := presence
	mask := func(v uint64, full uint64) uint64 {
		if unmasked && v != 0 {
			return full
		}
		return v
	}
	if withID && m.TunID != 0 {
		f.b = append(f.b, "tun_id="...)
		f.b = appendHex(f.b, k.TunID)
		if !unmasked && m.TunID != ^uint64(0) {
			f.b = appendHexC(append(f.b, '/'), m.TunID)
		}
		f.b = append(f.b, ',')
	}
	ip4 := func(name string, v, pm [4]byte) {
		if pm == ([4]byte{}) {
			return
		}
		if unmasked {
			pm = [4]byte{0xff, 0xff, 0xff, 0xff}
		}
		f.ipv4(name, v, pm)
	}
	ip6 := func(name string, v, pm [16]byte) {
		if pm == ([16]byte{}) {
			return
		}
		if unmasked {
			pm = fullMask(AttrIPv6).IPv6Src
		}
		f.ipv6(name, v, pm)
	}
	ip4("src", k.TunSrc, m.TunSrc)
	ip4("dst", k.TunDst, m.TunDst)
	ip6("ipv6_src", k.TunIPv6Src, m.TunIPv6Src)
	ip6("ipv6_dst", k.TunIPv6Dst, m.TunIPv6Dst)
	f.numPresent("tos", uint64(k.TunTOS), mask(uint64(m.TunTOS), 0xff), 0xff, true)
	f.numPresent("ttl", uint64(k.TunTTL), mask(uint64(m.TunTTL), 0xff), 0xff, false)
	f.numPresent("tp_src", uint64(k.TunTpSrc), mask(uint64(m.TunTpSrc), 0xffff), 0xffff, false)
	f.numPresent("tp_dst", uint64(k.TunTpDst), mask(uint64(m.TunTpDst), 0xffff), 0xffff, false)
}

// How tunnelOpts prints the options of a set(tunnel(...)).
const (
	optsKey       = iota // the key's options, without masks
	optsMasked           // the key's options under the mask
	optsMaskAsKey        // the mask's options as if they were a key
)

// geneveFull is an all-ones Geneve options mask.
var geneveFull = func() flow.Key {
	var k flow.Key
	for i := range k.TunGeneve {
		k.TunGeneve[i] = 0xff
	}
	return k
}()

// tunnelOpts formats the VXLAN GBP, Geneve, ERSPAN and GTP-U options of
// a set(tunnel(...)) as OVS's format_odp_tun_attr prints the attributes
// its parser wrote (see tunnelSize), in the order it writes them.
func tunnelOpts(f *fields, a *Action, how int) {
	k, m := &a.set().Key, &a.set().Mask
	src := k // the attributes' values
	if how == optsMaskAsKey {
		src = m
	}
	if g := gbp(src); g != 0 {
		var idm, flm uint64 = 0xffff, 0xff
		if how == optsMasked {
			idm, flm = uint64(m.TunGbpID), uint64(m.TunGbpFlags)
		}
		f.b = append(f.b, "vxlan(gbp("...)
		f.num("id", uint64(src.TunGbpID), idm, 0xffff, false)
		f.num("flags", uint64(src.TunGbpFlags), flm, 0xff, true)
		f.b = append(f.end(), ")),"...)
	}
	if hasGeneve(a) {
		switch how {
		case optsKey:
			f.b = flow.AppendGeneveOpts(f.b, k, &geneveFull)
		case optsMasked:
			f.b = flow.AppendGeneveOpts(f.b, k, m)
		default:
			g := flow.Key{TunFlags: flow.TunFlagGeneve, TunGeneveLen: k.TunGeneveLen, TunGeneve: m.TunGeneve}
			f.b = flow.AppendGeneveOpts(f.b, &g, &geneveFull)
		}
	}
	if hasErspan(a) {
		f.b = append(f.b, "erspan("...)
		switch how {
		case optsMaskAsKey:
			// The mask's version is all ones: no version OVS knows.
			f.b = append(f.b, "ver=255"...)
		case optsKey:
			f.num("ver", uint64(k.TunErspanVer), 0xff, 0xff, false)
			if k.TunErspanVer == 1 {
				f.b = appendHexC(append(f.b, "idx="...), uint64(k.TunErspanIdx))
			} else {
				f.num("dir", uint64(k.TunErspanDir), 0xff, 0xff, false)
				f.num("hwid", uint64(k.TunErspanHwID), 0xff, 0xff, true)
			}
		default:
			f.num("ver", uint64(k.TunErspanVer), uint64(m.TunErspanVer), 0xff, false)
			if k.TunErspanVer == 1 {
				f.b = appendHexC(append(f.b, "idx="...), uint64(k.TunErspanIdx))
				f.b = appendHexC(append(f.b, '/'), uint64(m.TunErspanIdx))
			} else {
				f.num("dir", uint64(k.TunErspanDir), uint64(m.TunErspanDir), 0xff, false)
				f.num("hwid", uint64(k.TunErspanHwID), uint64(m.TunErspanHwID), 0xff, true)
			}
		}
		f.b = append(f.end(), "),"...)
	}
	if hasGtpu(a) {
		var flm, mtm uint64 = 0xff, 0xff
		if how == optsMasked {
			flm, mtm = uint64(m.TunGtpuFlags), uint64(m.TunGtpuMsgType)
		}
		f.b = append(f.b, "gtpu("...)
		f.num("flags", uint64(src.TunGtpuFlags), flm, 0xff, true)
		f.num("msgtype", uint64(src.TunGtpuMsgType), mtm, 0xff, false)
		f.b = append(f.end(), "),"...)
	}
}

var tunFlagNames = map[uint32]string{
	flow.TunFlagOAM: "oam", flow.TunFlagDF: "df", flow.TunFlagCsum: "csum", flow.TunFlagKey: "key",
}

func tunFlagName(bit uint32) string { return tunFlagNames[bit] }

var ctStateNames = map[uint32]string{
	flow.CtStateNew: "new", flow.CtStateEstablished: "est", flow.CtStateRelated: "rel",
	flow.CtStateReplyDir: "rpl", flow.CtStateInvalid: "inv", flow.CtStateTracked: "trk",
	flow.CtStateSrcNAT: "snat", flow.CtStateDstNAT: "dnat",
}

func ctStateName(bit uint32) string { return ctStateNames[bit] }

var tcpFlagNames = [12]string{"fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr", "ns", "[200]", "[400]", "[800]"}

func tcpFlagName(bit uint32) string {
	if i := bits.TrailingZeros32(bit); i < len(tcpFlagNames) {
		return tcpFlagNames[i]
	}
	return ""
}

// fields appends "name=value" fields separated by commas, with OVS's
// rules: a field prints when verbose or its mask is not zero, and its mask
// prints when it is not full.
type fields struct {
	b       []byte
	verbose bool
}

func (f *fields) ipv4(name string, v, mask [4]byte) {
	if !f.verbose && mask == ([4]byte{}) {
		return
	}
	f.b = append(f.b, name...)
	f.b = appendIPv4(append(f.b, '='), v)
	if mask != [4]byte{0xff, 0xff, 0xff, 0xff} {
		f.b = appendIPv4(append(f.b, '/'), mask)
	}
	f.b = append(f.b, ',')
}

func (f *fields) mac(name string, v, mask [6]byte) {
	if !f.verbose && mask == ([6]byte{}) {
		return
	}
	f.b = append(f.b, name...)
	f.b = flow.AppendMAC(append(f.b, '='), v)
	if mask != [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff} {
		f.b = flow.AppendMAC(append(f.b, '/'), mask)
	}
	f.b = append(f.b, ',')
}

func (f *fields) ipv6(name string, v, mask [16]byte) {
	if !f.verbose && mask == ([16]byte{}) {
		return
	}
	f.b = append(f.b, name...)
	f.b = appendIPv6(append(f.b, '='), v)
	if mask != fullMask(AttrIPv6).IPv6Src {
		f.b = appendIPv6(append(f.b, '/'), mask)
	}
	f.b = append(f.b, ',')
}

// num formats a number, decimal or "%#x", with "/%#x" for a partial mask.
func (f *fields) num(name string, v, mask, full uint64, hex bool) {
	if !f.verbose && mask == 0 {
		return
	}
	f.b = append(f.b, name...)
	f.b = append(f.b, '=')
	if hex {
		f.b = appendHexC(f.b, v)
	} else {
		f.b = strconv.AppendUint(f.b, v, 10)
	}
	if mask != full {
		f.b = appendHexC(append(f.b, '/'), mask)
	}
	f.b = append(f.b, ',')
}

// numPresent is num for a field that prints only when present (a non-zero
// presence mask), whatever verbose says.
func (f *fields) numPresent(name string, v, mask, full uint64, hex bool) {
	if mask == 0 {
		return
	}
	f.num(name, v, mask, full, hex)
}

// end drops a trailing comma and returns the buffer.
func (f *fields) end() []byte {
	if n := len(f.b); n > 0 && f.b[n-1] == ',' {
		f.b = f.b[:n-1]
	}
	return f.b
}
