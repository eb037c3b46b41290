package flow

import (
	"strings"
	"testing"
)

// tunnelBase follows the tunnel attribute in the test flows.
const tunnelBase = "in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)"

// tunnelCases are tunnel attributes and how OVS 3.1's dpctl/dump-flows
// prints the flow they are part of ("" when it prints it unchanged), all
// checked against OVS (internal/ovsdummy/FINDINGS.md, section 10).
var tunnelCases = []struct{ in, out string }{
	{"tunnel(tun_id=0x5,src=1.1.1.1,dst=2.2.2.2,ttl=64,flags(-df+csum+key))", ""},
	// tos=0 has no attribute in OVS's key, so it does not print.
	{"tunnel(tun_id=0x5,src=1.1.1.1,dst=2.2.2.2,tos=0,ttl=64,tp_src=1,tp_dst=4789,flags(key))",
		"tunnel(tun_id=0x5,src=1.1.1.1,dst=2.2.2.2,ttl=64,tp_src=1,tp_dst=4789,flags(key))"},
	{"tunnel(ipv6_src=2001:db8::1,ipv6_dst=2001:db8::2,ttl=64)", ""},
	{"tunnel(dst=2.2.2.2,tos=0x8/0,ttl=64)", "tunnel(dst=2.2.2.2,ttl=64)"},
	// tun_id implies and matches the key flag; flags() does not touch it.
	{"tunnel(tun_id=0x5,dst=2.2.2.2,ttl=64)", "tunnel(tun_id=0x5,dst=2.2.2.2,ttl=64,flags(+key))"},
	{"tunnel(tun_id=0x5/0,dst=2.2.2.2,ttl=64)", "tunnel(dst=2.2.2.2,ttl=64,flags(+key))"},
	{"tunnel(dst=2.2.2.2,ttl=64,flags(csum|key))", "tunnel(dst=2.2.2.2,ttl=64,flags(-oam-df+csum))"},
	{"tunnel(dst=2.2.2.2,ttl=64,flags(key))", "tunnel(dst=2.2.2.2,ttl=64,flags(-oam-df-csum))"},
	{"tunnel(dst=2.2.2.2,ttl=64,flags(+key))", "tunnel(dst=2.2.2.2,ttl=64)"},
	{"tunnel(dst=2.2.2.2,ttl=64,flags(0))", "tunnel(dst=2.2.2.2,ttl=64,flags(-oam-df-csum))"},
	{"tunnel(tun_id=0x5,dst=2.2.2.2,ttl=64,flags(0))", "tunnel(tun_id=0x5,dst=2.2.2.2,ttl=64,flags(key))"},
	{"tunnel(tun_id=0x5,dst=2.2.2.2,ttl=64,flags(oam|df|csum))", "tunnel(tun_id=0x5,dst=2.2.2.2,ttl=64,flags(oam|df|csum|key))"},
	{"tunnel(tun_id=0x0,dst=2.2.2.2,ttl=64/0xf0,flags(-df))", "tunnel(tun_id=0x0,dst=2.2.2.2,ttl=64/0xf0,flags(-df+key))"},
	// Without a destination the key keeps its values but matches none:
	// the attribute prints when there is a source, with nothing matched.
	{"tunnel(ttl=64)", "-"},
	{"tunnel(tun_id=0x5,ttl=64)", "-"},
	{"tunnel(src=1.1.1.1,ttl=64)", "tunnel()"},
	{"tunnel(ipv6_src=::1,ttl=64)", "tunnel()"},
	{"tunnel(tun_id=0x5,src=1.1.1.1,ttl=64)", "tunnel(flags(+key))"},
	{"tunnel(src=1.1.1.1,ttl=64,geneve({class=0x1,type=0x2,len=4,0xa}))", "tunnel(geneve({}))"},
	{"tunnel(src=1.1.1.1,ttl=64,vxlan(gbp(id=5)),erspan(ver=1,idx=3),gtpu(flags=1,msgtype=2),flags(df))",
		"tunnel(vxlan(gbp()),erspan(idx=0x3/0),gtpu())"},
	{"tunnel(dst=0.0.0.0,ttl=64,geneve({class=0x1,type=0x2,len=4,0xa}))", "-"},

	// VXLAN group based policy: a field left out is wildcarded; nothing
	// prints when the key's id and flags are both zero.
	{"tunnel(dst=2.2.2.2,ttl=64,vxlan(gbp(id=10,flags=0xb)))", ""},
	{"tunnel(dst=2.2.2.2,ttl=64,vxlan(gbp(id=10/0xff,flags=0xb/0xf)))", ""},
	{"tunnel(dst=2.2.2.2,ttl=64,vxlan(gbp(id=10)))", ""},
	{"tunnel(dst=2.2.2.2,ttl=64,vxlan(gbp(flags=0x1)))", ""},
	{"tunnel(dst=2.2.2.2,ttl=64,vxlan(gbp(id=10,)))", "tunnel(dst=2.2.2.2,ttl=64,vxlan(gbp(id=10)))"},
	{"tunnel(dst=2.2.2.2,ttl=64,vxlan(gbp(,flags=1)))", "tunnel(dst=2.2.2.2,ttl=64,vxlan(gbp(flags=0x1)))"},
	{"tunnel(dst=2.2.2.2,ttl=64,vxlan(gbp(id=0,flags=0)))", "tunnel(dst=2.2.2.2,ttl=64)"},
	{"tunnel(dst=2.2.2.2,ttl=64,vxlan(gbp()))", "tunnel(dst=2.2.2.2,ttl=64)"},
	{"tunnel(dst=2.2.2.2,ttl=64,vxlan(gbp(id=10/0)))", "tunnel(dst=2.2.2.2,ttl=64,vxlan(gbp()))"},
	{"tunnel(dst=2.2.2.2,ttl=64,vxlan(gbp(flags=0x1/0)))", "tunnel(dst=2.2.2.2,ttl=64,vxlan(gbp()))"},

	// ERSPAN: the version is matched, nothing else, whatever the masks.
	{"tunnel(dst=2.2.2.2,ttl=64,erspan(ver=1,idx=0x7))", "tunnel(dst=2.2.2.2,ttl=64,erspan(idx=0x7/0))"},
	{"tunnel(dst=2.2.2.2,ttl=64,erspan(ver=1,idx=0x7/0xf))", "tunnel(dst=2.2.2.2,ttl=64,erspan(idx=0x7/0))"},
	{"tunnel(dst=2.2.2.2,ttl=64,erspan(ver=1/0x1,idx=0xffffffff))", "tunnel(dst=2.2.2.2,ttl=64,erspan(idx=0xffffffff/0))"},
	{"tunnel(dst=2.2.2.2,ttl=64,erspan(ver=1/0xf,idx=0x7))", "tunnel(dst=2.2.2.2,ttl=64,erspan(idx=0x7/0))"},
	{"tunnel(dst=2.2.2.2,ttl=64,erspan(ver=1))", "tunnel(dst=2.2.2.2,ttl=64,erspan(idx=0/0))"},
	{"tunnel(dst=2.2.2.2,ttl=64,erspan(ver=1,))", "tunnel(dst=2.2.2.2,ttl=64,erspan(idx=0/0))"},
	{"tunnel(dst=2.2.2.2,ttl=64,erspan(ver=2,dir=1,hwid=0x7))", "tunnel(dst=2.2.2.2,ttl=64,erspan())"},
	{"tunnel(dst=2.2.2.2,ttl=64,erspan(ver=2/0x2,dir=3,hwid=0x17))", "tunnel(dst=2.2.2.2,ttl=64,erspan())"},
	{"tunnel(dst=2.2.2.2,ttl=64,erspan(ver=2,hwid=0x7))", "tunnel(dst=2.2.2.2,ttl=64,erspan())"},
	{"tunnel(dst=2.2.2.2,ttl=64,erspan(ver=2,,hwid=1))", "tunnel(dst=2.2.2.2,ttl=64,erspan())"},
	{"tunnel(dst=2.2.2.2,ttl=64,erspan(ver=2,dir=1,))", "tunnel(dst=2.2.2.2,ttl=64,erspan())"},

	// GTP-U: prints only when the key's flags and msgtype are both
	// non-zero, and its fields only when both masks are.
	{"tunnel(dst=2.2.2.2,ttl=64,gtpu(flags=0x30,msgtype=255))", ""},
	{"tunnel(dst=2.2.2.2,ttl=64,gtpu(flags=0x30/0xf0,msgtype=255/0xf))", ""},
	{"tunnel(dst=2.2.2.2,ttl=64,gtpu(flags=0x30))", "tunnel(dst=2.2.2.2,ttl=64)"},
	{"tunnel(dst=2.2.2.2,ttl=64,gtpu(msgtype=255))", "tunnel(dst=2.2.2.2,ttl=64)"},
	{"tunnel(dst=2.2.2.2,ttl=64,gtpu(,msgtype=255))", "tunnel(dst=2.2.2.2,ttl=64)"},
	{"tunnel(dst=2.2.2.2,ttl=64,gtpu())", "tunnel(dst=2.2.2.2,ttl=64)"},
	{"tunnel(dst=2.2.2.2,ttl=64,gtpu(flags=0x30,msgtype=255/0))", "tunnel(dst=2.2.2.2,ttl=64,gtpu())"},
	{"tunnel(dst=2.2.2.2,ttl=64,gtpu(flags=0x30/0,msgtype=255))", "tunnel(dst=2.2.2.2,ttl=64,gtpu())"},

	// Geneve options.
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0xffff,type=0x80,len=4,0xa0b0c0d0}))", ""},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0xffff,type=0x80,len=4,0xa0b0c0d0/0xf0f0f0f0}))", ""},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0xffff,type=0x80,len=4,0xa0b0c0d0/0}))", "tunnel(dst=2.2.2.2,ttl=64,geneve({class=0xffff,type=0x80,len=4}))"},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0xffff/0xff,type=0x80/0xf0,len=4/0x1,0xa0b0c0d0}))", ""},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0xffff,type=0x80,len=4,0xa0b0c0d0}{class=0x102,type=0x1,len=8,0x0102030405060708}))",
		"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0xffff,type=0x80,len=4,0xa0b0c0d0}{class=0x102,type=0x1,len=8,0x102030405060708}))"},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0xffff,type=0x80,len=0}))", ""},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve())", ""},
	// A len left out wildcards the type (OVS's scanner clears the type's
	// mask instead of the length's).
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0xffff,type=0x80}))", "tunnel(dst=2.2.2.2,ttl=64,geneve({class=0xffff,len=0}))"},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({type=0x2}))", "tunnel(dst=2.2.2.2,ttl=64,geneve({len=0}))"},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({}))", "tunnel(dst=2.2.2.2,ttl=64,geneve({len=0}))"},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({}{}))", "tunnel(dst=2.2.2.2,ttl=64,geneve({len=0}{len=0}))"},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({type=0x80,len=4,0x1}))", ""},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({len=4,0xa}))", ""},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,len=4,0xa}))", ""},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,,len=4,0xa}))", "tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,len=4,0xa}))"},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,0xa}{class=0x1,type=0x3}))",
		"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,0xa}{class=0x1,len=0}))"},
	// Data left out is zero, matched exactly.
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4}))", "tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,0}))"},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=8,0x0}))", "tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=8,0}))"},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({len=124}{len=120}))", "tunnel(dst=2.2.2.2,ttl=64,geneve({len=124,0}{len=120,0}))"},
	// Data: hex (spaces between digits allowed, leading zeros free) or
	// decimal/octal.
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,0x00000000a}))", "tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,0xa}))"},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,10}))", "tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,0xa}))"},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,012}))", "tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,0xa}))"},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,4294967295}))", "tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,0xffffffff}))"},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,0x0a 0b}))", "tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,0xa0b}))"},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=65535,type=255,len=4,0XA}))", "tunnel(dst=2.2.2.2,ttl=64,geneve({class=0xffff,type=0xff,len=4,0xa}))"},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,0x0a0b/0x0f}))", "tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,0xa0b/0xf}))"},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,0xffffffff/0xffffffff}))", "tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,0xffffffff}))"},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=8,0xa/0xff}))", ""},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=12,0x0102030405060708090a0b0c/0x0000ff00000000000000000f}))",
		"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=12,0x102030405060708090a0b0c/0xff00000000000000000f}))"},
	// The len mask prints as the raw mask of the 5-bit length field.
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4/0x7c,0xa}))", "tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4/0x1c,0xa}))"},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4/0x1f,0xa}))", "tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,0xa}))"},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4/0xff,0xa}))", "tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,0xa}))"},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4/0,0xa}))", "tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,0xa}))"},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1/0,type=0x2/0,len=4/0,0xa/0}))", "tunnel(dst=2.2.2.2,ttl=64,geneve({}))"},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=124,0x1}))", ""},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x82,len=4,0xa}))", ""},
	{"tunnel(ipv6_dst=2001:db8::2,ttl=64,geneve({class=0x1,type=0x2,len=4,0xa}))", ""},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,0xa}),flags(df))", "tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,0xa}),flags(-oam+df-csum))"},

	// Everything at once, in OVS's order.
	{"tunnel(tun_id=0x1,src=1.1.1.1,dst=2.2.2.2,ipv6_src=::1,ipv6_dst=::2,tos=0x4,ttl=64,tp_src=1,tp_dst=2,vxlan(gbp(id=1,flags=0x2)),geneve({class=0x1,type=0x2,len=4,0xa}),erspan(ver=1,idx=0x3),gtpu(flags=0x1,msgtype=2),flags(df|csum|oam))",
		"tunnel(tun_id=0x1,src=1.1.1.1,dst=2.2.2.2,ipv6_src=::1,ipv6_dst=::2,tos=0x4,ttl=64,tp_src=1,tp_dst=2,vxlan(gbp(id=1,flags=0x2)),geneve({class=0x1,type=0x2,len=4,0xa}),erspan(idx=0x3/0),gtpu(flags=0x1,msgtype=2),flags(oam|df|csum|key))"},
	{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,0xa}),vxlan(gbp(id=1)))", "tunnel(dst=2.2.2.2,ttl=64,vxlan(gbp(id=1)),geneve({class=0x1,type=0x2,len=4,0xa}))"},
}

