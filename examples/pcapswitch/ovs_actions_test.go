//go:build linux

package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/b7cafead/datapath/internal/flowfile"
	"github.com/b7cafead/datapath/internal/ovsdummy"
	"github.com/b7cafead/datapath/internal/testpkt"
)

// actionCase is a flow for the test of push_vlan, pop_vlan, trunc and
// dec_ttl against OVS: "FLOW ACTIONS" as pcapswitch runs it, and the
// actions OVS 3.1 runs for the same flow. They are the same text except
// for dec_ttl, which OVS 3.1 does not know: its flows match the TTL, and
// OVS gets what dec_ttl does at that TTL (set the TTL one lower, or run
// the nested actions instead of the rest).
type actionCase struct {
	ours, theirs string
}

var actionCases = []actionCase{
	// push_vlan: 802.1Q, 802.1ad then 802.1Q, an output before the push,
	// set actions after it (the headers moved by 4 bytes).
	{ours: "in_port(1),eth_type(0x0800),ipv4(dst=10.1.0.1,proto=17,frag=no),udp() push_vlan(vid=10,pcp=5),2"},
	{ours: "in_port(1),eth_type(0x0800),ipv4(dst=10.1.0.2,proto=17,frag=no),udp() 3,push_vlan(tpid=0x88a8,vid=100,pcp=0),push_vlan(vid=10,pcp=1,cfi=0),2"},
	{ours: "in_port(1),eth_type(0x0800),ipv4(dst=10.1.0.3,proto=17,frag=no),udp() push_vlan(vid=20,pcp=0),set(ipv4(src=192.168.9.9,ttl=7)),set(udp(dst=5353)),set(eth(dst=00:00:00:00:00:33)),2"},
	// pop_vlan: a tagged frame, then set actions; a second pop on the
	// untagged frame changes nothing; with two tags the outer one goes
	// first.
	{ours: "in_port(2),eth(),eth_type(0x8100),vlan(vid=10,pcp=0),encap(eth_type(0x0800),ipv4(dst=10.2.0.1,frag=no)) pop_vlan,1"},
	{ours: "in_port(2),eth(),eth_type(0x8100),vlan(vid=11,pcp=0),encap(eth_type(0x0800),ipv4(dst=10.2.0.2,proto=6,frag=no),tcp()) pop_vlan,set(ipv4(ttl=9)),set(tcp(src=1234)),1,pop_vlan,3"},
	{ours: "in_port(1),eth_type(0x0800),ipv4(dst=10.1.0.9,proto=17,frag=no),udp() push_vlan(vid=10,pcp=0),push_vlan(tpid=0x88a8,vid=100,pcp=0),2,pop_vlan,3,pop_vlan,set(udp(src=7)),1"},
	// trunc: only the next output is cut; at least 14 bytes stay; the
	// cut is fixed when trunc runs.
	{ours: "in_port(1),eth_type(0x0800),ipv4(dst=10.1.0.4,proto=17,frag=no),udp() trunc(60),2,3"},
	{ours: "in_port(1),eth_type(0x0800),ipv4(dst=10.1.0.5,proto=17,frag=no),udp() trunc(5),2"},
	{ours: "in_port(1),eth_type(0x0800),ipv4(dst=10.1.0.6,proto=17,frag=no),udp() trunc(100),push_vlan(vid=1,pcp=0),2"},
	{ours: "in_port(1),eth_type(0x0800),ipv4(dst=10.1.0.7,proto=17,frag=no),udp() push_vlan(vid=1,pcp=0),trunc(100),3"},
	{ours: "in_port(1),eth_type(0x0800),ipv4(dst=10.1.0.8,proto=17,frag=no),udp() trunc(50),2,trunc(70),set(ipv4(ttl=1)),3"},
	{ours: "in_port(2),eth(),eth_type(0x8100),vlan(vid=13,pcp=0),encap(eth_type(0x0800),ipv4(frag=no)) trunc(40),pop_vlan,1"},
	// A masked set keeps the key's bits outside the mask, and OVS's
	// datapath ORs them into the packet.
	{ours: "in_port(1),eth_type(0x0800),ipv4(dst=10.1.0.10,proto=17,frag=no),udp() set(udp(src=0x1234/0xff00)),set(ipv4(src=1.2.3.4/255.255.0.0)),2"},
	// dec_ttl, IPv4 and IPv6, above and at the limit.
	{
		ours:   "in_port(1),eth_type(0x0800),ipv4(dst=10.1.1.1,ttl=64,frag=no) dec_ttl(le_1(3)),2",
		theirs: "set(ipv4(ttl=63)),2",
	},
	{
		ours:   "in_port(1),eth_type(0x0800),ipv4(dst=10.1.1.1,ttl=2,frag=no) dec_ttl(le_1(3)),2",
		theirs: "set(ipv4(ttl=1)),2",
	},
	{
		ours:   "in_port(1),eth_type(0x0800),ipv4(dst=10.1.1.1,ttl=1,frag=no) dec_ttl(le_1(3)),2",
		theirs: "3",
	},
	{
		ours:   "in_port(1),eth_type(0x0800),ipv4(dst=10.1.1.1,ttl=0,frag=no) dec_ttl(le_1(trunc(40),3)),2",
		theirs: "trunc(40),3",
	},
	{
		ours:   "in_port(1),eth_type(0x86dd),ipv6(dst=2001:db8::9,hlimit=64,frag=no) 1,dec_ttl(le_1(3)),2",
		theirs: "1,set(ipv6(hlimit=63)),2",
	},
	{
		ours:   "in_port(1),eth_type(0x86dd),ipv6(dst=2001:db8::9,hlimit=1,frag=no) dec_ttl(le_1(3)),2",
		theirs: "3",
	},
	{
		ours:   "in_port(2),eth(),eth_type(0x8100),vlan(vid=14,pcp=0),encap(eth_type(0x0800),ipv4(ttl=9,frag=no)) dec_ttl(le_1(drop)),pop_vlan,1",
		theirs: "set(ipv4(ttl=8)),pop_vlan,1",
	},
	// A header checksum of 0 with TTL 2: the carry folds as in OVS.
	{
		ours:   "in_port(3),eth(),eth_type(0x0800),ipv4(src=10.0.0.1,proto=0,ttl=2,frag=no) dec_ttl(le_1(drop)),2",
		theirs: "set(ipv4(ttl=1)),2",
	},
	// clone: on a copy when not last (the packet after it is unchanged),
	// on the packet itself when last; a trunc before a clone carries into
	// it and is forgotten after it.
	{ours: "in_port(1),eth_type(0x0800),ipv4(dst=10.1.2.1,proto=17,frag=no),udp() clone(set(ipv4(ttl=5)),3),2"},
	{ours: "in_port(1),eth_type(0x0800),ipv4(dst=10.1.2.2,proto=17,frag=no),udp() 3,clone(push_vlan(vid=7,pcp=0),2),set(udp(dst=99)),clone(1)"},
	{ours: "in_port(1),eth_type(0x0800),ipv4(dst=10.1.2.3,proto=17,frag=no),udp() trunc(50),clone(2,clone(set(eth(src=00:00:00:00:00:77)),3)),1"},
	// sample with probability 100% and 0%.
	{ours: "in_port(1),eth_type(0x0800),ipv4(dst=10.1.2.4,proto=17,frag=no),udp() sample(sample=100.0%,actions(set(ipv4(tos=0x4)),3)),sample(sample=0.0%,actions(1)),2"},
	{ours: "in_port(1),eth_type(0x0800),ipv4(dst=10.1.2.5,proto=17,frag=no),udp() 2,sample(sample=100.0%,actions(set(ipv4(ttl=9)),3))"},
	// check_pkt_len: by the length without Ethernet padding, after trunc.
	{ours: "in_port(1),eth_type(0x0800),ipv4(dst=10.1.2.6,proto=17,frag=no),udp() check_pkt_len(size=50,gt(set(ipv4(ttl=3)),3),le(2)),1"},
	{ours: "in_port(1),eth_type(0x0800),ipv4(dst=10.1.2.7,proto=17,frag=no),udp() trunc(80),check_pkt_len(size=70,gt(2),le(3))"},
	{ours: "in_port(1),eth_type(0x0800),ipv4(dst=10.1.2.8,proto=17,frag=no),udp() 1,check_pkt_len(size=100,gt(set(udp(src=1)),2),le(set(udp(src=2)),3))"},
	{ours: "in_port(1),eth_type(0x0800),ipv4(dst=10.1.2.10,proto=17,frag=no),udp() trunc(50),sample(sample=100.0%,actions(2,check_pkt_len(size=40,gt(1),le(2)))),3"},
	// Metadata only: the packet does not change.
	{ours: "in_port(1),eth_type(0x0800),ipv4(dst=10.1.2.9,proto=17,frag=no),udp() ct_clear,set(skb_mark(0x5)),set(skb_priority(0x3/0xff)),2,set(skb_mark(0x7/0xf)),3"},
	// Not IP: dec_ttl leaves the frame alone.
	{
		ours:   "in_port(1),eth(),eth_type(0x0806),arp(tip=10.1.2.3) dec_ttl(le_1(3)),2",
		theirs: "2",
	},
}

