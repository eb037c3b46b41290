package flow

import (
	"fmt"
	"math/big"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
)

// Match is a flow key together with its mask. Only the bits set in Mask
// take part in matching; Key keeps the values as they were written, as
// OVS's userspace datapath does, so that a flow prints back as it was
// given (udp(src=1000/0xff00) stays 1000, not 768). Key.PacketType also
// decides which attributes print: a key written without eth() has the
// non-Ethernet packet type 1<<16|eth_type, as in OVS.
type Match struct {
	Key  Key
	Mask Key
}

// SyntaxError describes flow or action text that does not parse. Offset
// is the byte offset in the input where the problem was found.
type SyntaxError struct {
	Text   string // the whole input
	Offset int
	Msg    string
}

// Error formats the message with the offset and the text near it.
func (e *SyntaxError) Error() string {
	near := e.Text[min(e.Offset, len(e.Text)):]
	if len(near) > 40 {
		near = near[:40] + "..."
	}
	if near == "" {
		return fmt.Sprintf("%s (at end of input)", e.Msg)
	}
	return fmt.Sprintf("%s (at offset %d: %q)", e.Msg, e.Offset, near)
}

// Parse parses a datapath flow in the syntax ovs-dpctl add-flow takes and
// dpctl/dump-flows prints, for example
//
//	in_port(1),eth_type(0x0800),ipv4(src=10.0.0.0/255.255.255.0,frag=no)
//
// Fields and attributes that are left out are wildcards; "value/mask"
// matches only the bits set in mask. Parse checks syntax and the
// dependencies between attributes (ipv4() needs eth_type(0x0800), udp()
// needs proto=17, and so on) as OVS does when it converts the text to a
// flow.
func Parse(s string) (Match, error) { return parse(s, true) }

// ParseKey parses flow text as OVS's odp_flow_from_string does: the syntax
// only, without the rules by which a datapath accepts a flow (a key may
// lack eth_type, leave out the attributes its values imply, or match
// in_port partially). Attributes whose fields the key cannot hold in their
// place are still refused (ipv4() under eth_type(0x86dd), udp() without
// proto=17). Use Parse for flows to install.
func ParseKey(s string) (Match, error) { return parse(s, false) }

func parse(s string, strict bool) (Match, error) {
	p := parser{s: s, strict: strict}
	var m Match
	p.skipSpace()
	if p.i == len(p.s) {
		return m, p.errf("empty flow")
	}
	if err := p.attrs(&m, 0); err != nil {
		return Match{}, err
	}
	p.skipSpace()
	if p.i != len(p.s) {
		return Match{}, p.errf("unexpected text after the flow")
	}
	if err := p.check(&m); err != nil {
		return Match{}, err
	}
	return m, nil
}

// MustParse is Parse for flows known to be valid, such as constants in
// tests and examples; it panics on error.
func MustParse(s string) Match {
	m, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return m
}

type parser struct {
	s string
	i int

	// Attributes seen, per VLAN nesting level.
	seen [MaxVLANs + 1]map[string]int
	// The eth_type value and mask given at each level.
	ethType, ethMask [MaxVLANs + 1]uint16
	hasVLAN          [MaxVLANs + 1]bool
	strict           bool // apply the datapath's rules (Parse), not just syntax
}

func (p *parser) errf(format string, a ...any) error {
	return &SyntaxError{Text: p.s, Offset: p.i, Msg: "flow: " + fmt.Sprintf(format, a...)}
}

func (p *parser) errAt(off int, format string, a ...any) error {
	return &SyntaxError{Text: p.s, Offset: off, Msg: "flow: " + fmt.Sprintf(format, a...)}
}

func (p *parser) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func isNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func (p *parser) name() string {
	j := p.i
	for p.i < len(p.s) && isNameChar(p.s[p.i]) {
		p.i++
	}
	return p.s[j:p.i]
}

// attrs parses a comma-separated attribute list up to the end of input or
// a closing parenthesis (left unconsumed).
func (p *parser) attrs(m *Match, depth int) error {
	for {
		p.skipSpace()
		start := p.i
		name := p.name()
		if name == "" {
			return p.errf("expected an attribute name")
		}
		p.skipSpace()
		if p.i >= len(p.s) || p.s[p.i] != '(' {
			return p.errf("expected ( after %s", name)
		}
		p.i++
		if p.seen[depth] == nil {
			p.seen[depth] = map[string]int{}
		}
		if _, dup := p.seen[depth][name]; dup {
			return p.errAt(start, "duplicate attribute %s", name)
		}
		p.seen[depth][name] = start
		if err := p.attr(m, name, start, depth); err != nil {
			return err
		}
		p.skipSpace()
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			return p.errf("expected ) to close %s(", name)
		}
		p.i++
		p.skipSpace()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			continue
		}
		return nil
	}
}

