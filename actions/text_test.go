package actions_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/flow"
)

func TestParseString(t *testing.T) {
	ff := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	tests := []struct {
		in   string
		want actions.List // nil: only check the text
		text string       // String of the parsed list
	}{
		{in: "2", want: actions.List{actions.Output(2)}, text: "2"},
		{in: "2,3", want: actions.List{actions.Output(2), actions.Output(3)}, text: "2,3"},
		{in: "2 3", want: actions.List{actions.Output(2), actions.Output(3)}, text: "2,3"},
		{in: " 2 ,\t3\n", want: actions.List{actions.Output(2), actions.Output(3)}, text: "2,3"},
		{in: "0", want: actions.List{actions.Output(0)}, text: "0"},
		{in: "4294967295", want: actions.List{actions.Output(4294967295)}, text: "4294967295"},
		{in: "0x10", want: actions.List{actions.Output(16)}, text: "16"},
		{in: "drop", want: actions.List{{Type: actions.TypeDrop}}, text: "drop"},
		{in: "DROP", want: actions.List{actions.Drop()}, text: "drop"},
		{in: "", text: "drop"},
		{in: " , ", text: "drop"},
		{
			in: "set(ipv4(ttl=63)),2",
			want: actions.List{
				{Type: actions.TypeSetMasked, Attr: actions.AttrIPv4, Set: &actions.Set{Key: flow.Key{NwTTL: 63}, Mask: flow.Key{NwTTL: 0xff}}},
				actions.Output(2),
			},
			text: "set(ipv4(ttl=63)),2",
		},
		{
			in: "set(ipv4(src=10.1.2.3,dst=10.4.5.6,proto=17,tos=0x10,ttl=9,frag=no))",
			want: actions.List{{
				Type: actions.TypeSet, Attr: actions.AttrIPv4,
				Set: &actions.Set{
					Key: flow.Key{NwSrc: [4]byte{10, 1, 2, 3}, NwDst: [4]byte{10, 4, 5, 6}, NwProto: 17, NwTos: 0x10, NwTTL: 9},
					Mask: flow.Key{NwSrc: [4]byte{0xff, 0xff, 0xff, 0xff}, NwDst: [4]byte{0xff, 0xff, 0xff, 0xff},
						NwProto: 0xff, NwTos: 0xff, NwTTL: 0xff, NwFrag: flow.FragMask},
				},
			}},
			text: "set(ipv4(src=10.1.2.3,dst=10.4.5.6,proto=17,tos=0x10,ttl=9,frag=no))",
		},
		{
			// Field order and zero values: an unmasked set prints every
			// field, zeros included.
			in:   "set(ipv4(frag=no,ttl=0,tos=0,proto=0,dst=0.0.0.0,src=0.0.0.0))",
			text: "set(ipv4(src=0.0.0.0,dst=0.0.0.0,proto=0,tos=0,ttl=0,frag=no))",
		},
		{
			in: "set(eth(src=00:11:22:33:44:55,dst=66:77:88:99:aa:bb))",
			want: actions.List{{
				Type: actions.TypeSet, Attr: actions.AttrEthernet,
				Set: &actions.Set{Key: flow.Key{EthSrc: [6]byte{0, 0x11, 0x22, 0x33, 0x44, 0x55}, EthDst: [6]byte{0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb}}, Mask: flow.Key{EthSrc: ff, EthDst: ff}},
			}},
			text: "set(eth(src=00:11:22:33:44:55,dst=66:77:88:99:aa:bb))",
		},
		{
			in: "set(eth(dst=66:77:88:99:aa:bb))",
			want: actions.List{{
				Type: actions.TypeSetMasked, Attr: actions.AttrEthernet,
				Set: &actions.Set{Key: flow.Key{EthDst: [6]byte{0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb}}, Mask: flow.Key{EthDst: ff}},
			}},
			text: "set(eth(dst=66:77:88:99:aa:bb))",
		},
		{
			in: "set(tcp(dst=8080))",
			want: actions.List{{
				Type: actions.TypeSetMasked, Attr: actions.AttrTCP,
				Set: &actions.Set{Key: flow.Key{TpDst: 8080}, Mask: flow.Key{TpDst: 0xffff}},
			}},
			text: "set(tcp(dst=8080))",
		},
		{
			in: "set(tcp(src=1,dst=2))",
			want: actions.List{{
				Type: actions.TypeSet, Attr: actions.AttrTCP,
				Set: &actions.Set{Key: flow.Key{TpSrc: 1, TpDst: 2}, Mask: flow.Key{TpSrc: 0xffff, TpDst: 0xffff}},
			}},
			text: "set(tcp(src=1,dst=2))",
		},
		{
			// The key keeps the bits outside its mask, as OVS keeps
			// them (its datapath ORs them in), and a partial mask
			// prints as value/mask.
			in: "set(udp(src=0x1234/0xff00))",
			want: actions.List{{
				Type: actions.TypeSetMasked, Attr: actions.AttrUDP,
				Set: &actions.Set{Key: flow.Key{TpSrc: 0x1234}, Mask: flow.Key{TpSrc: 0xff00}},
			}},
			text: "set(udp(src=4660/0xff00))",
		},
		{in: "set(udp(src=1/0xff00))", text: "set(udp(src=1/0xff00))"},
		{in: "set(ipv4(src=1.2.3.4/255.255.255.0))", text: "set(ipv4(src=1.2.3.4/255.255.255.0))"},
		{in: "set(ipv4(tos=0xfc/0xfc))", text: "set(ipv4(tos=0xfc/0xfc))"},
		{in: "set(ipv4(ttl=63/0xff))", text: "set(ipv4(ttl=63))"},
		{in: "set(eth(src=00:00:00:00:00:01/ff:ff:ff:ff:ff:00))", text: "set(eth(src=00:00:00:00:00:01/ff:ff:ff:ff:ff:00))"},
		{
			in:   "push_vlan(vid=10,pcp=3),pop_vlan,trunc(100),dec_ttl(le_1(drop)),clone(1,2)",
			want: actions.List{actions.PushVLAN(0x8100, 0x100a|3<<13), actions.PopVLAN(), actions.Trunc(100), actions.DecTTL(nil), actions.Clone(actions.List{actions.Output(1), actions.Output(2)})},
			text: "push_vlan(vid=10,pcp=3),pop_vlan,trunc(100),dec_ttl(le_1(drop)),clone(1,2)",
		},
		{
			in:   "push_vlan(tpid=0x88a8,vid=10,pcp=0,cfi=0)",
			want: actions.List{actions.PushVLAN(0x88a8, 10)},
			text: "push_vlan(tpid=0x88a8,vid=10,pcp=0,cfi=0)",
		},
		{
			in:   "check_pkt_len(size=100,gt(1),le(drop)),sample(sample=100.0%,actions(2))",
			want: actions.List{actions.CheckPktLen(100, actions.List{actions.Output(1)}, nil), actions.Sample(0xffffffff, actions.List{actions.Output(2)})},
			text: "check_pkt_len(size=100,gt(1),le(drop)),sample(sample=100.0%,actions(2))",
		},
		{
			in:   "recirc(0x10),meter(3),lb_output(4),tnl_pop(5),ct_clear",
			want: actions.List{actions.Recirc(16), actions.Meter(3), actions.LBOutput(4), actions.TunnelPop(5), actions.CTClear()},
			text: "recirc(0x10),meter(3),lb_output(4),tnl_pop(5),ct_clear",
		},
		{in: "set(ipv4(proto=6))", text: "set(ipv4(proto=6))"},
		{in: "set(arp(sip=1.2.3.4))", text: "set(arp(sip=1.2.3.4))"},
		{in: "set(ipv6(hlimit=1))", text: "set(ipv6(hlimit=1))"},
		{in: "set( ipv4( ttl=63 ) ) 2", text: "set(ipv4(ttl=63)),2"},
		{in: "set(ipv4(ttl=63)) set(udp(dst=53)) 5", text: "set(ipv4(ttl=63)),set(udp(dst=53)),5"},
		{in: "1,set(eth(src=00:00:00:00:00:01)),2,set(tcp(src=80)),3", text: "1,set(eth(src=00:00:00:00:00:01)),2,set(tcp(src=80)),3"},
	}
	for _, tt := range tests {
		l, err := actions.Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if tt.want != nil && !reflect.DeepEqual(l, tt.want) {
			t.Errorf("Parse(%q) = %v, not the list wanted (%v)", tt.in, l, tt.want)
		}
		if got := l.String(); got != tt.text {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.text)
		}
		if got := string(l.Append([]byte("x:"))); got != "x:"+tt.text {
			t.Errorf("Append = %q, want %q", got, "x:"+tt.text)
		}
		// The text must reparse to the same list.
		l2, err := actions.Parse(tt.text)
		if err != nil {
			t.Errorf("reparse of %q: %v", tt.text, err)
			continue
		}
		if !reflect.DeepEqual(canon(l2), canon(l)) {
			t.Errorf("reparse of %q = %v, a different list", tt.text, l2)
		}
	}
}

