//go:build linux

package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/b7cafead/datapath/internal/flowfile"
	"github.com/b7cafead/datapath/internal/ovsdummy"
	"github.com/b7cafead/datapath/internal/testpkt"
)

// These tests run the same flows and packets through pcapswitch and through
// the OVS 3.1 userspace datapath (ovs-vswitchd --enable-dummy, dummy ports
// with tx_pcap) and require identical results. They need root and
// openvswitch-switch; ovsdummy.Start skips them otherwise.

// diffFlows is the flow table of the packet test: "FLOW ACTIONS" lines.
// No packet below matches two of them (OVS would pick either).
var diffFlows = []string{
	// Plain forwarding with every IPv4/UDP field exact.
	"in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=1000,dst=2000) 2",
	// Output, then modify, then output again: port 2 gets the packet as
	// it was before the second set.
	"in_port(1),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.1.0/255.255.255.0,proto=17,frag=no),udp() set(ipv4(ttl=63)),2,set(udp(dst=5353)),3",
	// Address, TOS and port rewrites on TCP: IP and TCP checksums.
	"in_port(1),eth_type(0x0800),ipv4(dst=10.0.2.0/255.255.255.0,proto=6,frag=no),tcp(dst=80) set(ipv4(src=192.168.1.1,dst=192.168.1.2,tos=0x10)),set(tcp(src=1234,dst=8080)),3",
	// UDP with a zero checksum stays zero through address and port rewrites.
	"in_port(1),eth_type(0x0800),ipv4(dst=10.0.3.1,proto=17,frag=no),udp(dst=9) set(ipv4(src=172.16.0.1)),set(udp(src=7)),2",
	// Unmasked sets (every field given).
	"in_port(1),eth_type(0x0800),ipv4(dst=10.0.4.1,proto=17,frag=no),udp(dst=10) set(ipv4(src=1.1.1.1,dst=2.2.2.2,proto=17,tos=0x20,ttl=9,frag=no)),set(udp(src=1,dst=2)),2",
	// ARP: Ethernet rewrite, flooded to two ports.
	"in_port(1),eth(),eth_type(0x0806),arp(tip=10.0.0.9) set(eth(src=00:00:00:00:00:aa,dst=00:00:00:00:00:bb)),2,3",
	// VLAN-tagged IPv4: the layer 3 offset comes after the tag.
	"in_port(2),eth(),eth_type(0x8100),vlan(vid=10,pcp=0),encap(eth_type(0x0800),ipv4(frag=no)) set(ipv4(ttl=10)),1",
	// IPv6/TCP port rewrite: the checksum covers an IPv6 pseudo-header.
	"in_port(2),eth(),eth_type(0x86dd),ipv6(src=2001:db8::1,proto=6,frag=no),tcp(dst=80) set(tcp(dst=8080)),1",
	// ICMP echo requests from port 2 are dropped.
	"in_port(2),eth_type(0x0800),ipv4(proto=1,frag=no),icmp(type=8,code=0) drop",
	// A TTL rewrite whose incremental checksum needs the carry folded
	// twice (checksum 0, TTL 0 -> 1: OVS gives 0xfeff).
	"in_port(3),eth(),eth_type(0x0800),ipv4(src=10.0.0.1,proto=0,frag=no) set(ipv4(ttl=1)),2",
	// MPLS: the label stack is matched, nothing beyond it.
	"in_port(2),eth(),eth_type(0x8847),mpls(label=100,tc=3,ttl=64,bos=1) 3",
	// Partially masked address rewrite.
	"in_port(3),eth(),eth_type(0x0800),ipv4(src=10.9.0.0/255.255.0.0,frag=no) set(ipv4(src=10.8.0.0/255.255.0.0)),set(eth(dst=00:00:00:00:00:0c)),1",
}

type timedFrame struct {
	port  int
	frame []byte
}

