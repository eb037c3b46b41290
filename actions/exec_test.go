package actions_test

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/flow"
	"github.com/b7cafead/datapath/internal/testpkt"
	dpio "github.com/b7cafead/datapath/io"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// summary is what gopacket decodes of a frame, for comparing the fields
// an action should and should not have changed.
type summary struct {
	EthSrc, EthDst   string
	VLAN             int // -1: untagged
	IPSrc, IPDst     netip.Addr
	TOS, TTL, Proto  uint8
	Flags, FragOff   uint16
	SrcPort, DstPort uint16
	Payload          string
}

func decodeSummary(t *testing.T, b []byte) summary {
	t.Helper()
	var (
		eth     layers.Ethernet
		dot1q   layers.Dot1Q
		ip      layers.IPv4
		udp     layers.UDP
		tcp     layers.TCP
		decoded []gopacket.LayerType
	)
	// A parser rather than gopacket.NewPacket, so that payloads on
	// well-known ports are not decoded as application protocols.
	dp := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &dot1q, &ip, &udp, &tcp)
	dp.IgnoreUnsupported = true
	if err := dp.DecodeLayers(b, &decoded); err != nil {
		t.Fatalf("gopacket cannot decode frame: %v", err)
	}
	s := summary{VLAN: -1}
	var haveIP bool
	for _, lt := range decoded {
		switch lt {
		case layers.LayerTypeEthernet:
			s.EthSrc, s.EthDst = eth.SrcMAC.String(), eth.DstMAC.String()
		case layers.LayerTypeDot1Q:
			s.VLAN = int(dot1q.VLANIdentifier)
		case layers.LayerTypeIPv4:
			haveIP = true
			s.IPSrc, _ = netip.AddrFromSlice(ip.SrcIP)
			s.IPDst, _ = netip.AddrFromSlice(ip.DstIP)
			s.TOS, s.TTL, s.Proto = ip.TOS, ip.TTL, uint8(ip.Protocol)
			s.Flags, s.FragOff = uint16(ip.Flags), ip.FragOffset
		case layers.LayerTypeUDP:
			s.SrcPort, s.DstPort, s.Payload = uint16(udp.SrcPort), uint16(udp.DstPort), string(udp.Payload)
		case layers.LayerTypeTCP:
			s.SrcPort, s.DstPort, s.Payload = uint16(tcp.SrcPort), uint16(tcp.DstPort), string(tcp.Payload)
		}
	}
	if !haveIP {
		t.Fatalf("no IPv4 layer in %v", decoded)
	}
	return s
}

func macBytes(s string) []byte {
	m, err := flow.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m[:]
}

// writeSummary writes the rewritable fields of s into frame b at their
// offsets, leaving checksums alone.
func writeSummary(b []byte, s summary) {
	copy(b[0:6], macBytes(s.EthDst))
	copy(b[6:12], macBytes(s.EthSrc))
	h, ok := locate(b)
	if !ok {
		panic("not IPv4")
	}
	b[h.l3+1], b[h.l3+8] = s.TOS, s.TTL
	src, dst := s.IPSrc.As4(), s.IPDst.As4()
	copy(b[h.l3+12:], src[:])
	copy(b[h.l3+16:], dst[:])
	if h.proto == flow.IPProtoTCP || h.proto == flow.IPProtoUDP {
		be.PutUint16(b[h.l4:], s.SrcPort)
		be.PutUint16(b[h.l4+2:], s.DstPort)
	}
}

var v4 = netip.MustParseAddr

// frameKind builds a base frame.
type frameKind struct {
	name   string
	build  func(vlan int, payload []byte) []byte
	noCsum bool
}

var frameKinds = []frameKind{
	{name: "udp", build: func(vlan int, payload []byte) []byte {
		return testpkt.UDP(testpkt.Frame{VLAN: vlan, SrcPort: 1000, DstPort: 2000, TOS: 0xb8, Payload: payload})
	}},
	{name: "tcp", build: func(vlan int, payload []byte) []byte {
		return testpkt.TCP(testpkt.Frame{VLAN: vlan, SrcPort: 1000, DstPort: 2000, TOS: 0xb8, TCPFlags: "SA", Payload: payload})
	}},
	{name: "udp-nocsum", noCsum: true, build: func(vlan int, payload []byte) []byte {
		// Zero the checksum here: testpkt.Frame.NoChecksum misplaces it
		// when the frame is padded to 60 bytes.
		b := testpkt.UDP(testpkt.Frame{VLAN: vlan, SrcPort: 1000, DstPort: 2000, TOS: 0xb8, Payload: payload})
		h, _ := locate(b)
		be.PutUint16(b[h.l4+6:], 0)
		return b
	}},
}

// layouts are the L2 shapes each frame is tested in.
var layouts = []struct {
	name    string
	vlan    int
	payload []byte
	pad     []byte // appended after the IP packet, beyond its total length
}{
	{name: "plain", payload: []byte("0123456789abcdefghijklmnopqrstuvwxyz")},
	{name: "odd", payload: []byte("0123456789abcdefghijklmnopqrstuvwxy")},
	{name: "vlan", vlan: 100, payload: []byte("0123456789abcdefghijklmnopqrstuvwxyz")},
	{name: "padded", payload: []byte("x")},                                                // gopacket pads to 60 with zeros
	{name: "garbage-pad", payload: []byte("xyz"), pad: []byte{0xde, 0xad, 0xbe, 0xef, 1}}, // nonzero padding
	{name: "vlan-padded", vlan: 7, payload: nil, pad: []byte{0xff, 0xff, 0xff}},
}

