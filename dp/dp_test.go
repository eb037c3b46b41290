package dp

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/flow"
	"github.com/b7cafead/datapath/internal/testpkt"
	dpio "github.com/b7cafead/datapath/io"
)

// rig is a datapath with n ports, each an in-memory pair whose far end the
// test holds.
type rig struct {
	d   *Datapath
	far map[uint32]*dpio.MemPort
}

func newRig(t *testing.T, cfg Config, n int) *rig {
	t.Helper()
	r := &rig{d: New(cfg), far: map[uint32]*dpio.MemPort{}}
	for i := uint32(1); i <= uint32(n); i++ {
		near, far := dpio.NewMemPair(dpio.MemConfig{Name: "p" + string(rune('0'+i)), QueueLen: 4096}, dpio.MemConfig{QueueLen: 4096})
		if _, err := r.d.AddPort(i, near); err != nil {
			t.Fatal(err)
		}
		r.far[i] = far
	}
	t.Cleanup(func() { r.d.Close() })
	return r
}

func (r *rig) put(t *testing.T, f, a string) *Flow {
	t.Helper()
	m, err := flow.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	acts, err := actions.Parse(a)
	if err != nil {
		t.Fatal(err)
	}
	fl, err := r.d.PutFlow(m, acts, PutCreate)
	if err != nil {
		t.Fatal(err)
	}
	return fl
}

func batchOf(frames ...[]byte) []*dpio.Packet {
	b := dpio.NewBatch(len(frames))
	for i, f := range frames {
		b[i].SetBytes(f)
	}
	return b
}

func drain(p *dpio.MemPort) [][]byte {
	var out [][]byte
	b := dpio.NewBatch(8)
	for {
		n, _ := p.TryRead(b)
		if n == 0 {
			return out
		}
		for _, pk := range b[:n] {
			out = append(out, append([]byte(nil), pk.Bytes()...))
		}
	}
}

func TestFlowOps(t *testing.T) {
	r := newRig(t, Config{}, 2)
	m := flow.MustParse("in_port(1),eth_type(0x0800),ipv4(frag=no)")
	acts, _ := actions.Parse("2")
	if _, err := r.d.PutFlow(m, acts, PutCreate); err != nil {
		t.Fatal(err)
	}
	if _, err := r.d.PutFlow(m, acts, PutCreate); !errors.Is(err, ErrExist) {
		t.Fatalf("second create: %v, want ErrExist", err)
	}
	if _, err := r.d.PutFlow(flow.MustParse("in_port(2),eth_type(0x1234)"), acts, PutModify); !errors.Is(err, ErrNotExist) {
		t.Fatalf("modify of a missing flow: %v, want ErrNotExist", err)
	}
	drop, _ := actions.Parse("drop")
	f, err := r.d.PutFlow(m, drop, PutModify)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Actions().String(); got != "drop" {
		t.Errorf("modified actions = %s", got)
	}
	if g, err := r.d.GetFlow(m); err != nil || g != f {
		t.Errorf("GetFlow = %v, %v", g, err)
	}
	if n := len(r.d.Flows()); n != 1 {
		t.Errorf("%d flows, want 1", n)
	}
	if _, err := r.d.DelFlow(m); err != nil {
		t.Fatal(err)
	}
	if _, err := r.d.DelFlow(m); !errors.Is(err, ErrNotExist) {
		t.Errorf("second delete: %v", err)
	}
	r.put(t, "in_port(1),eth_type(0x0800),ipv4(frag=no)", "2")
	r.put(t, "in_port(2),eth_type(0x0800),ipv4(frag=no)", "1")
	r.d.FlushFlows()
	if st := r.d.Stats(); st.Flows != 0 || st.Masks != 0 {
		t.Errorf("after flush: %+v", st)
	}
}

