package flow_test

import (
	"fmt"

	"github.com/b7cafead/datapath/flow"
)

// Parse a flow as ovs-dpctl add-flow takes it and print it back as
// dpctl/dump-flows would.
func ExampleParse() {
	m, err := flow.Parse("in_port(1),eth(),eth_type(0x0800),ipv4(src=10.0.0.0/255.255.255.0,proto=17,frag=no),udp(dst=53)")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m)

	_, err = flow.Parse("in_port(1),eth(),eth_type(0x0800),ipv4(proto=17,frag=no)")
	fmt.Println(err)
	// Output:
	// in_port(1),eth(),eth_type(0x0800),ipv4(src=10.0.0.0/255.255.255.0,proto=17,frag=no),udp(dst=53)
	// flow: udp() is required by proto=17 (at end of input)
}

// Extract a packet's key and test it against a flow.
func ExampleExtract() {
	frame := []byte{
		0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, // Ethernet
		0x45, 0x00, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11, 0x66, 0xce, // IPv4 ...
		0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, // 10.0.0.1 -> 10.0.0.2
		0x03, 0xe8, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00, // UDP 1000 -> 53
	}
	var k flow.Key
	flow.Extract(frame, 1, &k)
	fmt.Println(k.NwProto, k.TpSrc, k.TpDst)

	m := flow.MustParse("in_port(1),eth(),eth_type(0x0800),ipv4(src=10.0.0.0/255.255.255.0,proto=17,frag=no),udp(dst=53)")
	masked := m.Key.Masked(&m.Mask)
	fmt.Println(masked.Matches(&k, &m.Mask))
	// Output:
	// 17 1000 53
	// true
}

// Read a key in the form OVS prints packet keys (every field, no masks)
// and print it back. The mask ParseKey returns tells FormatKey which
// attributes the key has; Format, the dump form, leaves out nd_ext as the
// userspace datapath's dump does.
func ExampleFormatKey() {
	const key = "in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x86dd)," +
		"ipv6(src=2001:db8::1,dst=2001:db8::2,label=0,proto=58,tclass=0,hlimit=255,frag=no),icmpv6(type=136,code=0)," +
		"nd(target=2001:db8::1,sll=00:00:00:00:00:00,tll=00:00:00:00:00:02),nd_ext(nd_reserved=0x60000000,nd_options_type=2)"
	m, err := flow.ParseKey(key)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(flow.FormatKey(&m.Key, &m.Mask) == key)
	fmt.Printf("%#x %d\n", m.Key.NdReserved, m.Key.TCPFlags)
	fmt.Println(flow.Format(&m.Key, &m.Mask))
	// Output:
	// true
	// 0x60000000 2
	// in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x86dd),ipv6(src=2001:db8::1,dst=2001:db8::2,label=0,proto=58,tclass=0,hlimit=255,frag=no),icmpv6(type=136,code=0),nd(target=2001:db8::1,sll=00:00:00:00:00:00,tll=00:00:00:00:00:02)
}
