package flow

import (
	"strings"
	"testing"
)

const ndFlow = "in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),"

// TestNDExtText checks the nd_ext() attribute: its fields, the rules
// Parse applies to it, and how it prints. All of it was checked against
// OVS 3.1 (internal/ovsdummy/FINDINGS.md section 7): its userspace
// datapath matches on nd_ext but never prints it in a dump.
func TestNDExtText(t *testing.T) {
	for _, c := range []struct {
		in           string
		reserved     uint32 // key and mask
		reservedMask uint32
		typ, typMask uint16
		dump         string
	}{
		{"icmpv6(type=136,code=0),nd(target=2001:db8::1),nd_ext(nd_reserved=0x20000000,nd_options_type=2)", 0x20000000, 0xffffffff, 2, 0xff,
			"icmpv6(type=136,code=0),nd(target=2001:db8::1)"},
		{"icmpv6(type=136,code=0),nd(target=2001:db8::1),nd_ext(nd_reserved=0x20000000/0xf0000000,nd_options_type=2/0xf)", 0x20000000, 0xf0000000, 2, 0xf,
			"icmpv6(type=136,code=0),nd(target=2001:db8::1)"},
		{"icmpv6(type=136,code=0),nd(),nd_ext(nd_reserved=0x1)", 1, 0xffffffff, 0, 0, "icmpv6(type=136,code=0)"},
		{"icmpv6(type=136,code=0),nd(),nd_ext(nd_options_type=1)", 0, 0, 1, 0xff, "icmpv6(type=136,code=0)"},
		{"icmpv6(type=135,code=0),nd(),nd_ext(nd_reserved=0x0,nd_options_type=0)", 0, 0xffffffff, 0, 0xff, "icmpv6(type=135,code=0)"},
		{"icmpv6(type=135,code=0),nd(),nd_ext(nd_reserved=0x1/0,nd_options_type=2/0)", 1, 0, 2, 0, "icmpv6(type=135,code=0)"},
		{"icmpv6(type=135,code=0),nd(),nd_ext()", 0, 0, 0, 0, "icmpv6(type=135,code=0)"},
		{"icmpv6(type=135,code=0),nd(),nd_ext(nd_options_type=0x2,nd_reserved=4294967295)", 0xffffffff, 0xffffffff, 2, 0xff, "icmpv6(type=135,code=0)"},
		{"icmpv6(type=135,code=0),nd_ext(nd_reserved=0x5),nd(sll=00:00:00:00:00:01)", 5, 0xffffffff, 0, 0,
			"icmpv6(type=135,code=0),nd(sll=00:00:00:00:00:01)"},
		{"eth_type(0x8100),vlan(vid=5),encap(eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=136,code=0),nd(target=::1),nd_ext(nd_reserved=0x1,nd_options_type=1))", 1, 0xffffffff, 1, 0xff,
			"eth_type(0x8100),vlan(vid=5),encap(eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=136,code=0),nd(target=::1))"},
		// Type and code need not be exact when nd() and nd_ext() match
		// nothing.
		{"icmpv6(type=135/0xf0,code=0),nd(),nd_ext(nd_reserved=0x5/0)", 5, 0, 0, 0, "icmpv6(type=135/0xf0,code=0)"},
		{"icmpv6(type=135,code=0/0),nd()", 0, 0, 0, 0, "icmpv6(type=135)"},
	} {
		prefix := ndFlow
		if strings.HasPrefix(c.in, "eth_type(0x8100)") {
			prefix = "in_port(1),eth(),"
		}
		m, err := Parse(prefix + c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		k, mk := m.Key, m.Mask
		if k.NdReserved != c.reserved || mk.NdReserved != c.reservedMask || k.TCPFlags != c.typ || mk.TCPFlags != c.typMask {
			t.Errorf("Parse(%q): nd_reserved %#x/%#x, nd_options_type %d/%#x", c.in, k.NdReserved, mk.NdReserved, k.TCPFlags, mk.TCPFlags)
		}
		if got := m.String(); got != prefix+c.dump {
			t.Errorf("Parse(%q) prints\n %s\nwant\n %s", c.in, got, prefix+c.dump)
		}
	}
	for _, c := range []struct{ in, msg string }{
		{ndFlow + "icmpv6(type=128,code=0),nd_ext(nd_reserved=0x5)", "nd_ext() needs icmpv6(type=135 or 136,code=0)"},
		{ndFlow + "icmpv6(type=128,code=0),nd_ext(nd_reserved=0x5/0)", "nd_ext() needs icmpv6"},
		{ndFlow + "icmpv6(type=135,code=1),nd_ext(nd_reserved=0x5)", "nd_ext() needs icmpv6"},
		{ndFlow + "icmpv6(code=0),nd(),nd_ext(nd_reserved=0x5)", "nd() needs icmpv6"},
		{ndFlow + "icmpv6(type=135,code=0),nd_ext(nd_reserved=0x5)", "nd() is required"},
		{ndFlow + "icmpv6(type=135/0xf0,code=0),nd(),nd_ext(nd_reserved=0x5)", "nd_ext() matches fields but icmpv6() type and code are not matched exactly"},
		{ndFlow + "icmpv6(type=135,code=0/0),nd(),nd_ext(nd_options_type=1)", "nd_ext() matches fields"},
		{"in_port(1),eth(),eth_type(0x0800),ipv4(proto=1,frag=no),icmp(type=8,code=0),nd_ext(nd_reserved=0x5)", "nd_ext() needs icmpv6"},
		{"in_port(1),eth(),eth_type(0x0800),ipv4(proto=58,frag=no),nd_ext(nd_reserved=0x5)", "nd_ext() needs icmpv6"},
		{ndFlow + "icmpv6(type=136,code=0),nd(),tcp_flags(syn)", "tcp_flags() needs tcp()"},
		{ndFlow + "icmpv6(type=135,code=0),nd(),nd_ext(nd_reserved=0x5),nd_ext(nd_reserved=0x6)", "duplicate attribute nd_ext"},
		{ndFlow + "icmpv6(type=135,code=0),nd(),nd_ext(nd_reserved=0x5,nd_reserved=0x6)", "given twice"},
		{ndFlow + "icmpv6(type=135,code=0),nd(),nd_ext(nd_options_type=256)", "out of range"},
		{ndFlow + "icmpv6(type=135,code=0),nd(),nd_ext(nd_reserved=0x100000000)", "out of range"},
		{ndFlow + "icmpv6(type=135,code=0),nd(),nd_ext(nd_options_type=-1)", "not a number"},
		{ndFlow + "icmpv6(type=135,code=0),nd(),nd_ext(bogus=1)", "unknown field"},
	} {
		if _, err := Parse(c.in); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("Parse(%q): %v, want an error with %q", c.in, err, c.msg)
		}
	}
}

