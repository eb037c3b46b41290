package actions

import (
	"math"
	"strconv"
	"strings"

	"github.com/b7cafead/datapath/flow"
)

// Parse parses an action list in the syntax of ovs-dpctl add-flow, for
// example "set(ipv4(ttl=63)),2", as OVS 3.1's odp_actions_from_string
// does. Actions are separated by commas or white space; "drop" (in any
// case, and only as the whole text) is a single drop action, and the empty
// text is the empty list, which also drops.
//
// Every form that List.String produces parses back to the same list, also
// where OVS 3.1 cannot read its own output: push_mpls, pop_mpls, push_eth,
// pop_eth, hash, dec_ttl, recirc with a hexadecimal id, "drop" for an
// empty nested list, slow_path reasons separated by commas, and the
// tnl_push headers of ERSPAN, GTP-U and SRv6. Parse also accepts white
// space inside attributes as package flow does. It is stricter than OVS
// where OVS silently keeps the low bits of a number too large for its
// field: such numbers, and signed ones, are errors.
//
// A set action whose mask covers its whole attribute is an unmasked set
// (TypeSet); otherwise it is a masked set (TypeSetMasked) of the bits
// given, as OVS decides. Parse checks syntax only; List.Validate tells
// whether the datapath can execute the result.
func Parse(s string) (List, error) {
	if strings.EqualFold(s, "drop") {
		return List{Drop()}, nil
	}
	p := &scanner{s: s}
	var l List
	size := 0
	for {
		p.skip(delimiters)
		if p.eof() {
			return l, nil
		}
		start := p.i
		a, err := p.action()
		if err != nil {
			return nil, err
		}
		if !p.eof() && strings.IndexByte(delimiters, p.peek()) < 0 {
			return nil, p.errAt(p.i, "unexpected %q after %s", p.word(), a.Type)
		}
		if size += a.encodedLen(); size > maxNlaPayload+nlaHdr {
			return nil, p.errAt(start, "action list too long: its netlink encoding exceeds %d bytes", maxNlaPayload+nlaHdr)
		}
		l = append(l, a)
	}
}

// MustParse is Parse for action lists known to be valid, such as
// constants in tests; it panics on error.
func MustParse(s string) List {
	l, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return l
}

// action parses one action at the cursor, trying the forms in OVS's
// order (parse_odp_action__), which matters where one name is a prefix of
// another (ct_clear and ct).
func (p *scanner) action() (Action, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth >= maxNesting {
		return Action{}, p.errAt(p.i, "actions nested more than %d deep", maxNesting-1)
	}
	start := p.i
	if c := p.peek(); c >= '0' && c <= '9' {
		return p.output()
	}
	switch {
	case p.lit("lb_output("):
		v, err := p.dec(32, "lb_output")
		if err != nil {
			return Action{}, err
		}
		return LBOutput(uint32(v)), p.expect(")")
	case p.lit("trunc("):
		v, err := p.u32("trunc")
		if err != nil {
			return Action{}, err
		}
		return Trunc(v), p.expect(")")
	case p.lit("recirc("):
		// OVS reads a decimal id but prints it in hexadecimal; both
		// are accepted here.
		v, err := p.num(32, 0, "recirc")
		if err != nil {
			return Action{}, err
		}
		return Recirc(uint32(v)), p.expect(")")
	case p.lit("userspace("):
		return p.userspace(start)
	case p.lit("set("):
		return p.set(start)
	case strings.HasPrefix(p.rest(), "push_vlan("):
		return p.pushVLAN(start)
	case p.lit("pop_vlan"):
		return PopVLAN(), nil
	case p.lit("meter("):
		v, err := p.num(64, 0, "meter")
		if err == nil && v > math.MaxUint32 {
			err = p.errAt(start, "meter: id %d out of range (32 bits)", v)
		}
		if err != nil {
			return Action{}, err
		}
		return Meter(uint32(v)), p.expect(")")
	case p.lit("sample("):
		return p.sample(start)
	case p.lit("clone("):
		l, err := p.nested()
		if err != nil {
			return Action{}, err
		}
		return Clone(l), p.expect(")")
	case p.lit("push_nsh("):
		return p.pushNSH(start)
	case p.lit("pop_nsh()"):
		return Action{Type: TypePopNSH}, nil
	case p.lit("tnl_pop("):
		v, err := p.u32("tnl_pop")
		if err != nil {
			return Action{}, err
		}
		return TunnelPop(v), p.expect(")")
	case p.lit("ct_clear"):
		return CTClear(), nil
	case p.lit("check_pkt_len("):
		return p.checkPktLen()
	case strings.HasPrefix(p.rest(), "ct"):
		return p.ct(start)
	case p.lit("add_mpls("):
		return p.mpls(TypeAddMPLS)
	case p.lit("tnl_push("):
		return p.tnlPush(start)
	// Forms OVS prints but does not parse.
	case p.lit("push_mpls("):
		return p.mpls(TypePushMPLS)
	case p.lit("pop_mpls(eth_type="):
		v, err := p.hexAfter0x(16, "pop_mpls")
		if err != nil {
			return Action{}, err
		}
		return Action{Type: TypePopMPLS, MPLS: MPLS{EthType: uint16(v)}}, p.expect(")")
	case p.lit("push_eth("):
		return p.pushEth()
	case p.lit("pop_eth"):
		return Action{Type: TypePopEth}, nil
	case p.lit("hash("):
		return p.hash()
	case p.lit("dec_ttl(le_1("):
		l, err := p.nested()
		if err != nil {
			return Action{}, err
		}
		return DecTTL(l), p.expect("))")
	}
	w := p.word()
	switch w {
	case "drop", "DROP", "Drop":
		return Action{}, p.errAt(start, "drop is only allowed as the whole action list")
	}
	return Action{}, p.errAt(start, "unknown or unsupported action %q", w)
}