// actionPackets are the input packets of the test, in arrival order.
func actionPackets() []timedFrame {
	var out []timedFrame
	add := func(port int, frames ...[]byte) {
		for _, f := range frames {
			out = append(out, timedFrame{port, f})
		}
	}
	udp := func(dst string, n int) []byte {
		return testpkt.UDP(testpkt.Frame{IPDst: dst, SrcPort: 4000, DstPort: 53, Payload: bytes.Repeat([]byte{0xab}, n)})
	}
	for _, dst := range []string{"10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.9", "10.1.0.10"} {
		add(1, udp(dst, 10), udp(dst, 200))
	}
	add(2, testpkt.UDP(testpkt.Frame{VLAN: 10, IPDst: "10.2.0.1", SrcPort: 1, DstPort: 2, Payload: []byte("tagged")}))
	add(2, testpkt.TCP(testpkt.Frame{VLAN: 11, IPDst: "10.2.0.2", SrcPort: 1, DstPort: 2, TCPFlags: "S"}))
	// Matches no flow (OVS's datapath takes no two-tag key here).
	add(2, qinq(testpkt.UDP(testpkt.Frame{VLAN: 12, SrcPort: 1, DstPort: 2, Payload: []byte("qinq")}), 100))
	for _, dst := range []string{"10.1.0.4", "10.1.0.5", "10.1.0.6", "10.1.0.7", "10.1.0.8"} {
		add(1, udp(dst, 4), udp(dst, 30), udp(dst, 300))
	}
	add(2, testpkt.UDP(testpkt.Frame{VLAN: 13, SrcPort: 1, DstPort: 2, Payload: make([]byte, 100)}))
	for _, ttl := range []uint8{64, 2, 1, 0} {
		add(1, withTTL(testpkt.UDP(testpkt.Frame{IPDst: "10.1.1.1", SrcPort: 1, DstPort: 2, Payload: make([]byte, 80)}), ttl))
	}
	for _, hl := range []uint8{64, 1} {
		f := testpkt.UDP(testpkt.Frame{IPSrc: "2001:db8::1", IPDst: "2001:db8::9", SrcPort: 1, DstPort: 2})
		f[14+7] = hl
		add(1, f)
	}
	add(2, testpkt.UDP(testpkt.Frame{VLAN: 14, TTL: 9, SrcPort: 1, DstPort: 2}))
	z := zeroChecksumTTL0()
	z[14+8] = 2
	add(3, z)
	add(1, testpkt.ARPRequest(testpkt.Frame{IPDst: "10.1.2.3"}))
	for i := 1; i <= 10; i++ {
		dst := fmt.Sprintf("10.1.2.%d", i)
		add(1, udp(dst, 4), udp(dst, 10), udp(dst, 40), udp(dst, 200))
	}
	return out
}

