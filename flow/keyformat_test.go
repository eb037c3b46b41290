package flow

import "testing"

// TestFormatKey checks the non-wildcarded form beyond odp.at's lists.
func TestFormatKey(t *testing.T) {
	for _, s := range []string{
		// ct_state prints as a number in this form.
		"ct_state(0x21),ct_zone(0x5),ct_mark(0),ct_label(0x1),in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x1234)",
		"ct_state(0),ct_tuple4(src=1.2.3.4,dst=5.6.7.8,proto=6,tp_src=1,tp_dst=2),eth(src=00:00:00:00:00:00,dst=00:00:00:00:00:00),eth_type(0x0800),ipv4(src=0.0.0.0,dst=0.0.0.0,proto=0,tos=0,ttl=0,frag=no)",
		"ct_tuple6(src=::1,dst=::2,proto=17,src_port=1,dst_port=2),eth(src=00:00:00:00:00:00,dst=00:00:00:00:00:00),eth_type(0x86dd)",
		// Tunnel fields print as given; flags always, 0 for none; a key
		// flag without tun_id brings tun_id.
		"tunnel(dst=1.1.1.1,ttl=0,flags(0)),in_port(1)",
		"tunnel(tun_id=0x0,ipv6_src=::1,ipv6_dst=::2,tos=0,ttl=1,tp_src=0,tp_dst=4789,flags(oam|df|csum|key)),in_port(1)",
		// Not Ethernet: no layer 2.
		"in_port(1),packet_type(ns=1,id=0x800),eth_type(0x0800),ipv4(src=1.2.3.4,dst=5.6.7.8,proto=1,tos=0,ttl=1,frag=no),icmp(type=0,code=0)",
		// VLAN tags with every field.
		"eth(src=00:00:00:00:00:00,dst=00:00:00:00:00:00),eth_type(0x88a8),vlan(vid=0,pcp=0),encap(eth_type(0x8100),vlan(vid=4095,pcp=7),encap(eth_type(0x0806),arp(sip=0.0.0.0,tip=0.0.0.0,op=0,sha=00:00:00:00:00:00,tha=00:00:00:00:00:00)))",
		// MPLS entries up to the last one given.
		"eth(src=00:00:00:00:00:00,dst=00:00:00:00:00:00),eth_type(0x8848),mpls(label=0,tc=0,ttl=0,bos=0,label=1,tc=7,ttl=255,bos=0,label=1048575,tc=0,ttl=1,bos=1)",
		// TCP flags.
		"eth(src=00:00:00:00:00:00,dst=00:00:00:00:00:00),eth_type(0x86dd),ipv6(src=::,dst=::,label=0xfffff,proto=6,tclass=0xff,hlimit=255,frag=first),tcp(src=0,dst=0),tcp_flags(0)",
		"eth(src=00:00:00:00:00:00,dst=00:00:00:00:00:00),eth_type(0x0800),ipv4(src=0.0.0.0,dst=0.0.0.0,proto=6,tos=0,ttl=0,frag=no),tcp(src=1,dst=2),tcp_flags(syn|ack)",
		"eth(src=00:00:00:00:00:00,dst=00:00:00:00:00:00),eth_type(0x0800),ipv4(src=0.0.0.0,dst=0.0.0.0,proto=132,tos=0,ttl=0,frag=no),sctp(src=1,dst=2)",
		// nd_ext alone, and after nd.
		"eth(src=00:00:00:00:00:00,dst=00:00:00:00:00:00),eth_type(0x86dd),ipv6(src=::,dst=::,label=0,proto=58,tclass=0,hlimit=0,frag=no),icmpv6(type=135,code=0),nd_ext(nd_reserved=0xffffffff,nd_options_type=255)",
		"skb_priority(0),skb_mark(0),recirc_id(0),dp_hash(0),in_port(0),eth(src=00:00:00:00:00:00,dst=00:00:00:00:00:00),eth_type(0x86dd),ipv6(src=::,dst=::,label=0,proto=58,tclass=0,hlimit=0,frag=later)",
	} {
		m, err := ParseKey(s)
		if err != nil {
			t.Errorf("ParseKey(%q): %v", s, err)
			continue
		}
		if got := FormatKey(&m.Key, &m.Mask); got != s {
			t.Errorf("FormatKey(ParseKey(%q))\n got %s", s, got)
		}
		if got := AppendKey([]byte("x"), &m.Key, &m.Mask); string(got) != "x"+s {
			t.Errorf("AppendKey after a prefix: %s", got)
		}
	}

	// An extracted ND message with every attribute present.
	var k Key
	msg := ndMsg(136, ip6B, llOpt(2, macB))
	Extract(ethFrame(macB, macA, nil, EthTypeIPv6, ip6Packet(0, 0, IPProtoICMPv6, 255, ip6A, ip6B, msg)), 3, &k)
	const want = "skb_priority(0),skb_mark(0),recirc_id(0),dp_hash(0),in_port(3),packet_type(ns=0,id=0)," +
		"eth(src=02:00:00:00:00:0a,dst=02:00:00:00:00:0b),eth_type(0x86dd)," +
		"ipv6(src=2001:db8::1,dst=2001:db8::2,label=0,proto=58,tclass=0,hlimit=255,frag=no),icmpv6(type=136,code=0)," +
		"nd(target=2001:db8::2,sll=00:00:00:00:00:00,tll=02:00:00:00:00:0b),nd_ext(nd_reserved=0x60000000,nd_options_type=2)"
	// Every attribute extraction fills: the packet words, no conntrack
	// or tunnel state.
	all := exactMask
	clear(all.words()[packetWords:])
	if got := FormatKey(&k, &all); got != want {
		t.Errorf("extracted ND message:\n got %s\nwant %s", got, want)
	}
}