var execCases = []struct {
	acts string
	only uint8 // run only on this IP protocol, if nonzero
	mod  func(s *summary)
}{
	{acts: "set(ipv4(ttl=63))", mod: func(s *summary) { s.TTL = 63 }},
	{acts: "set(ipv4(ttl=63)),2", mod: func(s *summary) { s.TTL = 63 }},
	{acts: "set(ipv4(src=192.168.1.1))", mod: func(s *summary) { s.IPSrc = v4("192.168.1.1") }},
	{acts: "set(ipv4(dst=255.255.255.255))", mod: func(s *summary) { s.IPDst = v4("255.255.255.255") }},
	{acts: "set(ipv4(src=0.0.0.0))", mod: func(s *summary) { s.IPSrc = v4("0.0.0.0") }},
	{acts: "set(ipv4(dst=172.16.0.9,tos=0x10))", mod: func(s *summary) { s.IPDst, s.TOS = v4("172.16.0.9"), 0x10 }},
	{acts: "set(ipv4(src=1.2.3.0/255.255.255.0))", mod: func(s *summary) {
		a := s.IPSrc.As4()
		s.IPSrc = netip.AddrFrom4([4]byte{1, 2, 3, a[3]})
	}},
	{acts: "set(ipv4(tos=0x3/0x3))", mod: func(s *summary) { s.TOS |= 3 }},
	{acts: "set(ipv4(ttl=0/0xf0))", mod: func(s *summary) { s.TTL &= 0x0f }},
	{acts: "set(ipv4(src=10.0.0.1))", mod: func(s *summary) {}}, // same value
	// A field whose mask is zero stays as it is, whatever the key holds
	// there (OVS's odp_set_ipv4); the key's bits outside a non-zero mask
	// are ORed in.
	{acts: "set(ipv4(src=10.9.9.9/0.0.0.0,tos=0x4/0,ttl=63/0))", mod: func(s *summary) {}},
	{acts: "set(ipv4(src=10.9.9.9,tos=0x4/0,ttl=1/0))", mod: func(s *summary) { s.IPSrc = v4("10.9.9.9") }},
	{acts: "set(ipv4(ttl=63/0xf0))", mod: func(s *summary) { s.TTL = 0x3f | s.TTL&0x0f }},
	{acts: "set(ipv4(dst=10.9.9.9/0.0.0.0,tos=0x5/0x3,ttl=7))", mod: func(s *summary) { s.TOS, s.TTL = 5|s.TOS&^3, 7 }},
	{acts: "set(ipv4(ttl=63)),set(ipv4(ttl=64))", mod: func(s *summary) {}},
	{acts: "set(ipv4(src=10.9.8.7,dst=10.6.5.4,proto=17,tos=0,ttl=1,frag=no))", only: flow.IPProtoUDP, mod: func(s *summary) {
		s.IPSrc, s.IPDst, s.TOS, s.TTL = v4("10.9.8.7"), v4("10.6.5.4"), 0, 1
	}},
	{acts: "set(ipv4(src=10.9.8.7,dst=10.6.5.4,proto=6,tos=0xff,ttl=255,frag=no))", only: flow.IPProtoTCP, mod: func(s *summary) {
		s.IPSrc, s.IPDst, s.TOS, s.TTL = v4("10.9.8.7"), v4("10.6.5.4"), 0xff, 255
	}},
	{acts: "set(tcp(src=1111,dst=2222))", mod: func(s *summary) {
		if s.Proto == flow.IPProtoTCP {
			s.SrcPort, s.DstPort = 1111, 2222
		}
	}},
	{acts: "set(tcp(dst=443))", mod: func(s *summary) {
		if s.Proto == flow.IPProtoTCP {
			s.DstPort = 443
		}
	}},
	{acts: "set(tcp(src=0,dst=65535))", mod: func(s *summary) {
		if s.Proto == flow.IPProtoTCP {
			s.SrcPort, s.DstPort = 0, 65535
		}
	}},
	{acts: "set(udp(dst=53))", mod: func(s *summary) {
		if s.Proto == flow.IPProtoUDP {
			s.DstPort = 53
		}
	}},
	{acts: "set(udp(src=5353,dst=53))", mod: func(s *summary) {
		if s.Proto == flow.IPProtoUDP {
			s.SrcPort, s.DstPort = 5353, 53
		}
	}},
	{acts: "set(udp(src=0x1200/0xff00))", mod: func(s *summary) {
		if s.Proto == flow.IPProtoUDP {
			s.SrcPort = 0x1200 | s.SrcPort&0xff
		}
	}},
	{acts: "set(eth(src=02:00:00:00:00:aa,dst=02:00:00:00:00:bb))", mod: func(s *summary) {
		s.EthSrc, s.EthDst = "02:00:00:00:00:aa", "02:00:00:00:00:bb"
	}},
	{acts: "set(eth(dst=ff:00:00:00:00:00/ff:00:00:00:00:00))", mod: func(s *summary) {
		s.EthDst = "ff" + s.EthDst[2:]
	}},
	{
		acts: "set(eth(dst=02:00:00:00:00:bb)),set(ipv4(src=192.168.0.1,dst=192.168.0.2,ttl=5)),set(udp(src=5353,dst=53)),set(tcp(src=80,dst=8080)),9",
		mod: func(s *summary) {
			s.EthDst = "02:00:00:00:00:bb"
			s.IPSrc, s.IPDst, s.TTL = v4("192.168.0.1"), v4("192.168.0.2"), 5
			switch s.Proto {
			case flow.IPProtoUDP:
				s.SrcPort, s.DstPort = 5353, 53
			case flow.IPProtoTCP:
				s.SrcPort, s.DstPort = 80, 8080
			}
		},
	},
}