// fields parses "name=value[/mask],..." up to a closing parenthesis,
// calling set for each field.
func (p *parser) fields(attr string, set func(name, val, mask string) error) error {
	for {
		p.skipSpace()
		if p.i < len(p.s) && p.s[p.i] == ')' {
			return nil
		}
		start := p.i
		name := p.name()
		if name == "" || p.i >= len(p.s) || p.s[p.i] != '=' {
			return p.errAt(start, "%s: expected field=value", attr)
		}
		p.i++
		val, mask := p.fieldValue()
		if err := set(name, val, mask); err != nil {
			return p.errAt(start, "%s: %s: %v", attr, name, err)
		}
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
		}
	}
}

// fieldValue reads a field's "value[/mask]" up to the next comma or
// closing parenthesis (left unconsumed).
func (p *parser) fieldValue() (val, mask string) {
	j := p.i
	for p.i < len(p.s) && p.s[p.i] != ',' && p.s[p.i] != ')' {
		p.i++
	}
	val, mask, _ = strings.Cut(strings.TrimSpace(p.s[j:p.i]), "/")
	return val, mask
}

// scalar parses the contents of a single-value attribute like
// recirc_id(1) or eth_type(0x0800/0xffff).
func (p *parser) scalar() (val, mask string) {
	j := p.i
	for p.i < len(p.s) && p.s[p.i] != ')' {
		p.i++
	}
	v := strings.TrimSpace(p.s[j:p.i])
	val, mask, _ = strings.Cut(v, "/")
	return val, mask
}

func parseUint(s string, bits int) (uint64, error) {
	v, err := ParseCUint(s, bits)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, fmt.Errorf("%q out of range for %d bits", s, bits)
		}
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return v, nil
}

// ParseCUint parses an unsigned integer the way OVS's text parsers (C's
// "%i") do: decimal, hexadecimal after 0x, or octal after a leading 0.
// Unlike strconv with base 0 it accepts no underscores and no 0b or 0o
// prefixes.
func ParseCUint(s string, bits int) (uint64, error) {
	base, digits := 10, s
	switch {
	case len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'):
		base, digits = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base, digits = 8, s[1:]
	}
	for i := 0; i < len(digits); i++ {
		if c := digits[i]; c == '_' || c == '+' || c == '-' {
			return 0, &strconv.NumError{Func: "ParseCUint", Num: s, Err: strconv.ErrSyntax}
		}
	}
	return strconv.ParseUint(digits, base, bits)
}

// num parses value and optional mask; a missing mask is all ones.
func num(val, mask string, bits int) (uint64, uint64, error) {
	v, err := parseUint(val, bits)
	if err != nil {
		return 0, 0, err
	}
	m := uint64(1)<<bits - 1
	if mask != "" {
		if m, err = parseUint(mask, bits); err != nil {
			return 0, 0, err
		}
	}
	return v, m, nil
}

func u8f(v, m *uint8) func(string, string) error {
	return func(val, mask string) error {
		a, b, err := num(val, mask, 8)
		*v, *m = uint8(a), uint8(b)
		return err
	}
}

func u32f(v, m *uint32) func(string, string) error {
	return func(val, mask string) error {
		a, b, err := num(val, mask, 32)
		*v, *m = uint32(a), uint32(b)
		return err
	}
}

func u16f(v, m *uint16) func(string, string) error {
	return func(val, mask string) error {
		a, b, err := num(val, mask, 16)
		*v, *m = uint16(a), uint16(b)
		return err
	}
}

func macf(v, m *[6]byte) func(string, string) error {
	return func(val, mask string) error {
		var err error
		if *v, err = ParseMAC(val); err != nil {
			return err
		}
		*m = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		if mask != "" {
			*m, err = ParseMAC(mask)
		}
		return err
	}
}

