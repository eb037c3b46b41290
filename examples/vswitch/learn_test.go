package main

import (
	"testing"

	"github.com/b7cafead/datapath/dp"
	"github.com/b7cafead/datapath/internal/testpkt"
	dpio "github.com/b7cafead/datapath/io"
)

// A learning datapath with three in-memory ports; the test sends frames
// into ports with Process and reads what each host side received.
type learnRig struct {
	t     *testing.T
	d     *dp.Datapath
	l     *learner
	hosts []*dpio.MemPort // hosts[i] is the far end of port i+1
}

func newLearnRig(t *testing.T) *learnRig {
	l := &learner{macs: map[macKey]uint32{}}
	r := &learnRig{t: t, l: l, d: dp.New(dp.Config{Upcall: l.upcall})}
	t.Cleanup(func() { r.d.Close() })
	for i := 1; i <= 3; i++ {
		p, h := dpio.NewMemPair(dpio.MemConfig{Name: "p" + string(rune('0'+i))}, dpio.MemConfig{})
		if _, err := r.d.AddPort(uint32(i), p); err != nil {
			t.Fatal(err)
		}
		l.ports = append(l.ports, uint32(i))
		r.hosts = append(r.hosts, h)
	}
	return r
}

// send puts a frame from src to dst (on VLAN vlan) into port in and
// returns the ports whose hosts received it.
func (r *learnRig) send(in uint32, src, dst string, vlan int) []uint32 {
	r.t.Helper()
	f := testpkt.UDP(testpkt.Frame{Src: src, Dst: dst, VLAN: vlan, IPSrc: "10.0.0.1", IPDst: "10.0.0.2", SrcPort: 1, DstPort: 2})
	p := dpio.NewPacket(dpio.DefaultHeadroom, 2048)
	if !p.SetBytes(f) {
		r.t.Fatal("frame too large")
	}
	r.d.Process(in, []*dpio.Packet{p})
	var got []uint32
	buf := dpio.NewBatch(8)
	for i, h := range r.hosts {
		n, _ := h.TryRead(buf)
		if n > 0 {
			got = append(got, uint32(i+1))
		}
	}
	return got
}

func (r *learnRig) expect(what string, got []uint32, want ...uint32) {
	r.t.Helper()
	if len(got) != len(want) {
		r.t.Errorf("%s: received on ports %v, want %v", what, got, want)
		return
	}
	for i := range got {
		if got[i] != want[i] {
			r.t.Errorf("%s: received on ports %v, want %v", what, got, want)
			return
		}
	}
}

func TestLearning(t *testing.T) {
	const a, b, c = "02:00:00:00:00:0a", "02:00:00:00:00:0b", "02:00:00:00:00:0c"
	r := newLearnRig(t)
	r.expect("unknown destination floods", r.send(1, a, b, 0), 2, 3)
	if n := len(r.d.Flows()); n != 0 {
		t.Errorf("a flood installed %d flows", n)
	}
	r.expect("broadcast floods", r.send(2, b, "ff:ff:ff:ff:ff:ff", 0), 1, 3)
	r.expect("known destination goes to its port", r.send(2, b, a, 0), 1)
	if n := len(r.d.Flows()); n != 1 {
		t.Fatalf("%d flows after a known destination, want 1", n)
	}
	r.expect("the flow forwards", r.send(2, b, a, 0), 1)
	if s := r.d.Stats(); s.Hit != 1 {
		t.Errorf("hits %d, want 1 (the second b->a frame)", s.Hit)
	}
	// The VLAN is part of what is learned: a on VLAN 10 is unknown.
	r.expect("same address on another VLAN is unknown", r.send(2, b, a, 10), 1, 3)
	// a moves to port 3: the flow to port 1 must go.
	r.expect("a from port 3", r.send(3, a, c, 0), 1, 2)
	if n := len(r.d.Flows()); n != 0 {
		t.Errorf("%d flows after a moved, want 0 (flushed)", n)
	}
	r.expect("b->a now goes to port 3", r.send(2, b, a, 0), 3)
	r.expect("a frame for the port it came from is dropped", r.send(3, c, a, 0))
	r.expect("c was learned", r.send(2, b, c, 0), 3)
}
