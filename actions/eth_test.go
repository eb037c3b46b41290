package actions_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/flow"
	"github.com/b7cafead/datapath/internal/testpkt"
	dpio "github.com/b7cafead/datapath/io"
)

// keySink records outputs, and the key each userspace action sees.
type keySink struct {
	recSink
	keys []flow.Key
}

func (s *keySink) Userspace(p *dpio.Packet, k *flow.Key, u *actions.Userspace, _ actions.List) {
	s.keys = append(s.keys, *k)
}

// runType extracts pkt as a packet of type pt and executes l on it.
func runType(x *actions.Executor, pkt *dpio.Packet, pt uint32, l actions.List, sink actions.Sink) {
	var k flow.Key
	var lay flow.Layout
	flow.ExtractLayoutType(pkt.Bytes(), 1, pt, &k, &lay)
	x.Execute(pkt, &k, &lay, l, sink)
}

// wantKey returns the key of frame b of type pt as extraction gives it.
func wantKey(b []byte, pt uint32) flow.Key {
	var k flow.Key
	var lay flow.Layout
	flow.ExtractLayoutType(b, 1, pt, &k, &lay)
	return k
}

var (
	macA = [6]byte{0x0a, 0, 0, 0, 0, 0xa}
	macB = [6]byte{0x0b, 0, 0, 0, 0, 0xb}
)

