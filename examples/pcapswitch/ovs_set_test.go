//go:build linux

package main

import (
	"encoding/binary"
	"hash/crc32"
	"net"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/b7cafead/datapath/internal/testpkt"
)

// setCases are the flows of the test of set actions beyond Ethernet,
// IPv4, TCP and UDP: IPv6 (addresses with the checksums that cover them,
// traffic class, flow label, hop limit), ICMP, ICMPv6, SCTP (CRC32c),
// ARP and neighbour discovery. OVS 3.1 only has unmasked sets of icmp and
// icmpv6.
var setCases = []actionCase{
	{ours: "in_port(1),eth_type(0x86dd),ipv6(dst=2001:db8::20,proto=17,frag=no),udp() set(ipv6(src=2001:db8::99,dst=2001:db8::21,label=0x12345,tclass=0x28,hlimit=9)),2"},
	{ours: "in_port(1),eth_type(0x86dd),ipv6(dst=2001:db8::24,proto=6,frag=no),tcp() set(ipv6(src=2001:db8:1::1:0/ffff:ffff:ffff::,tclass=0x3/0x3,label=0x1/0xf)),2"},
	{ours: "in_port(1),eth_type(0x86dd),ipv6(dst=2001:db8::22,proto=58,frag=no),icmpv6(type=128) set(ipv6(dst=2001:db8::23)),set(icmpv6(type=129,code=0)),2"},
	{ours: "in_port(1),eth_type(0x0800),ipv4(dst=10.1.3.1,proto=1,frag=no),icmp() set(icmp(type=0,code=3)),2"},
	{ours: "in_port(1),eth_type(0x0800),ipv4(dst=10.1.3.2,proto=132,frag=no),sctp() set(sctp(src=5000,dst=6000)),2,set(sctp(dst=0x1234/0xff00)),3"},
	{ours: "in_port(1),eth_type(0x0806),arp(tip=10.1.3.3) set(arp(sip=10.9.9.9,sha=00:00:00:00:00:aa,op=2)),2"},
	{ours: "in_port(1),eth_type(0x86dd),ipv6(dst=ff02::1:ff00:30,proto=58,frag=no),icmpv6(type=135,code=0),nd(target=2001:db8::30) set(nd(target=2001:db8::31,sll=00:00:00:00:00:bb)),2"},
	{ours: "in_port(1),eth_type(0x86dd),ipv6(dst=2001:db8::1,proto=58,frag=no),icmpv6(type=136,code=0),nd(target=2001:db8::32) set(nd(target=2001:db8::33,sll=00:00:00:00:00:01,tll=00:00:00:00:00:cc)),2"},
	// recirc: the packet is looked up again with the new recirc_id and
	// its headers as the actions left them; the seventh recirculation
	// drops it.
	{ours: "in_port(1),eth_type(0x0800),ipv4(dst=10.1.4.1,proto=17,frag=no),udp() set(ipv4(ttl=7)),recirc(1)"},
	{ours: "recirc_id(0x1),in_port(1),eth_type(0x0800),ipv4(dst=10.1.4.1,ttl=7,proto=17,frag=no),udp() set(udp(dst=77)),2"},
	{ours: "in_port(1),eth_type(0x0800),ipv4(dst=10.1.4.2,proto=17,frag=no),udp() 2,recirc(2),set(ipv4(ttl=3)),3"},
	{ours: "recirc_id(0x2),in_port(1),eth_type(0x0800),ipv4(dst=10.1.4.2,frag=no) set(ipv4(ttl=9)),1,recirc(2)"},
	// Metadata set before a recirculation is matched after it.
	{ours: "in_port(1),eth_type(0x0800),ipv4(dst=10.1.4.3,proto=17,frag=no),udp() set(skb_mark(0x5)),clone(set(skb_priority(0x2)),recirc(6)),set(skb_mark(0x7)),recirc(6)"},
	{ours: "recirc_id(0x6),skb_priority(0x2),skb_mark(0x5),in_port(1),eth_type(0x0800),ipv4(dst=10.1.4.3,frag=no) 2"},
	{ours: "recirc_id(0x6),skb_priority(0),skb_mark(0x7),in_port(1),eth_type(0x0800),ipv4(dst=10.1.4.3,frag=no) set(ipv4(ttl=4)),3"},
	// A masked set of ipv4 leaves alone the fields whose mask is zero,
	// whatever the key holds there.
	{ours: "in_port(1),eth_type(0x0800),ipv4(dst=10.1.4.4,proto=17,frag=no),udp() set(ipv4(src=10.9.9.9/0.0.0.0,tos=0x4/0,ttl=63/0)),2"},
	{ours: "in_port(1),eth_type(0x0800),ipv4(dst=10.1.4.5,proto=17,frag=no),udp() set(ipv4(dst=10.9.9.9/0.0.0.0,tos=0x5/0x3,ttl=63/0xf0)),2"},
	// set(tunnel) gives the packet a tunnel key, which the flows after
	// a recirculation match. flags(-df) makes the set unmasked in OVS's
	// parser (the key lacks the df attribute the mask has): OVS's
	// userspace datapath executes only that form (FINDINGS.md section 13).
	{ours: "in_port(1),eth_type(0x0800),ipv4(dst=10.1.4.6,proto=17,frag=no),udp() set(tunnel(tun_id=0x5,src=1.1.1.8,dst=1.1.1.9,ttl=64,tp_dst=4789,flags(-df))),recirc(7)"},
	{ours: "in_port(1),eth_type(0x0800),ipv4(dst=10.1.4.7,proto=17,frag=no),udp() set(tunnel(tun_id=0x6,dst=1.1.1.9,tos=0x10,ttl=9,flags(-df+csum))),recirc(7)"},
	{ours: "recirc_id(0x7),tunnel(tun_id=0x5,src=1.1.1.8,dst=1.1.1.9,ttl=64,tp_dst=4789,flags(-df-csum+key)),in_port(1),eth_type(0x0800),ipv4(frag=no) 2"},
	{ours: "recirc_id(0x7),tunnel(tun_id=0x6,dst=1.1.1.9,tos=0x10,ttl=9,flags(-df+csum+key)),in_port(1),eth_type(0x0800),ipv4(frag=no) 3"},
	// userspace: an action upcall (whose userdata OVS's slow path does
	// not recognise) does not stop the actions after it, nested or not.
	{ours: "in_port(1),eth_type(0x0800),ipv4(dst=10.1.4.8,proto=17,frag=no),udp() userspace(pid=0,userdata(0102030405060708)),2,clone(userspace(pid=0,userdata(0a0b0c0d0e0f0001),actions),set(ipv4(ttl=5)),3)"},
}