// output parses a port number.
func (p *scanner) output() (Action, error) {
	start := p.i
	j := p.i
	for j < len(p.s) && strings.IndexByte(delimiters+")", p.s[j]) < 0 {
		j++
	}
	v, err := p.u32("output port")
	if err != nil || p.i != j {
		return Action{}, p.errAt(start, "bad output port %q", p.s[start:j])
	}
	return Output(v), nil
}

// nested parses an action list up to a closing parenthesis, which it
// leaves for the caller. Unlike the top level, OVS needs no delimiter
// between nested actions. "drop" alone is the empty list, the way OVS
// prints one.
func (p *scanner) nested() (List, error) {
	save := p.i
	p.skip(delimiters)
	if len(p.rest()) >= 4 && strings.EqualFold(p.rest()[:4], "drop") {
		p.i += 4
		p.skip(delimiters)
		if p.peek() == ')' {
			return nil, nil
		}
		return nil, p.errAt(save, "drop is only allowed alone in a nested action list")
	}
	var l List
	for {
		p.skip(delimiters)
		if p.peek() == ')' {
			return l, nil
		}
		if p.eof() {
			return nil, p.errAt(p.i, "expected ) to close the nested action list")
		}
		a, err := p.action()
		if err != nil {
			return nil, err
		}
		l = append(l, a)
	}
}

// pushVLAN parses the four forms OVS accepts:
// push_vlan([tpid=T,]vid=V,pcp=P[,cfi=C]).
func (p *scanner) pushVLAN(start int) (Action, error) {
	p.lit("push_vlan(")
	tpid := uint64(flow.EthTypeVLAN)
	var err error
	if p.lit("tpid=") {
		if tpid, err = p.num(16, 0, "push_vlan tpid"); err != nil {
			return Action{}, err
		}
		if err = p.expect(","); err != nil {
			return Action{}, err
		}
	}
	if err = p.expect("vid="); err != nil {
		return Action{}, err
	}
	vid, err := p.num(32, 0, "push_vlan vid")
	if err != nil {
		return Action{}, err
	}
	if err = p.expect(",pcp="); err != nil {
		return Action{}, err
	}
	pcp, err := p.num(32, 0, "push_vlan pcp")
	if err != nil {
		return Action{}, err
	}
	cfi := uint64(1)
	if p.lit(",cfi=") {
		if cfi, err = p.num(32, 0, "push_vlan cfi"); err != nil {
			return Action{}, err
		}
	}
	if vid > 0xfff || pcp > 7 {
		return Action{}, p.errAt(start, "push_vlan: vid or pcp out of range")
	}
	tci := uint16(vid | pcp<<13)
	if cfi != 0 {
		tci |= flow.VLANCFI
	}
	return PushVLAN(uint16(tpid), tci), p.expect(")")
}

// sample parses sample(sample=P%,actions(...)).
func (p *scanner) sample(start int) (Action, error) {
	if err := p.expect("sample="); err != nil {
		return Action{}, err
	}
	pct, err := p.float("sample")
	if err != nil {
		return Action{}, err
	}
	if err := p.expect("%,actions("); err != nil {
		return Action{}, err
	}
	if !(pct >= 0 && pct <= 100) {
		return Action{}, p.errAt(start, "sample: probability %v%% out of range", pct)
	}
	prob := math.Floor(math.MaxUint32*(pct/100.0) + .5)
	var pr uint32
	switch {
	case prob <= 0:
	case prob >= math.MaxUint32:
		pr = math.MaxUint32
	default:
		pr = uint32(prob)
	}
	l, err := p.nested()
	if err != nil {
		return Action{}, err
	}
	return Sample(pr, l), p.expect("))")
}