func ipv4f(v, m *[4]byte) func(string, string) error {
	return func(val, mask string) error {
		a, err := netip.ParseAddr(val)
		if err != nil || !a.Is4() {
			return fmt.Errorf("%q is not an IPv4 address", val)
		}
		*v = a.As4()
		*m = [4]byte{0xff, 0xff, 0xff, 0xff}
		if mask != "" {
			if n, err := strconv.Atoi(mask); err == nil && n >= 0 && n <= 32 {
				pm := netip.PrefixFrom(netip.AddrFrom4([4]byte{}), n)
				*m = prefixMask4(pm.Bits())
				return nil
			}
			a, err := netip.ParseAddr(mask)
			if err != nil || !a.Is4() {
				return fmt.Errorf("%q is not an IPv4 mask", mask)
			}
			*m = a.As4()
		}
		return nil
	}
}

func prefixMask4(n int) [4]byte {
	var m [4]byte
	for i := 0; i < n; i++ {
		m[i/8] |= 0x80 >> (i % 8)
	}
	return m
}

func ipv6f(v, m *[16]byte) func(string, string) error {
	return func(val, mask string) error {
		a, err := netip.ParseAddr(val)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return fmt.Errorf("%q is not an IPv6 address", val)
		}
		*v = a.As16()
		*m = allOnes16
		if mask != "" {
			if n, err := strconv.Atoi(mask); err == nil && n >= 0 && n <= 128 {
				*m = [16]byte{}
				for i := 0; i < n; i++ {
					m[i/8] |= 0x80 >> (i % 8)
				}
				return nil
			}
			a, err := netip.ParseAddr(mask)
			if err != nil || !a.Is6() {
				return fmt.Errorf("%q is not an IPv6 mask", mask)
			}
			*m = a.As16()
		}
		return nil
	}
}

func fragf(v, m *uint8) func(string, string) error {
	return func(val, mask string) error {
		switch val {
		case "no":
			*v = 0
		case "first":
			*v = FragAny
		case "later":
			*v = FragAny | FragLater
		default:
			return fmt.Errorf("%q is not no, first or later", val)
		}
		*m = FragMask
		if mask != "" {
			x, err := parseUint(mask, 8)
			if err != nil {
				return err
			}
			switch x {
			case 0xff:
			case 0:
				*m = 0
			default:
				return fmt.Errorf("partial mask %s not supported for frag", mask)
			}
		}
		return nil
	}
}

// ParseMAC parses a MAC address written as six colon-separated hex bytes.
func ParseMAC(s string) ([6]byte, error) {
	var a [6]byte
	parts := strings.Split(s, ":")
	if len(parts) != 6 {
		return a, fmt.Errorf("%q is not a MAC address", s)
	}
	for i, x := range parts {
		if len(x) == 0 || len(x) > 2 {
			return a, fmt.Errorf("%q is not a MAC address", s)
		}
		v, err := strconv.ParseUint(x, 16, 8)
		if err != nil {
			return a, fmt.Errorf("%q is not a MAC address", s)
		}
		a[i] = byte(v)
	}
	return a, nil
}

type fieldSet map[string]func(val, mask string) error

func (p *parser) setFields(attr string, fs fieldSet) error {
	seen := map[string]bool{}
	return p.fields(attr, func(name, val, mask string) error {
		f, ok := fs[name]
		if !ok {
			return fmt.Errorf("unknown field")
		}
		if seen[name] {
			return fmt.Errorf("given twice")
		}
		seen[name] = true
		return f(val, mask)
	})
}

