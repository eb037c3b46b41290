package dp

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/flow"
	"github.com/b7cafead/datapath/internal/testpkt"
	dpio "github.com/b7cafead/datapath/io"
)

// fakeClock is a clock tests move by hand; it counts its readings.
type fakeClock struct {
	ns    atomic.Int64
	reads atomic.Int64
}

func (c *fakeClock) now() int64 {
	c.reads.Add(1)
	return c.ns.Load()
}

func (c *fakeClock) advanceMs(ms int64) { c.ns.Add(ms * 1e6) }

// meterRig is a datapath with a fake clock, ports 1 and 2, and a flow
// that sends UDP from port 1 through meter 1 to port 2.
func meterRig(t *testing.T) (*rig, *fakeClock) {
	t.Helper()
	c := &fakeClock{}
	c.ns.Store(1_700_000_000_123_456_789) // not a whole millisecond
	r := newRig(t, Config{Clock: c.now}, 2)
	r.put(t, "in_port(1),eth_type(0x0800),ipv4(proto=17,frag=no),udp()", "meter(1),2")
	return r, c
}

// frames returns n copies of a UDP frame of size bytes.
func frames(n, size int) []*dpio.Packet {
	f := testpkt.UDP(testpkt.Frame{Payload: make([]byte, size-42)})
	if len(f) != size {
		panic("frame size")
	}
	fs := make([][]byte, n)
	for i := range fs {
		fs[i] = f
	}
	return batchOf(fs...)
}

// send processes a batch of n frames of size bytes and returns how many
// reached port 2.
func (r *rig) send(w *Worker, n, size int) int {
	w.Process(1, frames(n, size))
	return len(drain(r.far[2]))
}