// checkPktLen parses check_pkt_len(size=N,gt(...),le(...)).
func (p *scanner) checkPktLen() (Action, error) {
	if err := p.expect("size="); err != nil {
		return Action{}, err
	}
	n, err := p.u16("check_pkt_len size")
	if err != nil {
		return Action{}, err
	}
	if err := p.expect(",gt("); err != nil {
		return Action{}, err
	}
	gt, err := p.nested()
	if err != nil {
		return Action{}, err
	}
	if err := p.expect("),le("); err != nil {
		return Action{}, err
	}
	le, err := p.nested()
	if err != nil {
		return Action{}, err
	}
	return CheckPktLen(n, gt, le), p.expect("))")
}

// mpls parses the argument of push_mpls and add_mpls:
// label=L,tc=T,ttl=N,bos=B,eth_type=0xE).
func (p *scanner) mpls(t Type) (Action, error) {
	var v [4]uint64
	var err error
	for i, f := range [...]struct {
		lit  string
		bits int
		base int
	}{{"label=", 20, 0}, {",tc=", 3, 10}, {",ttl=", 8, 10}, {",bos=", 1, 10}} {
		if err = p.expect(f.lit); err != nil {
			return Action{}, err
		}
		if v[i], err = p.num(f.bits, f.base, t.String()+" "+strings.Trim(f.lit, ",=")); err != nil {
			return Action{}, err
		}
	}
	if err = p.expect(",eth_type="); err != nil {
		return Action{}, err
	}
	et, err := p.hexAfter0x(16, t.String()+" eth_type")
	if err != nil {
		return Action{}, err
	}
	lse := uint32(v[0]<<flow.MPLSLabelShift | v[1]<<flow.MPLSTCShift | v[3]<<8 | v[2])
	return Action{Type: t, MPLS: MPLS{LSE: lse, EthType: uint16(et)}}, p.expect(")")
}

// pushEth parses push_eth(src=S,dst=D).
func (p *scanner) pushEth() (Action, error) {
	a := Action{Type: TypePushEth}
	var err error
	if err = p.expect("src="); err != nil {
		return a, err
	}
	if a.Eth.Src, err = p.mac("push_eth src"); err != nil {
		return a, err
	}
	if err = p.expect(",dst="); err != nil {
		return a, err
	}
	if a.Eth.Dst, err = p.mac("push_eth dst"); err != nil {
		return a, err
	}
	return a, p.expect(")")
}

// hash parses hash(l4(N)) and hash(sym_l4(N)).
func (p *scanner) hash() (Action, error) {
	a := Action{Type: TypeHash}
	switch {
	case p.lit("l4("):
		a.Hash.Alg = HashL4
	case p.lit("sym_l4("):
		a.Hash.Alg = HashSymL4
	default:
		return a, p.errAt(p.i, "hash: expected l4( or sym_l4(")
	}
	v, err := p.dec(32, "hash basis")
	if err != nil {
		return a, err
	}
	a.Hash.Basis = uint32(v)
	return a, p.expect("))")
}

// String formats the list as OVS does: "drop" for the empty list,
// otherwise the actions separated by commas.
func (l List) String() string { return string(l.Append(nil)) }

// Append appends the list's text to dst and returns the extended buffer.
func (l List) Append(dst []byte) []byte {
	if len(l) == 0 {
		return append(dst, "drop"...)
	}
	for i := range l {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = l[i].Append(dst)
	}
	return dst
}

// String formats one action as OVS does.
func (a *Action) String() string { return string(a.Append(nil)) }