func (p *parser) attr(m *Match, name string, start, depth int) error {
	k, mk := &m.Key, &m.Mask
	u32 := func(v, mask *uint32) error {
		val, msk := p.scalar()
		a, b, err := num(val, msk, 32)
		if err != nil {
			return p.errAt(start, "%s: %v", name, err)
		}
		*v, *mask = uint32(a), uint32(b)
		return nil
	}
	if depth > 0 {
		switch name {
		case "recirc_id", "dp_hash", "skb_priority", "skb_mark", "in_port", "packet_type", "eth",
			"ct_state", "ct_zone", "ct_mark", "ct_label", "ct_tuple4", "ct_tuple6", "tunnel":
			return p.errAt(start, "%s not allowed inside encap()", name)
		}
	}
	switch name {
	case "recirc_id":
		return u32(&k.RecircID, &mk.RecircID)
	case "dp_hash":
		return u32(&k.DpHash, &mk.DpHash)
	case "skb_priority":
		return u32(&k.Priority, &mk.Priority)
	case "skb_mark":
		return u32(&k.SkbMark, &mk.SkbMark)
	case "in_port":
		return u32(&k.InPort, &mk.InPort)
	case "packet_type":
		var ns, nsm, id, idm uint16
		err := p.setFields(name, fieldSet{"ns": u16f(&ns, &nsm), "id": u16f(&id, &idm)})
		k.PacketType, mk.PacketType = uint32(ns)<<16|uint32(id), uint32(nsm)<<16|uint32(idm)
		return err
	case "eth":
		return p.setFields(name, fieldSet{
			"src": macf(&k.EthSrc, &mk.EthSrc),
			"dst": macf(&k.EthDst, &mk.EthDst),
		})
	case "eth_type":
		val, msk := p.scalar()
		a, b, err := num(val, msk, 16)
		if err != nil {
			return p.errAt(start, "%s: %v", name, err)
		}
		p.ethType[depth], p.ethMask[depth] = uint16(a), uint16(b)
		return nil
	case "vlan":
		if depth >= MaxVLANs {
			return p.errAt(start, "more than %d VLAN headers", MaxVLANs)
		}
		var vid, vidm, pcp, pcpm, cfi, cfim uint16
		cfi, cfim = 1, 1
		err := p.setFields(name, fieldSet{
			"vid": u16f(&vid, &vidm),
			"pcp": u16f(&pcp, &pcpm),
			"cfi": u16f(&cfi, &cfim),
		})
		if err != nil {
			return err
		}
		if vid > 0xfff || pcp > 7 || cfi > 1 {
			return p.errAt(start, "vlan: value out of range")
		}
		if cfi != 1 || cfim&1 != 1 {
			// OVS treats a tag without CFI as a truncated header that
			// carries nothing; such keys are not supported here.
			return p.errAt(start, "vlan: only cfi=1 (a present tag) is supported")
		}
		k.VlanTCI[depth] = vid&0xfff | pcp<<13 | cfi<<12
		mk.VlanTCI[depth] = vidm&0xfff | (pcpm&7)<<13 | (cfim&1)<<12
		p.hasVLAN[depth] = true
		return nil
	case "encap":
		if !p.hasVLAN[depth] {
			return p.errAt(start, "encap() without vlan()")
		}
		p.skipSpace()
		if p.i < len(p.s) && p.s[p.i] == ')' {
			return nil
		}
		return p.attrs(m, depth+1)
	case "ipv4":
		return p.setFields(name, fieldSet{
			"src":   ipv4f(&k.NwSrc, &mk.NwSrc),
			"dst":   ipv4f(&k.NwDst, &mk.NwDst),
			"proto": u8f(&k.NwProto, &mk.NwProto),
			"tos":   u8f(&k.NwTos, &mk.NwTos),
			"ttl":   u8f(&k.NwTTL, &mk.NwTTL),
			"frag":  fragf(&k.NwFrag, &mk.NwFrag),
		})
	case "ipv6":
		return p.setFields(name, fieldSet{
			"src": ipv6f(&k.IPv6Src, &mk.IPv6Src),
			"dst": ipv6f(&k.IPv6Dst, &mk.IPv6Dst),
			"label": func(val, mask string) error {
				a, b, err := num(val, mask, 32)
				if err == nil && a > 0xfffff {
					err = fmt.Errorf("%s larger than 20 bits", val)
				}
				k.IPv6Label, mk.IPv6Label = uint32(a), uint32(b)&0xfffff
				return err
			},
			"proto":  u8f(&k.NwProto, &mk.NwProto),
			"tclass": u8f(&k.NwTos, &mk.NwTos),
			"hlimit": u8f(&k.NwTTL, &mk.NwTTL),
			"frag":   fragf(&k.NwFrag, &mk.NwFrag),
		})
	case "tcp", "udp", "sctp":
		return p.setFields(name, fieldSet{
			"src": u16f(&k.TpSrc, &mk.TpSrc),
			"dst": u16f(&k.TpDst, &mk.TpDst),
		})
	case "tcp_flags":
		val, msk := p.scalar()
		v, mask, err := parseTCPFlags(val, msk)
		if err != nil {
			return p.errAt(start, "tcp_flags: %v", err)
		}
		k.TCPFlags, mk.TCPFlags = v, mask
		return nil
	case "icmp", "icmpv6":
		var t, tm, c, cm uint8
		err := p.setFields(name, fieldSet{"type": u8f(&t, &tm), "code": u8f(&c, &cm)})
		k.TpSrc, mk.TpSrc, k.TpDst, mk.TpDst = uint16(t), uint16(tm), uint16(c), uint16(cm)
		return err
	case "arp":
		var op, opm uint16
		err := p.setFields(name, fieldSet{
			"sip": ipv4f(&k.NwSrc, &mk.NwSrc),
			"tip": ipv4f(&k.NwDst, &mk.NwDst),
			"op":  u16f(&op, &opm),
			"sha": macf(&k.ArpSHA, &mk.ArpSHA),
			"tha": macf(&k.ArpTHA, &mk.ArpTHA),
		})
		if err == nil && op > 0xff {
			return p.errAt(start, "arp: unsupported ARP opcode %d", op)
		}
		k.NwProto, mk.NwProto = uint8(op), uint8(opm)
		return err
	case "mpls":
		return p.mplsAttr(m, start)
	case "tunnel":
		return p.tunnelAttr(m, start)
	case "ct_state":
		val, msk := p.scalar()
		v, mask, err := parseCtState(val, msk)
		if err != nil {
			return p.errAt(start, "ct_state: %v", err)
		}
		k.CtState, mk.CtState = v, mask
		return nil
	case "ct_zone":
		val, msk := p.scalar()
		a, b, err := num(val, msk, 16)
		if err != nil {
			return p.errAt(start, "%s: %v", name, err)
		}
		k.CtZone, mk.CtZone = uint16(a), uint16(b)
		return nil
	case "ct_mark":
		return u32(&k.CtMark, &mk.CtMark)
	case "ct_label":
		val, msk := p.scalar()
		var err error
		if k.CtLabel, err = parseHex128(val); err == nil {
			mk.CtLabel = allOnes16
			if msk != "" {
				mk.CtLabel, err = parseHex128(msk)
			}
		}
		if err != nil {
			return p.errAt(start, "ct_label: %v", err)
		}
		return nil
	case "ct_tuple4":
		return p.setFields(name, fieldSet{
			"src":    ipv4f(&k.CtNwSrc, &mk.CtNwSrc),
			"dst":    ipv4f(&k.CtNwDst, &mk.CtNwDst),
			"proto":  u8f(&k.CtNwProto, &mk.CtNwProto),
			"tp_src": u16f(&k.CtTpSrc, &mk.CtTpSrc),
			"tp_dst": u16f(&k.CtTpDst, &mk.CtTpDst),
		})
	case "ct_tuple6":
		return p.setFields(name, fieldSet{
			"src":      ipv6f(&k.CtIPv6Src, &mk.CtIPv6Src),
			"dst":      ipv6f(&k.CtIPv6Dst, &mk.CtIPv6Dst),
			"proto":    u8f(&k.CtNwProto, &mk.CtNwProto),
			"tp_src":   u16f(&k.CtTpSrc, &mk.CtTpSrc),
			"tp_dst":   u16f(&k.CtTpDst, &mk.CtTpDst),
			"src_port": u16f(&k.CtTpSrc, &mk.CtTpSrc),
			"dst_port": u16f(&k.CtTpDst, &mk.CtTpDst),
		})
	case "nd":
		return p.setFields(name, fieldSet{
			"target": ipv6f(&k.NdTarget, &mk.NdTarget),
			"sll":    macf(&k.ArpSHA, &mk.ArpSHA),
			"tll":    macf(&k.ArpTHA, &mk.ArpTHA),
		})
	case "nd_ext":
		// The options type shares TCPFlags, as in OVS's struct flow.
		var typ, typm uint8
		err := p.setFields(name, fieldSet{
			"nd_reserved":     u32f(&k.NdReserved, &mk.NdReserved),
			"nd_options_type": u8f(&typ, &typm),
		})
		k.TCPFlags, mk.TCPFlags = uint16(typ), uint16(typm)
		return err
	}
	return p.errAt(start, "unknown or unsupported attribute %s", name)
}