func TestMeterPktps(t *testing.T) {
	r, c := meterRig(t)
	// 10 packets per second, a burst of 5: the bucket holds 5000
	// thousandths of a packet and gains 10 per millisecond.
	if err := r.d.MeterSet(1, MeterConfig{Flags: MeterFlagPktps | MeterFlagBurst,
		Bands: []MeterBand{{Type: MeterBandDrop, Rate: 10, BurstSize: 5}}}); err != nil {
		t.Fatal(err)
	}
	w := r.d.NewWorker()
	steps := []struct {
		advanceMs int64
		n, pass   int
	}{
		{0, 8, 5},      // the full bucket: 5 pass, 3 dropped, 0 left
		{0, 3, 0},      // same millisecond: nothing refilled
		{99, 2, 0},     // 990 thousandths: not one packet
		{1, 2, 1},      // 1000: one packet
		{250, 4, 2},    // 2500: two, 500 stay
		{50, 1, 1},     // 500 + 500
		{100000, 9, 5}, // a long idle time fills the bucket to the burst only
	}
	var passed, sent int
	for i, s := range steps {
		c.advanceMs(s.advanceMs)
		if got := r.send(w, s.n, 64); got != s.pass {
			t.Errorf("step %d: %d of %d passed, want %d", i, got, s.n, s.pass)
		}
		passed += s.pass
		sent += s.n
	}
	st, err := r.d.MeterGet(1)
	if err != nil {
		t.Fatal(err)
	}
	want := MeterStats{Packets: uint64(sent), Bytes: uint64(sent * 64),
		Bands: []MeterBandStats{{Packets: uint64(sent - passed), Bytes: uint64((sent - passed) * 64)}}}
	if st.Packets != want.Packets || st.Bytes != want.Bytes || len(st.Bands) != 1 || st.Bands[0] != want.Bands[0] {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	ds := r.d.Stats().Drops
	if ds.Meter != uint64(sent-passed) || ds.Action != 0 {
		t.Errorf("drops %+v, want %d meter drops and no action drop", ds, sent-passed)
	}
}

func TestMeterKbps(t *testing.T) {
	r, c := meterRig(t)
	// 8 kbps is 8 bits per millisecond; a burst of 2 kilobits holds 2000
	// bits. A 100-byte packet takes 800.
	if err := r.d.MeterSet(1, MeterConfig{Flags: MeterFlagKbps | MeterFlagBurst,
		Bands: []MeterBand{{Type: MeterBandDrop, Rate: 8, BurstSize: 2}}}); err != nil {
		t.Fatal(err)
	}
	w := r.d.NewWorker()
	if got := r.send(w, 4, 100); got != 2 { // 2000 - 1600 = 400 left
		t.Errorf("first burst: %d passed, want 2", got)
	}
	c.advanceMs(49) // 400 + 392 = 792 bits: short of one packet by 8
	if got := r.send(w, 1, 100); got != 0 {
		t.Errorf("after 49 ms: %d passed, want 0", got)
	}
	c.advanceMs(1) // 800
	if got := r.send(w, 1, 100); got != 1 {
		t.Errorf("after 50 ms: %d passed, want 1", got)
	}
	// Sizes differ: a packet too big for what is left is dropped, a
	// smaller one after it still passes (OVS meters kbps packet by
	// packet).
	c.advanceMs(100) // 800 bits
	w.Process(1, append(frames(1, 200), frames(1, 60)...))
	out := drain(r.far[2])
	if len(out) != 1 || len(out[0]) != 60 {
		t.Errorf("mixed sizes: passed %d packets (%v)", len(out), out)
	}
	st, _ := r.d.MeterGet(1)
	if st.Packets != 8 || st.Bytes != 6*100+200+60 || st.Bands[0].Packets != 4 || st.Bands[0].Bytes != 3*100+200 {
		t.Errorf("stats %+v", st)
	}
}

func TestMeterDefaultBurstAndBands(t *testing.T) {
	r, c := meterRig(t)
	// No burst size: the burst is the rate. Two bands: a packet that
	// exceeds both fires the one with the higher rate.
	if err := r.d.MeterSet(1, MeterConfig{Flags: MeterFlagPktps, Bands: []MeterBand{
		{Type: MeterBandDrop, Rate: 4},
		{Type: MeterBandDrop, Rate: 6, BurstSize: 2},
	}}); err != nil {
		t.Fatal(err)
	}
	w := r.d.NewWorker()
	// Band 0 holds 4 packets, band 1 holds 2: packets 3 and 4 exceed
	// band 1 only, 5 and 6 both (band 1, rate 6, fires).
	if got := r.send(w, 6, 64); got != 2 {
		t.Errorf("%d passed, want 2", got)
	}
	st, _ := r.d.MeterGet(1)
	if st.Bands[0].Packets != 0 || st.Bands[1].Packets != 4 {
		t.Errorf("band stats %+v, want 0 and 4", st.Bands)
	}
	// 500 ms: band 0 gains 2 packets (it had 0 left), band 1 gains 3
	// (capped at 2).
	c.advanceMs(500)
	if got := r.send(w, 3, 64); got != 2 {
		t.Errorf("after 500 ms: %d passed, want 2", got)
	}
	st, _ = r.d.MeterGet(1)
	if st.Bands[0].Packets != 0 || st.Bands[1].Packets != 5 {
		t.Errorf("band stats %+v, want 0 and 5", st.Bands)
	}
	// The lower band alone exceeded: it fires.
	if err := r.d.MeterSet(1, MeterConfig{Flags: MeterFlagPktps, Bands: []MeterBand{
		{Type: MeterBandDrop, Rate: 1000, BurstSize: 1},
		{Type: MeterBandDrop, Rate: 2000, BurstSize: 5},
	}}); err != nil {
		t.Fatal(err)
	}
	if got := r.send(w, 3, 64); got != 1 {
		t.Errorf("%d passed, want 1", got)
	}
	st, _ = r.d.MeterGet(1)
	if st.Packets != 3 || st.Bands[0].Packets != 2 || st.Bands[1].Packets != 0 {
		t.Errorf("after MeterSet replaced it: stats %+v", st)
	}
}

// TestMeterNeverRefills checks an OVS quirk kept on purpose: the time
// credited is capped at burst*1000/rate milliseconds, rounded down, so a
// band whose burst is under a thousandth of its rate never refills.
func TestMeterNeverRefills(t *testing.T) {
	r, c := meterRig(t)
	if err := r.d.MeterSet(1, MeterConfig{Flags: MeterFlagKbps,
		Bands: []MeterBand{{Type: MeterBandDrop, Rate: 10000, BurstSize: 5}}}); err != nil {
		t.Fatal(err)
	}
	w := r.d.NewWorker()
	if got := r.send(w, 10, 100); got != 6 { // 5000 bits: 6 of 800
		t.Errorf("%d passed, want 6", got)
	}
	c.advanceMs(10000)
	if got := r.send(w, 10, 100); got != 0 {
		t.Errorf("after 10 s: %d passed, want 0 (OVS never refills this band)", got)
	}
}

func TestMeterMissingPasses(t *testing.T) {
	r, _ := meterRig(t)
	w := r.d.NewWorker()
	if got := r.send(w, 40, 64); got != 40 {
		t.Errorf("no meter 1: %d of 40 passed", got)
	}
	if err := r.d.MeterSet(1, MeterConfig{Flags: MeterFlagPktps, Bands: []MeterBand{{Type: MeterBandDrop, Rate: 1}}}); err != nil {
		t.Fatal(err)
	}
	if got := r.send(w, 4, 64); got != 1 {
		t.Errorf("meter 1 of 1 pktps: %d passed", got)
	}
	st, err := r.d.MeterDel(1)
	if err != nil || st.Packets != 4 || st.Bands[0].Packets != 3 {
		t.Errorf("MeterDel = %+v, %v", st, err)
	}
	if got := r.send(w, 4, 64); got != 4 {
		t.Errorf("meter 1 deleted: %d of 4 passed", got)
	}
	if _, err := r.d.MeterGet(1); !errors.Is(err, ErrNotExist) {
		t.Errorf("MeterGet after delete: %v", err)
	}
	if _, err := r.d.MeterDel(1); !errors.Is(err, ErrNotExist) {
		t.Errorf("MeterDel after delete: %v", err)
	}
}

func TestMeterSetErrors(t *testing.T) {
	d := New(Config{})
	defer d.Close()
	drop := func(rate uint32) MeterBand { return MeterBand{Type: MeterBandDrop, Rate: rate} }
	nine := make([]MeterBand, 9)
	for i := range nine {
		nine[i] = drop(1)
	}
	for _, tc := range []struct {
		name string
		id   uint32
		cfg  MeterConfig
		want error
	}{
		{"no unit", 1, MeterConfig{Flags: MeterFlagBurst, Bands: []MeterBand{drop(1)}}, ErrMeterFlags},
		{"both units", 1, MeterConfig{Flags: MeterFlagKbps | MeterFlagPktps, Bands: []MeterBand{drop(1)}}, ErrMeterFlags},
		{"no band", 1, MeterConfig{Flags: MeterFlagKbps}, ErrInvalid},
		{"rate 0", 1, MeterConfig{Flags: MeterFlagKbps, Bands: []MeterBand{drop(1), drop(0)}}, ErrMeterRate},
		{"id too large", MaxMeters, MeterConfig{Flags: MeterFlagKbps, Bands: []MeterBand{drop(1)}}, ErrMeterID},
		// The dpif layer's checks come first, as in OVS.
		{"id too large, rate 0", MaxMeters, MeterConfig{Flags: MeterFlagKbps, Bands: []MeterBand{drop(0)}}, ErrMeterRate},
		{"unknown flag", 1, MeterConfig{Flags: MeterFlagKbps | 0x10, Bands: []MeterBand{drop(1)}}, ErrMeterFlags},
		{"9 bands", 1, MeterConfig{Flags: MeterFlagKbps, Bands: nine}, ErrInvalid},
		{"dscp remark", 1, MeterConfig{Flags: MeterFlagKbps, Bands: []MeterBand{{Type: MeterBandDSCPRemark, Rate: 1}}}, ErrMeterBandType},
		{"ok", MaxMeters - 1, MeterConfig{Flags: MeterFlagKbps | MeterFlagStats, Bands: nine[:8]}, nil},
	} {
		err := d.MeterSet(tc.id, tc.cfg)
		if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
			t.Errorf("%s: MeterSet = %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := d.MeterGet(MaxMeters); !errors.Is(err, ErrMeterID) {
		t.Errorf("MeterGet(MaxMeters) = %v", err)
	}
	if _, err := d.MeterDel(MaxMeters); !errors.Is(err, ErrMeterID) {
		t.Errorf("MeterDel(MaxMeters) = %v", err)
	}
	if st, err := d.MeterGet(MaxMeters - 1); err != nil || len(st.Bands) != 8 {
		t.Errorf("MeterGet = %+v, %v", st, err)
	}
}

// TestMeterClockPerBatch checks that a batch reads the clock once, as OVS
// meters a batch at one time, and that a batch without a meter does not
// read it.
func TestMeterClockPerBatch(t *testing.T) {
	r, c := meterRig(t)
	r.put(t, "in_port(2),eth_type(0x0800),ipv4(proto=17,frag=no),udp()", "1")
	if err := r.d.MeterSet(1, MeterConfig{Flags: MeterFlagPktps, Bands: []MeterBand{{Type: MeterBandDrop, Rate: 1000}}}); err != nil {
		t.Fatal(err)
	}
	w := r.d.NewWorker()
	before := c.reads.Load()
	r.send(w, 32, 64)
	if n := c.reads.Load() - before; n != 1 {
		t.Errorf("a metered batch read the clock %d times, want 1", n)
	}
	w.Process(2, frames(32, 64))
	if n := c.reads.Load() - before; n != 1 {
		t.Errorf("a batch without meter read the clock")
	}
}

// TestMeterInClone checks that a meter drop inside a clone drops the
// clone's copy only.
func TestMeterInClone(t *testing.T) {
	c := &fakeClock{}
	r := newRig(t, Config{Clock: c.now}, 3)
	r.put(t, "in_port(1),eth_type(0x0800),ipv4(proto=17,frag=no),udp()", "clone(meter(7),3),2")
	if err := r.d.MeterSet(7, MeterConfig{Flags: MeterFlagPktps, Bands: []MeterBand{{Type: MeterBandDrop, Rate: 2}}}); err != nil {
		t.Fatal(err)
	}
	r.d.Process(1, frames(5, 64))
	if n2, n3 := len(drain(r.far[2])), len(drain(r.far[3])); n2 != 5 || n3 != 2 {
		t.Errorf("port 2 got %d, port 3 %d; want 5 and 2", n2, n3)
	}
	if ds := r.d.Stats().Drops; ds.Meter != 3 || ds.Action != 0 {
		t.Errorf("drops %+v", ds)
	}
}

// TestMeterConcurrent meters from several workers at once with the clock
// stopped: exactly the burst passes, whatever the interleaving.
func TestMeterConcurrent(t *testing.T) {
	r, _ := meterRig(t)
	if err := r.d.MeterSet(1, MeterConfig{Flags: MeterFlagPktps, Bands: []MeterBand{{Type: MeterBandDrop, Rate: 1000, BurstSize: 300}}}); err != nil {
		t.Fatal(err)
	}
	const workers, batches, per = 4, 20, 16
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := r.d.NewWorker()
			b := frames(per, 64)
			for range batches {
				w.Process(1, b)
			}
		}()
	}
	// Stats and meter changes meanwhile.
	for range 50 {
		if _, err := r.d.MeterGet(1); err != nil {
			t.Error(err)
		}
		if err := r.d.MeterSet(2, MeterConfig{Flags: MeterFlagKbps, Bands: []MeterBand{{Type: MeterBandDrop, Rate: 5}}}); err != nil {
			t.Error(err)
		}
	}
	wg.Wait()
	got := len(drain(r.far[2]))
	st, _ := r.d.MeterGet(1)
	if got != 300 || st.Packets != workers*batches*per || st.Bands[0].Packets != workers*batches*per-300 {
		t.Errorf("%d passed, stats %+v", got, st)
	}
	if ds := r.d.Stats().Drops; ds.Meter != workers*batches*per-300 {
		t.Errorf("drops %+v", ds)
	}
}

