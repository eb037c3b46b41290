//go:build linux

package main

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/b7cafead/datapath/internal/ovsdummy"
	"github.com/b7cafead/datapath/internal/testpkt"
)

// mplsCase is an OpenFlow flow for OVS, the ofproto/trace flow that makes
// OVS print the datapath actions it translates it to, and the datapath
// match pcapswitch installs with those actions.
type mplsCase struct{ openflow, trace, match string }

// translate installs the cases' OpenFlow flows in OVS and returns, for
// each case, the datapath flow its match and the datapath actions
// ofproto/trace reports make, in pcapswitch's flow file format. Each
// translation must contain every string of want.
func translate(t *testing.T, o *ovsdummy.OVS, cases []mplsCase, want ...string) []string {
	t.Helper()
	for _, c := range cases {
		if err := o.OFCtl("add-flow", c.openflow); err != nil {
			t.Fatal(err)
		}
	}
	var ours []string
	for _, c := range cases {
		out, err := o.Appctl("ofproto/trace", "br0", c.trace)
		if err != nil {
			t.Fatal(err)
		}
		_, acts, ok := strings.Cut(out, "Datapath actions: ")
		if !ok {
			t.Fatalf("trace %s: %s", c.trace, out)
		}
		acts, _, _ = strings.Cut(acts, "\n")
		for _, w := range want {
			if !strings.Contains(acts, w) {
				t.Fatalf("%s translates to %s, without %s", c.openflow, acts, w)
			}
		}
		t.Logf("%s -> %s", c.openflow, acts)
		ours = append(ours, c.match+" "+acts)
	}
	return ours
}

// TestMPLSAgainstOVS checks push_mpls and pop_mpls against OVS 3.1. OVS
// 3.1 cannot parse them in dpctl/add-flow, so OVS runs OpenFlow flows
// (its slow path executes the datapath actions they translate to, in its
// datapath), and pcapswitch runs the datapath actions ofproto/trace
// reports for them.
func TestMPLSAgainstOVS(t *testing.T) {
	o := ovsdummy.Start(t, 3)
	cases := []mplsCase{
		{
			"in_port=p1,udp,nw_dst=10.1.6.1,actions=push_mpls:0x8847,set_field:100->mpls_label,output:p2",
			"in_port=p1,udp,nw_src=10.0.0.1,nw_dst=10.1.6.1,nw_ttl=64",
			"in_port(1),eth_type(0x0800),ipv4(dst=10.1.6.1,proto=17,frag=no),udp()",
		},
		{
			"in_port=p1,udp,nw_dst=10.1.6.2,actions=push_mpls:0x8848,set_field:7->mpls_label,output:p3,push_mpls:0x8847,set_field:8->mpls_label,set_field:5->mpls_tc,output:p2",
			"in_port=p1,udp,nw_src=10.0.0.1,nw_dst=10.1.6.2,nw_ttl=64",
			"in_port(1),eth_type(0x0800),ipv4(dst=10.1.6.2,proto=17,frag=no),udp()",
		},
		{
			"in_port=p1,dl_vlan=9,udp,nw_dst=10.1.6.3,actions=push_mpls:0x8847,set_field:33->mpls_label,output:p2",
			"in_port=p1,dl_vlan=9,udp,nw_src=10.0.0.1,nw_dst=10.1.6.3,nw_ttl=64",
			"in_port(1),eth(),eth_type(0x8100),vlan(vid=9,pcp=0),encap(eth_type(0x0800),ipv4(dst=10.1.6.3,proto=17,frag=no),udp())",
		},
		{
			"in_port=p1,mpls,mpls_label=5,mpls_bos=1,actions=pop_mpls:0x0800,output:p3",
			"in_port=p1,mpls,mpls_label=5,mpls_bos=1,mpls_ttl=63",
			"in_port(1),eth(),eth_type(0x8847),mpls(label=5,tc=0,ttl=63,bos=1)",
		},
		{
			"in_port=p1,mpls,mpls_label=6,mpls_bos=0,actions=pop_mpls:0x8847,output:p2",
			"in_port=p1,mpls,mpls_label=6,mpls_bos=0,mpls_ttl=63",
			"in_port(1),eth(),eth_type(0x8847),mpls(label=6,tc=0,ttl=63,bos=0,label=9,tc=0,ttl=62,bos=1)",
		},
	}
	ours := translate(t, o, cases)

	lse := func(label uint32, bos bool, ttl uint8) []byte {
		v := label<<12 | uint32(ttl)
		if bos {
			v |= 1 << 8
		}
		return binary.BigEndian.AppendUint32(nil, v)
	}
	mpls := func(inner []byte, lses ...[]byte) []byte {
		f := append([]byte(nil), inner[:12]...)
		f = binary.BigEndian.AppendUint16(f, 0x8847)
		for _, l := range lses {
			f = append(f, l...)
		}
		return append(f, inner[14:]...)
	}
	var pkts [][]byte
	for _, n := range []int{4, 100} {
		pl := make([]byte, n)
		pkts = append(pkts,
			testpkt.UDP(testpkt.Frame{IPDst: "10.1.6.1", SrcPort: 1, DstPort: 2, Payload: pl}),
			testpkt.UDP(testpkt.Frame{IPDst: "10.1.6.2", SrcPort: 1, DstPort: 2, Payload: pl}),
			testpkt.UDP(testpkt.Frame{VLAN: 9, IPDst: "10.1.6.3", SrcPort: 1, DstPort: 2, Payload: pl}),
			mpls(testpkt.UDP(testpkt.Frame{IPDst: "10.1.6.4", SrcPort: 1, DstPort: 2, Payload: pl}), lse(5, true, 63)),
			mpls(testpkt.UDP(testpkt.Frame{IPDst: "10.1.6.5", SrcPort: 1, DstPort: 2, Payload: pl}), lse(6, false, 63), lse(9, true, 62)),
		)
	}

	compared, _ := sameOutput(t, o, ours, onPort1(pkts))
	if compared != 12 {
		t.Errorf("OVS sent %d packets, want 12", compared)
	}
}