func TestFlowUFID(t *testing.T) {
	r := newRig(t, Config{}, 2)
	acts, _ := actions.Parse("2")
	m := flow.MustParse("in_port(1),eth_type(0x0800),ipv4(frag=no)")
	f, err := r.d.PutFlow(m, acts, PutCreate)
	if err != nil {
		t.Fatal(err)
	}
	if f.UFID() != flow.NewUFID(&m.Key) {
		t.Errorf("derived UFID %v, want %v", f.UFID(), flow.NewUFID(&m.Key))
	}
	given, _ := flow.ParseUFID("ufid:11111111-2222-4333-8444-555555555555")
	m2 := flow.MustParse("in_port(2),eth_type(0x0800),ipv4(frag=no)")
	f2, err := r.d.PutFlowUFID(given, m2, acts, PutCreate)
	if err != nil || f2.UFID() != given {
		t.Fatalf("PutFlowUFID: %v, %v", f2, err)
	}
	if g, err := r.d.GetFlowUFID(given); err != nil || g != f2 {
		t.Errorf("GetFlowUFID = %v, %v", g, err)
	}
	// Another flow may not take a UFID in use.
	m3 := flow.MustParse("in_port(2),eth_type(0x86dd),ipv6(frag=no)")
	if _, err := r.d.PutFlowUFID(given, m3, acts, PutCreate); !errors.Is(err, ErrExist) {
		t.Errorf("duplicate UFID: %v, want ErrExist", err)
	}
	// Modifying keeps the UFID the flow has.
	drop, _ := actions.Parse("drop")
	if g, err := r.d.PutFlowUFID(flow.UFID{1, 2, 3, 4}, m2, drop, PutModify); err != nil || g.UFID() != given {
		t.Errorf("modify: %v, %v", g, err)
	}
	if g, err := r.d.DelFlowUFID(given); err != nil || g != f2 || g.Alive() {
		t.Errorf("DelFlowUFID = %v, %v", g, err)
	}
	if _, err := r.d.GetFlowUFID(given); !errors.Is(err, ErrNotExist) {
		t.Errorf("GetFlowUFID after delete: %v", err)
	}
	if _, err := r.d.DelFlowUFID(given); !errors.Is(err, ErrNotExist) {
		t.Errorf("second DelFlowUFID: %v", err)
	}
	// The UFID is free again, and a flush frees every UFID.
	if _, err := r.d.PutFlowUFID(given, m3, acts, PutCreate); err != nil {
		t.Fatal(err)
	}
	r.d.FlushFlows()
	if _, err := r.d.GetFlowUFID(f.UFID()); !errors.Is(err, ErrNotExist) {
		t.Errorf("GetFlowUFID after flush: %v", err)
	}
	if _, err := r.d.PutFlowUFID(given, m2, acts, PutCreate); err != nil {
		t.Errorf("put after flush: %v", err)
	}
}

func TestForwardAndStats(t *testing.T) {
	r := newRig(t, Config{}, 3)
	f := r.put(t, "in_port(1),eth_type(0x0800),ipv4(dst=10.0.0.2,proto=17,frag=no),udp(dst=53)", "set(ipv4(ttl=63)),2")
	tf := r.put(t, "in_port(1),eth_type(0x0800),ipv4(proto=6,frag=no),tcp()", "3")
	udp := testpkt.UDP(testpkt.Frame{DstPort: 53})
	syn := testpkt.TCP(testpkt.Frame{DstPort: 80, TCPFlags: "S"})
	ack := testpkt.TCP(testpkt.Frame{DstPort: 80, TCPFlags: "A"})
	other := testpkt.UDP(testpkt.Frame{DstPort: 54})
	r.d.Process(1, batchOf(udp, syn, udp, ack, other))

	got2 := drain(r.far[2])
	if len(got2) != 2 {
		t.Fatalf("port 2 got %d packets, want 2", len(got2))
	}
	if got2[0][14+8] != 63 {
		t.Errorf("TTL = %d, want 63", got2[0][14+8])
	}
	if n := len(drain(r.far[3])); n != 2 {
		t.Errorf("port 3 got %d packets, want 2", n)
	}
	st := f.Stats()
	if st.Packets != 2 || st.Bytes != uint64(2*len(udp)) || st.Used.IsZero() {
		t.Errorf("udp flow stats %+v", st)
	}
	if ts := tf.Stats(); ts.TCPFlags != 0x012 {
		t.Errorf("tcp flags %#x, want 0x12", ts.TCPFlags)
	}
	ds := r.d.Stats()
	if ds.Hit != 4 || ds.Missed != 1 || ds.Lost != 1 {
		t.Errorf("datapath stats %+v", ds)
	}
	p1 := r.d.Port(1).Stats()
	if p1.RxPackets != 5 {
		t.Errorf("port 1 rx %d", p1.RxPackets)
	}
	if p2 := r.d.Port(2).Stats(); p2.TxPackets != 2 || p2.TxBytes != uint64(2*len(udp)) {
		t.Errorf("port 2 stats %+v", p2)
	}
	dump := string(tf.AppendDump(nil, time.Now()))
	if !strings.Contains(dump, ", packets:2, bytes:") || !strings.Contains(dump, ", flags:S., actions:3") {
		t.Errorf("dump %q", dump)
	}
	if want := "recirc_id(0),in_port(1),eth_type(0x0800),ipv4(proto=6,frag=no), packets:2, bytes:"; !strings.HasPrefix(dump, want) {
		t.Errorf("dump %q\nwant prefix %q", dump, want)
	}
}

