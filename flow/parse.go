package flow

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Match is a flow key together with its mask. Key is kept masked: every bit
// clear in Mask is clear in Key.
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
func Parse(s string) (Match, error) {
	p := parser{s: s}
	var m Match
	p.skipSpace()
	if p.i == len(p.s) {
		return m, nil
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
	m.Key = m.Key.Masked(&m.Mask)
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
	depth            int
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
		j := p.i
		for p.i < len(p.s) && p.s[p.i] != ',' && p.s[p.i] != ')' {
			p.i++
		}
		v := strings.TrimSpace(p.s[j:p.i])
		val, mask, _ := strings.Cut(v, "/")
		if err := set(name, val, mask); err != nil {
			return p.errAt(start, "%s: %s: %v", attr, name, err)
		}
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
		}
	}
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
	v, err := strconv.ParseUint(s, 0, bits)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, fmt.Errorf("%q out of range for %d bits", s, bits)
		}
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return v, nil
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
		case "recirc_id", "dp_hash", "skb_priority", "skb_mark", "in_port", "packet_type", "eth":
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
	case "nd":
		return p.setFields(name, fieldSet{
			"target": ipv6f(&k.NdTarget, &mk.NdTarget),
			"sll":    macf(&k.ArpSHA, &mk.ArpSHA),
			"tll":    macf(&k.ArpTHA, &mk.ArpTHA),
		})
	}
	return p.errAt(start, "unknown or unsupported attribute %s", name)
}

// check applies the dependencies between attributes and moves the
// eth_type of each level into the key.
func (p *parser) check(m *Match) error {
	k, mk := &m.Key, &m.Mask
	level := 0
	for level < MaxVLANs && p.hasVLAN[level] {
		t := p.ethType[level]
		if p.ethMask[level] != 0xffff || (t != EthTypeVLAN && t != EthTypeQinQ) {
			return p.errAt(p.seen[level]["vlan"], "vlan() needs eth_type(0x8100) or eth_type(0x88a8) before it")
		}
		k.VlanTPID[level], mk.VlanTPID[level] = t, 0xffff
		if _, ok := p.seen[level]["encap"]; !ok {
			// A VLAN tag with nothing said about its contents.
			break
		}
		level++
	}
	if level < MaxVLANs && p.hasVLAN[level] {
		// vlan() without encap(): nothing below it is matched.
		return nil
	}
	k.EthType, mk.EthType = p.ethType[level], p.ethMask[level]
	seen := p.seen[level]
	has := func(n string) (int, bool) { off, ok := seen[n]; return off, ok }
	exactType := func(t uint16) bool { return mk.EthType == 0xffff && k.EthType == t }
	for _, c := range []struct {
		attr string
		ok   bool
		need string
	}{
		{"ipv4", exactType(EthTypeIPv4), "eth_type(0x0800)"},
		{"ipv6", exactType(EthTypeIPv6), "eth_type(0x86dd)"},
		{"arp", exactType(EthTypeARP) || exactType(EthTypeRARP), "eth_type(0x0806) or eth_type(0x8035)"},
	} {
		if off, ok := has(c.attr); ok && !c.ok {
			return p.errAt(off, "%s() needs %s", c.attr, c.need)
		}
	}
	_, v4 := has("ipv4")
	_, v6 := has("ipv6")
	proto := func(n uint8) bool {
		return (v4 || v6) && mk.NwProto == 0xff && k.NwProto == n && !(k.NwFrag&FragLater != 0 && mk.NwFrag&FragLater != 0)
	}
	for _, c := range []struct {
		attr string
		ok   bool
		need string
	}{
		{"tcp", proto(IPProtoTCP), "ipv4() or ipv6() with proto=6"},
		{"tcp_flags", proto(IPProtoTCP), "ipv4() or ipv6() with proto=6"},
		{"udp", proto(IPProtoUDP), "ipv4() or ipv6() with proto=17"},
		{"sctp", proto(IPProtoSCTP), "ipv4() or ipv6() with proto=132"},
		{"icmp", v4 && proto(IPProtoICMP), "ipv4() with proto=1"},
		{"icmpv6", v6 && proto(IPProtoICMPv6), "ipv6() with proto=58"},
	} {
		if off, ok := has(c.attr); ok && !c.ok {
			return p.errAt(off, "%s() needs %s", c.attr, c.need)
		}
	}
	if off, ok := has("nd"); ok {
		_, icmp := has("icmpv6")
		if !icmp || mk.TpSrc&0xff != 0xff || (k.TpSrc != 135 && k.TpSrc != 136) || mk.TpDst&0xff != 0xff || k.TpDst != 0 {
			return p.errAt(off, "nd() needs icmpv6(type=135 or 136,code=0)")
		}
	}
	return nil
}

// parseTCPFlags parses "syn|ack", "+syn-ack", or a number with optional
// mask. Named flags without a mask match exactly.
func parseTCPFlags(val, mask string) (v, m uint16, err error) {
	if val == "" {
		return 0, 0, fmt.Errorf("empty")
	}
	if c := val[0]; c >= '0' && c <= '9' {
		a, b, err := num(val, mask, 16)
		if mask == "" {
			b = 0x0fff
		}
		return uint16(a) & 0x0fff, uint16(b) & 0x0fff, err
	}
	if mask != "" {
		return 0, 0, fmt.Errorf("a mask needs numeric flags")
	}
	lookup := func(n string) (uint16, error) {
		for i, x := range tcpFlagNames {
			if x == n {
				return 1 << i, nil
			}
		}
		return 0, fmt.Errorf("unknown TCP flag %q", n)
	}
	if val[0] == '+' || val[0] == '-' {
		for i := 0; i < len(val); {
			set := val[i] == '+'
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
			if set {
				v |= bit
			}
			i = j
		}
		return v, m, nil
	}
	for _, n := range strings.Split(val, "|") {
		bit, err := lookup(n)
		if err != nil {
			return 0, 0, err
		}
		v |= bit
	}
	return v, 0x0fff, nil
}

// ParseAttr parses one key attribute, such as ipv4(ttl=63), at the start
// of s, without the checks between attributes that Parse applies. It
// returns the attribute name, the fields it sets (in Key) with their masks
// (in Mask), and the number of bytes consumed. Set actions use it for their
// argument.
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
	m.Key = m.Key.Masked(&m.Mask)
	return name, m, p.i, nil
}
