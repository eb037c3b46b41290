package flow

import "testing"

func TestCtText(t *testing.T) {
	const base = "in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)"
	for _, c := range []struct{ in, out string }{
		{"ct_state(+trk)," + base, "ct_state(+trk)," + base},
		{"ct_state(+trk+est-new)," + base, "ct_state(-new+est+trk)," + base},
		{"ct_state(0x21)," + base, "ct_state(+new-est-rel-rpl-inv+trk-snat-dnat)," + base},
		{"ct_state(0x21/0x21)," + base, "ct_state(+new+trk)," + base},
		{"ct_state(trk|est)," + base, "ct_state(-new+est-rel-rpl-inv+trk-snat-dnat)," + base},
		{"ct_zone(5)," + base, "ct_zone(0x5)," + base},
		{"ct_zone(5/0xff)," + base, "ct_zone(0x5/0xff)," + base},
		{"ct_mark(0x10/0xf0)," + base, "ct_mark(0x10/0xf0)," + base},
		{"ct_label(0x1234)," + base, "ct_label(0x1234)," + base},
		{"ct_label(0x102/0xffff)," + base, "ct_label(0x102/0xffff)," + base},
		{"ct_label(0)," + base, "ct_label(0)," + base},
		{"ct_tuple4(src=10.0.0.1,dst=10.0.0.2,proto=6,tp_src=1,tp_dst=2)," + base,
			"ct_tuple4(src=10.0.0.1,dst=10.0.0.2,proto=6,tp_src=1,tp_dst=2)," + base},
		// Without a tuple protocol OVS does not keep (or print) the tuple.
		{"ct_tuple4(src=10.0.0.1)," + base, base},
		{"ct_tuple6(src=2001:db8::1,proto=17,tp_src=1),in_port(1),eth(),eth_type(0x86dd),ipv6(frag=no)",
			"ct_tuple6(src=2001:db8::1,proto=17,src_port=1),in_port(1),eth(),eth_type(0x86dd),ipv6(frag=no)"},
		// The names OVS prints for the IPv6 tuple's ports are accepted too.
		{"ct_tuple6(proto=17,src_port=1,dst_port=2),in_port(1),eth(),eth_type(0x86dd),ipv6(frag=no)",
			"ct_tuple6(proto=17,src_port=1,dst_port=2),in_port(1),eth(),eth_type(0x86dd),ipv6(frag=no)"},
	} {
		m, err := Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if got := m.String(); got != c.out {
			t.Errorf("Parse(%q)\n got %s\nwant %s", c.in, got, c.out)
		}
	}
	for _, bad := range []string{
		"ct_state(+bogus)," + base,
		"ct_state(+trk+trk)," + base,
		"ct_state(trk/0x20)," + base,
		"ct_zone(0x10000)," + base,
		"ct_label(0x1" + "00000000000000000000000000000000)," + base,
		"ct_label(zz)," + base,
		"ct_tuple4(bogus=1)," + base,
		"in_port(1),eth(),eth_type(0x8100),vlan(vid=1),encap(ct_state(+trk),eth_type(0x0800),ipv4(frag=no))",
	} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
	// ct fields match like any other.
	m := MustParse("ct_state(+trk-new),ct_zone(3)," + base)
	mk := m.Key.Masked(&m.Mask)
	pk := Key{InPort: 1, EthType: EthTypeIPv4, CtState: CtStateTracked | CtStateEstablished, CtZone: 3}
	if !mk.Matches(&pk, &m.Mask) {
		t.Error("no match for +trk+est in zone 3")
	}
	pk.CtState |= CtStateNew
	if mk.Matches(&pk, &m.Mask) {
		t.Error("match for +new")
	}
}

// TestExtractClearsCt checks that extraction into a reused key clears the
// conntrack part that extraction itself never writes.
func TestExtractClearsCt(t *testing.T) {
	frame := []byte{0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x12, 0x34, 0, 0}
	k := Key{CtState: CtStateTracked, CtLabel: [16]byte{15: 1}, CtIPv6Dst: [16]byte{0: 1}, TpSrc: 9}
	Extract(frame, 3, &k)
	want := Key{InPort: 3, EthSrc: [6]byte{5: 1}, EthDst: [6]byte{5: 2}, EthType: 0x1234}
	if k != want {
		t.Errorf("got %+v", k)
	}
	// Keys that differ only in conntrack state hash alike for the
	// exact-match cache but compare different.
	a, b := want, want
	b.CtMark = 1
	if a.hashPacketPart() != b.hashPacketPart() || a == b {
		t.Error("conntrack state must not change the packet-part hash but must change equality")
	}
}