// diffPackets are the input packets, in the order they arrive.
func diffPackets() []timedFrame {
	var out []timedFrame
	add := func(port int, frames ...[]byte) {
		for _, f := range frames {
			out = append(out, timedFrame{port, f})
		}
	}
	for i := 0; i < 3; i++ {
		add(1, testpkt.UDP(testpkt.Frame{SrcPort: 1000, DstPort: 2000, Payload: []byte{byte(i), 'a', 'b'}}))
	}
	add(1, testpkt.UDP(testpkt.Frame{IPDst: "10.0.1.7", SrcPort: 4000, DstPort: 53, Payload: []byte("query")}))
	add(2, testpkt.UDP(testpkt.Frame{Src: "00:00:00:00:00:02", Dst: "00:00:00:00:00:01", VLAN: 10, IPSrc: "10.0.0.2", IPDst: "10.0.0.1", SrcPort: 53, DstPort: 4000}))
	add(1, testpkt.TCP(testpkt.Frame{IPDst: "10.0.2.5", SrcPort: 40000, DstPort: 80, TCPFlags: "S"}))
	add(1, testpkt.TCP(testpkt.Frame{IPDst: "10.0.2.5", SrcPort: 40000, DstPort: 80, TCPFlags: "A", Payload: []byte("GET / HTTP/1.0\r\n\r\n")}))
	add(1, testpkt.UDP(testpkt.Frame{IPDst: "10.0.3.1", SrcPort: 99, DstPort: 9, NoChecksum: true, Payload: []byte("discard")}))
	add(1, testpkt.UDP(testpkt.Frame{IPDst: "10.0.4.1", TOS: 0x03, SrcPort: 5, DstPort: 10, Payload: []byte("x")}))
	add(1, testpkt.ARPRequest(testpkt.Frame{IPDst: "10.0.0.9"}))
	add(2, testpkt.TCP(testpkt.Frame{IPSrc: "2001:db8::1", IPDst: "2001:db8::2", SrcPort: 5555, DstPort: 80, TCPFlags: "S"}))
	add(2, testpkt.ICMPEcho(testpkt.Frame{IPSrc: "10.0.0.2", IPDst: "10.0.0.1"}))
	add(3, testpkt.UDP(testpkt.Frame{IPSrc: "10.9.7.7", IPDst: "10.0.0.1", SrcPort: 1, DstPort: 2}))
	add(3, testpkt.TCP(testpkt.Frame{IPSrc: "10.9.8.8", IPDst: "10.0.0.1", SrcPort: 1, DstPort: 2, TCPFlags: "SA"}))
	add(3, zeroChecksumTTL0())
	add(2, mplsFrame(100, 3, 64), mplsFrame(101, 3, 64))
	// Misses: dropped by both.
	add(1, testpkt.UDP(testpkt.Frame{IPDst: "10.7.7.7", SrcPort: 1, DstPort: 1}))
	add(3, testpkt.ICMPEcho(testpkt.Frame{IPSrc: "10.10.0.1"}))
	// A flow that says nothing of VLANs matches only untagged packets:
	// this tagged copy of a packet that hits a flow above misses.
	add(1, testpkt.UDP(testpkt.Frame{VLAN: 7, IPDst: "10.0.3.1", SrcPort: 99, DstPort: 9, Payload: []byte("tagged")}))
	add(3, testpkt.UDP(testpkt.Frame{VLAN: 7, IPSrc: "10.9.7.7", IPDst: "10.0.0.1", SrcPort: 1, DstPort: 2}))
	return out
}

// mplsFrame is an Ethernet frame with one MPLS label stack entry in front
// of an IPv4/UDP packet.
func mplsFrame(label uint32, tc, ttl uint8) []byte {
	inner := testpkt.UDP(testpkt.Frame{SrcPort: 1, DstPort: 2})
	f := append([]byte(nil), inner[:12]...)
	f = append(f, 0x88, 0x47)
	f = binary.BigEndian.AppendUint32(f, label<<12|uint32(tc)<<9|1<<8|uint32(ttl))
	return append(f, inner[14:]...)
}

// zeroChecksumTTL0 is an IPv4 packet (protocol 0, TTL 0) whose header
// checksum is 0.
func zeroChecksumTTL0() []byte {
	f := make([]byte, 14+20+6)
	copy(f, []byte{0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 8, 0})
	ip := f[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], 26)
	copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	var s uint32
	for i := 0; i < 20; i += 2 {
		s += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	// Choose the id so that the words sum to 0xffff: checksum 0.
	binary.BigEndian.PutUint16(ip[4:], uint16(0xffff-s))
	return f
}

var usedRE = regexp.MustCompile(`used:(never|[0-9.]+s)`)

// normalizeDump drops "used:" (a wall-clock age) and sorts the lines.
func normalizeDump(lines []string) []string {
	var out []string
	for _, l := range lines {
		out = append(out, usedRE.ReplaceAllString(l, "used:X"))
	}
	sort.Strings(out)
	return out
}

// ourDump returns the flow lines pcapswitch printed.
func ourDump(stdout string) []string {
	var out []string
	for _, l := range strings.Split(stdout, "\n") {
		if strings.Contains(l, ", actions:") {
			out = append(out, l)
		}
	}
	return out
}

func TestDifferentialAgainstOVS(t *testing.T) {
	// Port 2: 3 plain, 1 TTL-rewritten copy, 1 zero-checksum, 1 unmasked
	// set, 1 ARP, 1 TTL 0 -> 1; port 3: 1 query, 2 TCP, 1 ARP, 1 MPLS;
	// port 1: VLAN, IPv6, 2 from port 3.
	if compared := differential(t, diffFlows, diffPackets()); compared != 17 {
		t.Errorf("OVS transmitted %d packets in all, want 17", compared)
	}
}

