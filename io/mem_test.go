package io_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	dpio "github.com/b7cafead/datapath/io"
)

var (
	_ dpio.Port = (*dpio.MemPort)(nil)
	_ dpio.Port = (*dpio.DiscardPort)(nil)
)

// frames returns n packets holding distinct frames of varying length,
// with timestamps 1000+i.
func frames(n int) []*dpio.Packet {
	pkts := make([]*dpio.Packet, n)
	for i := range pkts {
		p := dpio.NewPacket(16, 256)
		p.SetBytes(seq(60+i%50, byte(i)))
		p.Timestamp = int64(1000 + i)
		pkts[i] = p
	}
	return pkts
}

func TestMemPairInOrder(t *testing.T) {
	a, b := dpio.NewMemPair(dpio.MemConfig{}, dpio.MemConfig{Headroom: 64})
	defer a.Close()
	if a.Peer() != b || b.Peer() != a {
		t.Fatalf("Peer does not link the ends")
	}
	out := frames(5)
	if n, err := a.Write(out); n != 5 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	// The writer's buffers may be reused at once.
	for _, p := range out {
		p.Bytes()[0] ^= 0xff
	}
	if got := b.Pending(); got != 5 {
		t.Errorf("Pending = %d, want 5", got)
	}
	if got := a.Pending(); got != 0 {
		t.Errorf("writer end Pending = %d, want 0", got)
	}
	in := dpio.NewBatchSize(8, 0, 512)
	n, err := b.Read(in)
	if n != 5 || err != nil {
		t.Fatalf("Read = %d, %v", n, err)
	}
	want := frames(5)
	var bytesTotal uint64
	for i := 0; i < n; i++ {
		if !bytes.Equal(in[i].Bytes(), want[i].Bytes()) {
			t.Errorf("frame %d: % x, want % x", i, in[i].Bytes(), want[i].Bytes())
		}
		if in[i].Timestamp != want[i].Timestamp {
			t.Errorf("frame %d: timestamp %d, want %d", i, in[i].Timestamp, want[i].Timestamp)
		}
		if in[i].Headroom() != 64 {
			t.Errorf("frame %d: headroom %d, want the reader's 64", i, in[i].Headroom())
		}
		bytesTotal += uint64(want[i].Len())
	}
	if in[5].Len() != 0 {
		t.Errorf("unfilled buffer touched")
	}
	if s := a.Stats(); s != (dpio.PortStats{TxPackets: 5, TxBytes: bytesTotal}) {
		t.Errorf("writer stats %+v", s)
	}
	if s := b.Stats(); s != (dpio.PortStats{RxPackets: 5, RxBytes: bytesTotal}) {
		t.Errorf("reader stats %+v", s)
	}

	// And the other direction.
	if _, err := b.Write(want[:1]); err != nil {
		t.Fatal(err)
	}
	if n, err := a.TryRead(in); n != 1 || err != nil || !bytes.Equal(in[0].Bytes(), want[0].Bytes()) {
		t.Errorf("reverse direction: %d, %v", n, err)
	}
}

func TestMemPairBatches(t *testing.T) {
	a, b := dpio.NewMemPair(dpio.MemConfig{}, dpio.MemConfig{})
	defer b.Close()
	out := frames(10)
	for _, p := range out {
		// One frame per Write, to exercise ring wrap-around indices too.
		if _, err := a.Write([]*dpio.Packet{p}); err != nil {
			t.Fatal(err)
		}
	}
	in := dpio.NewBatchSize(4, 0, 256)
	var got []int
	for _, want := range []int{4, 4, 2} {
		n, err := b.Read(in)
		if n != want || err != nil {
			t.Fatalf("Read = %d, %v; want %d", n, err, want)
		}
		for i := 0; i < n; i++ {
			got = append(got, int(in[i].Timestamp-1000))
			if !bytes.Equal(in[i].Bytes(), out[len(got)-1].Bytes()) {
				t.Errorf("frame %d differs", len(got)-1)
			}
		}
	}
	for i, g := range got {
		if g != i {
			t.Fatalf("order %v", got)
		}
	}
	if n, err := b.TryRead(in); n != 0 || err != nil {
		t.Errorf("TryRead on empty queue = %d, %v", n, err)
	}
	if n, err := b.Read(nil); n != 0 || err != nil {
		t.Errorf("Read(nil) = %d, %v", n, err)
	}
	if n, err := a.Write(nil); n != 0 || err != nil {
		t.Errorf("Write(nil) = %d, %v", n, err)
	}
}