// canon maps the two spellings of the drop list (empty and a lone drop
// action) to one.
func canon(l actions.List) actions.List {
	if len(l) == 1 && l[0].Type == actions.TypeDrop {
		return nil
	}
	if len(l) == 0 {
		return nil
	}
	return l
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in     string
		syntax bool   // the error is a *flow.SyntaxError
		offset int    // its offset, if >= 0
		msg    string // substring of the error text
	}{
		{"foo", true, 0, "unknown or unsupported action"},
		{"2,foo", true, 2, `"foo"`},
		{"output(2)", true, 0, "output"},
		{"push_vlan(vid=1)", true, -1, "pcp"},
		{"push_vlan(vid=4096,pcp=0)", true, 0, "push_vlan"},
		{" drop", true, 1, "drop"},
		{"drop ", true, 0, "drop"},
		{"set(nsh(spi=0x1))", true, 4, "nsh"},
		{"clone(1", true, -1, ")"},
		{"clone(drop,1)", true, 6, "drop"},
		{"sample(sample=101%,actions(1))", true, 0, "out of range"},
		{"ct(commit,force_commit)", true, 0, "exclusive"},
		{"ct(nat(src=10.0.0.2-10.0.0.1))", true, -1, "range"},
		{"userspace(pid=1,userdata(0))", true, -1, "hexadecimal"},
		{"pop_vlan(1)", true, 8, "unexpected"},
		{"tnl_pop(1)2", true, 10, "unexpected"},
		{"set(ipv4(ttl=63)", true, -1, ")"},
		{"set(ipv4(ttl=63)x", true, -1, ")"},
		{"set(ipv4(ttl=63", true, -1, ""},
		{"set(ipv4 ttl=63))", true, -1, ""},
		{"set(ipv4(ttl=256))", true, -1, "ttl"},
		{"set(ipv4(bogus=1))", true, -1, "unknown field"},
		{"set(ipv4(ttl=1,ttl=2))", true, -1, "twice"},
		{"set()", true, -1, ""},
		{")", true, 0, ""},
		{"(2)", true, 0, ""},
		{"2)", true, -1, ""},
		{"4294967296", true, 0, "bad output port"},
		{"-1", true, 0, ""},
		{"2x", true, 0, "bad output port"},
		{"2,drop", true, 2, "drop"},
		{"drop,2", true, -1, ""},
		{"drop drop", true, -1, ""},
	}
	for _, tt := range tests {
		l, err := actions.Parse(tt.in)
		if err == nil {
			t.Errorf("Parse(%q) = %v, want an error", tt.in, l)
			continue
		}
		if l != nil {
			t.Errorf("Parse(%q) returned a list with its error", tt.in)
		}
		var se *flow.SyntaxError
		if errors.As(err, &se) != tt.syntax {
			t.Errorf("Parse(%q) error %v (%T): syntax error = %v, want %v", tt.in, err, err, !tt.syntax, tt.syntax)
		} else if se != nil {
			if se.Text != tt.in {
				t.Errorf("Parse(%q): SyntaxError.Text = %q", tt.in, se.Text)
			}
			if se.Offset < 0 || se.Offset > len(tt.in) {
				t.Errorf("Parse(%q): SyntaxError.Offset %d out of range", tt.in, se.Offset)
			}
			if tt.offset >= 0 && se.Offset != tt.offset {
				t.Errorf("Parse(%q): SyntaxError.Offset = %d, want %d (%v)", tt.in, se.Offset, tt.offset, err)
			}
		}
		if !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("Parse(%q) error %q does not mention %q", tt.in, err, tt.msg)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		l   string
		err string // "" if the list is valid
	}{
		{"", ""},
		{"drop", ""},
		{"1,2", ""},
		{"set(eth(src=00:00:00:00:00:01)),set(ipv4(ttl=1)),set(tcp(src=1)),set(udp(dst=2)),1", ""},
		{"set(ipv4(src=1.1.1.1,dst=2.2.2.2,proto=6,tos=0,ttl=9,frag=no))", ""},
		{"set(ipv4(proto=6))", "proto or frag is not supported"},
		{"set(ipv4(frag=no))", "proto or frag is not supported"},
		{"set(arp(sip=1.2.3.4)),set(nd(target=::1)),set(icmp(type=1,code=2)),set(sctp(src=1))", ""},
		{"set(ipv6(hlimit=1)),set(icmpv6(type=1,code=0)),set(skb_mark(1)),ct_clear", ""},
		{"set(ipv6(proto=6))", "proto or frag is not supported"},
		{"set(tunnel(dst=1.1.1.1,ttl=64))", ""},
		{"1,set(tunnel(tun_id=0x5,dst=1.1.1.1,ttl=64,flags(df)))", ""},
		{"set(tunnel(tun_id=0x5/0xff,dst=1.1.1.1/255.255.255.255,ttl=64/0xff))", ""},
		{"1,set(mpls(label=1,tc=0,ttl=1,bos=1))", "set of mpls is not implemented"},
		{"push_vlan(vid=1,pcp=0),pop_vlan,trunc(10),dec_ttl(le_1(1)),2", ""},
		{"dec_ttl(le_1(push_mpls(label=1,tc=0,ttl=1,bos=1,eth_type=0x8847))),pop_mpls(eth_type=0x800)", ""},
		{"dec_ttl(le_1(pop_nsh()))", "pop_nsh is not implemented (in dec_ttl)"},
		{"meter(1),push_eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),pop_eth,2", ""},
		{"1,ct(commit),2", "ct is not implemented"},
		{"userspace(pid=1),recirc(1)", ""},
		{"clone(pop_nsh())", "pop_nsh is not implemented"},
		{"tnl_pop(1)", ""},
		{"lb_output(1)", "lb_output is not implemented"},
	}
	for _, tt := range tests {
		err := actions.MustParse(tt.l).Validate()
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%q: %v", tt.l, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%q: error %v, want one containing %q", tt.l, err, tt.err)
		case tt.err != "" && strings.Contains(tt.err, "not implemented") && !errors.Is(err, actions.ErrNotImplemented):
			t.Errorf("%q: %v does not wrap ErrNotImplemented", tt.l, err)
		}
	}
	for _, l := range []actions.List{
		{{Type: actions.TypeDrop}, actions.Output(1)},
		{{Type: 99}},
		{{Type: actions.TypeSet, Attr: 99}},
		{{Type: actions.TypeSetMasked, Attr: actions.AttrIPv4, Set: &actions.Set{Mask: flow.Key{NwProto: 0xff}}}},
	} {
		if err := l.Validate(); err == nil {
			t.Errorf("%v validates", l)
		}
	}
}

