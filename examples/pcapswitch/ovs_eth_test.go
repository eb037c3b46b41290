//go:build linux

package main

import (
	"testing"

	"github.com/b7cafead/datapath/internal/ovsdummy"
	"github.com/b7cafead/datapath/internal/testpkt"
)

// TestPushPopEthAgainstOVS checks pop_eth and push_eth against OVS 3.1.
// OVS 3.1's dpctl/add-flow cannot parse them (FINDINGS.md, section 12),
// so, as for MPLS, OVS runs OpenFlow flows (decap() of an Ethernet
// packet, encap(ethernet)), which its slow path translates to pop_eth and
// push_eth and executes in its datapath, and pcapswitch runs the datapath
// actions ofproto/trace reports for them.
func TestPushPopEthAgainstOVS(t *testing.T) {
	o := ovsdummy.Start(t, 3)
	cases := []mplsCase{
		{
			"in_port=p1,udp,nw_dst=10.1.7.1,actions=decap(),encap(ethernet),set_field:00:00:00:00:00:0a->eth_src,set_field:00:00:00:00:00:0b->eth_dst,output:p2",
			"in_port=p1,udp,nw_src=10.0.0.1,nw_dst=10.1.7.1,nw_ttl=64",
			"in_port(1),eth(),eth_type(0x0800),ipv4(dst=10.1.7.1,proto=17,frag=no),udp()",
		},
		{
			// The IP header is changed while the packet has no Ethernet
			// header: set(ipv4) finds it at the start.
			"in_port=p1,tcp,nw_dst=10.1.7.2,actions=decap(),dec_ttl,mod_nw_src:10.9.9.9,mod_tp_dst:99,encap(ethernet),output:p3",
			"in_port=p1,tcp,nw_src=10.0.0.1,nw_dst=10.1.7.2,nw_ttl=64,tp_src=1,tp_dst=2",
			"in_port(1),eth(),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.1.7.2,proto=6,ttl=64,frag=no),tcp(dst=2)",
		},
		{
			// OVS refuses decap() of a tagged packet (the translation is
			// drop); with the tag popped first it goes.
			"in_port=p1,dl_vlan=5,udp,nw_dst=10.1.7.3,actions=pop_vlan,decap(),encap(ethernet),output:p2",
			"in_port=p1,dl_vlan=5,udp,nw_src=10.0.0.1,nw_dst=10.1.7.3,nw_ttl=64",
			"in_port(1),eth(),eth_type(0x8100),vlan(vid=5,pcp=0),encap(eth_type(0x0800),ipv4(dst=10.1.7.3,proto=17,frag=no),udp())",
		},
		{
			"in_port=p1,udp6,ipv6_dst=2001:db8::7,actions=decap(),dec_ttl,encap(ethernet),set_field:00:00:00:00:00:0c->eth_dst,output:p2",
			"in_port=p1,udp6,ipv6_src=2001:db8::1,ipv6_dst=2001:db8::7,nw_ttl=64",
			"in_port(1),eth(),eth_type(0x86dd),ipv6(dst=2001:db8::7,proto=17,hlimit=64,frag=no),udp()",
		},
	}
	ours := translate(t, o, cases, "pop_eth", "push_eth")
	var pkts [][]byte
	for _, n := range []int{4, 100} {
		pl := make([]byte, n)
		pkts = append(pkts,
			testpkt.UDP(testpkt.Frame{IPDst: "10.1.7.1", SrcPort: 1, DstPort: 2, Payload: pl}),
			testpkt.TCP(testpkt.Frame{IPDst: "10.1.7.2", SrcPort: 1, DstPort: 2, TCPFlags: "S", Payload: pl}),
			testpkt.UDP(testpkt.Frame{VLAN: 5, IPDst: "10.1.7.3", SrcPort: 1, DstPort: 2, Payload: pl}),
			testpkt.UDP(testpkt.Frame{IPSrc: "2001:db8::1", IPDst: "2001:db8::7", SrcPort: 1, DstPort: 2, Payload: pl}),
		)
	}
	compared, _ := sameOutput(t, o, ours, onPort1(pkts))
	if compared != len(pkts) {
		t.Errorf("OVS sent %d packets, want %d", compared, len(pkts))
	}
}