func TestMemPairRingWrap(t *testing.T) {
	a, b := dpio.NewMemPair(dpio.MemConfig{}, dpio.MemConfig{QueueLen: 3, SlotSize: 128})
	defer a.Close()
	in := dpio.NewBatchSize(2, 0, dpio.DefaultHeadroom+128)
	out := frames(20)
	for i := 0; i < 20; i += 2 {
		if _, err := a.Write(out[i : i+2]); err != nil {
			t.Fatal(err)
		}
		n, err := b.Read(in)
		if n != 2 || err != nil {
			t.Fatalf("round %d: Read = %d, %v", i, n, err)
		}
		for j := 0; j < 2; j++ {
			if !bytes.Equal(in[j].Bytes(), out[i+j].Bytes()) || in[j].Timestamp != out[i+j].Timestamp {
				t.Fatalf("round %d frame %d differs", i, j)
			}
		}
	}
	if s := a.Stats(); s.TxDropped != 0 || s.TxPackets != 20 {
		t.Errorf("stats %+v", s)
	}
}

func TestMemPairQueueFull(t *testing.T) {
	a, b := dpio.NewMemPair(dpio.MemConfig{}, dpio.MemConfig{QueueLen: 4})
	defer a.Close()
	out := frames(6)
	n, err := a.Write(out)
	if n != 6 || err != nil {
		t.Fatalf("Write = %d, %v; a full queue still accepts (and drops)", n, err)
	}
	s := a.Stats()
	if s.TxPackets != 4 || s.TxDropped != 2 || s.TxErrors != 0 {
		t.Errorf("writer stats %+v, want 4 sent, 2 dropped", s)
	}
	in := dpio.NewBatchSize(8, 0, 256)
	n, err = b.Read(in)
	if n != 4 || err != nil {
		t.Fatalf("Read = %d, %v", n, err)
	}
	for i := 0; i < 4; i++ {
		if in[i].Timestamp != out[i].Timestamp {
			t.Errorf("kept frame %d is %d, want the first four", i, in[i].Timestamp)
		}
	}
	// Space again.
	if _, err := a.Write(out[4:]); err != nil {
		t.Fatal(err)
	}
	if n, _ := b.TryRead(in); n != 2 || in[0].Timestamp != out[4].Timestamp {
		t.Errorf("after draining: TryRead %d", n)
	}
}

func TestMemPairOversize(t *testing.T) {
	a, b := dpio.NewMemPair(dpio.MemConfig{}, dpio.MemConfig{SlotSize: 100})
	defer a.Close()
	ok := dpio.NewPacket(0, 200)
	ok.SetBytes(seq(100, 0))
	big := dpio.NewPacket(0, 200)
	big.SetBytes(seq(101, 0))
	n, err := a.Write([]*dpio.Packet{big, ok, big})
	if n != 3 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if s := a.Stats(); s.TxErrors != 2 || s.TxPackets != 1 || s.TxBytes != 100 {
		t.Errorf("writer stats %+v, want 2 errors, 1 packet", s)
	}
	in := dpio.NewBatchSize(4, dpio.DefaultHeadroom, 200)
	if n, _ := b.TryRead(in); n != 1 || in[0].Len() != 100 {
		t.Errorf("TryRead = %d (len %d), want the one 100-byte frame", n, in[0].Len())
	}
}

