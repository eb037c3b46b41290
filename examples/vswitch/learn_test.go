package main

import (
	"net"
	"testing"
	"time"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/flow"

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
	l := newLearner(nil, defaultMaxIdle, defaultMACAge)
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
		t.Errorf("%d flows after a moved, want 0 (deleted)", n)
	}
	r.expect("b->a now goes to port 3", r.send(2, b, a, 0), 3)
	r.expect("a frame for the port it came from is dropped", r.send(3, c, a, 0))
	r.expect("c was learned", r.send(2, b, c, 0), 3)
}

// flowCount returns how many installed flows go from src to dst.
func (r *learnRig) flowCount(src, dst string) int {
	n := 0
	for _, f := range r.d.Flows() {
		m := f.Match()
		if net.HardwareAddr(m.Key.EthSrc[:]).String() == src && net.HardwareAddr(m.Key.EthDst[:]).String() == dst {
			n++
		}
	}
	return n
}

func TestLearningMoveKeepsOtherFlows(t *testing.T) {
	const a, b, c = "02:00:00:00:00:0a", "02:00:00:00:00:0b", "02:00:00:00:00:0c"
	r := newLearnRig(t)
	// A flow that is not the learner's (as from -flows) must survive.
	var m flow.Match
	m.Key.InPort, m.Mask.InPort = 3, ^uint32(0)
	m.Key.EthType, m.Mask.EthType = 0x86dd, 0xffff
	if _, err := r.d.PutFlow(m, actions.List{actions.Output(1)}, dp.PutCreate); err != nil {
		t.Fatal(err)
	}
	r.send(1, a, "ff:ff:ff:ff:ff:ff", 0)
	r.send(2, b, "ff:ff:ff:ff:ff:ff", 0)
	r.send(3, c, "ff:ff:ff:ff:ff:ff", 0)
	r.expect("b->a", r.send(2, b, a, 0), 1)
	r.expect("a->b", r.send(1, a, b, 0), 2)
	r.expect("c->b", r.send(3, c, b, 0), 2)
	if n := len(r.d.Flows()); n != 4 {
		t.Fatalf("%d flows, want 4", n)
	}
	r.expect("a moves to port 3", r.send(3, a, "ff:ff:ff:ff:ff:ff", 0), 1, 2)
	if r.flowCount(b, a) != 0 || r.flowCount(a, b) != 0 {
		t.Errorf("flows of the moved address left: %v", r.d.Flows())
	}
	if r.flowCount(c, b) != 1 || len(r.d.Flows()) != 2 {
		t.Errorf("flows after the move: %v; want c->b and the in_port(3) eth_type(0x86dd) flow", r.d.Flows())
	}
}

func TestLearningAgeing(t *testing.T) {
	const a, b = "02:00:00:00:00:0a", "02:00:00:00:00:0b"
	r := newLearnRig(t)
	// The learner's clock runs 200 s behind the datapath's, which stamps
	// flow hits with the real time.
	t0 := time.Now().Add(-200 * time.Second)
	r.l.now = func() time.Time { return t0 }
	r.send(1, a, "ff:ff:ff:ff:ff:ff", 0)
	r.send(2, b, "ff:ff:ff:ff:ff:ff", 0)
	r.expect("a->b installs", r.send(1, a, b, 0), 2)
	if r.flowCount(a, b) != 1 {
		t.Fatalf("no a->b flow: %v", r.d.Flows())
	}

	// Idle for less than max-idle: kept; for max-idle: removed, but the
	// addresses are still known, so the next frame installs it again.
	r.l.sweep(r.d, t0.Add(defaultMaxIdle-time.Second))
	if r.flowCount(a, b) != 1 {
		t.Fatal("flow removed before max-idle")
	}
	r.l.sweep(r.d, t0.Add(defaultMaxIdle+time.Second))
	if len(r.d.Flows()) != 0 {
		t.Fatalf("idle flow not removed: %v", r.d.Flows())
	}
	r.expect("a->b after expiry goes to b's port", r.send(1, a, b, 0), 2)
	if r.flowCount(a, b) != 1 || r.l.expired != 1 {
		t.Fatalf("flows %v, expired %d; want a->b installed again after 1 expiry", r.d.Flows(), r.l.expired)
	}

	// a and b were learned at t0. The a->b flow is hit now, 200 s later.
	// 350 s after t0, b (not seen since t0) is forgotten with the flow to
	// it, but a is kept: its flow's hit counts as a being seen.
	r.expect("a->b hits the flow", r.send(1, a, b, 0), 2)
	r.l.maxIdle = time.Hour
	r.l.sweep(r.d, t0.Add(350*time.Second))
	r.l.mu.Lock()
	_, aKnown := r.l.macs[macKey{0, mustMAC(t, a)}]
	_, bKnown := r.l.macs[macKey{0, mustMAC(t, b)}]
	r.l.mu.Unlock()
	if !aKnown || bKnown {
		t.Errorf("after the sweep a known %v, b known %v; want a kept (its flow was hit), b forgotten", aKnown, bKnown)
	}
	if r.flowCount(a, b) != 0 || r.l.aged != 1 {
		t.Errorf("flows %v, aged %d; want no flow to the forgotten b and 1 address aged", r.d.Flows(), r.l.aged)
	}
	r.expect("a->b floods once b is forgotten", r.send(1, a, b, 0), 2, 3)
	// Much later, a goes too.
	r.l.sweep(r.d, time.Now().Add(2*defaultMACAge))
	if r.l.aged != 2 {
		t.Errorf("aged %d addresses, want 2", r.l.aged)
	}
}

func mustMAC(t *testing.T, s string) (m [6]byte) {
	t.Helper()
	hw, err := net.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	copy(m[:], hw)
	return m
}