// differential runs flows ("FLOW ACTIONS" lines) and packets through
// pcapswitch and through OVS, requires the same packets out of every port
// and the same flow dump (statistics included), and returns how many
// packets OVS transmitted.
func differential(t *testing.T, flows []string, pkts []timedFrame) int {
	t.Helper()
	o := ovsdummy.Start(t, 3)
	for _, l := range flows {
		f, a, err := flowfile.SplitLine(l)
		if err != nil {
			t.Fatal(err)
		}
		if err := o.AddFlow(f, a); err != nil {
			t.Fatalf("OVS refused %q: %v", l, err)
		}
	}
	compared, stdout := sameOutput(t, o, flows, pkts)
	ovsFlows, err := o.DumpFlows()
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := normalizeDump(ourDump(stdout)), normalizeDump(ovsFlows)
	if strings.Join(ours, "\n") != strings.Join(theirs, "\n") {
		t.Errorf("flow tables differ:\n--- pcapswitch\n%s\n--- ovs\n%s", strings.Join(ours, "\n"), strings.Join(theirs, "\n"))
	}
	return compared
}

// sameOutput runs pkts through pcapswitch with the flow lines ours and
// through o, which the caller has given its own flows (datapath or
// OpenFlow), and requires the same packets out of ports 1 to 3, in the
// same order. extra are more pcapswitch arguments. It returns how many
// packets OVS transmitted and what pcapswitch printed.
func sameOutput(t *testing.T, o *ovsdummy.OVS, ours []string, pkts []timedFrame, extra ...string) (int, string) {
	t.Helper()
	dir := t.TempDir()
	flowFile := filepath.Join(dir, "flows")
	if err := os.WriteFile(flowFile, []byte(strings.Join(ours, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// Inputs: one capture per port, timestamps giving the arrival order.
	perPort := map[int][][]byte{}
	stamps := map[int][]time.Time{}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, p := range pkts {
		perPort[p.port] = append(perPort[p.port], p.frame)
		stamps[p.port] = append(stamps[p.port], start.Add(time.Duration(i)*time.Millisecond))
	}
	args := append([]string{"-flows", flowFile}, extra...)
	for port := 1; port <= 3; port++ {
		if len(perPort[port]) > 0 {
			in := filepath.Join(dir, fmt.Sprintf("in%d.pcap", port))
			if err := os.WriteFile(in, writeCaptureAt(t, perPort[port], stamps[port]), 0o644); err != nil {
				t.Fatal(err)
			}
			args = append(args, "-in", fmt.Sprintf("%d=%s", port, in))
		}
		args = append(args, "-out", fmt.Sprintf("%d=%s", port, filepath.Join(dir, fmt.Sprintf("out%d.pcap", port))))
	}
	code, stdout, stderr := runCmd(args...)
	if code != 0 {
		t.Fatalf("pcapswitch exit %d: %s", code, stderr)
	}

	// OVS gets the same packets in the same order; a run of packets from
	// one port is injected in one call, and each run is fully processed
	// before the next so that the order across ports holds.
	for i := 0; i < len(pkts); {
		j := i
		var run [][]byte
		for j < len(pkts) && pkts[j].port == pkts[i].port {
			run = append(run, pkts[j].frame)
			j++
		}
		if err := o.InjectMany(pkts[i].port, run); err != nil {
			t.Fatal(err)
		}
		if err := o.WaitProcessed(10 * time.Second); err != nil {
			t.Fatal(err)
		}
		i = j
	}

	compared := 0
	for port := 1; port <= 3; port++ {
		want, err := o.TxPackets(port)
		if err != nil {
			t.Fatal(err)
		}
		compared += len(want)
		got := readFrames(t, filepath.Join(dir, fmt.Sprintf("out%d.pcap", port)))
		if len(got) != len(want) {
			t.Errorf("port %d: pcapswitch sent %d packets, OVS %d", port, len(got), len(want))
		}
		for k := 0; k < min(len(got), len(want)); k++ {
			if !bytes.Equal(got[k], want[k]) {
				t.Errorf("port %d packet %d differs:\n ours %x\n ovs  %x", port, k, got[k], want[k])
			}
		}
	}
	return compared, stdout
}

// onPort1 is frames arriving on port 1, in order.
func onPort1(frames [][]byte) []timedFrame {
	out := make([]timedFrame, len(frames))
	for i, f := range frames {
		out[i] = timedFrame{1, f}
	}
	return out
}

// ndFlows match ICMPv6 neighbour discovery messages on nd() and nd_ext().
// OVS's userspace datapath matches nd_ext() (the reserved word and the
// type of the first link-layer address option) but does not print it in
// its dump, and the options type shows in the flow's TCP flags statistics
// (1, a source address, as F; 2, a target address, as S). The messages
// also exercise what miniflow_extract keeps of malformed option lists.
var ndFlows = []string{
	ndMatch(1, "icmpv6(type=136,code=0),nd(target=2001:db8::1),nd_ext(nd_reserved=0x20000000,nd_options_type=2)") + " 2",
	ndMatch(1, "icmpv6(type=136,code=0),nd(target=2001:db8::1),nd_ext(nd_reserved=0x60000000)") + " 3",
	// An option of length 0 or past the end ends the walk; what was
	// found before stays.
	ndMatch(1, "icmpv6(type=135,code=0),nd(target=2001:db8::1,sll=aa:00:00:00:00:01),nd_ext(nd_reserved=0,nd_options_type=1)") + " 2",
	// A duplicate address clears target and addresses, not the options
	// type nor the reserved word.
	ndMatch(1, "icmpv6(type=135,code=0),nd(target=::,sll=00:00:00:00:00:00,tll=00:00:00:00:00:00),nd_ext(nd_reserved=0x1234,nd_options_type=2)") + " 3",
	// A message too short for its target keeps the reserved word.
	ndMatch(2, "icmpv6(type=136,code=0),nd(target=::,sll=00:00:00:00:00:00,tll=00:00:00:00:00:00),nd_ext(nd_reserved=0x60000000,nd_options_type=0)") + " 1",
	ndMatch(2, "icmpv6(type=135,code=0),nd(target=2001:db8::1)") + " 3",
	// Only 8-byte address options count.
	ndMatch(3, "icmpv6(type=135/0xff,code=0),nd(target=2001:db8::1),nd_ext(nd_reserved=0x0/0,nd_options_type=2/0x3)") + " 1",
}

func ndMatch(port int, l4 string) string {
	return fmt.Sprintf("in_port(%d),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),%s", port, l4)
}

// ndFrame is an ICMPv6 neighbour solicitation (135) or advertisement
// (136) from 2001:db8::1 to 2001:db8::2 with the given reserved word,
// target (possibly cut short) and options.
func ndFrame(typ, code uint8, reserved uint32, target []byte, opts ...[]byte) []byte {
	icmp := []byte{typ, code, 0, 0}
	icmp = binary.BigEndian.AppendUint32(icmp, reserved)
	icmp = append(icmp, target...)
	for _, o := range opts {
		icmp = append(icmp, o...)
	}
	ip := []byte{0x60, 0, 0, 0, byte(len(icmp) >> 8), byte(len(icmp)), 58, 255}
	ip = append(ip, net.ParseIP("2001:db8::1")...)
	ip = append(ip, net.ParseIP("2001:db8::2")...)
	f := []byte{0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x86, 0xdd}
	return append(append(f, ip...), icmp...)
}

// llOpt is a link-layer address option of type typ (1 source, 2 target)
// with address aa:00:00:00:00:last, n*8 bytes long.
func llOpt(typ uint8, last byte, n int) []byte {
	o := make([]byte, 8*n)
	o[0], o[1], o[2], o[7] = typ, byte(n), 0xaa, last
	return o
}

func TestNDAgainstOVS(t *testing.T) {
	target := net.ParseIP("2001:db8::1")
	sll, tll := llOpt(1, 1, 1), llOpt(2, 2, 1)
	var pkts []timedFrame
	add := func(port int, f []byte) { pkts = append(pkts, timedFrame{port, f}) }
	add(1, ndFrame(136, 0, 0x20000000, target, tll))            // flow 1
	add(1, ndFrame(136, 0, 0x60000000, target, tll))            // flow 2
	add(1, ndFrame(136, 0, 0x20000000, target, sll))            // miss
	add(1, ndFrame(136, 0, 0x20000000, target))                 // miss
	add(1, ndFrame(136, 0, 0x20000000, target, tll, sll))       // flow 1
	add(1, ndFrame(136, 0, 0x20000000, target, sll, tll))       // miss
	add(1, ndFrame(135, 0, 0, target, sll, make([]byte, 8)))    // flow 3
	add(1, ndFrame(135, 0, 0, target, sll, []byte{2, 2, 0, 0})) // flow 3
	add(1, ndFrame(135, 0, 0x1234, target, tll, sll, llOpt(1, 3, 1)))
	add(1, ndFrame(135, 0, 0, target, sll, llOpt(1, 3, 1))) // miss: reserved 0, type 1
	add(2, ndFrame(136, 0, 0x60000000, target[:8]))         // flow 5
	add(2, ndFrame(136, 0, 0x60000000, nil))                // flow 5
	add(2, ndFrame(135, 0, 0, target, sll))                 // flow 6, flags F
	add(2, ndFrame(135, 0, 0, target, tll))                 // flow 6, flags S
	add(3, ndFrame(135, 0, 0, target, llOpt(1, 1, 2), tll)) // flow 7
	add(3, ndFrame(135, 0, 0, target, []byte{5, 1, 0, 0, 0, 0, 5, 0xdc}, tll))
	add(3, ndFrame(135, 0, 0, target, sll))          // miss: type 1
	add(3, ndFrame(135, 1, 7, target, sll))          // miss: code 1
	add(3, ndFrame(128, 0, 0x10001, []byte("ping"))) // miss: echo request
	if compared := differential(t, ndFlows, pkts); compared != 12 {
		t.Errorf("OVS transmitted %d packets in all, want 12", compared)
	}
}

// dumpCases are flows whose dump format is compared with OVS's without
// traffic: every field type with exact and partial masks, and the forms
// OVS rewrites (attribute order, eth() kept or dropped, empty tcp()).
var dumpCases = []string{
	"in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=1000,dst=2000) 2",
	"in_port(1),eth_type(0x0800),ipv4(src=10.0.0.0/255.255.255.0,frag=no) set(ipv4(ttl=63)),2",
	"in_port(1),eth(),eth_type(0x0806),arp(sip=10.0.0.1) 2,3",
	"in_port(1),eth(),eth_type(0x0806),arp(sip=10.0.0.1,tip=10.0.0.2,op=1,sha=00:00:00:00:00:01,tha=00:00:00:00:00:00) 2",
	"in_port(1),eth(src=00:00:00:00:00:01/ff:ff:ff:00:00:00),eth_type(0x86dd),ipv6(src=2001:db8::1,dst=2001:db8::2,label=0,proto=6,tclass=0,hlimit=64,frag=no),tcp(dst=80),tcp_flags(syn) set(tcp(dst=8080)),2",
	"in_port(1),eth_type(0x8100),vlan(vid=10,pcp=0),encap(eth_type(0x0800),ipv4(frag=no)) 2",
	"in_port(1),eth(),eth_type(0x8100),vlan(vid=10,pcp=0),encap(eth_type(0x0800),ipv4(frag=no)) 2",
	"in_port(1),eth_type(0x0800),ipv4(proto=1,frag=no),icmp(type=8,code=0) set(eth(src=00:00:00:00:00:aa,dst=00:00:00:00:00:bb)),2",
	"in_port(1),eth(),eth_type(0x0800),ipv4(proto=6,frag=no),tcp(),tcp_flags(+syn-ack) 2",
	"in_port(1),eth(),eth_type(0x0800),ipv4(proto=6,frag=no),tcp(),tcp_flags(0x002/0x012) 2",
	"in_port(1),eth(),eth_type(0x86dd),ipv6(proto=17,frag=no),udp() 2",
	"in_port(1),eth(),eth_type(0x86dd),ipv6(src=2001:0db8:0000::0001,frag=no) 2",
	"in_port(1),eth(),eth_type(0x86dd),ipv6(src=2001:db8::/ffff:ffff::,label=0x12345,tclass=0x10/0xfc) 2",
	"in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=135,code=0),nd(target=2001:db8::1) 2",
	"in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=136,code=0),nd(target=2001:db8::1,sll=00:00:00:00:00:01,tll=00:00:00:00:00:02) 2",
	"in_port(1),eth(dst=01:00:00:00:00:00/01:00:00:00:00:00),eth_type(0x0800),ipv4(tos=0x10/0xfc,ttl=5) 2",
	"in_port(1),eth(),eth_type(0x0800),ipv4(proto=17),udp(src=1000/0xff00,dst=2000) 2",
	"in_port(1),eth(),eth_type(0x0800),ipv4(src=10.0.0.1) 2",
	"in_port(1),eth(),eth_type(0x0800),ipv4(frag=first,proto=6),tcp(src=1) 2",
	"in_port(1),eth(),eth_type(0x0800),ipv4(frag=later,proto=6) 2",
	"in_port(1),eth(),eth_type(0x88cc) 2",
	"in_port(9),eth(),eth_type(0x1234) drop",
	"in_port(2),eth(),eth_type(0x0800),ipv4(frag=no) drop",
	"in_port(1),eth(),eth_type(0x0800),ipv4(frag=no),skb_mark(0x5) 2",
	"skb_priority(0),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"recirc_id(0x5),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"recirc_id(0),dp_hash(0x1/0xf),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"in_port(1),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(frag=no) 2",
	"in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) set(ipv4(src=1.1.1.1,dst=2.2.2.2,tos=0,ttl=9)),2,3",
	"in_port(1),eth(),eth_type(0x0800),ipv4(proto=17,frag=no),udp() set(udp(src=1,dst=2)),2",
	"in_port(1),eth(),eth_type(0x0800),ipv4(proto=17,frag=no),udp() set(udp(src=1/0xff)),2",
	"in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) set(eth(dst=00:00:00:00:00:01)),2",
	"in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2,,3",
	"in_port(1),eth(),eth_type(0x8847),mpls(label=100,tc=3,ttl=64,bos=1) 2",
	"ct_state(+trk),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"ct_state(+trk+est-new),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"ct_state(0x21),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"ct_state(0x21/0x21),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"ct_state(trk|est),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"ct_state(+trk+snat+dnat-inv-rpl-rel),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"ct_zone(5),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"ct_zone(5/0xff),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"ct_mark(0x10),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"ct_mark(0x10/0xf0),skb_mark(1),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"ct_label(0x1234),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"ct_label(0x102/0xffff),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"ct_label(0x80000000000000000000000000000001),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"ct_state(+trk),ct_tuple4(src=10.0.0.1,dst=10.0.0.2,proto=6,tp_src=1,tp_dst=2),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"ct_state(+trk),ct_tuple4(src=10.0.0.1),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"ct_state(+trk),ct_tuple6(src=2001:db8::1,dst=2001:db8::2,proto=17,tp_src=1,tp_dst=2),in_port(1),eth(),eth_type(0x86dd),ipv6(frag=no) 2",
	"ct_tuple6(src=2001:db8::1,proto=17,tp_src=1),in_port(1),eth(),eth_type(0x86dd),ipv6(frag=no) 2",
	"tunnel(tun_id=0x5,src=1.1.1.1,dst=2.2.2.2,ttl=64,flags(-df+csum+key)),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(tun_id=0x5,src=1.1.1.1,dst=2.2.2.2,tos=0,ttl=64,tp_src=1,tp_dst=4789,flags(key)),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(ipv6_src=2001:db8::1,ipv6_dst=2001:db8::2,ttl=64),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(tun_id=0x7f10354/0xff,src=10.10.10.10/255.255.255.0,dst=20.20.20.20/255.255.255.0,ttl=64,flags(-df+csum+key)),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"skb_priority(0x1234),tunnel(tun_id=0xfedcba9876543210,src=10.10.10.10,dst=20.20.20.20,tos=0x8,ttl=64,flags(key)),skb_mark(0),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(tun_id=0x5,dst=2.2.2.2,ttl=64),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,flags(csum|key)),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(tun_id=0x0,dst=2.2.2.2,ttl=64/0xf0,flags(-df)),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	// Tunnel options (VXLAN GBP, Geneve, ERSPAN, GTP-U) and the tunnel
	// key without a destination.
	"tunnel(tun_id=0x5/0,dst=2.2.2.2,ttl=64),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,flags(key)),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(tun_id=0x5,dst=2.2.2.2,ttl=64,flags(0)),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(ttl=64),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(src=1.1.1.1,ttl=64),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(tun_id=0x5,src=1.1.1.1,ttl=64),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(src=1.1.1.1,ttl=64,vxlan(gbp(id=5)),geneve({class=0x1,type=0x2,len=4,0xa}),erspan(ver=1,idx=3),gtpu(flags=1,msgtype=2),flags(df)),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,vxlan(gbp(id=10,flags=0xb))),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,vxlan(gbp(id=10/0xff,flags=0xb/0xf))),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,vxlan(gbp(,flags=1))),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,vxlan(gbp(id=0,flags=0))),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,vxlan(gbp(id=10/0))),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,erspan(ver=1,idx=0x7/0xf)),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,erspan(ver=1)),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,erspan(ver=2,dir=1,hwid=0x7)),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,erspan(ver=2/0x2,dir=3,hwid=0x17)),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,gtpu(flags=0x30,msgtype=255)),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,gtpu(flags=0x30/0xf0,msgtype=255/0xf)),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,gtpu(flags=0x30)),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,gtpu(flags=0x30,msgtype=255/0)),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0xffff,type=0x80,len=4,0xa0b0c0d0})),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0xffff,type=0x80,len=4,0xa0b0c0d0/0xf0f0f0f0})),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0xffff,type=0x80,len=4,0xa0b0c0d0/0})),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0xffff/0xff,type=0x80/0xf0,len=4/0x1,0xa0b0c0d0})),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0xffff,type=0x80,len=4,0xa0b0c0d0}{class=0x102,type=0x1,len=8,0x0102030405060708})),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,geneve()),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0xffff,type=0x80})),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({}{})),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4})),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({len=124}{len=120})),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,,len=4,0x0a 0b})),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,012})),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=12,0x0102030405060708090a0b0c/0x0000ff00000000000000000f})),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4/0x7c,0xa})),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4/0,0xa})),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1/0,type=0x2/0,len=4/0,0xa/0})),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(ipv6_dst=2001:db8::2,ttl=64,geneve({class=0x1,type=0x82,len=4,0xa}),flags(df)),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(tun_id=0x1,src=1.1.1.1,dst=2.2.2.2,ipv6_src=::1,ipv6_dst=::2,tos=0x4,ttl=64,tp_src=1,tp_dst=2,vxlan(gbp(id=1,flags=0x2)),geneve({class=0x1,type=0x2,len=4,0xa}),erspan(ver=1,idx=0x3),gtpu(flags=0x1,msgtype=2),flags(df|csum|oam)),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(tun_id=0x7f10354/0xff,src=10.10.10.10/255.255.255.0,dst=20.20.20.20/255.255.255.0,ttl=64,geneve({class=0,type=0,len=4,0xa/0xff}{class=0xffff,type=0x1,len=4,0xffffffff}),flags(csum|key)),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"in_port(1),eth(),eth_type(0x8848),mpls(label=100/0xff,tc=3,ttl=64,bos=1) 2",
	"in_port(1),eth(),eth_type(0x8847),mpls(label=100,tc=0,ttl=64,bos=0,label=200,tc=0,ttl=63,bos=1) 2",
	"in_port(1),eth(),eth_type(0x8100),vlan(vid=7),encap(eth_type(0x8847),mpls(label=5,tc=0,ttl=1,bos=1)) 2",
	// nd_ext() is matched but never printed.
	"in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=136,code=0),nd(target=2001:db8::1),nd_ext(nd_reserved=0x20000000,nd_options_type=2) 2",
	"in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=136,code=0),nd(target=2001:db8::1),nd_ext(nd_reserved=0x20000000/0xf0000000,nd_options_type=2/0xf) 2",
	"in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=136,code=0),nd(),nd_ext(nd_reserved=0x1) 2",
	"in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=135,code=0),nd(),nd_ext(nd_options_type=1) 2",
	"in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=135,code=0),nd(),nd_ext(nd_reserved=0x0,nd_options_type=0) 2",
	"in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=135,code=0),nd(),nd_ext() 2",
	"in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=135,code=0),nd_ext(nd_reserved=0x5),nd() 2",
	"in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=135/0xf0,code=0),nd(),nd_ext(nd_reserved=0x5/0) 2",
	"in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=135,code=0/0),nd() 2",
	"in_port(1),eth(),eth_type(0x8100),vlan(vid=5),encap(eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=136,code=0),nd(target=::1),nd_ext(nd_reserved=0x1,nd_options_type=1)) 2",
	// The layer 4 attribute follows the key's protocol, whatever its mask.
	"in_port(1),eth(),eth_type(0x0800),ipv4(tos=0x80/0xfc,ttl=64/0xf0,proto=6/0),tcp() 2",
	"in_port(1),eth(),eth_type(0x0800),ipv4(proto=17/0xf),udp() 2",
	"in_port(1),eth(),eth_type(0x0800),ipv4(proto=6/0xf),tcp(),tcp_flags(syn) 2",
	"in_port(1),eth(),eth_type(0x0800),ipv4(proto=1/0xf0,frag=no),icmp() 2",
	"in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58/0xf0,frag=no),icmpv6() 2",
}

// badCases are flows OVS refuses; pcapswitch must refuse them too.
var badCases = []string{
	"in_port(2),eth_type(0x1234) frobnicate",
	"in_port(2) drop",
	"in_port(2),eth() drop",
	"eth_type(0x0800),ipv4(frag=no) 2",
	"in_port(1),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=no) 2",
	"in_port(1),eth_type(0x0800),ipv4(src=10.0.0.1,frag=no),udp(src=1000,dst=2000) 2",
	"in_port(1),bogus(1) 2",
	"in_port(1),eth(),eth_type(0x0800),ipv4(proto=6,frag=no),tcp_flags(syn) 2",
	"in_port(1),eth(),eth_type(0x0806) 2",
	"in_port(1),eth(),eth_type(0x0800),ipv4(proto=6,frag=no) 2",
	"in_port(1),eth(),eth_type(0x0800),ipv4(proto=6) 2",
	"in_port(1),eth(),eth_type(0x86dd),ipv6(proto=17,frag=no) 2",
	"in_port(1),eth(),eth_type(0x0800),ipv4(frag=no),tcp() 2",
	"in_port(1),eth(src=00:00:00:00:00:01) 2",
	"in_port(1),eth(),eth_type(0x8100),vlan(vid=10),encap(eth_type(0x0800)) 2",
	"in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=135,code=0) 2",
	"in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) output:2",
	"in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) drop,2",
	"in_port(1),eth(),eth_type(0x8847),mpls(label=100) 2",
	"tunnel(tun_id=0x5),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(tun_id=0x5/0xff,dst=2.2.2.2),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,geneve({class=0x102,type=0x80,len=4,0xa})),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,vxlan(gbp(id=10,flags=0x1))),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,erspan(ver=1,idx=0x7)),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0xffff,type=0x80,len=5,0xa0b0c0d0})),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=128,0x1})),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({len=124}{len=124})),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,0x1ffffffff})),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({type=0x2,class=0x1,len=4,0xa})),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,0xa},{class=0x1,type=0x2,len=4,0xb})),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,geneve({class=0x1,type=0x2,len=4,})),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,vxlan(gbp(flags=0x1,id=5))),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,vxlan()),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,erspan(ver=3)),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,erspan(ver=2,idx=1)),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,erspan()),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,gtpu(msgtype=255,flags=0x30)),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"tunnel(dst=2.2.2.2,ttl=64,gtpu(flags=0x30,msgtype=255,)),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2",
	"in_port(1),eth(),eth_type(0x8847) 2",
	"in_port(1),eth(),eth_type(0x8847),mpls(label=100,tc=0,ttl=64,bos=0) 2",
	"in_port(1),eth(),eth_type(0x0800),mpls(label=100,tc=0,ttl=64,bos=1) 2",
	// nd_ext(): only with nd(), on a neighbour solicitation or
	// advertisement whose type and code are exact when it matches
	// anything.
	"in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=135,code=0),nd_ext(nd_reserved=0x5) 2",
	"in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=128,code=0),nd_ext(nd_reserved=0x5) 2",
	"in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=128,code=0),nd_ext(nd_reserved=0x5/0) 2",
	"in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=135,code=1),nd_ext(nd_reserved=0x5) 2",
	"in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=135/0xf0,code=0),nd(),nd_ext(nd_reserved=0x5) 2",
	"in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=135,code=0/0),nd(),nd_ext(nd_options_type=1) 2",
	"in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(code=0),nd(),nd_ext(nd_reserved=0x5) 2",
	"in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=135,code=0),nd(),nd_ext(nd_reserved=0x5),nd_ext(nd_reserved=0x6) 2",
	"in_port(1),eth(),eth_type(0x0800),ipv4(proto=1,frag=no),icmp(type=8,code=0),nd_ext(nd_reserved=0x5) 2",
	"in_port(1),eth(),eth_type(0x0800),ipv4(proto=58,frag=no),nd_ext(nd_reserved=0x5) 2",
	"in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=136,code=0),nd(),tcp_flags(syn) 2",
	"in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=135/0xf0,code=0),nd(target=::1) 2",
	"in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=135,code=0/0),nd(target=::1) 2",
	"in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=135/0xf0,code=0) 2",
	"in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=135,code=0/0) 2",
	// The key's protocol implies layer 4 whatever its mask; ports need
	// the protocol exact.
	"in_port(1),eth(),eth_type(0x0800),ipv4(proto=6/0xf0,frag=no) 2",
	"in_port(1),eth(),eth_type(0x0800),ipv4(tos=0x80/0xfc,ttl=64/0xf0,proto=6/0) 2",
	"in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58/0xf0,frag=no) 2",
	"in_port(1),eth(),eth_type(0x0800),ipv4(proto=17/0xf),udp(src=1) 2",
	"in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58/0xf0,frag=no),icmpv6(type=1) 2",
	"in_port(1),eth(),eth_type(0x0800),ipv4(proto=1/0xf0,frag=no),icmp(type=3) 2",
}

func TestDumpFormatAgainstOVS(t *testing.T) {
	o := ovsdummy.Start(t, 3)
	dir := t.TempDir()
	for i, c := range dumpCases {
		if err := o.Reset(); err != nil {
			t.Fatal(err)
		}
		f, a, err := flowfile.SplitLine(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := o.AddFlow(f, a); err != nil {
			t.Errorf("case %d: OVS refused %q: %v", i, c, err)
			continue
		}
		theirs, err := o.DumpFlows()
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, fmt.Sprintf("flows%d", i))
		os.WriteFile(file, []byte(c+"\n"), 0o644)
		code, stdout, stderr := runCmd("-flows", file)
		if code != 0 {
			t.Errorf("case %d: pcapswitch refused %q: %s", i, c, stderr)
			continue
		}
		ours := ourDump(stdout)
		if strings.Join(normalizeDump(ours), "\n") != strings.Join(normalizeDump(theirs), "\n") {
			t.Errorf("case %d: %s\n ours %s\n ovs  %s", i, c, strings.Join(ours, "\n"), strings.Join(theirs, "\n"))
		}
	}
	for i, c := range badCases {
		f, a, err := flowfile.SplitLine(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := o.AddFlow(f, a); err == nil {
			t.Errorf("bad case %d: OVS accepted %q", i, c)
			o.Reset()
		}
		file := filepath.Join(dir, fmt.Sprintf("bad%d", i))
		os.WriteFile(file, []byte(c+"\n"), 0o644)
		code, _, stderr := runCmd("-flows", file)
		if code == 0 {
			t.Errorf("bad case %d: pcapswitch accepted %q", i, c)
		} else if !strings.Contains(stderr, ":1: ") {
			t.Errorf("bad case %d: error does not name the line: %s", i, stderr)
		}
	}
}