// mplsAttr parses mpls(label=L,tc=T,ttl=N,bos=B[,label=...]): one group
// of the four fields per label stack entry, outermost first, in any order
// within a group; a field given again starts the next entry.
func (p *parser) mplsAttr(m *Match, start int) error {
	n := -1
	var given [MaxMPLSLabels]map[string]bool
	fields := map[string]struct {
		shift uint
		width uint32
	}{"label": {MPLSLabelShift, 0xfffff}, "tc": {MPLSTCShift, 7}, "ttl": {0, 0xff}, "bos": {8, 1}}
	err := p.fields("mpls", func(name, val, mask string) error {
		fd, ok := fields[name]
		if !ok {
			return fmt.Errorf("unknown field")
		}
		// As OVS's parser, a field that the current entry already has
		// starts the next entry.
		if n < 0 || given[n][name] {
			n++
		}
		if n >= MaxMPLSLabels {
			return fmt.Errorf("more than %d label stack entries", MaxMPLSLabels)
		}
		if given[n] == nil {
			given[n] = map[string]bool{}
		}
		given[n][name] = true
		v, mk, err := num(val, mask, 32)
		if err != nil {
			return err
		}
		if v > uint64(fd.width) {
			return fmt.Errorf("%s out of range", val)
		}
		if mask == "" {
			mk = uint64(fd.width)
		}
		m.Key.MplsLSE[n] |= uint32(v&uint64(fd.width)) << fd.shift
		m.Mask.MplsLSE[n] |= uint32(mk&uint64(fd.width)) << fd.shift
		return nil
	})
	if err != nil {
		return err
	}
	if n < 0 {
		return p.errAt(start, "mpls: no label stack entry")
	}
	return nil
}