// TestExecuteRewrites checks every set action on UDP and TCP frames in
// several L2 shapes against an independently built expected frame, with
// checksums recomputed from scratch, and against gopacket's decoding.
func TestExecuteRewrites(t *testing.T) {
	var x actions.Executor
	for _, fk := range frameKinds {
		for _, lo := range layouts {
			frame := append(fk.build(lo.vlan, lo.payload), lo.pad...)
			if ip, l4 := sumsValid(frame); !ip || !l4 {
				t.Fatalf("%s/%s: base frame has bad checksums", fk.name, lo.name)
			}
			orig := decodeSummary(t, frame)
			// The cases run alone and after a hash, which changes
			// the key only: Execute runs lists of sets itself, and
			// other lists in its general loop.
			for _, c := range execCases {
				for _, pre := range []string{"", "hash(l4(0)),"} {
					if c.only != 0 && c.only != orig.Proto {
						continue
					}
					name := fk.name + "/" + lo.name + "/" + pre + c.acts
					l := mustParse(t, pre+c.acts)
					exp := orig
					c.mod(&exp)
					want := bytes.Clone(frame)
					writeSummary(want, exp)
					fixSums(want)

					pkt := newPkt(frame)
					var sink recSink
					x.Reset()
					run(&x, pkt, l, &sink)
					got := pkt.Bytes()
					if !bytes.Equal(got, want) {
						t.Errorf("%s: frame differs from expected:%s", name, diff(got, want))
					}
					if ip, l4 := sumsValid(got); !ip || !l4 {
						t.Errorf("%s: checksums invalid: ip %v, l4 %v", name, ip, l4)
					}
					if s := decodeSummary(t, got); s != exp {
						t.Errorf("%s: decoded\n%+v\nwant\n%+v", name, s, exp)
					}
					if fk.noCsum {
						h, _ := locate(got)
						if c := be.Uint16(got[h.l4+6:]); c != 0 {
							t.Errorf("%s: zero UDP checksum became %#04x", name, c)
						}
					}
					if !bytes.Equal(got[len(got)-len(lo.pad):], lo.pad) {
						t.Errorf("%s: Ethernet padding changed", name)
					}
					// Outputs after the last set see the final frame, uncopied.
					for _, o := range sink.outs {
						if o.pkt != pkt || !bytes.Equal(o.data, want) {
							t.Errorf("%s: output to %d is not the final packet", name, o.port)
						}
					}
				}
			}
		}
	}
}

// findZeroSum returns a set action that rewrites field of UDP frame so
// that its checksum, computed from scratch, is zero (and so is sent as
// 0xffff).
func findZeroSum(t *testing.T, frame []byte, field string) string {
	t.Helper()
	h, _ := locate(frame)
	b := bytes.Clone(frame)
	for v := 0; v < 1<<16; v++ {
		switch field {
		case "dst-port":
			be.PutUint16(b[h.l4+2:], uint16(v))
		case "src-port":
			be.PutUint16(b[h.l4:], uint16(v))
		case "ip-src":
			be.PutUint16(b[h.l3+14:], uint16(v))
		}
		if bytes.Equal(b, frame) {
			continue // no rewrite would happen
		}
		be.PutUint16(b[h.l4+6:], 0)
		if inetChecksum(pseudo(b, h), b[h.l4:h.end]) != 0 {
			continue
		}
		switch field {
		case "dst-port":
			return "set(udp(dst=" + strconv.Itoa(v) + "))"
		case "src-port":
			return "set(udp(src=" + strconv.Itoa(v) + "/0xffff))"
		case "ip-src":
			a := h.l3 + 12
			return "set(ipv4(src=" + netip.AddrFrom4([4]byte{b[a], b[a+1], b[a+2], b[a+3]}).String() + "))"
		}
	}
	t.Fatalf("no %s value makes the checksum zero", field)
	return ""
}

func TestUDPChecksumZeroBecomesFFFF(t *testing.T) {
	for _, vlan := range []int{0, 5} {
		for _, field := range []string{"dst-port", "src-port", "ip-src"} {
			frame := testpkt.UDP(testpkt.Frame{VLAN: vlan, SrcPort: 1234, DstPort: 5678, Payload: []byte("payload!")})
			acts := findZeroSum(t, frame, field)
			pkt := newPkt(frame)
			var x actions.Executor
			run(&x, pkt, mustParse(t, acts), &recSink{})
			got := pkt.Bytes()
			h, _ := locate(got)
			if c := be.Uint16(got[h.l4+6:]); c != 0xffff {
				t.Errorf("vlan %d %s: %s: UDP checksum %#04x, want 0xffff", vlan, field, acts, c)
			}
			if ip, l4 := sumsValid(got); !ip || !l4 {
				t.Errorf("vlan %d %s: %s: checksums invalid: ip %v l4 %v", vlan, field, acts, ip, l4)
			}
			want := bytes.Clone(got)
			fixSums(want)
			if !bytes.Equal(got, want) {
				t.Errorf("vlan %d %s: %s: differs from recomputation:%s", vlan, field, acts, diff(got, want))
			}
		}
	}
}