func ser(ls ...gopacket.SerializableLayer) []byte {
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		panic(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func eth6() *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: net.HardwareAddr{0, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{0, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv6}
}

func ip6(dst string, proto layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, TrafficClass: 0x11, FlowLabel: 0xabcde, NextHeader: proto, HopLimit: 64,
		SrcIP: net.ParseIP("2001:db8::1"), DstIP: net.ParseIP(dst)}
}

// setPackets are the input packets of the set test, all on port 1.
func setPackets() [][]byte {
	var out [][]byte
	for _, n := range []int{3, 100} {
		ip := ip6("2001:db8::20", layers.IPProtocolUDP)
		udp := &layers.UDP{SrcPort: 1, DstPort: 2}
		udp.SetNetworkLayerForChecksum(ip)
		out = append(out, ser(eth6(), ip, udp, gopacket.Payload(make([]byte, n))))

		ip = ip6("2001:db8::24", layers.IPProtocolTCP)
		tcp := &layers.TCP{SrcPort: 1, DstPort: 2, SYN: true, Window: 100}
		tcp.SetNetworkLayerForChecksum(ip)
		out = append(out, ser(eth6(), ip, tcp, gopacket.Payload(make([]byte, n))))

		ip = ip6("2001:db8::22", layers.IPProtocolICMPv6)
		icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)}
		icmp.SetNetworkLayerForChecksum(ip)
		out = append(out, ser(eth6(), ip, icmp, &layers.ICMPv6Echo{Identifier: 1, SeqNumber: 2}, gopacket.Payload(make([]byte, n))))

		out = append(out, testpkt.ICMPEcho(testpkt.Frame{IPDst: "10.1.3.1", Payload: make([]byte, n)}))
		out = append(out, sctp("10.1.3.2", n))
	}
	out = append(out, testpkt.ARPRequest(testpkt.Frame{IPDst: "10.1.3.3"}))
	for _, dst := range []string{"10.1.4.1", "10.1.4.2", "10.1.4.3", "10.1.4.4", "10.1.4.5", "10.1.4.6", "10.1.4.7", "10.1.4.8"} {
		out = append(out, testpkt.UDP(testpkt.Frame{IPDst: dst, SrcPort: 1, DstPort: 2, Payload: make([]byte, 30)}))
	}

	ip := ip6("ff02::1:ff00:30", layers.IPProtocolICMPv6)
	ip.HopLimit = 255
	icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(135, 0)}
	icmp.SetNetworkLayerForChecksum(ip)
	out = append(out, ser(eth6(), ip, icmp, &layers.ICMPv6NeighborSolicitation{TargetAddress: net.ParseIP("2001:db8::30"),
		Options: layers.ICMPv6Options{{Type: layers.ICMPv6OptSourceAddress, Data: []byte{0, 0, 0, 0, 0, 1}}}}))

	ip = ip6("2001:db8::1", layers.IPProtocolICMPv6)
	ip.HopLimit = 255
	icmp = &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(136, 0)}
	icmp.SetNetworkLayerForChecksum(ip)
	out = append(out, ser(eth6(), ip, icmp, &layers.ICMPv6NeighborAdvertisement{Flags: 0x60, TargetAddress: net.ParseIP("2001:db8::32"),
		Options: layers.ICMPv6Options{{Type: layers.ICMPv6OptTargetAddress, Data: []byte{0, 0, 0, 0, 0, 2}}}}))
	return out
}

// sctp returns an IPv4 SCTP packet with one DATA chunk of n bytes and a
// correct CRC32c.
func sctp(dst string, n int) []byte {
	s := make([]byte, 12+16+n)
	binary.BigEndian.PutUint16(s[0:], 1000)
	binary.BigEndian.PutUint16(s[2:], 2000)
	binary.BigEndian.PutUint32(s[4:], 0xdeadbeef)
	s[12] = 0 // DATA
	binary.BigEndian.PutUint16(s[14:], uint16(16+n))
	binary.LittleEndian.PutUint32(s[8:], crc32.Checksum(s, crc32.MakeTable(crc32.Castagnoli)))
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolSCTP, SrcIP: net.ParseIP("10.0.0.1"), DstIP: net.ParseIP(dst)}
	e := &layers.Ethernet{SrcMAC: net.HardwareAddr{0, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{0, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	return ser(e, ip, gopacket.Payload(s))
}