func TestUpcallInstallsFlow(t *testing.T) {
	var calls int
	r := newRig(t, Config{Upcall: func(u *Upcall) {
		calls++
		if u.InPort != 1 || u.Key.EthType != flow.EthTypeIPv4 {
			t.Errorf("upcall key %+v", u.Key)
		}
		m := flow.Match{Key: u.Key}
		m.Mask.EthDst = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		m.Mask.InPort = ^uint32(0)
		m.Key = m.Key.Masked(&m.Mask)
		if _, err := u.Install(m, actions.List{actions.Output(2)}); err != nil {
			t.Error(err)
		}
	}}, 2)
	pkts := [][]byte{testpkt.UDP(testpkt.Frame{}), testpkt.UDP(testpkt.Frame{SrcPort: 7}), testpkt.UDP(testpkt.Frame{SrcPort: 8})}
	r.d.Process(1, batchOf(pkts...))
	if calls != 1 {
		t.Errorf("%d upcalls, want 1", calls)
	}
	if n := len(drain(r.far[2])); n != 3 {
		t.Errorf("port 2 got %d, want 3", n)
	}
	fl := r.d.Flows()
	if len(fl) != 1 || fl[0].Stats().Packets != 2 {
		t.Fatalf("flows %v", fl)
	}
	// The UFID is derived from the upcalled packet's key, as in OVS.
	var k flow.Key
	flow.Extract(testpkt.UDP(testpkt.Frame{}), 1, &k)
	if fl[0].UFID() != flow.NewUFID(&k) {
		t.Errorf("upcall flow UFID %v, want %v", fl[0].UFID(), flow.NewUFID(&k))
	}
	if st := r.d.Stats(); st.Hit != 2 || st.Missed != 1 || st.Lost != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestExecute(t *testing.T) {
	r := newRig(t, Config{}, 2)
	acts, _ := actions.Parse("set(eth(dst=00:00:00:00:00:99)),2")
	frame := testpkt.UDP(testpkt.Frame{})
	if err := r.d.Execute(1, frame, acts); err != nil {
		t.Fatal(err)
	}
	got := drain(r.far[2])
	if len(got) != 1 || got[0][5] != 0x99 {
		t.Fatalf("got %x", got)
	}
	if frame[5] != 0x02 {
		t.Error("Execute modified the caller's frame")
	}
}

func TestPortOps(t *testing.T) {
	r := newRig(t, Config{}, 2)
	if _, err := r.d.AddPort(1, dpio.NewDiscard("x")); !errors.Is(err, ErrExist) {
		t.Errorf("duplicate number: %v", err)
	}
	if _, err := r.d.AddPort(9, dpio.NewDiscard("p1")); !errors.Is(err, ErrExist) {
		t.Errorf("duplicate name: %v", err)
	}
	if v := r.d.PortByName("p2"); v == nil || v.No() != 2 {
		t.Errorf("PortByName(p2) = %v", v)
	}
	if err := r.d.DelPort(2); err != nil {
		t.Fatal(err)
	}
	if err := r.d.DelPort(2); !errors.Is(err, ErrNotExist) {
		t.Errorf("second DelPort: %v", err)
	}
	if n := len(r.d.Ports()); n != 1 {
		t.Errorf("%d ports", n)
	}
	// Output to the removed port is dropped, not a crash.
	r.put(t, "in_port(1),eth_type(0x0800),ipv4(frag=no)", "2")
	r.d.Process(1, batchOf(testpkt.UDP(testpkt.Frame{})))
}

// TestStartForwards runs the polling goroutines with flows changing under
// traffic and checks that every packet sent is accounted for.
func TestStartForwards(t *testing.T) {
	r := newRig(t, Config{}, 2)
	r.put(t, "in_port(1),eth_type(0x0800),ipv4(frag=no)", "2")
	r.d.Start()
	const total = 2000
	frame := testpkt.UDP(testpkt.Frame{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p := batchOf(frame)
		for i := 0; i < total; i++ {
			for {
				before := r.far[1].Stats().TxDropped
				r.far[1].Write(p)
				if r.far[1].Stats().TxDropped == before {
					break
				}
				time.Sleep(time.Millisecond)
			}
		}
	}()
	// Churn an unrelated flow while traffic flows.
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		m := flow.MustParse("in_port(2),eth_type(0x0806),arp()")
		a := actions.List{actions.Output(1)}
		for {
			select {
			case <-stop:
				return
			default:
			}
			r.d.PutFlow(m, a, PutCreate)
			r.d.DelFlow(m)
		}
	}()
	received := 0
	buf := dpio.NewBatch(32)
	deadline := time.Now().Add(10 * time.Second)
	dropped := func() int { return int(r.d.Port(2).Device().Stats().TxDropped) }
	for received+dropped() < total && time.Now().Before(deadline) {
		n, _ := r.far[2].TryRead(buf)
		if n == 0 {
			time.Sleep(100 * time.Microsecond)
		}
		received += n
	}
	close(stop)
	wg.Wait()
	if received+dropped() != total {
		t.Fatalf("received %d and dropped %d of %d", received, dropped(), total)
	}
	if err := r.d.Close(); err != nil {
		t.Fatal(err)
	}
	st := r.d.Stats()
	if st.Hit != total || st.Missed != 0 {
		t.Errorf("stats %+v", st)
	}
	if _, err := r.far[1].Write(batchOf(frame)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after Close: %v", err)
	}
}

// TestEMCInvalidation checks that the exact-match cache never serves a
// deleted flow and sees modified actions at once.
func TestEMCInvalidation(t *testing.T) {
	r := newRig(t, Config{EMCInsertInvProb: 1}, 3)
	m := flow.MustParse("in_port(1),eth_type(0x0800),ipv4(frag=no)")
	two := actions.List{actions.Output(2)}
	if _, err := r.d.PutFlow(m, two, PutCreate); err != nil {
		t.Fatal(err)
	}
	w := r.d.NewWorker()
	frame := testpkt.UDP(testpkt.Frame{})
	w.Process(1, batchOf(frame, frame))
	if n := len(drain(r.far[2])); n != 2 {
		t.Fatalf("port 2 got %d", n)
	}
	if r.d.Stats().EMCHit == 0 {
		t.Fatal("the second packet did not hit the exact-match cache")
	}
	// Modify: the cached flow's new actions apply to the next packet.
	if _, err := r.d.PutFlow(m, actions.List{actions.Output(3)}, PutModify); err != nil {
		t.Fatal(err)
	}
	w.Process(1, batchOf(frame))
	if n := len(drain(r.far[3])); n != 1 {
		t.Fatalf("after modify port 3 got %d", n)
	}
	// Delete: the cached entry must not be used.
	if _, err := r.d.DelFlow(m); err != nil {
		t.Fatal(err)
	}
	before := r.d.Stats()
	w.Process(1, batchOf(frame))
	after := r.d.Stats()
	if after.Missed != before.Missed+1 || after.Hit != before.Hit {
		t.Fatalf("after delete: %+v -> %+v", before, after)
	}
	if n := len(drain(r.far[2])) + len(drain(r.far[3])); n != 0 {
		t.Fatalf("a deleted flow forwarded %d packets", n)
	}
	// Re-adding a flow with the same match is a new flow, found through
	// the classifier.
	if _, err := r.d.PutFlow(m, two, PutCreate); err != nil {
		t.Fatal(err)
	}
	w.Process(1, batchOf(frame))
	if n := len(drain(r.far[2])); n != 1 {
		t.Fatalf("after re-add port 2 got %d", n)
	}
}

func TestPipelineAllocs(t *testing.T) {
	r := newRig(t, Config{}, 2)
	r.put(t, "in_port(1),eth_type(0x0800),ipv4(proto=17,frag=no),udp()", "set(ipv4(ttl=63)),2")
	w := r.d.NewWorker()
	b := batchOf(testpkt.UDP(testpkt.Frame{}), testpkt.UDP(testpkt.Frame{SrcPort: 9}))
	buf := dpio.NewBatch(8)
	w.Process(1, b)
	r.far[2].TryRead(buf)
	if n := testing.AllocsPerRun(200, func() {
		w.Process(1, b)
		r.far[2].TryRead(buf)
	}); n != 0 {
		t.Errorf("Process allocates %v times per batch", n)
	}
}

// TestDumpFlowsUnderChurn dumps in small batches while flows come and go:
// the flows installed throughout appear exactly once.
func TestDumpFlowsUnderChurn(t *testing.T) {
	r := newRig(t, Config{}, 1)
	acts := actions.List{actions.Output(1)}
	match := func(i int) flow.Match {
		m := flow.MustParse("in_port(1),eth_type(0x0800),ipv4(frag=no)")
		m.Key.NwDst = [4]byte{10, 1, byte(i >> 8), byte(i)}
		m.Mask.NwDst = [4]byte{255, 255, 255, 255}
		if i%3 == 0 {
			m.Mask.NwDst[3] = 0xf0 // a second mask
		}
		return m
	}
	stable := map[*Flow]bool{}
	for i := 0; i < 300; i++ {
		f, err := r.d.PutFlow(match(i), acts, PutCreate)
		if err != nil {
			continue // an overlapping /28 already covers it
		}
		stable[f] = true
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			for i := 1000; i < 3000; i++ {
				r.d.PutFlow(match(i), acts, PutCreate)
			}
			for i := 1000; i < 3000; i++ {
				r.d.DelFlow(match(i))
			}
		}
	}()
	seen := map[*Flow]int{}
	fd := r.d.DumpFlows()
	buf := make([]*Flow, 7)
	for {
		n := fd.Next(buf)
		if n == 0 {
			break
		}
		for _, f := range buf[:n] {
			seen[f]++
		}
		time.Sleep(20 * time.Microsecond)
	}
	stop.Store(true)
	wg.Wait()
	for f := range stable {
		if seen[f] != 1 {
			t.Fatalf("stable flow %v seen %d times", f.Match(), seen[f])
		}
	}
}

