package flow

import (
	"errors"
	"strings"
	"testing"
)

// TestFormatParse parses flows and checks how they print. The expected
// texts follow OVS's dpctl/dump-flows rules (odp_flow_format), several of
// them as measured on OVS 3.1 (internal/ovsdummy/FINDINGS.md): fields with
// a full mask print their value, partially masked ones value/mask (values
// as written, masks in C "%#x" style, where 0 is "0", IPv4 masks dotted
// even when written as a prefix length), fields with a zero mask and
// attributes with nothing left are omitted, eth() prints for an Ethernet
// key even when empty, and attributes come out in OVS's order whatever the
// input order. Each printed text must parse back to the same match (after
// putting back the empty attributes that Format, like OVS, leaves out).
func TestFormatParse(t *testing.T) {
	const e4 = "eth(),eth_type(0x0800),"
	const e6 = "eth(),eth_type(0x86dd),"
	tests := []struct {
		in, want string // want "" means the same as in
	}{
		// The cases of the original quick test. A key without eth() is
		// a non-Ethernet packet type: it prints without layer 2, and
		// its VLAN vanishes from the dump (as OVS 3.1 does).
		{"in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=1000,dst=2000)", ""},
		{"in_port(1),eth_type(0x0800),ipv4(src=10.0.0.0/255.255.255.0,frag=no)", ""},
		{"in_port(1),eth_type(0x8100),vlan(vid=10,pcp=0),encap(eth_type(0x0800),ipv4(frag=no))", "in_port(1),eth_type(0x0800),ipv4(frag=no)"},
		{"in_port(1),eth(src=00:00:00:00:00:00/ff:ff:ff:00:00:00),eth_type(0x86dd),ipv6(src=2001:db8::1,dst=2001:db8::2,label=0,proto=6,tclass=0,hlimit=64,frag=no),tcp(dst=80),tcp_flags(syn)", ""},
		{"recirc_id(0x1),in_port(1),eth_type(0x0806),arp(sip=10.0.0.1,op=1/0xff)", "recirc_id(0x1),in_port(1),eth_type(0x0806),arp(sip=10.0.0.1,op=1)"},

		// Metadata: hex u32 with C-style masks, in_port decimal.
		{"skb_priority(0x1),skb_mark(0xff/0xf0),recirc_id(0),dp_hash(0x10/0xff),in_port(3/0xff),eth(),eth_type(0x1234)", ""},
		{"in_port(0x10),recirc_id(16),eth(),eth_type(4660)", "recirc_id(0x10),in_port(16),eth(),eth_type(0x1234)"},
		{"in_port(010),eth(),eth_type(0X800),ipv4(tos=0XFC/0374)", "in_port(8),eth(),eth_type(0x0800),ipv4(tos=0xfc/0xfc)"},
		{"in_port(1/0xffffffff),dp_hash(0/0),skb_mark(0x5/0),eth(),eth_type(0x1234)", "in_port(1),eth(),eth_type(0x1234)"},
		{"eth(),in_port(1),ipv4(frag=no),eth_type(0x0800)", "in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)"},
		{"  in_port ( 1 ) , eth( ), eth_type( 0x0800 ),ipv4( src=1.2.3.4 )", "in_port(1),eth(),eth_type(0x0800),ipv4(src=1.2.3.4)"},
		{"packet_type(ns=1,id=0x894f),eth_type(0x894f)", ""},
		{"in_port(0),eth_type(0x1234)", ""},

		// MACs.
		{"in_port(1),eth(src=01:02:03:04:05:06/ff:ff:ff:00:00:00,dst=aa:bb:cc:dd:ee:ff),eth_type(0x1234)", ""},
		{"in_port(1),eth(src=01:02:03:04:05:06/00:00:00:00:00:00),eth_type(0x1234)", "in_port(1),eth(),eth_type(0x1234)"},
		{"eth(dst=1:0:0:0:0:0/1:0:0:0:0:0,src=AA:BB:CC:DD:EE:FF),eth_type(0x1234)", "eth(src=aa:bb:cc:dd:ee:ff,dst=01:00:00:00:00:00/01:00:00:00:00:00),eth_type(0x1234)"},

		// IPv4: dotted masks, /N prefixes print dotted, hex tos.
		{e4 + "ipv4(src=10.1.2.3/24,dst=10.0.0.0/255.0.0.0)", e4 + "ipv4(src=10.1.2.3/255.255.255.0,dst=10.0.0.0/255.0.0.0)"},
		{e4 + "ipv4(src=10.1.2.3/0,dst=10.0.0.0/32)", e4 + "ipv4(dst=10.0.0.0)"},
		{e4 + "ipv4(src=10.1.2.3/255.255.0.255)", ""},
		{e4 + "ipv4(src=10.0.0.1/255.255.255.255,dst=10.0.0.0/0.0.0.0,frag=no)", e4 + "ipv4(src=10.0.0.1,frag=no)"},
		{e4 + "ipv4(tos=0x80)", ""},
		{e4 + "ipv4(tos=0)", ""},
		{e4 + "ipv4(tos=128,ttl=0x40)", e4 + "ipv4(tos=0x80,ttl=64)"},
		// The key's protocol implies the layer 4 attribute whatever its
		// mask (checked against OVS 3.1).
		{e4 + "ipv4(tos=0x80/0xfc,ttl=64/0xf0,proto=6/0),tcp()", e4 + "ipv4(tos=0x80/0xfc,ttl=64/0xf0)"},
		{e4 + "ipv4(ttl=64,proto=17/0xf0,frag=no),udp()", e4 + "ipv4(proto=17/0xf0,ttl=64,frag=no)"},
		{e4 + "ipv4(proto=17/0xf),udp()", e4 + "ipv4(proto=17/0xf)"},
		{e4 + "ipv4(proto=6/0xf),tcp(),tcp_flags(syn)", e4 + "ipv4(proto=6/0xf),tcp_flags(syn)"},
		{e4 + "ipv4(frag=first)", ""},
		{e4 + "ipv4(frag=no/0xff)", e4 + "ipv4(frag=no)"},
		{e4 + "ipv4(frag=later/0)", "eth(),eth_type(0x0800)"},
		{e4 + "ipv4()", "eth(),eth_type(0x0800)"},
		{e4 + "ipv4(proto=17,frag=later)", ""},

		// IPv6.
		{e6 + "ipv6(src=2001:db8::/32,dst=::1/ffff::,label=0x12345/0xff)", e6 + "ipv6(src=2001:db8::/ffff:ffff::,dst=::1/ffff::,label=0x12345/0xff)"},
		{e6 + "ipv6(src=2001:0db8:0:0::1,dst=::2/::)", e6 + "ipv6(src=2001:db8::1)"},
		{e6 + "ipv6(src=::ffff:1.2.3.4)", ""},
		{e6 + "ipv6(label=0)", ""},
		{e6 + "ipv6(label=0xfffff/0xfffff)", e6 + "ipv6(label=0xfffff)"},
		{e6 + "ipv6(tclass=0x3/0x3,hlimit=255)", ""},
		{e6 + "ipv6(tclass=0xb8,hlimit=1/0x1,frag=later)", ""},

		// TCP, UDP, SCTP. An L4 attribute with nothing matched is left
		// out (as OVS does).
		{e4 + "ipv4(proto=6),tcp(src=80/0xfff0)", ""},
		{e4 + "ipv4(proto=6),tcp(src=0x50,dst=8080)", e4 + "ipv4(proto=6),tcp(src=80,dst=8080)"},
		{e4 + "ipv4(proto=6),tcp()", e4 + "ipv4(proto=6)"},
		{e4 + "ipv4(proto=6,frag=no),tcp(src=0/0)", e4 + "ipv4(proto=6,frag=no)"},
		{e4 + "ipv4(proto=17),udp(dst=53)", ""},
		{e6 + "ipv6(proto=17),udp(src=1,dst=2)", ""},
		{e4 + "ipv4(proto=132),sctp(src=1,dst=2/0xff)", ""},

		// tcp_flags: names when fully masked ("0" for none), +/- per
		// masked bit otherwise, lowest bit first.
		{e4 + "ipv4(proto=6),tcp(),tcp_flags(syn|ack)", e4 + "ipv4(proto=6),tcp_flags(syn|ack)"},
		{e4 + "ipv4(proto=6),tcp(),tcp_flags(ack|syn)", e4 + "ipv4(proto=6),tcp_flags(syn|ack)"},
		{e4 + "ipv4(proto=6),tcp(),tcp_flags(+syn-ack)", e4 + "ipv4(proto=6),tcp_flags(+syn-ack)"},
		{e4 + "ipv4(proto=6),tcp(),tcp_flags(-ack+syn)", e4 + "ipv4(proto=6),tcp_flags(+syn-ack)"},
		{e4 + "ipv4(proto=6),tcp(),tcp_flags(0x2/0x12)", e4 + "ipv4(proto=6),tcp_flags(+syn-ack)"},
		{e4 + "ipv4(proto=6),tcp(),tcp_flags(0x2/0x2)", e4 + "ipv4(proto=6),tcp_flags(+syn)"},
		{e4 + "ipv4(proto=6),tcp(),tcp_flags(0x12/0x12)", e4 + "ipv4(proto=6),tcp_flags(+syn+ack)"},
		{e4 + "ipv4(proto=6),tcp(),tcp_flags(0x2)", e4 + "ipv4(proto=6),tcp_flags(syn)"},
		{e4 + "ipv4(proto=6),tcp(),tcp_flags(0)", e4 + "ipv4(proto=6),tcp_flags(0)"},
		{e4 + "ipv4(proto=6),tcp(),tcp_flags(0/0)", e4 + "ipv4(proto=6)"},
		{e4 + "ipv4(proto=6),tcp(),tcp_flags(0xfff)", e4 + "ipv4(proto=6),tcp_flags(fin|syn|rst|psh|ack|urg|ece|cwr|ns|[200]|[400]|[800])"},
		{e4 + "ipv4(proto=6),tcp(),tcp_flags(0xe00/0xf00)", e4 + "ipv4(proto=6),tcp_flags(-ns+[200]+[400]+[800])"},
		{e4 + "ipv4(proto=6),tcp(),tcp_flags(fin|[800])", e4 + "ipv4(proto=6),tcp_flags(fin|[800])"},
		{e6 + "ipv6(proto=6),tcp(dst=22),tcp_flags(+rst)", ""},

		// ICMP, ICMPv6 and neighbour discovery.
		{e4 + "ipv4(proto=1),icmp(type=8,code=0)", ""},
		{e4 + "ipv4(proto=1),icmp(type=8/0xf0)", ""},
		{e4 + "ipv4(proto=1),icmp(code=3/0)", e4 + "ipv4(proto=1)"},
		{e6 + "ipv6(proto=58),icmpv6(type=128)", ""},
		{e6 + "ipv6(proto=58),icmpv6(type=136,code=0),nd(tll=00:00:00:00:00:02)", ""},
		{e6 + "ipv6(proto=58),icmpv6(type=135,code=0),nd(target=fe80::1,sll=00:00:00:00:00:01/ff:ff:ff:ff:ff:00,tll=00:00:00:00:00:02)", ""},
		{e6 + "ipv6(proto=58),icmpv6(type=135,code=0),nd(target=fe80::/64)", e6 + "ipv6(proto=58),icmpv6(type=135,code=0),nd(target=fe80::/ffff:ffff:ffff:ffff::)"},
		{e6 + "ipv6(proto=58),icmpv6(type=135,code=0),nd()", e6 + "ipv6(proto=58),icmpv6(type=135,code=0)"},

		// ARP: the opcode is matched through 8 bits, so 0xff and 0xffff
		// masks both print as exact.
		{"eth(),eth_type(0x0806),arp(sip=1.2.3.4,tip=5.6.7.8/16,op=2,sha=00:00:00:00:00:01,tha=00:00:00:00:00:02/ff:ff:ff:ff:ff:00)",
			"eth(),eth_type(0x0806),arp(sip=1.2.3.4,tip=5.6.7.8/255.255.0.0,op=2,sha=00:00:00:00:00:01,tha=00:00:00:00:00:02/ff:ff:ff:ff:ff:00)"},
		{"eth(),eth_type(0x0806),arp(op=2/0xffff)", "eth(),eth_type(0x0806),arp(op=2)"},
		{"eth(),eth_type(0x0806),arp(op=2/0xff)", "eth(),eth_type(0x0806),arp(op=2)"},
		{"eth(),eth_type(0x0806),arp(op=2/0xf)", ""},
		{"eth(),eth_type(0x8035),arp(op=3)", ""},
		{"eth(),eth_type(0x0806),arp(sip=10.0.0.1,tip=10.0.0.2,op=1,sha=00:00:00:00:00:01,tha=00:00:00:00:00:00)", ""},

		// VLANs: vid and pcp masks in hex, cfi only when 0.
		{"eth(),eth_type(0x8100),vlan(vid=10/0xff0,pcp=3/0x1),encap(eth_type(0x1234))", ""},
		{"eth(),eth_type(0x8100),vlan(vid=0,pcp=0),encap(eth_type(0x1234))", ""},
		{"eth(),eth_type(0x8100),vlan(),encap(eth_type(0x1234))", ""},
		{"eth(),eth_type(0x8100),vlan(pcp=7,vid=4095,cfi=1),encap(eth_type(0x0800),ipv4(frag=no))", "eth(),eth_type(0x8100),vlan(vid=4095,pcp=7),encap(eth_type(0x0800),ipv4(frag=no))"},
		{"in_port(1),eth(),eth_type(0x8100),vlan(vid=10,pcp=0),encap(eth_type(0x0800),ipv4(frag=no))", ""},
		{"eth(),eth_type(0x88a8),vlan(vid=1),encap(eth_type(0x8100),vlan(vid=2),encap(eth_type(0x86dd),ipv6(proto=58),icmpv6(type=135,code=0),nd(target=fe80::1,sll=00:00:00:00:00:01)))", ""},
		{"eth(),eth_type(0x8100),vlan(vid=5),encap(eth_type(0x0800),ipv4(proto=17),udp(dst=4789))", ""},
		{"eth(),eth_type(0x8100),vlan(vid=5),encap(eth_type(0x0800),ipv4(proto=6),tcp())", "eth(),eth_type(0x8100),vlan(vid=5),encap(eth_type(0x0800),ipv4(proto=6))"},
	}
	for _, tc := range tests {
		want := tc.want
		if want == "" {
			want = tc.in
		}
		m, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		got := m.String()
		if got != want {
			t.Errorf("Parse(%q).String()\n got %s\nwant %s", tc.in, got, want)
			continue
		}
		if byDesign(m) != "" {
			continue
		}
		m2, err := reparse(got)
		if err != nil {
			t.Errorf("%q does not parse back: %v", got, err)
			continue
		}
		if !sameMatch(m2, m) {
			t.Errorf("%q parses back to another match:\nkey:%s\nmask:%s", got,
				keyDiff(m2.Key.Masked(&m2.Mask), m.Key.Masked(&m.Mask)), keyDiff(m2.Mask, m.Mask))
		}
	}
}