func TestMeterAllocs(t *testing.T) {
	r, c := meterRig(t)
	if err := r.d.MeterSet(1, MeterConfig{Flags: MeterFlagPktps, Bands: []MeterBand{{Type: MeterBandDrop, Rate: 1000, BurstSize: 10}}}); err != nil {
		t.Fatal(err)
	}
	w := r.d.NewWorker()
	b := frames(32, 64)
	buf := dpio.NewBatch(32)
	w.Process(1, b)
	r.far[2].TryRead(buf)
	if n := testing.AllocsPerRun(200, func() {
		c.advanceMs(5)
		w.Process(1, b)
		r.far[2].TryRead(buf)
	}); n != 0 {
		t.Errorf("Process with a meter allocates %v times per batch", n)
	}
}

// TestMeterAsyncUpcall meters packets a queued slow path executes: each
// one is a batch of its own, which reads the clock anew.
func TestMeterAsyncUpcall(t *testing.T) {
	c := &fakeClock{}
	acts := actions.MustParse("meter(1),2")
	r := newRig(t, Config{Clock: c.now, UpcallQueueLen: 64, Upcall: func(u *Upcall) {
		if err := u.Execute(acts); err != nil {
			t.Error(err)
		}
	}}, 2)
	if err := r.d.MeterSet(1, MeterConfig{Flags: MeterFlagPktps, Bands: []MeterBand{{Type: MeterBandDrop, Rate: 1000, BurstSize: 1}}}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		r.d.Process(1, frames(3, 64)) // misses: queued
		r.d.WaitUpcalls()
		c.advanceMs(1) // one more packet's worth
	}
	if got := len(drain(r.far[2])); got != 3 {
		t.Errorf("%d passed, want one per millisecond: 3", got)
	}
}