// tunnelBad are tunnel attributes OVS refuses (all checked).
var tunnelBad = []string{
	"tunnel(tun_id=0x5)",
	"tunnel(dst=2.2.2.2)",
	"tunnel(tun_id=0x5/0xff,dst=2.2.2.2)",
	"tunnel(dst=2.2.2.2,geneve({class=0x102,type=0x80,len=4,0xa}))",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0xffff,type=0x80,len=5,0xa0b0c0d0}))",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=128,0x1}))",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({len=124}{len=124}))",
	"tunnel(dst=2.2.2.2,ttl=64,geneve(" + strings.Repeat("{}", 64) + "))",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,0x1ffffffff}))",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,4294967296}))",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({type=0x2,class=0x1,len=4,0xa}))",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,0xa},{class=0x1,type=0x2,len=4,0xb}))",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,0xa} {class=0x1,type=0x2,len=4,0xb}))",
	"tunnel(dst=2.2.2.2,ttl=64,geneve( {class=0x1,type=0x2,len=4,0xa}))",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1, type=0x2,len=4,0xa}))",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,0xa/}))",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,}))",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,/0x1}))",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,0xa,}))",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({,0x0}))",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,0xa}/0x1))",
	"tunnel(dst=2.2.2.2,ttl=64,vxlan(gbp(flags=0x1,id=5)))",
	"tunnel(dst=2.2.2.2,ttl=64,vxlan(gbp( id=10)))",
	"tunnel(dst=2.2.2.2,ttl=64,vxlan(gbp(id=10) ))",
	"tunnel(dst=2.2.2.2,ttl=64,vxlan())",
	"tunnel(dst=2.2.2.2,ttl=64,vxlan(gbp(id=1),gbp(id=2)))",
	"tunnel(dst=2.2.2.2,ttl=64,erspan(ver=3))",
	"tunnel(dst=2.2.2.2,ttl=64,erspan(ver=1,dir=1))",
	"tunnel(dst=2.2.2.2,ttl=64,erspan(ver=2,idx=1))",
	"tunnel(dst=2.2.2.2,ttl=64,erspan(idx=1))",
	"tunnel(dst=2.2.2.2,ttl=64,erspan())",
	"tunnel(dst=2.2.2.2,ttl=64,erspan(ver=1,idx=0x7,))",
	"tunnel(dst=2.2.2.2,ttl=64,gtpu(msgtype=255,flags=0x30))",
	"tunnel(dst=2.2.2.2,ttl=64,gtpu(flags=0x30,msgtype=255,))",
}

