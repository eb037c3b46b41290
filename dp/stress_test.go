package dp

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/flow"
	"github.com/b7cafead/datapath/internal/testpkt"
	dpio "github.com/b7cafead/datapath/io"
)

// TestCountersAddUpUnderChurn forwards on polling goroutines while flows
// are added, modified and deleted and a port comes and goes, then checks
// that every packet the datapath accepted is accounted for: transmitted,
// dropped with a counted reason, or missed.
func TestCountersAddUpUnderChurn(t *testing.T) {
	goroutines := runtime.NumGoroutine()
	d := New(Config{})
	var mu sync.Mutex
	var vports []*Vport
	var fars []*dpio.MemPort
	add := func(no uint32) {
		near, far := dpio.NewMemPair(dpio.MemConfig{Name: "p" + string(rune('0'+no)), QueueLen: 256}, dpio.MemConfig{QueueLen: 256})
		v, err := d.AddPort(no, near)
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		vports = append(vports, v)
		fars = append(fars, far)
		mu.Unlock()
	}
	for no := uint32(1); no <= 3; no++ {
		add(no)
	}
	put := func(f, a string, flags PutFlags) {
		m := flow.MustParse(f)
		acts, err := actions.Parse(a)
		if err != nil {
			t.Fatal(err)
		}
		d.PutFlow(m, acts, flags)
	}
	// Flows that do not overlap, as a slow path installs them.
	const (
		udp1 = "in_port(1),eth_type(0x0800),ipv4(proto=17,frag=no),udp(src=1)"
		udp2 = "in_port(1),eth_type(0x0800),ipv4(proto=17,frag=no),udp(src=2)"
		tcp1 = "in_port(1),eth_type(0x0800),ipv4(proto=6,frag=no),tcp()"
		ip2  = "in_port(2),eth_type(0x0800),ipv4(frag=no)"
	)
	put(udp1, "2", PutCreate)
	put(tcp1, "2", PutCreate)
	put(ip2, "3", PutCreate)
	d.Start()

	deadline := time.Now().Add(time.Second)
	var wg sync.WaitGroup
	var stop atomic.Bool
	// Senders into ports 1 and 2, and drainers of every far end.
	for _, in := range []int{0, 1} {
		wg.Add(1)
		go func(in int) {
			defer wg.Done()
			mu.Lock()
			far := fars[in]
			mu.Unlock()
			frames := [][]byte{testpkt.UDP(testpkt.Frame{SrcPort: 1}), testpkt.UDP(testpkt.Frame{SrcPort: 2}),
				testpkt.TCP(testpkt.Frame{SrcPort: 3}), testpkt.ARPRequest(testpkt.Frame{})}
			b := dpio.NewBatch(len(frames))
			for !stop.Load() {
				for i, f := range frames {
					b[i].Reset(dpio.DefaultHeadroom)
					b[i].SetBytes(f)
				}
				far.Write(b)
				time.Sleep(20 * time.Microsecond)
			}
		}(in)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		b := dpio.NewBatch(64)
		for !stop.Load() {
			mu.Lock()
			fs := append([]*dpio.MemPort(nil), fars...)
			mu.Unlock()
			for _, f := range fs {
				f.TryRead(b)
			}
			time.Sleep(10 * time.Microsecond)
		}
	}()
	// Flow and port churn.
	for i := 0; time.Now().Before(deadline); i++ {
		switch i % 6 {
		case 0:
			put(udp2, "drop", PutCreate)
		case 1:
			put(tcp1, "3", PutModify)
		case 2:
			d.DelFlow(flow.MustParse(udp2))
		case 3:
			if err := d.DelPort(3); err != nil {
				t.Fatal(err)
			}
		case 4:
			put(tcp1, "2", PutModify)
			put(ip2, "9", PutModify) // no such port
		case 5:
			add(3)
			put(ip2, "3", PutModify)
		}
		time.Sleep(time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	var accepted, sent uint64
	for _, v := range vports {
		s := v.Stats()
		accepted += s.RxPackets
		sent += s.TxPackets
	}
	st := d.Stats()
	dr := st.Drops
	accounted := sent + dr.Action + dr.InvalidPort + dr.TxError + dr.TxFull + st.Missed
	t.Logf("accepted %d: sent %d, drops %+v, missed %d (lost %d)", accepted, sent, dr, st.Missed, st.Lost)
	if accepted == 0 || accepted != accounted {
		t.Errorf("accepted %d packets, accounted for %d", accepted, accounted)
	}
	if st.Hit+st.Missed != accepted || st.Lost != st.Missed {
		t.Errorf("hit %d + missed %d != accepted %d (lost %d)", st.Hit, st.Missed, accepted, st.Lost)
	}
	if dr.Action == 0 || st.Missed == 0 || dr.InvalidPort == 0 {
		t.Errorf("the test did not exercise drops and misses: %+v", st)
	}
	// Nothing left running: pollers and the ranking ticker are gone.
	for i := 0; runtime.NumGoroutine() > goroutines; i++ {
		if i == 100 {
			t.Fatalf("%d goroutines after Close, %d before", runtime.NumGoroutine(), goroutines)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
