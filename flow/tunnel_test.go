package flow

import "testing"

func TestTunnelText(t *testing.T) {
	const base = "in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)"
	for _, c := range []struct{ in, out string }{
		{"tunnel(tun_id=0x5,src=1.1.1.1,dst=2.2.2.2,ttl=64,flags(-df+csum+key))," + base, ""},
		// tos=0 has no attribute in OVS's key, so it does not print.
		{"tunnel(tun_id=0x5,src=1.1.1.1,dst=2.2.2.2,tos=0,ttl=64,tp_src=1,tp_dst=4789,flags(key))," + base,
			"tunnel(tun_id=0x5,src=1.1.1.1,dst=2.2.2.2,ttl=64,tp_src=1,tp_dst=4789,flags(key))," + base},
		{"tunnel(ipv6_src=2001:db8::1,ipv6_dst=2001:db8::2,ttl=64)," + base, ""},
		// tun_id implies and matches the key flag.
		{"tunnel(tun_id=0x5,dst=2.2.2.2,ttl=64)," + base, "tunnel(tun_id=0x5,dst=2.2.2.2,ttl=64,flags(+key))," + base},
		// Without tun_id the key flag is not shown as matched.
		{"tunnel(dst=2.2.2.2,ttl=64,flags(csum|key))," + base, "tunnel(dst=2.2.2.2,ttl=64,flags(-oam-df+csum))," + base},
		{"tunnel(tun_id=0x0,dst=2.2.2.2,ttl=64/0xf0,flags(-df))," + base, "tunnel(tun_id=0x0,dst=2.2.2.2,ttl=64/0xf0,flags(-df+key))," + base},
	} {
		if c.out == "" {
			c.out = c.in
		}
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
		"tunnel(tun_id=0x5)," + base,
		"tunnel(dst=2.2.2.2)," + base,
		"tunnel(dst=2.2.2.2,ttl=64,bogus=1)," + base,
		"tunnel(dst=2.2.2.2,ttl=64,ttl=63)," + base,
		"tunnel(dst=2.2.2.2,ttl=64,flags(bogus))," + base,
		"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0,type=0,len=4,0xa}))," + base,
		"tunnel(dst=2.2.2.2,ttl=64,flags(key)," + base,
	} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
	// Syntax only: ParseKey accepts a tunnel without ttl.
	if _, err := ParseKey("tunnel(tun_id=0x5)," + base); err != nil {
		t.Errorf("ParseKey: %v", err)
	}
	m := MustParse("tunnel(tun_id=0x5,dst=2.2.2.2,ttl=64)," + base)
	mk := m.Key.Masked(&m.Mask)
	pk := Key{InPort: 1, EthType: EthTypeIPv4, TunID: 5, TunDst: [4]byte{2, 2, 2, 2}, TunTTL: 64, TunFlags: TunFlagKey}
	if !mk.Matches(&pk, &m.Mask) {
		t.Error("the flow does not match its tunnel")
	}
	pk.TunID = 6
	if mk.Matches(&pk, &m.Mask) {
		t.Error("the flow matches another tun_id")
	}
}