// TestMeterMaxDelta checks the cap on credited time, kept in 32 bits as
// OVS keeps it.
func TestMeterMaxDelta(t *testing.T) {
	for _, tc := range []struct {
		bands []MeterBand
		want  uint64
	}{
		{[]MeterBand{{Type: MeterBandDrop, Rate: 10, BurstSize: 5}}, 500},
		{[]MeterBand{{Type: MeterBandDrop, Rate: 10, BurstSize: 5}, {Type: MeterBandDrop, Rate: 3, BurstSize: 2}}, 666},
		{[]MeterBand{{Type: MeterBandDrop, Rate: 10000, BurstSize: 5}}, 0},
		{[]MeterBand{{Type: MeterBandDrop, Rate: 1, BurstSize: 1<<32 - 1}}, 1<<32 - 1000},
	} {
		if m := newMeter(&MeterConfig{Flags: MeterFlagKbps, Bands: tc.bands}, 0); m.maxDelta != tc.want {
			t.Errorf("%+v: max delta %d ms, want %d", tc.bands, m.maxDelta, tc.want)
		}
	}
}

// BenchmarkMeter measures a batch of 32 packets through a flow with and
// without a meter that passes them all.
func BenchmarkMeter(b *testing.B) {
	for _, acts := range []string{"2", "meter(1),2", "meter(9),2"} { // meter 9 does not exist
		b.Run(acts, func(b *testing.B) {
			c := &fakeClock{}
			d := New(Config{Clock: c.now})
			defer d.Close()
			p1, _ := dpio.NewMemPair(dpio.MemConfig{Name: "p1"}, dpio.MemConfig{})
			d.AddPort(1, p1)
			d.AddPort(2, dpio.NewDiscard("p2"))
			if err := d.MeterSet(1, MeterConfig{Flags: MeterFlagPktps, Bands: []MeterBand{{Type: MeterBandDrop, Rate: 1 << 30}}}); err != nil {
				b.Fatal(err)
			}
			m := flow.MustParse("in_port(1),eth_type(0x0800),ipv4(proto=17,frag=no),udp()")
			if _, err := d.PutFlow(m, actions.MustParse(acts), PutCreate); err != nil {
				b.Fatal(err)
			}
			w := d.NewWorker()
			batch := frames(32, 64)
			b.ReportAllocs()
			for b.Loop() {
				c.advanceMs(1)
				w.Process(1, batch)
			}
			if st := d.Stats(); st.Drops.Meter != 0 || st.Drops.Action != 0 {
				b.Fatalf("drops %+v", st.Drops)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*32), "ns/pkt")
		})
	}
}