// FuzzParseKey checks the non-wildcarded form: what ParseKey accepts,
// FormatKey prints in a form that ParseKey reads back to the same values
// and that prints the same again.
func FuzzParseKey(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add(s)
	}
	for _, s := range []string{
		"skb_priority(0),tunnel(tun_id=0x7f10354,src=10.10.10.10,dst=20.20.20.20,ttl=64,flags(csum|key)),skb_mark(0x1234),ct_state(0),ct_zone(0),ct_mark(0),ct_label(0),recirc_id(0),dp_hash(0),in_port(1),packet_type(ns=0,id=0),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x8100),vlan(vid=99,pcp=7),encap(eth_type(0x86dd),ipv6(src=::1,dst=::2,label=0,proto=58,tclass=0,hlimit=128,frag=no),icmpv6(type=136,code=0),nd(target=::3,sll=00:05:06:07:08:09,tll=00:0a:0b:0c:0d:0e),nd_ext(nd_reserved=0x0,nd_options_type=2))",
		"skb_priority(0),skb_mark(0),recirc_id(0),dp_hash(0),in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x8848),mpls(label=1000,tc=4,ttl=200,bos=0)",
		"ct_state(0x21),ct_tuple6(src=::1,dst=::2,proto=17,src_port=1,dst_port=2),eth(src=00:00:00:00:00:00,dst=00:00:00:00:00:00),eth_type(0x86dd)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseKey(s)
		if err != nil {
			return
		}
		out := FormatKey(&m.Key, &m.Mask)
		if b := AppendKey([]byte("x"), &m.Key, &m.Mask); string(b) != "x"+out {
			t.Fatalf("AppendKey after a prefix = %q, want %q", b, "x"+out)
		}
		if out == "<empty>" {
			return
		}
		m2, err := ParseKey(out)
		if err != nil {
			t.Fatalf("ParseKey(%q) = %q, which does not parse: %v", s, out, err)
		}
		if a, b := m2.Key.Masked(&m2.Mask), m.Key.Masked(&m2.Mask); a != b {
			t.Fatalf("ParseKey(%q) prints as %q, which holds other values:%s", s, out, keyDiff(a, b))
		}
		if out2 := FormatKey(&m2.Key, &m2.Mask); out2 != out {
			t.Fatalf("ParseKey(%q) prints as %q, then as %q", s, out, out2)
		}
	})
}
