package io_test

import (
	"errors"
	"net"
	"testing"
	"time"

	dpio "github.com/b7cafead/datapath/io"
)

func TestDiscardPort(t *testing.T) {
	d := dpio.NewDiscard("nowhere")
	out := frames(3)
	var total uint64
	for _, p := range out {
		total += uint64(p.Len())
	}
	for i := 0; i < 2; i++ {
		if n, err := d.Write(out); n != 3 || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if s := d.Stats(); s != (dpio.PortStats{TxPackets: 6, TxBytes: 2 * total}) {
		t.Errorf("Stats = %+v", s)
	}
	if info := d.Info(); info.Name != "nowhere" || !info.LinkUp || info.MTU != 1500 || info.Headroom != dpio.DefaultHeadroom {
		t.Errorf("Info = %+v", info)
	}
	if d.BatchSize() != dpio.DefaultBatchSize {
		t.Errorf("BatchSize = %d", d.BatchSize())
	}

	ch := make(chan error, 1)
	go func() {
		_, err := d.Read(dpio.NewBatch(1))
		ch <- err
	}()
	select {
	case err := <-ch:
		t.Fatalf("Read returned %v before Close", err)
	case <-time.After(20 * time.Millisecond):
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ch:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Read after Close: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Read did not return after Close")
	}
	if n, err := d.Write(out); n != 0 || !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close = %d, %v", n, err)
	}
	if n, err := d.Read(nil); n != 0 || !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after Close = %d, %v", n, err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if s := d.Stats(); s.TxPackets != 6 {
		t.Errorf("a write after Close was counted: %+v", s)
	}
}