// withTTL sets the IPv4 TTL of an untagged frame and fixes its header
// checksum.
func withTTL(f []byte, ttl uint8) []byte {
	ip := f[14:34]
	ip[8] = ttl
	binary.BigEndian.PutUint16(ip[10:], 0)
	var s uint32
	for i := 0; i < 20; i += 2 {
		s += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(s))
	return f
}

// qinq puts an 802.1ad tag with the given VLAN id in front of a frame's
// existing tag.
func qinq(f []byte, vid uint16) []byte {
	out := append([]byte(nil), f[:12]...)
	out = binary.BigEndian.AppendUint16(out, 0x88a8)
	out = binary.BigEndian.AppendUint16(out, vid)
	return append(out, f[12:]...)
}

// TestActionsAgainstOVS runs push_vlan, pop_vlan, trunc and dec_ttl
// through pcapswitch and through OVS 3.1 and requires identical frames on
// every port.
func TestActionsAgainstOVS(t *testing.T) {
	o := ovsdummy.Start(t, 3)
	var ours []string
	for _, c := range append(append([]actionCase(nil), actionCases...), setCases...) {
		f, a, err := flowfile.SplitLine(c.ours)
		if err != nil {
			t.Fatal(err)
		}
		theirs := c.theirs
		if theirs == "" {
			theirs = a
		}
		if err := o.AddFlow(f, theirs); err != nil {
			t.Fatalf("OVS refused %s %s: %v", f, theirs, err)
		}
		ours = append(ours, c.ours)
	}
	pkts := actionPackets()
	for _, f := range setPackets() {
		pkts = append(pkts, timedFrame{1, f})
	}
	compared, stdout := sameOutput(t, o, ours, pkts)
	t.Logf("compared %d frames", compared)
	if compared < 40 {
		t.Errorf("OVS transmitted only %d packets", compared)
	}
	// Where both run the same actions, the flow tables print alike.
	ovsFlows, err := o.DumpFlows()
	tunnelFlows := 0
	if err != nil {
		t.Fatal(err)
	}
	theirs := map[string]bool{}
	for _, l := range normalizeDump(ovsFlows) {
		theirs[l] = true
		// The packets set(tunnel) gave a tunnel key reached the flows
		// that match it.
		if strings.HasPrefix(l, "tunnel(") && strings.Contains(l, "recirc_id(0x7)") && !strings.Contains(l, "packets:1,") {
			t.Errorf("OVS: %s: want 1 packet", l)
		}
		if strings.HasPrefix(l, "tunnel(") && strings.Contains(l, "recirc_id(0x7)") {
			tunnelFlows++
		}
	}
	if tunnelFlows != 2 {
		t.Errorf("OVS has %d flows matching the tunnel key set(tunnel) gave, want 2", tunnelFlows)
	}
	for _, l := range normalizeDump(ourDump(stdout)) {
		if !strings.Contains(l, "dec_ttl") && !theirs[l] {
			t.Errorf("pcapswitch prints %s; OVS has no such line", l)
		}
	}
}