// TestPerPortClassifiers checks that a packet searches only the masks of
// flows on its own input port.
func TestPerPortClassifiers(t *testing.T) {
	r := newRig(t, Config{EMCInsertInvProb: -1}, 2)
	for i := 0; i < 5; i++ {
		r.put(t, fmt.Sprintf("in_port(2),eth_type(0x0800),ipv4(dst=%d.0.0.0/255.%d.0.0,frag=no)", 10+i, 0xff<<(8-i)&0xff), "1")
	}
	r.put(t, "in_port(1),eth_type(0x0800),ipv4(frag=no)", "2")
	r.d.Flows() // rank order does not matter: port 1 has one mask
	r.d.Process(1, batchOf(testpkt.UDP(testpkt.Frame{}), testpkt.UDP(testpkt.Frame{})))
	st := r.d.Stats()
	if st.Hit != 2 || st.MaskHits != 2 || st.Masks != 6 || st.Flows != 6 {
		t.Errorf("stats %+v: want 2 hits searching 1 mask each, 6 masks in all", st)
	}
	fd := r.d.DumpFlows()
	n := 0
	buf := make([]*Flow, 4)
	for k := fd.Next(buf); k > 0; k = fd.Next(buf) {
		n += k
	}
	if n != 6 {
		t.Errorf("dump saw %d flows, want 6", n)
	}
}