// TestUDPChecksumFFFFStaysValid starts from a frame whose checksum is
// already 0xffff and rewrites it away and back.
func TestUDPChecksumFFFFStaysValid(t *testing.T) {
	frame := testpkt.UDP(testpkt.Frame{SrcPort: 1234, DstPort: 5678, Payload: []byte("payload!")})
	acts := findZeroSum(t, frame, "dst-port")
	var x actions.Executor
	pkt := newPkt(frame)
	run(&x, pkt, mustParse(t, acts), &recSink{})
	for _, back := range []string{"set(udp(dst=5678))", "set(ipv4(src=10.0.0.9))", "set(udp(src=1,dst=2))", acts} {
		run(&x, pkt, mustParse(t, back), &recSink{})
		if ip, l4 := sumsValid(pkt.Bytes()); !ip || !l4 {
			t.Errorf("after %s: checksums invalid", back)
		}
		want := bytes.Clone(pkt.Bytes())
		fixSums(want)
		if !bytes.Equal(pkt.Bytes(), want) {
			t.Errorf("after %s: differs from recomputation:%s", back, diff(pkt.Bytes(), want))
		}
	}
}

// TestExecuteNoOps checks that set actions leave alone frames that do not
// have the header they rewrite.
func TestExecuteNoOps(t *testing.T) {
	ipv6 := testpkt.UDP(testpkt.Frame{IPSrc: "2001:db8::1", IPDst: "2001:db8::2", SrcPort: 1, DstPort: 2})
	later := testpkt.UDP(testpkt.Frame{SrcPort: 1, DstPort: 2, Payload: []byte("0123456789abcdefghij")})
	be.PutUint16(later[14+6:], 0x0003) // fragment offset 24 bytes
	fixSums(later)
	truncated := testpkt.TCP(testpkt.Frame{SrcPort: 1, DstPort: 2, Payload: []byte("0123456789")})
	truncated = truncated[:len(truncated)-4] // IP total length exceeds the frame
	shortTCP := testpkt.TCP(testpkt.Frame{SrcPort: 1, DstPort: 2, Payload: []byte("0123456789")})
	shortTCP[14+20+12] = 4 << 4 // data offset 16 bytes: invalid
	fixSums(shortTCP)
	tests := []struct {
		name  string
		frame []byte
		acts  []string
	}{
		{"arp", testpkt.ARPRequest(testpkt.Frame{}), []string{"set(ipv4(src=1.1.1.1,ttl=1))", "set(udp(dst=1))", "set(tcp(dst=1))"}},
		{"ipv6", ipv6, []string{"set(ipv4(src=1.1.1.1,ttl=1))", "set(tcp(dst=1))"}},
		{"icmp", testpkt.ICMPEcho(testpkt.Frame{}), []string{"set(udp(dst=1))", "set(tcp(dst=1))"}},
		{"udp", testpkt.UDP(testpkt.Frame{SrcPort: 1, DstPort: 2}), []string{"set(tcp(src=9,dst=9))", "drop", "", "1,2,3"}},
		{"tcp", testpkt.TCP(testpkt.Frame{SrcPort: 1, DstPort: 2}), []string{"set(udp(src=9,dst=9))"}},
		{"later-fragment", later, []string{"set(udp(src=9,dst=9))"}},
		{"truncated", truncated, []string{"set(ipv4(ttl=1))", "set(tcp(dst=9))"}},
		{"bad-tcp-offset", shortTCP, []string{"set(tcp(dst=9))"}},
		{"runt", []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}, []string{"set(eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02))", "set(ipv4(ttl=1))"}},
	}
	var x actions.Executor
	for _, tt := range tests {
		for _, a := range tt.acts {
			pkt := newPkt(tt.frame)
			var sink recSink
			x.Reset()
			run(&x, pkt, mustParse(t, a), &sink)
			if !bytes.Equal(pkt.Bytes(), tt.frame) {
				t.Errorf("%s: %q changed the frame:%s", tt.name, a, diff(pkt.Bytes(), tt.frame))
			}
		}
	}
}