// check moves the eth_type of each level into the key and applies the
// rules by which OVS converts a key to a datapath flow
// (odp_flow_key_to_flow): eth_type must be given; every layer that the
// key's values imply must be present (eth_type(0x0800) needs ipv4(),
// ipv4(proto=17) needs udp(), a VLAN TPID needs vlan() and encap(), and so
// on); and no attribute may appear that the values do not imply (udp()
// needs proto=17 matched exactly). An unspecified value counts as zero, so
// ipv4(proto=6) needs tcp() even though frag is wildcarded.
func (p *parser) check(m *Match) error {
	k, mk := &m.Key, &m.Mask
	_, hasEth := p.seen[0]["eth"]
	if _, ok := p.seen[0]["eth_type"]; p.strict && (!ok || p.ethMask[0] != 0xffff) {
		return p.errAt(len(p.s), "eth_type() is required, matched exactly (a key without it matches no Ethernet II frame)")
	}
	if _, ok := p.seen[0]["packet_type"]; ok && hasEth && (k.PacketType != 0 || mk.PacketType == 0) {
		return p.errAt(p.seen[0]["packet_type"], "packet_type() with eth() must be Ethernet, packet_type(ns=0,id=0)")
	}
	if !hasEth {
		// OVS keeps a key without eth() as the non-Ethernet packet type
		// (ns=1, id=eth_type). With packet_type() wildcarded (the usual
		// case) the flow still matches Ethernet frames but prints without
		// its layer 2 attributes; with packet_type() given it matches
		// only packets of that non-Ethernet type.
		k.PacketType = 1<<16 | uint32(p.ethType[0])
	}
	level := 0
	for {
		seen := p.seen[level]
		has := func(n string) bool { _, ok := seen[n]; return ok }
		missing := func(n, why string) error {
			if !p.strict {
				return nil
			}
			return p.errAt(len(p.s), "%s() is required by %s", n, why)
		}
		extra := func(n, why string) error {
			return p.errAt(seen[n], "%s() %s", n, why)
		}
		t, tm := p.ethType[level], p.ethMask[level]
		if (t == EthTypeVLAN || t == EthTypeQinQ) && tm == 0xffff && level < MaxVLANs && (has("vlan") || p.strict) {
			if !has("vlan") {
				return missing("vlan", fmt.Sprintf("eth_type(%#04x)", t))
			}
			k.VlanTPID[level], mk.VlanTPID[level] = t, 0xffff
			for n := range seen {
				switch n {
				case "vlan", "encap", "eth_type", "eth", "packet_type", "in_port", "recirc_id", "dp_hash", "skb_priority", "skb_mark",
					"ct_state", "ct_zone", "ct_mark", "ct_label", "ct_tuple4", "ct_tuple6", "tunnel":
				default:
					return extra(n, "must be inside encap() of the VLAN tag")
				}
			}
			if !has("encap") {
				return missing("encap", "vlan()")
			}
			level++
			continue
		}
		if has("vlan") {
			return extra("vlan", "needs eth_type(0x8100) or eth_type(0x88a8) before it")
		}
		if has("encap") {
			return extra("encap", "needs a VLAN eth_type and vlan() before it")
		}
		k.EthType, mk.EthType = t, tm
		if level > 0 && !has("eth_type") {
			return missing("eth_type", "encap()")
		}
		exact := tm == 0xffff
		l3 := map[uint16]string{EthTypeIPv4: "ipv4", EthTypeIPv6: "ipv6", EthTypeARP: "arp", EthTypeRARP: "arp",
			EthTypeMPLS: "mpls", EthTypeMPLSM: "mpls"}
		for _, n := range []string{"ipv4", "ipv6", "arp", "mpls"} {
			if has(n) && (!exact || l3[t] != n) {
				return extra(n, "does not fit eth_type; it needs "+map[string]string{
					"ipv4": "eth_type(0x0800)", "ipv6": "eth_type(0x86dd)", "arp": "eth_type(0x0806) or eth_type(0x8035)",
					"mpls": "eth_type(0x8847) or eth_type(0x8848)"}[n])
			}
		}
		want := ""
		if exact {
			want = l3[t]
		}
		if want != "" && !has(want) {
			return missing(want, fmt.Sprintf("eth_type(%#04x)", t))
		}
		if p.strict && want == "mpls" {
			// The entries given must end the stack: the last needs the
			// bottom-of-stack bit, as OVS requires (the syntax allows
			// without it a key that does not fit: ODP_FIT_TOO_LITTLE).
			last := mplsLabels(k) - 1
			if last < 0 || k.MplsLSE[last]&MPLSBOSMask == 0 {
				return extra("mpls", "needs bos=1 on its last label stack entry")
			}
		}
		// Layer 4: implied by the key's IP protocol, whatever its mask,
		// unless the key is a later fragment.
		l4 := ""
		if (want == "ipv4" || want == "ipv6") && k.NwFrag&FragLater == 0 {
			switch k.NwProto {
			case IPProtoTCP:
				l4 = "tcp"
			case IPProtoUDP:
				l4 = "udp"
			case IPProtoSCTP:
				l4 = "sctp"
			case IPProtoICMP:
				if want == "ipv4" {
					l4 = "icmp"
				}
			case IPProtoICMPv6:
				if want == "ipv6" {
					l4 = "icmpv6"
				}
			}
		}
		for _, n := range []string{"tcp", "udp", "sctp", "icmp", "icmpv6"} {
			if has(n) && n != l4 {
				return extra(n, "does not fit the key: it needs the matching ipv4() or ipv6() proto")
			}
		}
		if l4 != "" && !has(l4) {
			return missing(l4, fmt.Sprintf("proto=%d", k.NwProto))
		}
		if p.strict && l4 != "" && (mk.TpSrc != 0 || mk.TpDst != 0) && mk.NwProto != 0xff {
			return extra(l4, "matches ports (or ICMP type and code) but the IP protocol is not matched exactly")
		}
		if has("tcp_flags") && l4 != "tcp" {
			return extra("tcp_flags", "needs tcp()")
		}
		// Neighbour discovery: implied by the key's ICMPv6 type and code
		// whatever their masks; nd() and nd_ext() that match anything need
		// the type and code matched exactly.
		nd := l4 == "icmpv6" && k.TpDst == 0 && (k.TpSrc == 135 || k.TpSrc == 136)
		for _, n := range []string{"nd", "nd_ext"} {
			if has(n) && !nd {
				return extra(n, "needs icmpv6(type=135 or 136,code=0)")
			}
		}
		if nd && !has("nd") {
			return missing("nd", fmt.Sprintf("icmpv6(type=%d,code=0)", k.TpSrc))
		}
		exactICMP := mk.TpSrc&0xff == 0xff && mk.TpDst&0xff == 0xff
		if p.strict && nd && !exactICMP {
			if mk.NdTarget != ([16]byte{}) || mk.ArpSHA != ([6]byte{}) || mk.ArpTHA != ([6]byte{}) {
				return extra("nd", "matches fields but icmpv6() type and code are not matched exactly")
			}
			if mk.NdReserved != 0 || mk.TCPFlags != 0 {
				return extra("nd_ext", "matches fields but icmpv6() type and code are not matched exactly")
			}
		}
		return nil
	}
}