// TestParseFields checks the values that some flows parse to.
func TestParseFields(t *testing.T) {
	m := MustParse("in_port(7),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02/ff:ff:ff:ff:ff:00),eth_type(0x8100),vlan(vid=10,pcp=5),encap(eth_type(0x0800),ipv4(src=10.0.0.0/8,proto=6,tos=0x10,ttl=64,frag=first),tcp(src=80),tcp_flags(+syn-ack))")
	k, mk := m.Key, m.Mask
	check := func(name string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %#v, want %#v", name, got, want)
		}
	}
	check("InPort", k.InPort, uint32(7))
	check("mask InPort", mk.InPort, ^uint32(0))
	check("EthDst", k.EthDst, mac6(0, 0, 0, 0, 0, 2))
	check("mask EthDst", mk.EthDst, mac6(0xff, 0xff, 0xff, 0xff, 0xff, 0))
	check("VlanTPID[0]", k.VlanTPID[0], uint16(EthTypeVLAN))
	check("VlanTCI[0]", k.VlanTCI[0], uint16(5<<13|VLANCFI|10))
	check("mask VlanTCI[0]", mk.VlanTCI[0], uint16(0xffff))
	check("EthType", k.EthType, uint16(EthTypeIPv4))
	check("NwSrc", k.NwSrc, [4]byte{10, 0, 0, 0})
	check("mask NwSrc", mk.NwSrc, [4]byte{255, 0, 0, 0})
	check("NwProto", k.NwProto, uint8(6))
	check("NwTos", k.NwTos, uint8(0x10))
	check("NwFrag", k.NwFrag, uint8(FragAny))
	check("mask NwFrag", mk.NwFrag, uint8(FragMask))
	check("TpSrc", k.TpSrc, uint16(80))
	check("mask TpDst", mk.TpDst, uint16(0))
	check("TCPFlags", k.TCPFlags, uint16(0x002))
	check("mask TCPFlags", mk.TCPFlags, uint16(0x012))
	check("PacketType", k.PacketType, uint32(0))
	check("mask PacketType", mk.PacketType, uint32(0))

	// A packet matches the flow it was extracted for.
	var pk Key
	Extract(ethFrame(mac6(0, 0, 0, 0, 0, 2), mac6(0, 0, 0, 0, 0, 1), []vtag{{EthTypeVLAN, 5<<13 | 10}}, EthTypeIPv4,
		ip4Hdr{tos: 0x10, ttl: 64, proto: 6, flagsOff: 0x2000, src: [4]byte{10, 1, 2, 3}, dst: ip4B}.build(tcpSeg(80, 9, 0x02, 0, nil))), 7, &pk)
	masked := m.Key.Masked(&m.Mask)
	if !masked.Matches(&pk, &m.Mask) {
		t.Errorf("the flow does not match its packet:%s", keyDiff(pk.Masked(&m.Mask), masked))
	}
	pk.TCPFlags = 0x12 // SYN+ACK: excluded by -ack
	if masked.Matches(&pk, &m.Mask) {
		t.Error("the flow matches a SYN+ACK")
	}

	// An empty flow is refused, as OVS refuses a key without eth_type.
	if _, err := Parse(""); err == nil {
		t.Error("Parse(\"\") succeeded")
	}
	if _, err := Parse(" \t "); err == nil {
		t.Error("Parse(blank) succeeded")
	}
}