func TestTunnelText(t *testing.T) {
	for _, c := range tunnelCases {
		in, want := c.in+","+tunnelBase, c.out+","+tunnelBase
		switch c.out {
		case "":
			want = in
		case "-":
			want = tunnelBase
		}
		m, err := Parse(in)
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		if got := m.String(); got != want {
			t.Errorf("Parse(%q)\n got %s\nwant %s", in, got, want)
		}
		// Syntax only: the same text, and a flow that prints back as
		// written parses back to the same match.
		if _, err := ParseKey(in); err != nil {
			t.Errorf("ParseKey(%q): %v", in, err)
		}
		if c.out == "" {
			m2, err := Parse(want)
			if err != nil || !sameMatch(m, m2) {
				t.Errorf("Parse(%q) does not give the match back: %v", want, err)
			}
		}
	}
	for _, bad := range append(tunnelBad,
		// Refused here although OVS accepts them: OVS takes the last of
		// fields given twice and truncates numbers that overflow.
		"tunnel(dst=2.2.2.2,ttl=64,ttl=63)",
		"tunnel(dst=2.2.2.2,ttl=64,geneve({len=4}),geneve({len=8}))",
		"tunnel(dst=2.2.2.2,ttl=64,vxlan(gbp(id=65536)))",
		"tunnel(dst=2.2.2.2,ttl=64,gtpu(flags=0x30,msgtype=256))",
		"tunnel(dst=2.2.2.2,ttl=64,erspan(ver=1,idx=0x100000000))",
		"tunnel(dst=2.2.2.2,ttl=64,erspan(ver=257))",
		// Not OVS's syntax.
		"tunnel(dst=2.2.2.2,ttl=64,bogus=1)",
		"tunnel(dst=2.2.2.2,ttl=64,bogus(1))",
		"tunnel(dst=2.2.2.2,ttl=64,flags(bogus))",
		"tunnel(dst=2.2.2.2,ttl=64,flags(key)",
		"tunnel(dst=2.2.2.2,ttl=64,geneve({len=4,0x1}",
		"tunnel(dst=2.2.2.2,ttl=64,geneve({len=4,0x1})",
	) {
		if _, err := Parse(bad + "," + tunnelBase); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
	// Syntax only: ParseKey accepts a tunnel without ttl.
	if _, err := ParseKey("tunnel(tun_id=0x5)," + tunnelBase); err != nil {
		t.Errorf("ParseKey: %v", err)
	}
}

// TestTunnelMatch checks what the tunnel fields of a parsed flow match.
func TestTunnelMatch(t *testing.T) {
	geneve := func(opts ...byte) func(k *Key) {
		return func(k *Key) {
			k.TunFlags |= TunFlagGeneve
			k.TunGeneveLen = uint8(copy(k.TunGeneve[:], opts))
		}
	}
	for _, c := range []struct {
		flow  string
		key   func(k *Key)
		match bool
	}{
		{"tunnel(tun_id=0x5,dst=2.2.2.2,ttl=64)", func(k *Key) { k.TunID, k.TunFlags = 5, TunFlagKey }, true},
		{"tunnel(tun_id=0x5,dst=2.2.2.2,ttl=64)", func(k *Key) { k.TunID, k.TunFlags = 6, TunFlagKey }, false},
		// tun_id matches the key flag too.
		{"tunnel(tun_id=0x5,dst=2.2.2.2,ttl=64)", func(k *Key) { k.TunID = 5 }, false},
		// flags(key) matches oam, df and csum, not the key flag.
		{"tunnel(dst=2.2.2.2,ttl=64,flags(key))", func(k *Key) {}, true},
		{"tunnel(dst=2.2.2.2,ttl=64,flags(key))", func(k *Key) { k.TunFlags = TunFlagDF }, false},
		// Without a destination nothing of the tunnel is matched.
		{"tunnel(src=1.1.1.1,ttl=64,geneve({len=4,0x1}))", func(k *Key) { k.TunDst = [4]byte{}; k.TunTTL = 1 }, true},
		{"tunnel(dst=2.2.2.2,ttl=64,vxlan(gbp(id=10/0xff)))", func(k *Key) { k.TunGbpID = 0x10a }, true},
		{"tunnel(dst=2.2.2.2,ttl=64,vxlan(gbp(id=10/0xff)))", func(k *Key) { k.TunGbpID = 0x10b }, false},
		{"tunnel(dst=2.2.2.2,ttl=64,gtpu(flags=0x30,msgtype=255/0xf))", func(k *Key) { k.TunGtpuFlags, k.TunGtpuMsgType = 0x30, 0x1f }, true},
		// ERSPAN: the version only.
		{"tunnel(dst=2.2.2.2,ttl=64,erspan(ver=1,idx=0x7))", func(k *Key) { k.TunErspanVer, k.TunErspanIdx = 1, 9 }, true},
		{"tunnel(dst=2.2.2.2,ttl=64,erspan(ver=1,idx=0x7))", func(k *Key) { k.TunErspanVer = 2 }, false},
		// Geneve: the options under their masks, the exact length, and
		// the presence of a Geneve header.
		{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x102,type=0x80,len=4,0xa0b0c0d0/0xf0f0f0f0}))",
			geneve(1, 2, 0x80, 1, 0xa1, 0xb2, 0xc3, 0xd4), true},
		{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x102,type=0x80,len=4,0xa0b0c0d0/0xf0f0f0f0}))",
			geneve(1, 2, 0x81, 1, 0xa1, 0xb2, 0xc3, 0xd4), false},
		{"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x102,type=0x80,len=4,0xa0b0c0d0/0xf0f0f0f0}))",
			geneve(1, 2, 0x80, 1, 0xa1, 0xb2, 0xc3, 0xd4, 0, 0, 0, 0), false},
		{"tunnel(dst=2.2.2.2,ttl=64,geneve({type=0x80,len=4,0xa0b0c0d0}))",
			geneve(9, 9, 0x80, 1, 0xa0, 0xb0, 0xc0, 0xd0), true},
		{"tunnel(dst=2.2.2.2,ttl=64,geneve())", geneve(), true},
		{"tunnel(dst=2.2.2.2,ttl=64,geneve())", func(k *Key) {}, false},
		{"tunnel(dst=2.2.2.2,ttl=64)", geneve(1, 2, 3, 0), true},
	} {
		m, err := Parse(c.flow + "," + tunnelBase)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.flow, err)
		}
		pk := Key{InPort: 1, EthType: EthTypeIPv4, TunDst: [4]byte{2, 2, 2, 2}, TunTTL: 64}
		c.key(&pk)
		mk := m.Key.Masked(&m.Mask)
		if got := mk.Matches(&pk, &m.Mask); got != c.match {
			t.Errorf("%s: matches %+v: %v, want %v", c.flow, pk, got, c.match)
		}
	}
}