// parseCtState parses ct_state as OVS writes it: "+trk-new", "trk|est"
// (the named bits set, all eight matched), or a number with an optional
// mask.
func parseCtState(val, mask string) (v, m uint8, err error) {
	a, b, err := parseFlags(val, mask, ctStateNames[:], 0xff, "ct_state")
	return uint8(a), uint8(b), err
}

// parseFlags parses a flag field the ways OVS writes one: a number with an
// optional mask; "+name-name" (the named bits matched, set or clear); or
// "name|name" (the named bits set, every bit of full matched). names[i]
// is the name of bit i.
func parseFlags(val, mask string, names []string, full uint64, what string) (v, m uint64, err error) {
	if val == "" {
		return 0, 0, fmt.Errorf("empty")
	}
	if c := val[0]; c >= '0' && c <= '9' {
		a, b, err := num(val, mask, bits.Len64(full))
		if mask == "" {
			b = full
		}
		return a & full, b & full, err
	}
	if mask != "" {
		return 0, 0, fmt.Errorf("a mask needs numeric flags")
	}
	lookup := func(n string) (uint64, error) {
		for i, x := range names {
			if x == n {
				return 1 << i, nil
			}
		}
		return 0, fmt.Errorf("unknown %s flag %q", what, n)
	}
	if val[0] != '+' && val[0] != '-' {
		for _, n := range strings.Split(val, "|") {
			bit, err := lookup(n)
			if err != nil {
				return 0, 0, err
			}
			v |= bit
		}
		return v, full, nil
	}
	for i := 0; i < len(val); {
		if val[i] != '+' && val[i] != '-' {
			return 0, 0, fmt.Errorf("%q: expected + or -", val)
		}
		j := i + 1
		for j < len(val) && val[j] != '+' && val[j] != '-' {
			j++
		}
		bit, err := lookup(val[i+1 : j])
		if err != nil {
			return 0, 0, err
		}
		if m&bit != 0 {
			return 0, 0, fmt.Errorf("flag %s given twice", val[i+1:j])
		}
		m |= bit
		if val[i] == '+' {
			v |= bit
		}
		i = j
	}
	return v, m, nil
}