// A frame larger than the reader's buffer is dropped and counted in
// RxErrors; Read keeps waiting for a frame it can deliver rather than
// returning 0 frames and no error.
func TestMemPairReaderBufferTooSmall(t *testing.T) {
	a, b := dpio.NewMemPair(dpio.MemConfig{}, dpio.MemConfig{Headroom: 8})
	defer a.Close()
	big := dpio.NewPacket(0, 200)
	big.SetBytes(seq(150, 0))
	small := dpio.NewPacket(0, 200)
	small.SetBytes(seq(40, 0))
	in := dpio.NewBatchSize(2, 8, 100)

	a.Write([]*dpio.Packet{big, small})
	n, err := b.Read(in)
	if n != 1 || err != nil || in[0].Len() != 40 || in[0].Headroom() != 8 {
		t.Fatalf("Read = %d, %v (len %d), want the 40-byte frame", n, err, in[0].Len())
	}
	if s := b.Stats(); s.RxErrors != 1 || s.RxPackets != 1 {
		t.Errorf("reader stats %+v", s)
	}

	a.Write([]*dpio.Packet{big})
	ch := make(chan int, 1)
	go func() {
		n, _ := b.Read(in)
		ch <- n
	}()
	deadline := time.Now().Add(2 * time.Second)
	for b.Stats().RxErrors != 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if s := b.Stats(); s.RxErrors != 2 {
		t.Fatalf("RxErrors = %d, want 2", s.RxErrors)
	}
	select {
	case n := <-ch:
		t.Fatalf("Read returned %d frames with only an undeliverable frame queued", n)
	case <-time.After(20 * time.Millisecond):
	}
	a.Write([]*dpio.Packet{small})
	select {
	case n := <-ch:
		if n != 1 || in[0].Len() != 40 {
			t.Errorf("Read = %d (len %d), want the 40-byte frame", n, in[0].Len())
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Read did not return the deliverable frame")
	}
}

func TestMemPairClose(t *testing.T) {
	for _, closeReader := range []bool{false, true} {
		a, b := dpio.NewMemPair(dpio.MemConfig{}, dpio.MemConfig{})
		in := dpio.NewBatch(1)
		ch := make(chan error, 1)
		go func() {
			_, err := b.Read(in)
			ch <- err
		}()
		select {
		case err := <-ch:
			t.Fatalf("Read on an empty queue returned %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		closer := a
		if closeReader {
			closer = b
		}
		if err := closer.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-ch:
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("blocked Read returned %v, want net.ErrClosed", err)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("blocked Read did not return after Close")
		}
		for _, p := range []*dpio.MemPort{a, b} {
			if n, err := p.Write(frames(1)); n != 0 || !errors.Is(err, net.ErrClosed) {
				t.Errorf("Write after Close = %d, %v", n, err)
			}
			if n, err := p.Read(in); n != 0 || !errors.Is(err, net.ErrClosed) {
				t.Errorf("Read after Close = %d, %v", n, err)
			}
			if n, err := p.TryRead(in); n != 0 || !errors.Is(err, net.ErrClosed) {
				t.Errorf("TryRead after Close = %d, %v", n, err)
			}
			if p.Info().LinkUp {
				t.Errorf("LinkUp after Close")
			}
			if err := p.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		}
	}
}

// Frames still queued at Close are not delivered.
func TestMemPairCloseWithPending(t *testing.T) {
	a, b := dpio.NewMemPair(dpio.MemConfig{}, dpio.MemConfig{})
	a.Write(frames(3))
	a.Close()
	if n, err := b.Read(dpio.NewBatch(1)); n != 0 || !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read = %d, %v", n, err)
	}
}

func TestMemPairInfo(t *testing.T) {
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	a, b := dpio.NewMemPair(
		dpio.MemConfig{Name: "left", MAC: mac, MTU: 9000, BatchSize: 64, Headroom: 32},
		dpio.MemConfig{})
	defer a.Close()
	ia := a.Info()
	if ia.Name != "left" || !bytes.Equal(ia.MAC, mac) || ia.MTU != 9000 || !ia.LinkUp || ia.Headroom != 32 {
		t.Errorf("Info = %+v", ia)
	}
	if a.BatchSize() != 64 {
		t.Errorf("BatchSize = %d", a.BatchSize())
	}
	ib := b.Info()
	if !strings.HasPrefix(ib.Name, "mem") || ib.MAC != nil || ib.MTU != 1500 || !ib.LinkUp || ib.Headroom != dpio.DefaultHeadroom {
		t.Errorf("default Info = %+v", ib)
	}
	if b.BatchSize() != dpio.DefaultBatchSize {
		t.Errorf("default BatchSize = %d", b.BatchSize())
	}
	c, d := dpio.NewMemPair(dpio.MemConfig{}, dpio.MemConfig{})
	defer c.Close()
	names := map[string]bool{ib.Name: true, c.Info().Name: true, d.Info().Name: true}
	if len(names) != 3 {
		t.Errorf("default names not unique: %v", names)
	}
	if s := a.Stats(); s != (dpio.PortStats{}) {
		t.Errorf("fresh Stats = %+v", s)
	}
}

func TestMemPairNoAllocs(t *testing.T) {
	a, b := dpio.NewMemPair(dpio.MemConfig{}, dpio.MemConfig{})
	defer a.Close()
	out := frames(32)
	in := dpio.NewBatch(32)
	step := func() {
		if _, err := a.Write(out); err != nil {
			t.Fatal(err)
		}
		if n, err := b.Read(in); n != 32 || err != nil {
			t.Fatalf("Read = %d, %v", n, err)
		}
	}
	step()
	if n := testing.AllocsPerRun(100, step); n != 0 {
		t.Errorf("%v allocations per Write+Read of 32 frames, want 0", n)
	}
}

// TestMemPairConcurrent moves frames between a writer and a reader
// goroutine through a short queue, so that some are dropped; every frame
// is either received, in order, or counted as dropped.
func TestMemPairConcurrent(t *testing.T) {
	const total = 20000
	a, b := dpio.NewMemPair(dpio.MemConfig{}, dpio.MemConfig{QueueLen: 64})
	defer a.Close()
	const endMark = ^uint32(0)

	var wg sync.WaitGroup
	var received []uint32
	var readErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		in := dpio.NewBatchSize(16, dpio.DefaultHeadroom, 64)
		for {
			n, err := b.Read(in)
			if err != nil {
				readErr = err
				return
			}
			for _, p := range in[:n] {
				v := binary.BigEndian.Uint32(p.Bytes())
				if v == endMark {
					return
				}
				received = append(received, v)
			}
		}
	}()

	batch := dpio.NewBatchSize(32, 0, 64)
	for i := 0; i < total; i += len(batch) {
		m := min(len(batch), total-i)
		for j := 0; j < m; j++ {
			binary.BigEndian.PutUint32(batch[j].Extend(), uint32(i+j))
			batch[j].SetLen(4 + j%20)
		}
		if n, err := a.Write(batch[:m]); n != m || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
		if i%(4*len(batch)) == 0 {
			runtime.Gosched() // let the reader in, so that not all drop
		}
	}
	dropped := a.Stats().TxDropped
	// Send the end mark until it is queued rather than dropped.
	end := dpio.NewPacket(0, 4)
	end.SetBytes([]byte{0xff, 0xff, 0xff, 0xff})
	for sent := a.Stats().TxPackets; a.Stats().TxPackets == sent; {
		if _, err := a.Write([]*dpio.Packet{end}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if readErr != nil {
		t.Fatalf("reader: %v", readErr)
	}
	if uint64(len(received))+dropped != total {
		t.Errorf("received %d + dropped %d != sent %d", len(received), dropped, total)
	}
	for i := 1; i < len(received); i++ {
		if received[i] <= received[i-1] {
			t.Fatalf("out of order: %d after %d", received[i], received[i-1])
		}
	}
	sa, sb := a.Stats(), b.Stats()
	if sa.TxPackets != sb.RxPackets || sb.RxPackets != uint64(len(received))+1 {
		t.Errorf("TxPackets %d, RxPackets %d, received %d+1", sa.TxPackets, sb.RxPackets, len(received))
	}
	if sa.TxBytes != sb.RxBytes {
		t.Errorf("TxBytes %d != RxBytes %d", sa.TxBytes, sb.RxBytes)
	}
	t.Logf("received %d, dropped %d", len(received), dropped)
}