// TestTunnelFormatKeys formats keys that text does not produce (as
// decapsulation or an API user may set them), by OVS's rules.
func TestTunnelFormatKeys(t *testing.T) {
	// full matches every tunnel field.
	var full Key
	for i := tunnelWord; i < KeyWords; i++ {
		full.words()[i] = ^uint64(0)
	}
	base := Key{TunDst: [4]byte{2, 2, 2, 2}, TunTTL: 64}
	for _, c := range []struct {
		key  func(k *Key)
		mask func(m *Key)
		want string
	}{
		// A full mask: ERSPAN's mask version (all ones) is no version,
		// so only the key's fields print.
		{func(k *Key) { k.TunErspanVer, k.TunErspanIdx = 1, 7 }, nil, "tunnel(dst=2.2.2.2,ttl=64,erspan(idx=0x7/0),flags(-oam-df-csum))"},
		{func(k *Key) { k.TunErspanVer, k.TunErspanDir, k.TunErspanHwID = 2, 1, 0x35 }, nil, "tunnel(dst=2.2.2.2,ttl=64,erspan(),flags(-oam-df-csum))"},
		// A mask with a version prints the fields of that version; dir
		// and hwid print as the header's 1- and 4-bit fields hold them
		// (so a full mask shows as /0x1 and /0xf).
		{func(k *Key) { k.TunErspanVer, k.TunErspanIdx = 1, 7 }, func(m *Key) { m.TunErspanVer, m.TunErspanIdx = 1, 0xf },
			"tunnel(dst=2.2.2.2,ttl=64,erspan(ver=1/0x1,idx=0x7/0xf))"},
		{func(k *Key) { k.TunErspanVer, k.TunErspanDir, k.TunErspanHwID = 2, 1, 0x35 }, func(m *Key) { m.TunErspanVer, m.TunErspanDir, m.TunErspanHwID = 2, 1, 0xff },
			"tunnel(dst=2.2.2.2,ttl=64,erspan(ver=2/0x2,dir=1/0x1,hwid=0x5/0xf))"},
		{func(k *Key) { k.TunErspanVer, k.TunErspanIdx = 1, 7 }, func(m *Key) { m.TunErspanVer, m.TunErspanIdx = 2, 0xf },
			"tunnel(dst=2.2.2.2,ttl=64,erspan(ver=1/0x2,idx=0x7/0))"},
		// Invalid versions print nothing.
		{func(k *Key) { k.TunErspanVer, k.TunErspanIdx = 3, 7 }, nil, "tunnel(dst=2.2.2.2,ttl=64,flags(-oam-df-csum))"},
		// Geneve options that overrun their length.
		{func(k *Key) { k.TunFlags, k.TunGeneveLen, k.TunGeneve[3] = TunFlagGeneve, 4, 1 }, nil,
			"tunnel(dst=2.2.2.2,ttl=64,geneve(opt len 8 greater than remaining 4),flags(-oam-df-csum))"},
		{func(k *Key) { k.TunFlags, k.TunGeneveLen = TunFlagGeneve, 6 }, nil,
			"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0,type=0,len=0}opt len 2 less than minimum 4),flags(-oam-df-csum))"},
		{func(k *Key) { k.TunFlags, k.TunGeneveLen = TunFlagGeneve, 255 }, nil,
			"tunnel(dst=2.2.2.2,ttl=64,geneve(" + strings.Repeat("{class=0,type=0,len=0}", 63) + "),flags(-oam-df-csum))"},
		// Options are printed only with the Geneve flag.
		{func(k *Key) { k.TunGeneveLen, k.TunGeneve[0] = 4, 1 }, nil, "tunnel(dst=2.2.2.2,ttl=64,flags(-oam-df-csum))"},
	} {
		k, m := base, full
		c.key(&k)
		if c.mask != nil {
			m = Key{TunDst: full.TunDst, TunTTL: 0xff}
			c.mask(&m)
		}
		// The key has no layer 2 attributes: Format adds eth().
		if got := Format(&k, &m); got != c.want+",eth()" {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
}

// TestTunnelKeyTrailing checks that the tunnel fields, up to the last
// Geneve option byte, are outside the words extraction writes: Extract
// clears them in a reused key, and the exact-match cache's LookupPacket
// never answers a packet without tunnel state from an entry with it.
func TestTunnelKeyTrailing(t *testing.T) {
	frame := []byte{0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x12, 0x34, 0, 0}
	want := Key{InPort: 3, EthSrc: [6]byte{5: 1}, EthDst: [6]byte{5: 2}, EthType: 0x1234}
	k := Key{TunDst: [4]byte{1}, TunGbpID: 1, TunErspanVer: 1, TunGtpuMsgType: 1, TunFlags: TunFlagGeneve, TunGeneveLen: 4}
	k.TunGeneve[MaxGeneveOptLen-1] = 1
	Extract(frame, 3, &k)
	if k != want {
		t.Errorf("Extract left tunnel state:%s", keyDiff(k, want))
	}

	c := NewEMC[*cachedFlow](1)
	tun := want
	tun.TunGeneve[MaxGeneveOptLen-1] = 1
	if tun.hashPacketPart() != want.hashPacketPart() || tun == want || tun.trailingZero() || !want.trailingZero() {
		t.Fatal("a Geneve option byte must leave the packet-part hash alone and change equality")
	}
	f := &cachedFlow{id: 1}
	c.Insert(&tun, c.Hash(&tun), f)
	if _, ok := c.LookupPacket(&want, c.Hash(&want)); ok {
		t.Error("LookupPacket returned the entry of a key with tunnel state")
	}
	if v, ok := c.Lookup(&tun, c.Hash(&tun)); !ok || v != f {
		t.Error("Lookup misses the key with tunnel state")
	}
}