// TestExecuteOtherHeaders checks rewrites whose effects the main table
// does not cover: ICMP and IPv4 later fragments (IP header only), IPv6
// ports, and Ethernet rewrites of non-IP frames.
func TestExecuteOtherHeaders(t *testing.T) {
	var x actions.Executor

	icmp := testpkt.ICMPEcho(testpkt.Frame{Payload: []byte("ping")})
	pkt := newPkt(icmp)
	run(&x, pkt, mustParse(t, "set(ipv4(src=10.1.1.1,ttl=3))"), &recSink{})
	want := bytes.Clone(icmp)
	copy(want[14+12:], []byte{10, 1, 1, 1})
	want[14+8] = 3
	fixSums(want) // the ICMP checksum does not cover addresses
	if !bytes.Equal(pkt.Bytes(), want) {
		t.Errorf("icmp: %s", diff(pkt.Bytes(), want))
	}

	later := testpkt.UDP(testpkt.Frame{SrcPort: 1, DstPort: 2, Payload: []byte("0123456789abcdefghij")})
	be.PutUint16(later[14+6:], 0x2003) // MF, offset 24
	fixSums(later)
	pkt = newPkt(later)
	run(&x, pkt, mustParse(t, "set(ipv4(dst=10.2.2.2))"), &recSink{})
	want = bytes.Clone(later)
	copy(want[14+16:], []byte{10, 2, 2, 2})
	fixSums(want) // IP header only: locate marks it a fragment
	if !bytes.Equal(pkt.Bytes(), want) {
		t.Errorf("later fragment: %s", diff(pkt.Bytes(), want))
	}

	ipv6 := testpkt.UDP(testpkt.Frame{IPSrc: "2001:db8::1", IPDst: "2001:db8::2", SrcPort: 1, DstPort: 2, Payload: []byte("six")})
	pkt = newPkt(ipv6)
	run(&x, pkt, mustParse(t, "set(udp(src=4000,dst=53))"), &recSink{})
	p := gopacket.NewPacket(pkt.Bytes(), layers.LayerTypeEthernet, gopacket.Default)
	udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
	if udp == nil || udp.SrcPort != 4000 || udp.DstPort != 53 {
		t.Fatalf("ipv6: ports not rewritten: %v", p)
	}
	// Recompute the checksum with gopacket over the IPv6 pseudo-header.
	ip6 := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	var ph []byte
	ph = append(ph, ip6.SrcIP...)
	ph = append(ph, ip6.DstIP...)
	ph = append(ph, 0, 0, byte(len(ip6.Payload)>>8), byte(len(ip6.Payload)), 0, 0, 0, 17)
	if s := fold(sum16(ph) + sum16(ip6.Payload)); s != 0xffff {
		t.Errorf("ipv6: UDP checksum invalid (sum %#04x)", s)
	}

	arp := testpkt.ARPRequest(testpkt.Frame{})
	pkt = newPkt(arp)
	run(&x, pkt, mustParse(t, "set(eth(src=02:00:00:00:00:aa))"), &recSink{})
	want = bytes.Clone(arp)
	copy(want[6:12], macBytes("02:00:00:00:00:aa"))
	if !bytes.Equal(pkt.Bytes(), want) {
		t.Errorf("arp: %s", diff(pkt.Bytes(), want))
	}
}

func TestExecuteCopySemantics(t *testing.T) {
	frame := testpkt.UDP(testpkt.Frame{SrcPort: 1, DstPort: 2, Payload: []byte("copy me")})
	ttl1 := bytes.Clone(frame)
	ttl1[14+8] = 1
	fixSums(ttl1)

	t.Run("output-set-output", func(t *testing.T) {
		var x actions.Executor
		pkt := newPkt(frame)
		pkt.Timestamp = 42
		var sink recSink
		run(&x, pkt, mustParse(t, "2,set(ipv4(ttl=1)),3"), &sink)
		if len(sink.outs) != 2 || sink.outs[0].port != 2 || sink.outs[1].port != 3 {
			t.Fatalf("outputs %+v", sink.outs)
		}
		o2, o3 := sink.outs[0], sink.outs[1]
		if o2.pkt == pkt {
			t.Errorf("port 2 got the packet itself, want a copy")
		}
		if !bytes.Equal(o2.pkt.Bytes(), frame) {
			t.Errorf("port 2 copy changed after output:%s", diff(o2.pkt.Bytes(), frame))
		}
		if o2.pkt.Timestamp != 42 {
			t.Errorf("copy timestamp %d, want 42", o2.pkt.Timestamp)
		}
		if o3.pkt != pkt {
			t.Errorf("port 3 got a copy, want the packet itself")
		}
		if !bytes.Equal(o3.pkt.Bytes(), ttl1) {
			t.Errorf("port 3:%s", diff(o3.pkt.Bytes(), ttl1))
		}
	})

	t.Run("output-output", func(t *testing.T) {
		var x actions.Executor
		pkt := newPkt(frame)
		var sink recSink
		run(&x, pkt, mustParse(t, "2,3"), &sink)
		if len(sink.outs) != 2 {
			t.Fatalf("outputs %+v", sink.outs)
		}
		for _, o := range sink.outs {
			if o.pkt != pkt || !bytes.Equal(o.pkt.Bytes(), frame) {
				t.Errorf("port %d: not the unmodified packet", o.port)
			}
		}
	})

	t.Run("drop", func(t *testing.T) {
		var x actions.Executor
		for _, a := range []string{"", "drop"} {
			pkt := newPkt(frame)
			var sink recSink
			run(&x, pkt, mustParse(t, a), &sink)
			if len(sink.outs) != 0 || !bytes.Equal(pkt.Bytes(), frame) {
				t.Errorf("%q: outputs %d, frame changed %v", a, len(sink.outs), !bytes.Equal(pkt.Bytes(), frame))
			}
		}
	})

	t.Run("chain", func(t *testing.T) {
		var x actions.Executor
		pkt := newPkt(frame)
		var sink recSink
		run(&x, pkt, mustParse(t, "1,set(ipv4(ttl=63)),2,set(ipv4(ttl=62)),3,4"), &sink)
		wantTTL := []uint8{64, 63, 62, 62}
		if len(sink.outs) != 4 {
			t.Fatalf("outputs %+v", sink.outs)
		}
		seen := map[*dpio.Packet]bool{}
		for i, o := range sink.outs {
			if o.port != uint32(i+1) {
				t.Errorf("output %d to port %d", i, o.port)
			}
			if got := o.pkt.Bytes()[14+8]; got != wantTTL[i] {
				t.Errorf("port %d: ttl %d, want %d", o.port, got, wantTTL[i])
			}
			if ip, l4 := sumsValid(o.pkt.Bytes()); !ip || !l4 {
				t.Errorf("port %d: bad checksums", o.port)
			}
			if i < 2 {
				if o.pkt == pkt || seen[o.pkt] {
					t.Errorf("port %d: not a fresh copy", o.port)
				}
				seen[o.pkt] = true
			} else if o.pkt != pkt {
				t.Errorf("port %d: a copy, want the packet", o.port)
			}
		}
	})

	t.Run("reset-reuses", func(t *testing.T) {
		var x actions.Executor
		l := mustParse(t, "2,set(ipv4(ttl=1)),3")
		pkt := newPkt(frame)
		var s1, s2, s3 recSink
		run(&x, pkt, l, &s1)
		first := s1.outs[0].pkt
		// Without Reset the lent copy must not be reused.
		pkt2 := newPkt(ttl1)
		run(&x, pkt2, l, &s2)
		if s2.outs[0].pkt == first {
			t.Errorf("copy reused before Reset")
		}
		if !bytes.Equal(first.Bytes(), frame) {
			t.Errorf("first copy clobbered before Reset")
		}
		x.Reset()
		run(&x, newPkt(frame), l, &s3)
		if s3.outs[0].pkt != first {
			t.Errorf("copy not reused after Reset")
		}
	})

	t.Run("jumbo", func(t *testing.T) {
		var x actions.Executor
		l := mustParse(t, "2,set(eth(src=02:00:00:00:00:01)),3")
		small := newPkt(frame)
		var sink recSink
		run(&x, small, l, &sink)
		x.Reset()
		big := make([]byte, dpio.DefaultBufferSize+1000)
		copy(big, frame)
		bigPkt := dpio.NewPacket(0, len(big)) // no headroom either
		bigPkt.SetBytes(big)
		sink = recSink{}
		run(&x, bigPkt, l, &sink)
		if c := sink.outs[0].pkt; c == bigPkt || !bytes.Equal(c.Bytes(), big) {
			t.Errorf("copy of a %d-byte frame wrong (len %d)", len(big), c.Len())
		}
		x.Reset()
		sink = recSink{}
		run(&x, newPkt(frame), l, &sink)
		if !bytes.Equal(sink.outs[0].pkt.Bytes(), frame) {
			t.Errorf("reused big copy wrong")
		}
	})
}