// TestParseErrors checks that bad flows fail with a *SyntaxError whose
// offset points at the problem.
func TestParseErrors(t *testing.T) {
	const e4 = "eth(),eth_type(0x0800),"
	const e6 = "eth(),eth_type(0x86dd),"
	tests := []struct {
		in   string
		at   string // the error's offset is where this occurs in the input ("" for the end)
		msg  string // a part of the message
		last bool   // at is the last occurrence
	}{
		// Syntax.
		{"in_port(1),foo(2)", "foo(2)", "unknown or unsupported attribute foo", false},
		{"in_port(1),Eth()", "Eth()", "unknown or unsupported attribute Eth", false},
		{e4 + "ipv4(source=1.2.3.4)", "source", "unknown field", false},
		{e4 + "ipv4(src)", "src)", "expected field=value", false},
		{"in_port(abc),eth(),eth_type(0x1234)", "in_port", "not a number", false},
		{"in_port(4294967296),eth(),eth_type(0x1234)", "in_port", "out of range", false},
		{"in_port(1/0x1g),eth(),eth_type(0x1234)", "in_port", "not a number", false},
		{"eth(),eth_type(0x12345)", "eth_type", "out of range", false},
		{"in_port(1_0),eth(),eth_type(0x1234)", "in_port", "not a number", false},
		{"in_port(0b1),eth(),eth_type(0x1234)", "in_port", "not a number", false},
		{"in_port(+1),eth(),eth_type(0x1234)", "in_port", "not a number", false},
		{"in_port(09),eth(),eth_type(0x1234)", "in_port", "not a number", false},
		{"in_port(0x),eth(),eth_type(0x1234)", "in_port", "not a number", false},
		{e4 + "ipv4(ttl=256)", "ttl", "out of range", false},
		{e4 + "ipv4(tos=-1)", "tos", "not a number", false},
		{e4 + "ipv4(proto=17),udp(src=65536)", "src=65536", "out of range", false},
		{e4 + "ipv4(src=1.2.3.4/33)", "src", "not an IPv4 mask", false},
		{e4 + "ipv4(src=1.2.3)", "src", "not an IPv4 address", false},
		{e4 + "ipv4(dst=::1)", "dst", "not an IPv4 address", false},
		{e6 + "ipv6(src=1.2.3.4)", "src", "not an IPv6 address", false},
		{e6 + "ipv6(src=fe80::1%eth0)", "src", "not an IPv6 address", false},
		{e6 + "ipv6(label=0x100000)", "label", "larger than 20 bits", false},
		{e4 + "ipv4(frag=maybe)", "frag", "not no, first or later", false},
		{e4 + "ipv4(frag=no/0x1)", "frag", "partial mask", false},
		{"eth(src=00:00:00:00:00),eth_type(0x1234)", "src", "not a MAC address", false},
		{"eth(src=00:00:00:00:00:100),eth_type(0x1234)", "src", "not a MAC address", false},
		{"eth(dst=00:00:00:00:00:0g),eth_type(0x1234)", "dst", "not a MAC address", false},
		{e4 + "ipv4(proto=6),tcp(),tcp_flags(syn|foo)", "tcp_flags", "unknown TCP flag", false},
		{e4 + "ipv4(proto=6),tcp(),tcp_flags(+syn+syn)", "tcp_flags", "given twice", false},
		{e4 + "ipv4(proto=6),tcp(),tcp_flags(syn/0x2)", "tcp_flags", "needs numeric flags", false},
		{e4 + "ipv4(proto=6),tcp(),tcp_flags()", "tcp_flags", "empty", false},
		{"eth(),eth_type(0x0806),arp(op=256)", "arp", "unsupported ARP opcode", false},
		{"eth(),eth_type(0x8100),vlan(vid=4096),encap(eth_type(0x1234))", "vlan", "out of range", false},
		{"eth(),eth_type(0x8100),vlan(pcp=8),encap(eth_type(0x1234))", "vlan", "out of range", false},

		// Structure.
		{"in_port(1),in_port(2)", "in_port(2)", "duplicate attribute in_port", false},
		{"eth(),eth(),eth_type(0x1234)", "eth(),eth_type", "duplicate attribute eth", true},
		{e4 + "ipv4(ttl=1,ttl=2)", "ttl=2", "given twice", false},
		{"in_port(1", "", "expected ) to close in_port(", false},
		{"in_port(1))", ")", "unexpected text after the flow", true},
		{"in_port 1", "1", "expected ( after in_port", false},
		{"eth(),eth_type(0x8100),vlan(),encap(eth_type(0x0800),ipv4()", "", "expected ) to close encap(", false},
		{e4 + "ipv4(src=1.2.3.4", "", "ipv4: expected field=value", false},
		{"in_port(1),eth(),eth_type(0x1234) junk", "junk", "unexpected text after the flow", false},
		{"in_port(1),eth(),eth_type(0x1234);", ";", "unexpected text after the flow", false},
		{"in_port(1),", "", "expected an attribute name", false},
		{",in_port(1)", ",", "expected an attribute name", false},
		{"eth(),eth_type(0x8100),vlan(),encap(in_port(1))", "in_port(1)", "not allowed inside encap()", false},
		{"eth(),eth_type(0x88a8),vlan(),encap(eth_type(0x8100),vlan(),encap(eth_type(0x8100),vlan(),encap()))", "vlan(),encap())", "more than 2 VLAN headers", true},

		// Dependencies between attributes, as OVS checks them.
		{"in_port(1),eth()", "", "eth_type() is required", false},
		{e4 + "ipv4(src=1.2.3.4),eth_type(0x0800)", "eth_type(0x0800)", "duplicate attribute eth_type", true},
		{"eth(),eth_type(0x86dd),ipv4(src=1.2.3.4)", "ipv4", "needs eth_type(0x0800)", false},
		{"eth(),eth_type(0x0800/0xff00),ipv4(src=1.2.3.4)", "", "eth_type() is required, matched exactly", false},
		{"eth(),eth_type(0x0800),ipv6()", "ipv6", "needs eth_type(0x86dd)", false},
		{"eth(),eth_type(0x0800),arp()", "arp", "needs eth_type(0x0806)", false},
		{"eth(),eth_type(0x0800)", "", "ipv4() is required by eth_type(0x0800)", false},
		{"eth(),eth_type(0x0806)", "", "arp() is required", false},
		{e4 + "ipv4(proto=6),udp(src=1)", "udp", "udp() does not fit", false},
		{e4 + "ipv4(frag=no),udp()", "udp", "udp() does not fit", false},
		{e4 + "ipv4(proto=17/0xf),udp(src=1)", "udp", "IP protocol is not matched exactly", false},
		{e4 + "ipv4(proto=1/0xf0,frag=no),icmp(type=3)", "icmp", "IP protocol is not matched exactly", false},
		{e4 + "ipv4(proto=17/0xf0)", "", "udp() is required by proto=17", false},
		{e4 + "ipv4(proto=6/0)", "", "tcp() is required by proto=6", false},
		{e4 + "ipv4(proto=17,frag=later),udp(src=1)", "udp", "udp() does not fit", false},
		{e4 + "ipv4(proto=17)", "", "udp() is required by proto=17", false},
		{e4 + "ipv4(proto=6,frag=no)", "", "tcp() is required by proto=6", false},
		{e4 + "ipv4(proto=1)", "", "icmp() is required by proto=1", false},
		{e4 + "ipv4(proto=58),icmpv6()", "icmpv6", "icmpv6() does not fit", false},
		{e6 + "ipv6(proto=1),icmp()", "icmp", "icmp() does not fit", false},
		{e4 + "ipv4(proto=1),icmp(),tcp_flags(syn)", "tcp_flags", "tcp_flags() needs tcp()", false},
		{e6 + "ipv6(proto=58),icmpv6(type=128),nd(target=::1)", "nd(", "nd() needs icmpv6(type=135 or 136,code=0)", false},
		{e6 + "ipv6(proto=58),icmpv6(type=135,code=1),nd(target=::1)", "nd(", "nd() needs icmpv6", false},
		{e6 + "ipv6(proto=58),icmpv6(type=135),nd(target=::1)", "nd(", "type and code are not matched exactly", false},
		{e6 + "ipv6(proto=58),icmpv6(type=135/0xf0,code=0),nd(target=::1)", "nd(", "type and code are not matched exactly", false},
		{e6 + "ipv6(proto=58),icmpv6(type=135/0xf0,code=0)", "", "nd() is required by icmpv6(type=135,code=0)", false},
		{e6 + "ipv6(proto=58),icmpv6(type=136,code=0)", "", "nd() is required by icmpv6(type=136,code=0)", false},
		{"eth(),eth_type(0x0800),vlan(vid=1)", "vlan", "needs eth_type(0x8100) or eth_type(0x88a8)", false},
		{"eth(),eth_type(0x8100),encap(eth_type(0x0800))", "encap", "encap() without vlan()", false},
		{"eth(),eth_type(0x8100)", "", "vlan() is required by eth_type(0x8100)", false},
		{"eth(),eth_type(0x8100),vlan(vid=1)", "", "encap() is required by vlan()", false},
		{"eth(),eth_type(0x8100),vlan(vid=1),encap(ipv4())", "", "eth_type() is required by encap()", false},
		{"eth(),eth_type(0x8100),vlan(vid=1),encap(eth_type(0x86dd),ipv4())", "ipv4", "needs eth_type(0x0800)", false},
	}
	for _, tc := range tests {
		m, err := Parse(tc.in)
		if err == nil {
			t.Errorf("Parse(%q) = %s, want an error", tc.in, m)
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q): error %T %v is not a *SyntaxError", tc.in, err, err)
			continue
		}
		want := len(tc.in)
		if tc.at != "" {
			if tc.last {
				want = strings.LastIndex(tc.in, tc.at)
			} else {
				want = strings.Index(tc.in, tc.at)
			}
		}
		if se.Offset != want || !strings.Contains(se.Msg, tc.msg) || se.Text != tc.in {
			t.Errorf("Parse(%q):\n got offset %d, %q\nwant offset %d, a message with %q", tc.in, se.Offset, se.Msg, want, tc.msg)
		}
		if !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Parse(%q): Error() = %q", tc.in, err.Error())
		}
	}
}

