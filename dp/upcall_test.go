package dp

import (
	"bytes"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/flow"
	"github.com/b7cafead/datapath/internal/testpkt"
)

func recvQueued(t *testing.T, q *UpcallQueue) *QueuedUpcall {
	t.Helper()
	select {
	case u, ok := <-q.C():
		if !ok {
			t.Fatal("queue closed")
		}
		return u
	default:
		t.Fatal("queue empty")
	}
	return nil
}

func TestUpcallQueues(t *testing.T) {
	r := newRig(t, Config{}, 2)
	r.d.Port(1).SetUpcallPIDs([]uint32{5})
	q, err := r.d.OpenUpcallQueue(5, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.d.OpenUpcallQueue(5, 2); !errors.Is(err, ErrExist) {
		t.Errorf("second open: %v", err)
	}
	frames := [][]byte{
		testpkt.UDP(testpkt.Frame{SrcPort: 1}), testpkt.UDP(testpkt.Frame{SrcPort: 2}),
		testpkt.UDP(testpkt.Frame{SrcPort: 3}), testpkt.UDP(testpkt.Frame{SrcPort: 4}),
	}
	b := batchOf(frames...)
	r.d.Process(1, b)
	// Two fit; two are lost, as a full upcall queue loses them in OVS.
	if st := r.d.Stats(); st.Missed != 4 || st.Lost != 2 {
		t.Errorf("stats %+v", st)
	}
	b[0].Bytes()[0] = 0xee // the queue holds copies
	u := recvQueued(t, q)
	var want flow.Key
	flow.Extract(frames[0], 1, &want)
	if u.Type != UpcallMiss || u.PID != 5 || u.InPort != 1 || u.Key != want || !bytes.Equal(u.Packet, frames[0]) {
		t.Errorf("upcall %+v", u)
	}
	recvQueued(t, q)

	// The slow path answers as an OVS client does: install, execute.
	m := flow.Match{Key: u.Key}
	m.Mask.InPort, m.Mask.EthType = ^uint32(0), 0xffff
	acts := actions.List{actions.Output(2)}
	if _, err := r.d.PutFlow(m, acts, PutCreate); err != nil {
		t.Fatal(err)
	}
	if err := r.d.Execute(u.InPort, u.Packet, acts); err != nil {
		t.Fatal(err)
	}
	r.d.Process(1, batchOf(frames[1]))
	if got := drain(r.far[2]); len(got) != 2 || !bytes.Equal(got[0], frames[0]) || !bytes.Equal(got[1], frames[1]) {
		t.Errorf("port 2 got %d packets", len(got))
	}

	// A closed queue's pid loses its upcalls; the pid can be opened again.
	q.Close()
	if _, ok := <-q.C(); ok {
		t.Error("closed queue delivers")
	}
	r.d.Process(2, batchOf(frames[2])) // port 2 has no pids: lost
	r.d.Process(1, batchOf(testpkt.ARPRequest(testpkt.Frame{})))
	if st := r.d.Stats(); st.Lost != 4 {
		t.Errorf("lost %d, want 4", st.Lost)
	}
	q2, err := r.d.OpenUpcallQueue(5, 4)
	if err != nil {
		t.Fatal(err)
	}
	r.d.Process(1, batchOf(testpkt.ARPRequest(testpkt.Frame{})))
	recvQueued(t, q2)
	r.d.Close()
	if _, ok := <-q2.C(); ok {
		t.Error("queue open after the datapath closed")
	}
}

// TestUpcallPIDSpread checks that a port with several pids spreads flows
// over them and keeps each flow on one pid.
func TestUpcallPIDSpread(t *testing.T) {
	r := newRig(t, Config{}, 1)
	r.d.Port(1).SetUpcallPIDs([]uint32{7, 8})
	qa, _ := r.d.OpenUpcallQueue(7, 1000)
	qb, _ := r.d.OpenUpcallQueue(8, 1000)
	for i := 0; i < 64; i++ {
		f := testpkt.UDP(testpkt.Frame{SrcPort: uint16(i)})
		r.d.Process(1, batchOf(f, f))
	}
	na, nb := len(qa.C()), len(qb.C())
	if na+nb != 128 || na == 0 || nb == 0 {
		t.Fatalf("pids got %d and %d", na, nb)
	}
	for _, q := range []*UpcallQueue{qa, qb} {
		for len(q.C()) > 0 {
			a, b := <-q.C(), <-q.C()
			if a.Key != b.Key || a.PID != q.PID() {
				t.Fatal("a flow's two packets went to different pids")
			}
		}
	}
}

// TestAsyncUpcallFlood holds the asynchronous handler still while misses
// pour in: the pipeline never waits for it, hits keep being forwarded, and
// every missed packet is either handled or counted lost.
func TestAsyncUpcallFlood(t *testing.T) {
	release := make(chan struct{})
	var handled atomic.Int64
	r := newRig(t, Config{UpcallQueueLen: 16, UpcallWorkers: 2, Upcall: func(u *Upcall) {
		<-release
		m := flow.Match{Key: u.Key}
		m.Mask.InPort, m.Mask.TpSrc, m.Mask.EthType, m.Mask.NwProto, m.Mask.NwFrag = ^uint32(0), 0xffff, 0xffff, 0xff, 0xff
		if _, err := u.Install(m, actions.List{actions.Output(2)}); err != nil {
			t.Error(err)
		}
		handled.Add(1)
	}}, 2)
	r.put(t, "in_port(1),eth_type(0x0800),ipv4(proto=17,frag=no),udp(src=9999)", "2")
	hit := testpkt.UDP(testpkt.Frame{SrcPort: 9999})
	const batches = 200
	for i := 0; i < batches; i++ {
		b := batchOf(hit, testpkt.UDP(testpkt.Frame{SrcPort: uint16(i)}), hit)
		r.d.Process(1, b) // returns although the handler is blocked
	}
	if n := len(drain(r.far[2])); n != 2*batches {
		t.Errorf("%d hits forwarded while the slow path was stuck, want %d", n, 2*batches)
	}
	close(release)
	r.d.WaitUpcalls()
	st := r.d.Stats()
	if st.Hit != 2*batches || st.Missed != batches || uint64(handled.Load())+st.Lost != batches {
		t.Errorf("stats %+v, handled %d", st, handled.Load())
	}
	if st.Lost < batches-16-2 {
		t.Errorf("lost %d: the queue held more than its 16", st.Lost)
	}
	// Each handled upcall installed its flow and sent its packet.
	if n := len(drain(r.far[2])); n != int(handled.Load()) || st.Flows != int(handled.Load())+1 {
		t.Errorf("%d packets out, %d flows, %d handled", n, st.Flows, handled.Load())
	}
}
