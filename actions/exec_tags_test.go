package actions_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/flow"
	"github.com/b7cafead/datapath/internal/testpkt"
	dpio "github.com/b7cafead/datapath/io"
)

// tagged returns frame with a VLAN header (tpid, tci) inserted after the
// Ethernet addresses.
func tagged(frame []byte, tpid, tci uint16) []byte {
	out := append([]byte(nil), frame[:12]...)
	out = be.AppendUint16(out, tpid)
	out = be.AppendUint16(out, tci)
	return append(out, frame[12:]...)
}

// execOne runs list l on a copy of frame and returns the outputs.
func execOne(t *testing.T, frame []byte, l string) (*dpio.Packet, []output) {
	t.Helper()
	var x actions.Executor
	var sink recSink
	pkt := newPkt(frame)
	run(&x, pkt, mustParse(t, l), &sink)
	if err := x.Err(); err != nil {
		t.Fatalf("%s: %v", l, err)
	}
	return pkt, sink.outs
}

func TestPushPopVLAN(t *testing.T) {
	udp := testpkt.UDP(testpkt.Frame{SrcPort: 1000, DstPort: 2000, Payload: []byte("payload")})
	one := tagged(udp, 0x8100, 10|5<<13)
	two := tagged(one, 0x88a8, 100)
	for _, tc := range []struct {
		in   []byte
		acts string
		want []byte
	}{
		{udp, "push_vlan(vid=10,pcp=5),1", one},
		{udp, "push_vlan(vid=10,pcp=5,cfi=0),1", one},
		{one, "push_vlan(tpid=0x88a8,vid=100,pcp=0),1", two},
		{udp, "push_vlan(vid=10,pcp=5),push_vlan(tpid=0x88a8,vid=100,pcp=0),1", two},
		{one, "pop_vlan,1", udp},
		{two, "pop_vlan,1", one},
		{two, "pop_vlan,pop_vlan,1", udp},
		{two, "pop_vlan,pop_vlan,pop_vlan,1", udp},
		{udp, "pop_vlan,1", udp},
		{udp, "push_vlan(vid=1,pcp=0),pop_vlan,1", udp},
		{udp[:13], "push_vlan(vid=1,pcp=0),1", udp[:13]},
		{one[:17], "pop_vlan,1", one[:17]},
		{tagged(udp, 0x9100, 7), "pop_vlan,1", tagged(udp, 0x9100, 7)},
		{udp, "push_vlan(tpid=0x9100,vid=7,pcp=0),1", tagged(udp, 0x9100, 7)},
	} {
		_, outs := execOne(t, tc.in, tc.acts)
		if len(outs) != 1 || !bytes.Equal(outs[0].data, tc.want) {
			t.Errorf("%s on %x:\n got %v\nwant %x", tc.acts, tc.in, outs, tc.want)
		}
	}
}

// TestTagsThenSet checks that set actions after push_vlan and pop_vlan
// find the headers where the tag moved them: the result equals setting
// first and changing the tag afterwards.
func TestTagsThenSet(t *testing.T) {
	udp := testpkt.UDP(testpkt.Frame{SrcPort: 1000, DstPort: 2000, Payload: []byte("payload")})
	tcp := testpkt.TCP(testpkt.Frame{VLAN: 10, SrcPort: 1, DstPort: 2, TCPFlags: "S"})
	sets := "set(eth(src=00:00:00:00:00:aa)),set(ipv4(src=192.168.0.1,ttl=9)),set(udp(src=53,dst=5353)),set(tcp(dst=8080))"
	for _, tc := range []struct {
		frame       []byte
		after, prep string
	}{
		{udp, "push_vlan(vid=3,pcp=0)," + sets + ",1", sets + ",push_vlan(vid=3,pcp=0),1"},
		{udp, "push_vlan(vid=3,pcp=0),push_vlan(vid=4,pcp=0)," + sets + ",1", sets + ",push_vlan(vid=3,pcp=0),push_vlan(vid=4,pcp=0),1"},
		{tcp, "pop_vlan," + sets + ",1", sets + ",pop_vlan,1"},
	} {
		_, a := execOne(t, tc.frame, tc.after)
		_, b := execOne(t, tc.frame, tc.prep)
		if len(a) != 1 || len(b) != 1 || !bytes.Equal(a[0].data, b[0].data) {
			t.Errorf("%s:\n got %x\nwant %x", tc.after, a[0].data, b[0].data)
			continue
		}
		if ip, l4 := sumsValid(a[0].data); !ip || !l4 {
			t.Errorf("%s: checksums not valid (%v %v)", tc.after, ip, l4)
		}
	}
}