func TestPopEth(t *testing.T) {
	udp4 := testpkt.UDP(testpkt.Frame{SrcPort: 5, DstPort: 6, Payload: []byte("abc")})
	udp4v := testpkt.UDP(testpkt.Frame{VLAN: 7, SrcPort: 5, DstPort: 6, Payload: []byte("abc")})
	tcp6 := testpkt.TCP(testpkt.Frame{IPSrc: "::1", IPDst: "::2", TCPFlags: "S"})
	arp := testpkt.ARPRequest(testpkt.Frame{})
	// Two VLAN tags, then MPLS: the header goes up to the label stack.
	mpls := append([]byte{0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x88, 0xa8, 0, 1, 0x81, 0, 0, 2, 0x88, 0x47,
		0, 0x01, 0x01, 0x40}, udp4[14:]...)
	// LLC/SNAP with the Ethernet OUI.
	snap := append([]byte{0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0, byte(8 + len(udp4) - 14),
		0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00}, udp4[14:]...)
	// 802.3 without SNAP: the packet type is the length field, as OVS.
	llc := []byte{0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0, 6, 0x42, 0x42, 3, 1, 2, 3}
	for _, tc := range []struct {
		name  string
		frame []byte
		rest  []byte // the packet after pop_eth
		pt    uint32
	}{
		{"ipv4", udp4, udp4[14:], flow.PacketTypeIPv4},
		{"vlan ipv4", udp4v, udp4v[18:], flow.PacketTypeIPv4},
		{"ipv6", tcp6, tcp6[14:], flow.PacketTypeIPv6},
		{"arp", arp, arp[14:], flow.PacketTypeOf(0x0806)},
		{"qinq mpls", mpls, mpls[22:], flow.PacketTypeMPLS},
		{"snap", snap, snap[22:], flow.PacketTypeIPv4},
		{"llc", llc, llc[14:], flow.PacketTypeOf(6)},
		{"header only", udp4[:14], nil, flow.PacketTypeIPv4},
	} {
		var x actions.Executor
		var sink keySink
		pkt := newPkt(tc.frame)
		runType(&x, pkt, flow.PacketTypeEthernet, mustParse(t, "pop_eth,userspace(pid=1),2"), &sink)
		if err := x.Err(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(sink.outs) != 1 || !bytes.Equal(sink.outs[0].data, tc.rest) {
			t.Errorf("%s: sent %v, want %x", tc.name, sink.outs, tc.rest)
			continue
		}
		// The key the later actions see is the one the new packet
		// extracts to (metadata aside).
		if len(sink.keys) != 1 {
			t.Fatalf("%s: %d upcalls", tc.name, len(sink.keys))
		}
		if want := wantKey(tc.rest, tc.pt); sink.keys[0] != want {
			t.Errorf("%s: key after pop_eth\n%s\nwant\n%s", tc.name, flow.FormatKey(&sink.keys[0], &sink.keys[0]), flow.FormatKey(&want, &want))
		}
	}
}

func TestPushEth(t *testing.T) {
	udp4 := testpkt.UDP(testpkt.Frame{SrcPort: 5, DstPort: 6, Payload: []byte("abc")})
	tcp6 := testpkt.TCP(testpkt.Frame{IPSrc: "::1", IPDst: "::2", TCPFlags: "S"})
	push := actions.List{{Type: actions.TypePushEth, Eth: actions.EthAddrs{Src: macA, Dst: macB}}, mustParse(t, "userspace(pid=1)")[0], actions.Output(2)}
	for _, tc := range []struct {
		name string
		l3   []byte
		pt   uint32
	}{
		{"ipv4", udp4[14:], flow.PacketTypeIPv4},
		{"ipv6", tcp6[14:], flow.PacketTypeIPv6},
		{"mpls", []byte{0, 1, 1, 0x40, 0x45}, flow.PacketTypeMPLS},
		{"empty", nil, flow.PacketTypeOf(0x1234)},
	} {
		for _, headroom := range []int{dpio.DefaultHeadroom, 0} {
			var x actions.Executor
			var sink keySink
			pkt := dpio.NewPacket(headroom, 256)
			pkt.SetBytes(tc.l3)
			runType(&x, pkt, tc.pt, push, &sink)
			want := append(append(append(macB[:0:0], macB[:]...), macA[:]...), byte(tc.pt>>8), byte(tc.pt))
			want = append(want, tc.l3...)
			if err := x.Err(); err != nil || len(sink.outs) != 1 || !bytes.Equal(sink.outs[0].data, want) {
				t.Errorf("%s (headroom %d): sent %v (%v), want %x", tc.name, headroom, sink.outs, err, want)
				continue
			}
			if k := wantKey(want, flow.PacketTypeEthernet); sink.keys[0] != k {
				t.Errorf("%s: key after push_eth\n%s\nwant\n%s", tc.name, flow.FormatKey(&sink.keys[0], &sink.keys[0]), flow.FormatKey(&k, &k))
			}
		}
	}
}

// TestEthRoundTrip pops the Ethernet header, changes the IP packet (the
// set and dec_ttl find its header at offset 0), and pushes a new one; an
// output in the middle sends the layer 3 packet.
func TestEthRoundTrip(t *testing.T) {
	// Payloads long enough that no frame is padded.
	payload := []byte(strings.Repeat("abcd", 10))
	frame := testpkt.UDP(testpkt.Frame{VLAN: 3, SrcPort: 5, DstPort: 6, Payload: payload})
	want := testpkt.UDP(testpkt.Frame{Src: "0a:00:00:00:00:0a", Dst: "0b:00:00:00:00:0b", TTL: 62, IPSrc: "10.9.9.9", SrcPort: 5, DstPort: 77, Payload: payload})
	mid := testpkt.UDP(testpkt.Frame{TTL: 63, IPSrc: "10.9.9.9", SrcPort: 5, DstPort: 77, Payload: payload})[14:]
	l := mustParse(t, "pop_eth,set(ipv4(src=10.9.9.9,ttl=63)),set(udp(dst=77)),1,dec_ttl(le_1(drop)),set(eth(src=0c:00:00:00:00:0c)),push_eth(src=0a:00:00:00:00:0a,dst=0b:00:00:00:00:0b),2")
	var x actions.Executor
	var sink recSink
	pkt := newPkt(frame)
	run(&x, pkt, l, &sink)
	if err := x.Err(); err != nil {
		t.Fatal(err)
	}
	if len(sink.outs) != 2 {
		t.Fatalf("outputs %v", sink.outs)
	}
	if d := diff(sink.outs[0].data, mid); d != "" {
		t.Errorf("layer 3 output: %s", d)
	}
	if d := diff(sink.outs[1].data, want); d != "" {
		t.Errorf("after push_eth: %s", d)
	}
	// The checksums are right: the frame is what testpkt builds.
	cs := &countSink{ports: make([]uint32, 0, 2), pkts: make([]*dpio.Packet, 0, 2)}
	var k flow.Key
	var lay flow.Layout
	if n := testing.AllocsPerRun(100, func() {
		x.Reset()
		cs.reset()
		p := newPktNoAlloc(pkt, frame)
		flow.ExtractLayout(p.Bytes(), 1, &k, &lay)
		x.Execute(p, &k, &lay, l, cs)
	}); n != 0 {
		t.Errorf("pop_eth ... push_eth allocates %v times", n)
	}
}

// newPktNoAlloc refills p with frame.
func newPktNoAlloc(p *dpio.Packet, frame []byte) *dpio.Packet {
	p.Reset(dpio.DefaultHeadroom)
	p.SetBytes(frame)
	return p
}

// TestEthTypeRefusals checks what the executor does with actions that do
// not fit the packet's type: push_eth on Ethernet, pop_eth and push_vlan
// and the MPLS actions on a packet that is not Ethernet are refused (the
// packet dropped, Err saying why); pop_vlan and set(eth) leave a packet
// without an Ethernet header alone, as OVS does.
func TestEthTypeRefusals(t *testing.T) {
	udp4 := testpkt.UDP(testpkt.Frame{})
	for _, tc := range []struct {
		acts string
		pt   uint32
		err  string // "" if it runs
	}{
		{"1,push_eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),2", flow.PacketTypeEthernet, "push_eth on a packet that has an Ethernet header"},
		{"1,pop_eth,2", flow.PacketTypeIPv4, "pop_eth on a packet without an Ethernet header"},
		{"1,pop_eth,pop_eth,2", flow.PacketTypeEthernet, "pop_eth on a packet without"},
		{"1,push_vlan(vid=1,pcp=0),2", flow.PacketTypeIPv4, "push_vlan on a packet that is not Ethernet"},
		{"1,push_mpls(label=1,tc=0,ttl=1,bos=1,eth_type=0x8847),2", flow.PacketTypeIPv4, "push_mpls on a packet that is not Ethernet"},
		{"1,pop_mpls(eth_type=0x800),2", flow.PacketTypeMPLS, "pop_mpls on a packet that is not Ethernet"},
		{"1,pop_vlan,2", flow.PacketTypeIPv4, ""},
		{"1,set(eth(src=00:00:00:00:00:09,dst=00:00:00:00:00:09)),2", flow.PacketTypeIPv4, ""},
	} {
		var x actions.Executor
		var sink recSink
		b := udp4[14:]
		if tc.pt == flow.PacketTypeEthernet {
			b = udp4
		}
		runType(&x, newPkt(b), tc.pt, mustParse(t, tc.acts), &sink)
		err := x.Err()
		if tc.err == "" {
			if err != nil || len(sink.outs) != 2 || !bytes.Equal(sink.outs[1].data, b) {
				t.Errorf("%s: %v, outputs %v, want the packet unchanged twice", tc.acts, err, sink.outs)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) || errors.Is(err, actions.ErrNotImplemented) {
			t.Errorf("%s: Err() = %v, want %q", tc.acts, err, tc.err)
		}
		if len(sink.outs) != 1 {
			t.Errorf("%s: %d outputs, want the one before the refusal", tc.acts, len(sink.outs))
		}
	}
	// Shorter than an Ethernet header: pop_eth is refused.
	var x actions.Executor
	var sink recSink
	run(&x, newPkt(udp4[:13]), mustParse(t, "pop_eth,2"), &sink)
	if x.Err() == nil || len(sink.outs) != 0 {
		t.Errorf("pop_eth of 13 bytes: %v, %v", x.Err(), sink.outs)
	}
}

// meterSink passes the first n packets of each meter id it is asked
// about.
type meterSink struct {
	recSink
	left map[uint32]int
	seen []uint32
}

func (s *meterSink) Meter(id uint32, p *dpio.Packet) bool {
	s.seen = append(s.seen, id)
	if n, ok := s.left[id]; ok {
		s.left[id] = n - 1
		return n > 0
	}
	return true
}

func TestMeterAction(t *testing.T) {
	frame := testpkt.UDP(testpkt.Frame{})
	l := mustParse(t, "1,meter(5),set(ipv4(ttl=9)),2,clone(meter(6),3),4")
	sink := &meterSink{left: map[uint32]int{5: 1, 6: 0}}
	var x actions.Executor
	for range 2 {
		x.Reset()
		run(&x, newPkt(frame), l, sink)
	}
	var ports []uint32
	for _, o := range sink.outs {
		ports = append(ports, o.port)
	}
	// First packet: 1, 2 and 4 (meter 6 drops the clone's copy);
	// second: 1 only.
	if got := ports; len(got) != 4 || got[0] != 1 || got[1] != 2 || got[2] != 4 || got[3] != 1 {
		t.Errorf("outputs to %v, want [1 2 4 1]", got)
	}
	if len(sink.seen) != 3 {
		t.Errorf("meters asked %v", sink.seen)
	}
	if x.Err() != nil {
		t.Error(x.Err())
	}
	// The output before the meter needs no copy: a meter does not change
	// the packet.
	var x2 actions.Executor
	var cs countSink
	pkt := newPkt(frame)
	run(&x2, pkt, mustParse(t, "1,meter(1),2"), &struct {
		*countSink
		actions.Meterer
	}{&cs, &meterSink{}})
	if len(cs.pkts) != 2 || cs.pkts[0] != pkt || cs.pkts[1] != pkt {
		t.Errorf("outputs around a meter copied the packet")
	}
	// A sink without meters: refused.
	var x3 actions.Executor
	var rs recSink
	run(&x3, newPkt(frame), mustParse(t, "meter(1),2"), &rs)
	if !errors.Is(x3.Err(), actions.ErrNotImplemented) || len(rs.outs) != 0 {
		t.Errorf("meter without Meterer: %v, %v", x3.Err(), rs.outs)
	}
}

// FuzzPopEth runs actions on arbitrary frames with and without pop_eth
// first: what goes out without the Ethernet header must be what goes out
// with it, less the header (pop_eth takes the link layer header whole and
// the later actions find the network header at the start); and push_eth
// of the original addresses after pop_eth gives back the frame less its
// VLAN tags and LLC/SNAP header.
func FuzzPopEth(f *testing.F) {
	for _, s := range [][]byte{
		testpkt.UDP(testpkt.Frame{SrcPort: 1, DstPort: 2, Payload: []byte("x")}),
		testpkt.TCP(testpkt.Frame{VLAN: 4, IPSrc: "2001:db8::1", IPDst: "2001:db8::2", SrcPort: 1, DstPort: 2}),
		testpkt.ICMPEcho(testpkt.Frame{}), testpkt.ARPRequest(testpkt.Frame{}), make([]byte, 14), make([]byte, 17),
	} {
		f.Add(s)
	}
	acts := "set(ipv4(src=1.2.3.4,ttl=5)),set(ipv6(dst=::9,hlimit=4)),set(udp(dst=7)),set(tcp(src=9)),dec_ttl(le_1(2)),1"
	withEth := mustParse(f, acts)
	withoutEth := mustParse(f, "pop_eth,"+acts)
	var x actions.Executor
	f.Fuzz(func(t *testing.T, frame []byte) {
		if len(frame) < 14 {
			return
		}
		// The link layer header as OVS's miniflow_extract delimits it.
		n, et := 14, uint16(frame[12])<<8|uint16(frame[13])
		for i := 0; i < 2 && (et == 0x8100 || et == 0x88a8) && n+4 <= len(frame); i++ {
			et = uint16(frame[n+2])<<8 | uint16(frame[n+3])
			n += 4
		}
		if et < 0x600 && n+8 <= len(frame) && bytes.Equal(frame[n:n+6], []byte{0xaa, 0xaa, 3, 0, 0, 0}) {
			n += 8
		}
		x.Reset()
		var a, b recSink
		run(&x, newPkt(frame), withEth, &a)
		run(&x, newPkt(frame), withoutEth, &b)
		if err := x.Err(); err != nil {
			t.Fatal(err)
		}
		if len(a.outs) != len(b.outs) {
			t.Fatalf("%d outputs with the header, %d without", len(a.outs), len(b.outs))
		}
		for i := range a.outs {
			if a.outs[i].port != b.outs[i].port || !bytes.Equal(a.outs[i].data[n:], b.outs[i].data) {
				t.Fatalf("output %d: %x with the header, %x without", i, a.outs[i].data, b.outs[i].data)
			}
		}
		var src, dst [6]byte
		copy(dst[:], frame[0:6])
		copy(src[:], frame[6:12])
		back := actions.List{{Type: actions.TypePopEth}, {Type: actions.TypePushEth, Eth: actions.EthAddrs{Src: src, Dst: dst}}, actions.Output(1)}
		var c recSink
		run(&x, newPkt(frame), back, &c)
		want := append(append(append([]byte(nil), frame[:12]...), frame[n-2:n]...), frame[n:]...)
		if len(c.outs) != 1 || !bytes.Equal(c.outs[0].data, want) {
			t.Fatalf("pop_eth,push_eth: %x -> %v, want %x", frame, c.outs, want)
		}
	})
}