// parseHex128 parses a number of up to 128 bits (decimal or 0x hex) into
// 16 big-endian bytes.
func parseHex128(s string) ([16]byte, error) {
	var out [16]byte
	digits, base := s, 10
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		digits, base = s[2:], 16
	}
	if digits == "" {
		return out, fmt.Errorf("%q is not a number", s)
	}
	n, ok := new(big.Int).SetString(digits, base)
	if !ok || n.Sign() < 0 || n.BitLen() > 128 {
		return out, fmt.Errorf("%q is not a 128-bit number", s)
	}
	n.FillBytes(out[:])
	return out, nil
}

// parseTCPFlags parses "syn|ack", "+syn-ack", or a number with optional
// mask. Named flags without a mask match exactly.
func parseTCPFlags(val, mask string) (v, m uint16, err error) {
	a, b, err := parseFlags(val, mask, tcpFlagNames[:], 0x0fff, "TCP")
	return uint16(a), uint16(b), err
}

// ParseAttr parses one key attribute, such as ipv4(ttl=63), at the start
// of s, without the checks between attributes that Parse applies. It
// returns the attribute name, the fields it sets (in Key) with their masks
// (in Mask), and the number of bytes consumed. Set actions use it for their
// argument. Unlike Parse, it keeps the values as written, bits outside
// their masks included, as OVS keeps them in a masked set action.
func ParseAttr(s string) (name string, m Match, n int, err error) {
	p := parser{s: s}
	p.skipSpace()
	start := p.i
	name = p.name()
	if name == "" {
		return "", Match{}, 0, p.errf("expected an attribute name")
	}
	if p.i >= len(p.s) || p.s[p.i] != '(' {
		return "", Match{}, 0, p.errf("expected ( after %s", name)
	}
	p.i++
	switch name {
	case "encap", "vlan", "eth_type":
		return "", Match{}, 0, p.errAt(start, "attribute %s cannot be used here", name)
	}
	if err := p.attr(&m, name, start, 0); err != nil {
		return "", Match{}, 0, err
	}
	p.skipSpace()
	if p.i >= len(p.s) || p.s[p.i] != ')' {
		return "", Match{}, 0, p.errf("expected ) to close %s(", name)
	}
	p.i++
	return name, m, p.i, nil
}