func TestPushVLANWithoutHeadroom(t *testing.T) {
	udp := testpkt.UDP(testpkt.Frame{SrcPort: 1, DstPort: 2})
	for _, room := range []int{0, 2} {
		pkt := dpio.NewPacket(room, len(udp)+4)
		pkt.SetBytes(udp)
		var x actions.Executor
		var sink recSink
		run(&x, pkt, mustParse(t, "push_vlan(vid=9,pcp=0),1"), &sink)
		if len(sink.outs) != 1 || !bytes.Equal(sink.outs[0].data, tagged(udp, 0x8100, 9)) {
			t.Errorf("headroom %d: %v", room, sink.outs)
		}
	}
	// No room at all: the packet is dropped.
	pkt := dpio.NewPacket(0, len(udp))
	pkt.SetBytes(udp)
	var x actions.Executor
	var sink recSink
	run(&x, pkt, mustParse(t, "push_vlan(vid=9,pcp=0),1"), &sink)
	if len(sink.outs) != 0 {
		t.Errorf("full buffer: %d outputs", len(sink.outs))
	}
}

func TestTrunc(t *testing.T) {
	frame := testpkt.UDP(testpkt.Frame{SrcPort: 1, DstPort: 2, Payload: make([]byte, 100)}) // 142 bytes
	n := len(frame)
	for _, tc := range []struct {
		acts string
		lens []int // lengths of the outputs, in order
		left int   // the packet's length afterwards
	}{
		{"trunc(100),1", []int{100}, 100},
		{"trunc(100),1,2", []int{100, n}, n},
		{"1,trunc(100),2", []int{n, 100}, 100},
		{"trunc(100),trunc(60),1", []int{60}, 60},
		{"trunc(5),1", []int{14}, 14},
		{"trunc(0),1,2", []int{14, n}, n},
		{"trunc(1000),1", []int{n}, n},
		{"trunc(100),2,trunc(50),3", []int{100, 50}, 50},
		// The cut is fixed when trunc runs, as in OVS's userspace
		// datapath: 42 bytes, taken after the push.
		{"trunc(100),push_vlan(vid=1,pcp=0),1", []int{104}, 104},
		{"push_vlan(vid=1,pcp=0),trunc(100),1", []int{100}, 100},
		{"trunc(100),pop_vlan,1", []int{100}, 100},
		{"trunc(100)", nil, n},
		{"trunc(100),dec_ttl(le_1(drop)),1", []int{100}, 100},
	} {
		pkt, outs := execOne(t, frame, tc.acts)
		var lens []int
		for _, o := range outs {
			lens = append(lens, len(o.data))
			if !bytes.Equal(o.data, frame[:min(len(o.data), n)]) && !bytes.Contains([]byte(tc.acts), []byte("vlan")) && !bytes.Contains([]byte(tc.acts), []byte("dec_ttl")) {
				t.Errorf("%s: output is not a prefix of the frame", tc.acts)
			}
		}
		if !equalInts(lens, tc.lens) || pkt.Len() != tc.left {
			t.Errorf("%s: outputs %v, packet %d; want %v, %d", tc.acts, lens, pkt.Len(), tc.lens, tc.left)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDecTTL(t *testing.T) {
	v4 := func(ttl uint8) []byte {
		f := testpkt.UDP(testpkt.Frame{SrcPort: 1, DstPort: 2, Payload: []byte("x")})
		f[14+8] = ttl
		fixSums(f)
		return f
	}
	v6 := func(hlim uint8) []byte {
		f := testpkt.UDP(testpkt.Frame{IPSrc: "2001:db8::1", IPDst: "2001:db8::2", SrcPort: 1, DstPort: 2})
		f[14+7] = hlim
		return f
	}
	withTTL := func(f []byte, ttl uint8) []byte {
		g := append([]byte(nil), f...)
		g[14+8] = ttl
		fixSums(g)
		return g
	}
	arp := testpkt.ARPRequest(testpkt.Frame{})
	for _, tc := range []struct {
		name  string
		frame []byte
		acts  string
		ports []uint32
		want  []byte // the frame every output carries
	}{
		{"ttl 64", v4(64), "dec_ttl(le_1(3)),2", []uint32{2}, withTTL(v4(64), 63)},
		{"ttl 2", v4(2), "dec_ttl(le_1(3)),2", []uint32{2}, withTTL(v4(2), 1)},
		{"ttl 1", v4(1), "dec_ttl(le_1(3)),2", []uint32{3}, v4(1)},
		{"ttl 0", v4(0), "dec_ttl(le_1(3,4)),2", []uint32{3, 4}, v4(0)},
		{"ttl 1, drop", v4(1), "1,dec_ttl(le_1(drop)),2", []uint32{1}, v4(1)},
		{"twice", v4(3), "dec_ttl(le_1(3)),dec_ttl(le_1(4)),2", []uint32{2}, withTTL(v4(3), 1)},
		{"twice from 2", v4(2), "dec_ttl(le_1(3)),dec_ttl(le_1(4)),2", []uint32{4}, withTTL(v4(2), 1)},
		{"hop limit 64", v6(64), "dec_ttl(le_1(3)),2", []uint32{2}, v6(63)},
		{"hop limit 1", v6(1), "dec_ttl(le_1(3)),2", []uint32{3}, v6(1)},
		{"arp", arp, "dec_ttl(le_1(3)),2", []uint32{2}, arp},
		{"vlan", tagged(v4(9), 0x8100, 5), "dec_ttl(le_1(3)),2", []uint32{2}, tagged(withTTL(v4(9), 8), 0x8100, 5)},
	} {
		_, outs := execOne(t, tc.frame, tc.acts)
		var ports []uint32
		for _, o := range outs {
			ports = append(ports, o.port)
			if !bytes.Equal(o.data, tc.want) {
				t.Errorf("%s: %s: output to %d\n got %x\nwant %x", tc.name, tc.acts, o.port, o.data, tc.want)
			}
		}
		if len(ports) != len(tc.ports) || (len(ports) > 0 && ports[0] != tc.ports[0]) {
			t.Errorf("%s: %s: outputs to %v, want %v", tc.name, tc.acts, ports, tc.ports)
		}
	}
	// The checksum stays valid, including across its wrap-around values.
	for ttl := 2; ttl < 256; ttl++ {
		for _, id := range []uint16{0, 0x00ff, 0xff00, 0xfeff, 0xffff} {
			f := v4(uint8(ttl))
			be.PutUint16(f[14+4:], id)
			fixSums(f)
			_, outs := execOne(t, f, "dec_ttl(le_1(drop)),1")
			if ip, _ := sumsValid(outs[0].data); !ip || outs[0].data[14+8] != uint8(ttl-1) {
				t.Fatalf("ttl %d id %#x: %x", ttl, id, outs[0].data)
			}
		}
	}
}

// TestExecutorRefuses checks that an action the executor cannot run stops
// the packet and is reported, never skipped.
func TestExecutorRefuses(t *testing.T) {
	frame := testpkt.UDP(testpkt.Frame{SrcPort: 1, DstPort: 2})
	var x actions.Executor
	for _, tc := range []struct{ acts, name string }{
		{"1,pop_nsh(),2", "pop_nsh"},
		{"1,set(mpls(label=1,tc=0,ttl=1,bos=1)),2", "set of mpls"},
		{"1,dec_ttl(le_1(recirc(1))),2", ""},
		{"1,clone(meter(3)),2", "meter"},
		{"1,ct(commit),2", "ct"},
	} {
		x.Reset()
		var sink recSink
		pkt := newPkt(frame)
		var k flow.Key
		var lay flow.Layout
		flow.ExtractLayout(pkt.Bytes(), 1, &k, &lay)
		// Make dec_ttl take its exception path.
		pkt.Bytes()[14+8] = 1
		x.Execute(pkt, &k, &lay, mustParse(t, tc.acts), &sink)
		err := x.Err()
		if len(sink.outs) != 1 || sink.outs[0].port != 1 {
			t.Errorf("%s: outputs %v, want only the one before the refused action", tc.acts, sink.outs)
		}
		if !errors.Is(err, actions.ErrNotImplemented) {
			t.Errorf("%s: Err() = %v", tc.acts, err)
		} else if tc.name != "" && !bytes.Contains([]byte(err.Error()), []byte(tc.name+" is not implemented")) {
			t.Errorf("%s: Err() = %v, want it to name %s", tc.acts, err, tc.name)
		}
	}
	x.Reset()
	if err := x.Err(); err != nil {
		t.Errorf("after Reset: %v", err)
	}
}

func TestExecuteTagsNoAllocs(t *testing.T) {
	frame := testpkt.UDP(testpkt.Frame{TTL: 64, SrcPort: 1, DstPort: 2, Payload: make([]byte, 100)})
	for _, s := range []string{
		"push_vlan(vid=1,pcp=0),2",
		"push_vlan(vid=1,pcp=0),pop_vlan,set(ipv4(ttl=5)),2",
		"trunc(60),2,3",
		"dec_ttl(le_1(3)),2",
		"1,push_vlan(vid=1,pcp=0),dec_ttl(le_1(drop)),trunc(50),2",
		"clone(set(ipv4(ttl=5)),3),set(skb_mark(1)),ct_clear,2",
		"trunc(40),sample(sample=100.0%,actions(push_vlan(vid=1,pcp=0),2)),check_pkt_len(size=50,gt(1),le(set(udp(src=9)),3))",
		"push_mpls(label=7,tc=0,ttl=64,bos=1,eth_type=0x8847),2,pop_mpls(eth_type=0x800),hash(l4(1)),set(ipv6(hlimit=1)),3",
	} {
		l := mustParse(t, s)
		pkt := newPkt(frame)
		var k flow.Key
		var lay flow.Layout
		flow.ExtractLayout(pkt.Bytes(), 1, &k, &lay)
		var x actions.Executor
		var sink countSink
		allocs := testing.AllocsPerRun(200, func() {
			pkt.Reset(dpio.DefaultHeadroom)
			pkt.SetBytes(frame)
			sink.reset()
			x.Reset()
			x.Execute(pkt, &k, &lay, l, &sink)
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per run", s, allocs)
		}
	}
}

// FuzzExecuteTags runs push_vlan, pop_vlan, trunc and dec_ttl on arbitrary
// frames and checks what each may change.
func FuzzExecuteTags(f *testing.F) {
	udp := testpkt.UDP(testpkt.Frame{SrcPort: 1, DstPort: 2, Payload: []byte("x")})
	for _, s := range [][]byte{
		udp, tagged(udp, 0x8100, 5), tagged(tagged(udp, 0x8100, 5), 0x88a8, 6),
		testpkt.UDP(testpkt.Frame{IPSrc: "2001:db8::1", IPDst: "2001:db8::2", SrcPort: 1, DstPort: 2}),
		testpkt.ARPRequest(testpkt.Frame{}), {}, make([]byte, 13), make([]byte, 17),
	} {
		f.Add(s, uint16(60), uint16(0x1005))
	}
	var x actions.Executor
	f.Fuzz(func(t *testing.T, frame []byte, n, tci uint16) {
		exec := func(l actions.List) (*dpio.Packet, []output) {
			x.Reset()
			var sink recSink
			pkt := newPkt(frame)
			run(&x, pkt, l, &sink)
			if err := x.Err(); err != nil {
				t.Fatalf("%v: %v", l, err)
			}
			return pkt, sink.outs
		}
		// A push then a pop gives the frame back.
		l := actions.List{actions.PushVLAN(0x88a8, tci), actions.PopVLAN(), actions.Output(1)}
		if _, outs := exec(l); len(outs) != 1 || !bytes.Equal(outs[0].data, frame) {
			t.Fatalf("push, pop: %x -> %v", frame, outs)
		}
		// A pop removes the outer tag, if there is one.
		want := frame
		if len(frame) >= 18 && (be.Uint16(frame[12:]) == 0x8100 || be.Uint16(frame[12:]) == 0x88a8) {
			want = append(append([]byte(nil), frame[:12]...), frame[16:]...)
		}
		if _, outs := exec(actions.List{actions.PopVLAN(), actions.Output(1)}); len(outs) != 1 || !bytes.Equal(outs[0].data, want) {
			t.Fatalf("pop: %x -> %v, want %x", frame, outs, want)
		}
		// trunc cuts the next output only.
		keep := min(len(frame), max(int(n), 14))
		if _, outs := exec(actions.List{actions.Trunc(uint32(n)), actions.Output(1), actions.Output(2)}); len(outs) != 2 ||
			!bytes.Equal(outs[0].data, frame[:keep]) || !bytes.Equal(outs[1].data, frame) {
			t.Fatalf("trunc(%d): %x -> %v", n, frame, outs)
		}
		// dec_ttl changes at most the TTL and the header checksum, or
		// the hop limit.
		var k flow.Key
		var lay flow.Layout
		flow.ExtractLayout(frame, 1, &k, &lay)
		_, outs := exec(actions.List{actions.DecTTL(actions.List{actions.Output(3)}), actions.Output(2)})
		if len(outs) != 1 || len(outs[0].data) != len(frame) {
			t.Fatalf("dec_ttl: %x -> %v", frame, outs)
		}
		for i, c := range outs[0].data {
			if c == frame[i] {
				continue
			}
			switch {
			case k.EthType == flow.EthTypeIPv4 && lay.L3 != 0 && (i == lay.L3+8 || i == lay.L3+10 || i == lay.L3+11):
			case k.EthType == flow.EthTypeIPv6 && lay.L3 != 0 && i == lay.L3+7:
			default:
				t.Fatalf("dec_ttl changed byte %d of %x", i, frame)
			}
		}
		if outs[0].port == 3 && !bytes.Equal(outs[0].data, frame) {
			t.Fatalf("dec_ttl exception changed the frame")
		}
	})
}