func TestParseCUint(t *testing.T) {
	for _, tc := range []struct {
		s    string
		bits int
		want uint64
		ok   bool
	}{
		{"0", 8, 0, true},
		{"255", 8, 255, true},
		{"256", 8, 0, false},
		{"0xff", 8, 255, true},
		{"0XfF", 8, 255, true},
		{"0377", 8, 255, true},
		{"00", 8, 0, true},
		{"08", 8, 0, false},
		{"0x", 8, 0, false},
		{"0o7", 8, 0, false},
		{"0b1", 8, 0, false},
		{"1_0", 8, 0, false},
		{"0x_f", 8, 0, false},
		{"+1", 8, 0, false},
		{"-1", 8, 0, false},
		{"", 8, 0, false},
		{" 1", 8, 0, false},
		{"0xffffffffffffffff", 64, 1<<64 - 1, true},
		{"0x10000000000000000", 64, 0, false},
	} {
		got, err := ParseCUint(tc.s, tc.bits)
		if (err == nil) != tc.ok || got != tc.want && tc.ok {
			t.Errorf("ParseCUint(%q, %d) = %d, %v", tc.s, tc.bits, got, err)
		}
	}
}

func TestSyntaxErrorText(t *testing.T) {
	for _, tc := range []struct {
		e    SyntaxError
		want string
	}{
		{SyntaxError{Text: "abc", Offset: 1, Msg: "m"}, `m (at offset 1: "bc")`},
		{SyntaxError{Text: "abc", Offset: 3, Msg: "m"}, `m (at end of input)`},
		{SyntaxError{Text: "abc", Offset: 9, Msg: "m"}, `m (at end of input)`},
		{SyntaxError{Text: strings.Repeat("x", 50), Offset: 0, Msg: "m"}, `m (at offset 0: "` + strings.Repeat("x", 40) + `...")`},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.e, got, tc.want)
		}
	}
}

func TestMustParsePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustParse of a bad flow did not panic")
		}
	}()
	MustParse("in_port(")
}

func TestParseAttr(t *testing.T) {
	tests := []struct {
		in, name, text string // text: AppendAttr of the result
		n              int
	}{
		{"ipv4(ttl=63)", "ipv4", "ipv4(ttl=63)", 12},
		{"  ipv4(src=10.0.0.1/24,tos=0x4/0xfc),2", "ipv4", "ipv4(src=10.0.0.1/255.255.255.0,tos=0x4/0xfc)", 36},
		{"eth(dst=00:00:00:00:00:0a)", "eth", "eth(dst=00:00:00:00:00:0a)", 26},
		{"tcp(dst=80)", "tcp", "tcp(dst=80)", 11},
		{"udp(src=1,dst=2/0xff)", "udp", "udp(src=1,dst=2/0xff)", 21},
		{"ipv6(hlimit=1,label=0x5)", "ipv6", "ipv6(label=0x5,hlimit=1)", 24},
		{"icmp(type=0,code=0)", "icmp", "icmp(type=0,code=0)", 19},
		{"arp(op=2)", "arp", "arp(op=2)", 9},
		{"nd(target=::1)", "nd", "nd(target=::1)", 14},
	}
	for _, tc := range tests {
		name, m, n, err := ParseAttr(tc.in)
		if err != nil {
			t.Errorf("ParseAttr(%q): %v", tc.in, err)
			continue
		}
		b, ok := AppendAttr(nil, name, &m.Key, &m.Mask)
		if name != tc.name || n != tc.n || !ok || string(b) != tc.text {
			t.Errorf("ParseAttr(%q) = %q, %d, AppendAttr %q %v; want %q, %d, %q", tc.in, name, n, b, ok, tc.name, tc.n, tc.text)
		}
	}
	for _, in := range []string{"", "ipv4", "vlan(vid=1)", "encap()", "eth_type(0x800)", "foo()", "ipv4(ttl=63", "ipv4(ttl=x)"} {
		if _, _, _, err := ParseAttr(in); err == nil {
			t.Errorf("ParseAttr(%q) succeeded", in)
		} else if _, ok := err.(*SyntaxError); !ok {
			t.Errorf("ParseAttr(%q): %T", in, err)
		}
	}
	if _, ok := AppendAttr(nil, "vlan", &Key{}, &Key{}); ok {
		t.Error("AppendAttr(vlan) succeeded")
	}
}

func TestAppendTCPFlagsStat(t *testing.T) {
	for _, tc := range []struct {
		flags uint16
		want  string
	}{
		{0, "none"},
		{0x002, "S"},
		{0x012, "S."},
		{0x011, "F."},
		{0x018, "P."},
		{0x004, "R"},
		{0xfff, "SFPRU.ECN[200][400][800]"},
	} {
		if got := string(AppendTCPFlagsStat([]byte("x"), tc.flags)); got != "x"+tc.want {
			t.Errorf("%#x: %q, want %q", tc.flags, got, "x"+tc.want)
		}
	}
}
