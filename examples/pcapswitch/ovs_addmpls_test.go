//go:build linux

package main

import (
	"testing"

	"github.com/b7cafead/datapath/internal/ovsdummy"
	"github.com/b7cafead/datapath/internal/testpkt"
)

// TestAddMPLSAgainstOVS checks add_mpls against OVS 3.1. OVS's slow path
// makes it of OpenFlow's encap(mpls), without the layer 3 flag: the label
// stack entry goes at the very start of the packet, in front of the IP
// header after a decap() (pop_eth), or in front of the Ethernet header (an
// Ethernet pseudowire), and encap(ethernet) (push_eth) then gives the
// packet an Ethernet header again. As for MPLS, OVS runs the OpenFlow
// flows and pcapswitch the datapath actions ofproto/trace reports.
func TestAddMPLSAgainstOVS(t *testing.T) {
	o := ovsdummy.Start(t, 3)
	cases := []mplsCase{
		{
			"in_port=p1,udp,nw_dst=10.1.8.1,actions=decap(),encap(mpls),set_field:100->mpls_label,encap(ethernet),set_field:00:00:00:00:00:0b->eth_dst,output:p2",
			"in_port=p1,udp,nw_src=10.0.0.1,nw_dst=10.1.8.1,nw_ttl=64",
			"in_port(1),eth(),eth_type(0x0800),ipv4(dst=10.1.8.1,proto=17,frag=no),udp()",
		},
		{
			"in_port=p1,tcp,nw_dst=10.1.8.2,actions=encap(mpls),set_field:7->mpls_label,set_field:3->mpls_tc,encap(ethernet),set_field:00:00:00:00:00:0c->eth_dst,output:p3",
			"in_port=p1,tcp,nw_src=10.0.0.1,nw_dst=10.1.8.2,nw_ttl=64,tp_src=1,tp_dst=2",
			"in_port(1),eth(),eth_type(0x0800),ipv4(dst=10.1.8.2,proto=6,frag=no),tcp()",
		},
		{
			"in_port=p1,udp6,ipv6_dst=2001:db8::8,actions=decap(),encap(mpls),encap(ethernet),output:p2",
			"in_port=p1,udp6,ipv6_src=2001:db8::1,ipv6_dst=2001:db8::8,nw_ttl=64",
			"in_port(1),eth(),eth_type(0x86dd),ipv6(dst=2001:db8::8,proto=17,frag=no),udp()",
		},
	}
	ours := translate(t, o, cases, "add_mpls")
	var pkts [][]byte
	for _, n := range []int{4, 100} {
		pl := make([]byte, n)
		pkts = append(pkts,
			testpkt.UDP(testpkt.Frame{IPDst: "10.1.8.1", SrcPort: 1, DstPort: 2, Payload: pl}),
			testpkt.TCP(testpkt.Frame{IPDst: "10.1.8.2", SrcPort: 1, DstPort: 2, TCPFlags: "S", Payload: pl}),
			testpkt.UDP(testpkt.Frame{IPSrc: "2001:db8::1", IPDst: "2001:db8::8", SrcPort: 1, DstPort: 2, Payload: pl}),
		)
	}
	compared, _ := sameOutput(t, o, ours, onPort1(pkts))
	if compared != len(pkts) {
		t.Errorf("OVS sent %d packets, want %d", compared, len(pkts))
	}
}