// Append appends the action's text to dst and returns the extended buffer.
func (a *Action) Append(dst []byte) []byte {
	switch a.Type {
	case TypeOutput:
		return strconv.AppendUint(dst, uint64(a.Port), 10)
	case TypeDrop:
		return append(dst, "drop"...)
	case TypeUserspace:
		return appendUserspace(dst, a.Userspace)
	case TypeSet, TypeSetMasked:
		return appendSet(dst, a)
	case TypePushVLAN:
		dst = append(dst, "push_vlan("...)
		if a.VLAN.TPID != flow.EthTypeVLAN {
			dst = append(dst, "tpid="...)
			dst = appendHex04(dst, a.VLAN.TPID)
			dst = append(dst, ',')
		}
		dst = appendVLANTCI(dst, a.VLAN.TCI, 0xffff, false)
		return append(dst, ')')
	case TypePopVLAN:
		return append(dst, "pop_vlan"...)
	case TypeSample:
		dst = append(dst, "sample(sample="...)
		pct := 100.0 * float64(a.Probability) / math.MaxUint32
		dst = strconv.AppendFloat(dst, pct, 'f', 1, 64)
		dst = append(dst, "%,actions("...)
		dst = a.Actions.Append(dst)
		return append(dst, "))"...)
	case TypeRecirc:
		dst = append(dst, "recirc("...)
		dst = appendHexC(dst, uint64(a.ID))
		return append(dst, ')')
	case TypeHash:
		dst = append(dst, "hash("...)
		switch a.Hash.Alg {
		case HashL4:
			dst = append(dst, "l4("...)
		case HashSymL4:
			dst = append(dst, "sym_l4("...)
		default:
			dst = append(dst, "Unknown hash algorithm("...)
			dst = strconv.AppendUint(dst, uint64(a.Hash.Alg), 10)
			return append(dst, "))"...)
		}
		dst = strconv.AppendUint(dst, uint64(a.Hash.Basis), 10)
		return append(dst, "))"...)
	case TypePushMPLS, TypeAddMPLS:
		dst = append(dst, a.Type.String()...)
		dst = append(dst, '(')
		dst = appendLSE(dst, a.MPLS.LSE)
		dst = append(dst, ",eth_type=0x"...)
		dst = strconv.AppendUint(dst, uint64(a.MPLS.EthType), 16)
		return append(dst, ')')
	case TypePopMPLS:
		dst = append(dst, "pop_mpls(eth_type=0x"...)
		dst = strconv.AppendUint(dst, uint64(a.MPLS.EthType), 16)
		return append(dst, ')')
	case TypeCT:
		return appendCT(dst, a.CT)
	case TypeTrunc:
		dst = append(dst, "trunc("...)
		dst = strconv.AppendUint(dst, uint64(a.MaxLen), 10)
		return append(dst, ')')
	case TypePushEth:
		dst = append(dst, "push_eth(src="...)
		dst = flow.AppendMAC(dst, a.Eth.Src)
		dst = append(dst, ",dst="...)
		dst = flow.AppendMAC(dst, a.Eth.Dst)
		return append(dst, ')')
	case TypePopEth:
		return append(dst, "pop_eth"...)
	case TypeCTClear:
		return append(dst, "ct_clear"...)
	case TypePushNSH:
		return appendPushNSH(dst, a.NSH)
	case TypePopNSH:
		return append(dst, "pop_nsh()"...)
	case TypeMeter:
		dst = append(dst, "meter("...)
		dst = strconv.AppendUint(dst, uint64(a.ID), 10)
		return append(dst, ')')
	case TypeClone:
		dst = append(dst, "clone("...)
		dst = a.Actions.Append(dst)
		return append(dst, ')')
	case TypeCheckPktLen:
		dst = append(dst, "check_pkt_len(size="...)
		dst = strconv.AppendUint(dst, uint64(a.PktLen), 10)
		dst = append(dst, ",gt("...)
		dst = a.Greater.Append(dst)
		dst = append(dst, "),le("...)
		dst = a.LessEqual.Append(dst)
		return append(dst, "))"...)
	case TypeDecTTL:
		dst = append(dst, "dec_ttl(le_1("...)
		dst = a.Actions.Append(dst)
		return append(dst, "))"...)
	case TypeTunnelPush:
		return appendTnlPush(dst, a.TunnelPush)
	case TypeTunnelPop:
		dst = append(dst, "tnl_pop("...)
		dst = strconv.AppendUint(dst, uint64(a.Port), 10)
		return append(dst, ')')
	case TypeLBOutput:
		dst = append(dst, "lb_output("...)
		dst = strconv.AppendUint(dst, uint64(a.Port), 10)
		return append(dst, ')')
	}
	// OVS's format_generic_odp_action, without the argument bytes.
	dst = append(dst, "action"...)
	return strconv.AppendUint(dst, uint64(a.Type), 10)
}

// appendLSE formats an MPLS label stack entry as OVS's format_mpls_lse.
func appendLSE(dst []byte, lse uint32) []byte {
	dst = append(dst, "label="...)
	dst = strconv.AppendUint(dst, uint64(lse>>flow.MPLSLabelShift), 10)
	dst = append(dst, ",tc="...)
	dst = strconv.AppendUint(dst, uint64(lse&flow.MPLSTCMask>>flow.MPLSTCShift), 10)
	dst = append(dst, ",ttl="...)
	dst = strconv.AppendUint(dst, uint64(lse&flow.MPLSTTLMask), 10)
	dst = append(dst, ",bos="...)
	return strconv.AppendUint(dst, uint64(lse&flow.MPLSBOSMask>>8), 10)
}
