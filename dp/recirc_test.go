package dp

import (
	"bytes"
	"sync"
	"testing"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/internal/testpkt"
)

// TestUserspaceActionQueue checks that userspace() sends an action upcall
// with its userdata to the queue of its pid, and counts it lost when the
// queue is full or missing.
func TestUserspaceActionQueue(t *testing.T) {
	r := newRig(t, Config{}, 2)
	q, err := r.d.OpenUpcallQueue(7, 1)
	if err != nil {
		t.Fatal(err)
	}
	r.put(t, "in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", "userspace(pid=7,userdata(0102030405060708)),2")
	r.put(t, "in_port(2),eth(),eth_type(0x0800),ipv4(frag=no)", "userspace(pid=8,userdata(0102030405060708))")
	f := testpkt.UDP(testpkt.Frame{SrcPort: 1, DstPort: 2})
	r.d.Process(1, batchOf(f, f))
	u := recvQueued(t, q)
	if u.Type != UpcallAction || u.PID != 7 || u.InPort != 1 || !bytes.Equal(u.Userdata, []byte{1, 2, 3, 4, 5, 6, 7, 8}) || !bytes.Equal(u.Packet, f) {
		t.Errorf("upcall %+v", u)
	}
	if got := drain(r.far[2]); len(got) != 2 {
		t.Errorf("port 2 got %d packets, want 2", len(got))
	}
	r.d.Process(2, batchOf(f))
	if st := r.d.Stats(); st.Lost != 2 || st.Hit != 3 || st.Drops.Action != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestUserspaceActionHandler checks the Go handler's view of an action
// upcall, and that it can execute the packet.
func TestUserspaceActionHandler(t *testing.T) {
	var got []*Upcall
	cfg := Config{Upcall: func(u *Upcall) {
		c := *u
		got = append(got, &c)
		if u.Type == UpcallAction {
			if err := u.Execute(mustActs(t, "2")); err != nil {
				t.Error(err)
			}
		}
	}}
	r := newRig(t, cfg, 2)
	r.put(t, "in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", "set(ipv4(ttl=5)),userspace(pid=1,userdata(aabbccddeeff0011))")
	f := testpkt.UDP(testpkt.Frame{SrcPort: 1, DstPort: 2})
	r.d.Process(1, batchOf(f))
	if len(got) != 1 || got[0].Type != UpcallAction || !bytes.Equal(got[0].Userdata, []byte{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0, 0x11}) {
		t.Fatalf("upcalls %+v", got)
	}
	out := drain(r.far[2])
	if len(out) != 1 || out[0][14+8] != 5 {
		t.Errorf("port 2 got %x", out)
	}
}

// TestRecircDepth checks that a packet recirculating forever is dropped
// after six recirculations and counted.
func TestRecircDepth(t *testing.T) {
	r := newRig(t, Config{}, 2)
	r.put(t, "recirc_id(0),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", "recirc(5)")
	r.put(t, "recirc_id(5),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", "2,recirc(5)")
	f := testpkt.UDP(testpkt.Frame{SrcPort: 1, DstPort: 2})
	r.d.Process(1, batchOf(f))
	if got := drain(r.far[2]); len(got) != 6 {
		t.Errorf("port 2 got %d packets, want 6", len(got))
	}
	if st := r.d.Stats(); st.Drops.Recirc != 1 || st.Hit != 7 {
		t.Errorf("stats %+v", st)
	}
	// Steady state allocates nothing.
	b := batchOf(f)
	if n := testing.AllocsPerRun(50, func() {
		b[0].SetBytes(f)
		r.d.Process(1, b)
	}); n > 0 {
		t.Errorf("%v allocations per packet", n)
	}
}

func mustActs(t *testing.T, s string) actions.List {
	t.Helper()
	l, err := actions.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestUserspaceActionAsync checks action upcalls through the asynchronous
// handler's queue, and that a full queue counts them lost.
func TestUserspaceActionAsync(t *testing.T) {
	block := make(chan struct{})
	var got []Upcall
	var mu sync.Mutex
	r := newRig(t, Config{UpcallQueueLen: 1, UpcallWorkers: 1, Upcall: func(u *Upcall) {
		<-block
		mu.Lock()
		got = append(got, Upcall{Type: u.Type, Userdata: append([]byte(nil), u.Userdata...)})
		mu.Unlock()
	}}, 2)
	r.put(t, "in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", "userspace(pid=3,userdata(0a0b0c0d0e0f1011))")
	f := testpkt.UDP(testpkt.Frame{SrcPort: 1, DstPort: 2})
	// One is taken by the handler, one waits in the queue, the rest
	// are lost.
	for range 4 {
		r.d.Process(1, batchOf(f))
	}
	close(block)
	r.d.WaitUpcalls()
	mu.Lock()
	defer mu.Unlock()
	st := r.d.Stats()
	if len(got)+int(st.Lost) != 4 || len(got) < 1 || got[0].Type != UpcallAction || !bytes.Equal(got[0].Userdata, []byte{10, 11, 12, 13, 14, 15, 16, 17}) {
		t.Errorf("upcalls %+v, stats %+v", got, st)
	}
}