// TestMeterIDs sets, meters through, and deletes meters below and above
// the ids the table keeps in its array.
func TestMeterIDs(t *testing.T) {
	c := &fakeClock{}
	r := newRig(t, Config{Clock: c.now}, 2)
	ids := []uint32{0, smallMeters - 1, smallMeters, 70000, MaxMeters - 1}
	for i, id := range ids {
		if err := r.d.MeterSet(id, MeterConfig{Flags: MeterFlagPktps, Bands: []MeterBand{{Type: MeterBandDrop, Rate: 1, BurstSize: uint32(i + 1)}}}); err != nil {
			t.Fatal(err)
		}
		r.put(t, fmt.Sprintf("in_port(1),eth_type(0x0800),ipv4(proto=17,frag=no),udp(dst=%d)", 100+i), fmt.Sprintf("meter(%d),2", id))
	}
	send := func(i int) int {
		fs := make([][]byte, 8)
		for k := range fs {
			fs[k] = testpkt.UDP(testpkt.Frame{DstPort: uint16(100 + i)})
		}
		r.d.Process(1, batchOf(fs...))
		return len(drain(r.far[2]))
	}
	for i := range ids {
		if got := send(i); got != i+1 {
			t.Errorf("meter %d: %d passed, want %d", ids[i], got, i+1)
		}
	}
	for _, i := range []int{1, 3} {
		if _, err := r.d.MeterDel(ids[i]); err != nil {
			t.Fatal(err)
		}
	}
	for i, id := range ids {
		st, err := r.d.MeterGet(id)
		deleted := i == 1 || i == 3
		if deleted != errors.Is(err, ErrNotExist) || !deleted && st.Packets != 8 {
			t.Errorf("meter %d: %+v, %v", id, st, err)
		}
		want := 0
		if deleted {
			want = 8
		}
		if got := send(i); got != want {
			t.Errorf("meter %d after deletes: %d passed, want %d", id, got, want)
		}
	}
}