func TestTypeAttrString(t *testing.T) {
	for _, tt := range []struct {
		s    interface{ String() string }
		want string
	}{
		{actions.TypeOutput, "output"},
		{actions.TypeSet, "set"},
		{actions.TypeSetMasked, "set_masked"},
		{actions.TypeDrop, "drop"},
		{actions.TypePushVLAN, "push_vlan"},
		{actions.TypeTunnelPush, "tnl_push"},
		{actions.TypeDecTTL, "dec_ttl"},
		{actions.Type(99), "action(99)"},
		{actions.AttrEthernet, "eth"},
		{actions.AttrIPv4, "ipv4"},
		{actions.AttrTCP, "tcp"},
		{actions.AttrUDP, "udp"},
		{actions.AttrTunnel, "tunnel"},
		{actions.AttrCtLabels, "ct_label"},
		{actions.AttrNDExtension, "nd_ext"},
		{actions.Attr(99), "attr(99)"},
	} {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
	a := actions.Action{Type: 99}
	if got := a.String(); got != "action99" {
		t.Errorf("unknown action String() = %q", got)
	}
	o := actions.Output(7)
	if got := o.String(); got != "7" {
		t.Errorf("Output(7).String() = %q", got)
	}
}

// TestSetAttr checks that SetAttr builds what Parse builds, masked or not.
func TestSetAttr(t *testing.T) {
	ff4 := [4]byte{0xff, 0xff, 0xff, 0xff}
	for _, tt := range []struct {
		text      string
		attr      actions.Attr
		key, mask flow.Key
	}{
		{"set(ipv4(ttl=63))", actions.AttrIPv4, flow.Key{NwTTL: 63}, flow.Key{NwTTL: 0xff}},
		{"set(ipv4(src=1.2.3.4,dst=5.6.7.8,proto=6,tos=0,ttl=9,frag=no))", actions.AttrIPv4,
			flow.Key{NwSrc: [4]byte{1, 2, 3, 4}, NwDst: [4]byte{5, 6, 7, 8}, NwProto: 6, NwTTL: 9},
			flow.Key{NwSrc: ff4, NwDst: ff4, NwProto: 0xff, NwTos: 0xff, NwTTL: 0xff, NwFrag: flow.FragMask}},
		{"set(tcp(dst=80/0xff))", actions.AttrTCP, flow.Key{TpDst: 80}, flow.Key{TpDst: 0xff}},
		{"set(skb_mark(0x5))", actions.AttrSkbMark, flow.Key{SkbMark: 5}, flow.Key{SkbMark: ^uint32(0)}},
	} {
		want := mustParse(t, tt.text)
		got := actions.SetAttr(tt.attr, &tt.key, &tt.mask)
		if !reflect.DeepEqual(actions.List{got}, want) {
			t.Errorf("SetAttr for %s: %+v, want %+v", tt.text, got, want[0])
		}
		if s := got.String(); s != tt.text {
			t.Errorf("SetAttr for %s prints %s", tt.text, s)
		}
	}
}