func TestExecuteNoAllocs(t *testing.T) {
	frame := testpkt.UDP(testpkt.Frame{SrcPort: 1, DstPort: 2, Payload: make([]byte, 22)})
	for _, a := range []string{"set(ipv4(ttl=63)),2", "2,set(ipv4(ttl=1)),3", "1,set(ipv4(ttl=63)),2,set(udp(dst=9)),3,set(eth(src=02:00:00:00:00:01)),4"} {
		l := mustParse(t, a)
		var x actions.Executor
		pkt := newPkt(frame)
		var k flow.Key
		var lay flow.Layout
		flow.ExtractLayout(pkt.Bytes(), 1, &k, &lay)
		var sink countSink
		step := func() {
			sink.reset()
			x.Reset()
			x.Execute(pkt, &k, &lay, l, &sink)
		}
		step() // warm up: allocate the copies
		if n := testing.AllocsPerRun(100, step); n != 0 {
			t.Errorf("%s: %v allocations per run, want 0", a, n)
		}
	}
}

// TestRecalc checks Recalc16 and Recalc32 against full recomputation on
// random data.
func TestRecalc(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	const n = 200000
	for i := 0; i < n; i++ {
		words := 2 + r.IntN(40)
		b := make([]byte, words*2)
		switch r.IntN(8) {
		case 0: // extreme words
			for j := range b {
				b[j] = []byte{0, 0xff}[r.IntN(2)]
			}
		default:
			for j := range b {
				b[j] = byte(r.Uint32())
			}
		}
		csum := inetChecksum(b)
		wide := r.IntN(2) == 0
		w := r.IntN(words - 1)
		nb := bytes.Clone(b)
		var got uint16
		if wide {
			old := be.Uint32(b[w*2:])
			nv := r.Uint32()
			switch r.IntN(4) {
			case 0:
				nv = old
			case 1:
				nv = ^old
			}
			be.PutUint32(nb[w*2:], nv)
			got = actions.Recalc32(csum, old, nv)
		} else {
			old := be.Uint16(b[w*2:])
			nv := uint16(r.Uint32())
			switch r.IntN(4) {
			case 0:
				nv = old
			case 1:
				nv = ^old
			}
			be.PutUint16(nb[w*2:], nv)
			got = actions.Recalc16(csum, old, nv)
		}
		want := inetChecksum(nb)
		if got == want {
			continue
		}
		// 0 and 0xffff are the same one's complement number; only an
		// all-zero buffer makes a from-scratch checksum 0xffff.
		if (got == 0 || got == 0xffff) && (want == 0 || want == 0xffff) && !bytes.ContainsFunc(nb, func(r rune) bool { return r != 0 }) {
			continue
		}
		t.Fatalf("seed %d: data % x word %d wide %v: incremental %#04x, full %#04x (data after % x)", seed, b, w, wide, got, want, nb)
	}
}

func TestRecalcKnown(t *testing.T) {
	// RFC 1624 section 4 example shape: words 0xcd7a and 0x5555 ->
	// 0x3285 change.
	data := []byte{0x12, 0x34, 0xcd, 0x7a, 0x00, 0x01}
	c := inetChecksum(data)
	be.PutUint16(data[2:], 0x3285)
	if got, want := actions.Recalc16(c, 0xcd7a, 0x3285), inetChecksum(data); got != want {
		t.Errorf("Recalc16 = %#04x, want %#04x", got, want)
	}
	if got := actions.Recalc16(0x1234, 0x5678, 0x5678); got != 0x1234 {
		t.Errorf("Recalc16 with no change = %#04x, want 0x1234", got)
	}
	if got := actions.Recalc32(0xabcd, 0x01020304, 0x01020304); got != 0xabcd {
		t.Errorf("Recalc32 with no change = %#04x, want 0xabcd", got)
	}
}