// TestPutFlowRefusesUnimplemented checks that a flow whose actions the
// executor cannot run is refused at install, with an error naming the
// action, and that the ones it runs are accepted.
func TestPutFlowRefusesUnimplemented(t *testing.T) {
	r := newRig(t, Config{}, 2)
	m := flow.MustParse("in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)")
	for _, tc := range []struct{ acts, name string }{
		{"pop_nsh(),2", "pop_nsh"},
		{"ct(commit),2", "ct"},
		{"set(mpls(label=1,tc=0,ttl=1,bos=1)),2", "set of mpls"},
		{"dec_ttl(le_1(pop_nsh())),2", "pop_nsh"},
	} {
		_, err := r.d.PutFlow(m, actions.MustParse(tc.acts), PutCreate)
		if !errors.Is(err, ErrInvalid) || !errors.Is(err, actions.ErrNotImplemented) || !strings.Contains(err.Error(), tc.name+" is not implemented") {
			t.Errorf("PutFlow(%s) = %v", tc.acts, err)
		}
		if err := r.d.Execute(1, make([]byte, 60), actions.MustParse(tc.acts)); !errors.Is(err, actions.ErrNotImplemented) {
			t.Errorf("Execute(%s) = %v", tc.acts, err)
		}
	}
	if _, err := r.d.PutFlow(m, actions.MustParse("push_vlan(vid=1,pcp=0),trunc(60),2,pop_vlan,dec_ttl(le_1(drop)),1"), PutCreate); err != nil {
		t.Errorf("PutFlow: %v", err)
	}
}