// TestNDExtMatch checks that a flow with nd_ext() matches on the reserved
// word and the options type of extracted ND messages, as OVS's userspace
// datapath does (FINDINGS.md section 7).
func TestNDExtMatch(t *testing.T) {
	target := [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}
	na := func(reserved uint32, opts ...[]byte) Key {
		m := ndMsg(136, target, opts...)
		be.PutUint32(m[4:], reserved)
		var k Key
		Extract(ethFrame(macB, macA, nil, EthTypeIPv6, ip6Packet(0, 0, IPProtoICMPv6, 255, ip6A, ip6B, m)), 1, &k)
		return k
	}
	tll, sll := llOpt(2, macB), llOpt(1, macA)
	for _, c := range []struct {
		flow string
		want []bool // na(0x20000000, tll), na(0x60000000, tll), na(0x20000000, sll), na(0x20000000), na(0x20000000, tll, sll), na(0x20000000, sll, tll)
	}{
		{"nd_ext(nd_reserved=0x20000000,nd_options_type=2)", []bool{true, false, false, false, true, false}},
		{"nd_ext(nd_reserved=0x20000000)", []bool{true, false, true, true, true, true}},
		{"nd_ext(nd_options_type=2)", []bool{true, true, false, false, true, false}},
		{"nd_ext(nd_reserved=0x20000000/0x20000000,nd_options_type=2/0x2)", []bool{true, true, false, false, true, false}},
		{"nd_ext(nd_reserved=0,nd_options_type=0)", []bool{false, false, false, false, false, false}},
	} {
		m := MustParse(ndFlow + "icmpv6(type=136,code=0),nd(target=2001:db8::1)," + c.flow)
		mk := m.Key.Masked(&m.Mask)
		for i, k := range []Key{na(0x20000000, tll), na(0x60000000, tll), na(0x20000000, sll), na(0x20000000),
			na(0x20000000, tll, sll), na(0x20000000, sll, tll)} {
			if got := mk.Matches(&k, &m.Mask); got != c.want[i] {
				t.Errorf("%s: packet %d: match %v, want %v", c.flow, i, got, c.want[i])
			}
		}
	}
}