// metaSink records the keys that recirc and userspace see.
type metaSink struct {
	countSink
	recirc []flow.Key
	upcall []flow.Key
}

func (s *metaSink) Recirculate(_ *dpio.Packet, k *flow.Key) { s.recirc = append(s.recirc, *k) }
func (s *metaSink) Userspace(_ *dpio.Packet, k *flow.Key, _ *actions.Userspace, _ actions.List) {
	s.upcall = append(s.upcall, *k)
}

// TestExecuteMetadata checks the key that later actions see after the
// actions that change only the key, including where the executor leaves
// a change out because only outputs follow it.
func TestExecuteMetadata(t *testing.T) {
	frame := testpkt.UDP(testpkt.Frame{SrcPort: 1000, DstPort: 2000, Payload: make([]byte, 22)})
	hashOf := func(acts string) uint32 {
		var x actions.Executor
		var s metaSink
		run(&x, newPkt(frame), mustParse(t, acts), &s)
		if len(s.recirc) != 1 {
			t.Fatalf("%s: %d recirculations", acts, len(s.recirc))
		}
		return s.recirc[0].DpHash
	}
	h0, h1 := hashOf("hash(l4(0)),recirc(1)"), hashOf("hash(l4(1)),recirc(1)")
	if h0 == 0 || h0 == h1 {
		t.Fatalf("dp_hash %#x and %#x", h0, h1)
	}
	type meta struct{ mark, prio, hash, recirc uint32 }
	for _, tt := range []struct {
		acts           string
		recirc, upcall []meta
	}{
		{acts: "set(skb_mark(0x1)),hash(l4(0)),set(skb_priority(0x2)),ct_clear,2,recirc(3)", recirc: []meta{{1, 2, h0, 3}}},
		{acts: "set(skb_mark(0x1)),2,set(skb_mark(0x5)),hash(l4(1)),3,userspace(pid=1),set(skb_priority(0x7)),4", upcall: []meta{{5, 0, h1, 0}}},
		{acts: "hash(l4(0)),set(skb_mark(0x9)),2,clone(set(skb_mark(0x4/0xf)),recirc(5)),set(skb_priority(0x3)),2,recirc(6)",
			recirc: []meta{{4 | 0x9&^0xf, 0, h0, 5}, {9, 3, h0, 6}}},
		{acts: "clone(hash(l4(1)),set(skb_mark(0x2)),2),recirc(7)", recirc: []meta{{0, 0, 0, 7}}},
		{acts: "set(skb_mark(0x1)),hash(l4(1)),ct_clear,2,3"},
	} {
		var x actions.Executor
		var s metaSink
		pkt := newPkt(frame)
		var k flow.Key
		var lay flow.Layout
		flow.ExtractLayout(pkt.Bytes(), 1, &k, &lay)
		orig := k
		x.Execute(pkt, &k, &lay, mustParse(t, tt.acts), &s)
		if err := x.Err(); err != nil {
			t.Errorf("%s: %v", tt.acts, err)
		}
		if k != orig {
			t.Errorf("%s: the caller's key changed", tt.acts)
		}
		got := func(ks []flow.Key) []meta {
			var m []meta
			for _, k := range ks {
				m = append(m, meta{k.SkbMark, k.Priority, k.DpHash, k.RecircID})
			}
			return m
		}
		if g := got(s.recirc); !reflect.DeepEqual(g, tt.recirc) {
			t.Errorf("%s: recirc saw %+v, want %+v", tt.acts, g, tt.recirc)
		}
		if g := got(s.upcall); !reflect.DeepEqual(g, tt.upcall) {
			t.Errorf("%s: userspace saw %+v, want %+v", tt.acts, g, tt.upcall)
		}
		if len(s.ports) == 0 {
			t.Errorf("%s: no output", tt.acts)
		}
	}
}

