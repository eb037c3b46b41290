package flow

import "testing"

func TestQuickRoundTrip(t *testing.T) {
	for _, s := range []string{
		"in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=1000,dst=2000)",
		"in_port(1),eth_type(0x0800),ipv4(src=10.0.0.0/255.255.255.0,frag=no)",
		"in_port(1),eth_type(0x8100),vlan(vid=10,pcp=0),encap(eth_type(0x0800),ipv4(frag=no))",
		"in_port(1),eth(src=00:00:00:00:00:00/ff:ff:ff:00:00:00),eth_type(0x86dd),ipv6(src=2001:db8::1,dst=2001:db8::2,label=0,proto=6,tclass=0,hlimit=64,frag=no),tcp(dst=80),tcp_flags(syn)",
		"recirc_id(0x1),in_port(1),eth_type(0x0806),arp(sip=10.0.0.1,op=1/0xff)",
	} {
		m, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.String(); got != s {
			t.Errorf("\n got %s\nwant %s", got, s)
		}
	}
}