// TestSetTunnel checks the tunnel key that later actions see after
// set(tunnel(...)): an unmasked set replaces the whole tunnel key (a
// tunnel id making it keyed), a masked one writes only its mask's bits.
func TestSetTunnel(t *testing.T) {
	frame := testpkt.UDP(testpkt.Frame{SrcPort: 1000, DstPort: 2000})
	runList := func(l actions.List, start func(*flow.Key)) flow.Key {
		t.Helper()
		if err := l.Validate(); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		var x actions.Executor
		var s metaSink
		pkt := newPkt(frame)
		var k flow.Key
		var lay flow.Layout
		flow.ExtractLayout(pkt.Bytes(), 1, &k, &lay)
		start(&k)
		x.Execute(pkt, &k, &lay, l, &s)
		if err := x.Err(); err != nil || len(s.recirc) != 1 || len(s.ports) != 1 {
			t.Fatalf("%s: err %v, %d recirculations, %d outputs", l, err, len(s.recirc), len(s.ports))
		}
		return s.recirc[0]
	}
	run := func(acts string, start func(*flow.Key)) flow.Key {
		t.Helper()
		return runList(mustParse(t, acts), start)
	}
	// A packet that came in on a tunnel (tos 5, tp_src 99, a Geneve
	// option) whose tunnel key is then replaced.
	arrived := func(k *flow.Key) {
		k.TunDst, k.TunTOS, k.TunTpSrc, k.TunTTL = [4]byte{9, 9, 9, 9}, 5, 99, 3
		k.TunGeneveLen, k.TunGeneve[0], k.TunFlags = 8, 0xab, flow.TunFlagGeneve|flow.TunFlagCsum
	}
	var set actions.Action
	for _, a := range mustParse(t, "set(tunnel(tun_id=0x5,src=1.1.1.1,dst=2.2.2.2,ttl=64,tp_dst=4789,flags(df)))") {
		set = a
	}
	// OVS's parser makes most set(tunnel(...)) texts masked sets (key
	// and mask have the same attributes); the unmasked form, the one OVS
	// itself builds for a datapath, is made here from the parsed key.
	set = actions.Action{Type: actions.TypeSet, Attr: actions.AttrTunnel, Set: &actions.Set{Key: set.Set.Key, Mask: set.Set.Mask}}
	got := runList(actions.List{set, actions.Output(2), actions.Recirc(1)}, arrived)
	var want flow.Key
	want.TunID, want.TunSrc, want.TunDst, want.TunTTL, want.TunTpDst = 5, [4]byte{1, 1, 1, 1}, [4]byte{2, 2, 2, 2}, 64, 4789
	want.TunFlags = flow.TunFlagKey | flow.TunFlagDF
	var gotTun flow.Key
	gotTun.SetTunnel(&got)
	if gotTun != want {
		t.Errorf("unmasked set: tunnel key\n%s\nwant\n%s", tunString(&gotTun), tunString(&want))
	}
	if got.NwDst != [4]byte{10, 0, 0, 2} || got.TpDst != 2000 {
		t.Errorf("unmasked set changed the packet fields of the key")
	}

	// The masked form writes what its mask covers and keeps the rest
	// (tos, tp_src, the option).
	got = run("set(tunnel(tun_id=0x5,dst=2.2.2.2,ttl=64)),2,recirc(1)", arrived)
	if got.TunID != 5 || got.TunDst != [4]byte{2, 2, 2, 2} || got.TunTTL != 64 || got.TunFlags&flow.TunFlagKey == 0 ||
		got.TunTOS != 5 || got.TunTpSrc != 99 || got.TunGeneveLen != 8 || got.TunGeneve[0] != 0xab {
		t.Errorf("masked set: tunnel key %s", tunString(&got))
	}
	// As in every masked set, the value's bits outside the mask are
	// written too (value | old &^ mask).
	got = run("set(tunnel(dst=2.2.2.2/255.255.0.0,ttl=64/0xf0)),2,recirc(1)", arrived)
	if got.TunDst != [4]byte{2, 2, 2 | 9, 2 | 9} || got.TunTTL != 64|3&^0xf0 || got.TunTOS != 5 {
		t.Errorf("partly masked set: tunnel key %s", tunString(&got))
	}
}

// tunString prints the tunnel fields TestSetTunnel looks at.
func tunString(k *flow.Key) string {
	return "id " + strconv.FormatUint(k.TunID, 16) + " " +
		netip.AddrFrom4(k.TunSrc).String() + "->" + netip.AddrFrom4(k.TunDst).String() +
		" tos " + strconv.Itoa(int(k.TunTOS)) + " ttl " + strconv.Itoa(int(k.TunTTL)) +
		" ports " + strconv.Itoa(int(k.TunTpSrc)) + "->" + strconv.Itoa(int(k.TunTpDst)) +
		" flags " + strconv.FormatUint(uint64(k.TunFlags), 16) + " geneve " + strconv.Itoa(int(k.TunGeneveLen))
}

// TestAddMPLSFront checks add_mpls without the layer 3 flag (OVS's only
// form): the entry goes at the very start and the packet becomes of type
// MPLS, whether it was Ethernet or layer 3. Its bytes are checked against
// OVS in examples/pcapswitch (TestAddMPLSAgainstOVS).
func TestAddMPLSFront(t *testing.T) {
	frame := testpkt.UDP(testpkt.Frame{SrcPort: 1000, DstPort: 2000})
	for _, tc := range []struct {
		acts string
		want []byte // the packet at the recirculation
	}{
		{"add_mpls(label=7,tc=3,ttl=64,bos=1,eth_type=0x8847),recirc(1)", append([]byte{0, 0, 0x77, 0x40}, frame...)},
		{"pop_eth,add_mpls(label=100,tc=0,ttl=9,bos=1,eth_type=0x8847),recirc(1)", append([]byte{0, 0x06, 0x41, 0x09}, frame[14:]...)},
	} {
		var x actions.Executor
		var s metaSink
		pkt := newPkt(frame)
		var k flow.Key
		var lay flow.Layout
		flow.ExtractLayout(pkt.Bytes(), 1, &k, &lay)
		l := mustParse(t, tc.acts)
		if err := l.Validate(); err != nil {
			t.Fatalf("%s: %v", tc.acts, err)
		}
		x.Execute(pkt, &k, &lay, l, &s)
		if err := x.Err(); err != nil || len(s.recirc) != 1 {
			t.Fatalf("%s: err %v, %d recirculations", tc.acts, err, len(s.recirc))
		}
		if got := s.recirc[0]; got.PacketType != flow.PacketTypeMPLS || got.EthType != flow.EthTypeMPLS {
			t.Errorf("%s: key packet type %#x eth_type %#x, want MPLS", tc.acts, got.PacketType, got.EthType)
		}
		if !bytes.Equal(pkt.Bytes(), tc.want) {
			t.Errorf("%s: packet\n%x\nwant\n%x", tc.acts, pkt.Bytes(), tc.want)
		}
	}
}
