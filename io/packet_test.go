package io_test

import (
	"bytes"
	"errors"
	"testing"

	dpio "github.com/b7cafead/datapath/io"
)

func seq(n int, start byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

// checkGeom checks a packet's geometry.
func checkGeom(t *testing.T, what string, p *dpio.Packet, headroom, n, tailroom int) {
	t.Helper()
	if p.Headroom() != headroom || p.Len() != n || p.Tailroom() != tailroom || len(p.Bytes()) != n || p.Cap() != n+tailroom {
		t.Errorf("%s: headroom %d len %d tailroom %d cap %d bytes %d, want headroom %d len %d tailroom %d",
			what, p.Headroom(), p.Len(), p.Tailroom(), p.Cap(), len(p.Bytes()), headroom, n, tailroom)
	}
}

func TestNewPacket(t *testing.T) {
	p := dpio.NewPacket(16, 100)
	checkGeom(t, "NewPacket(16, 100)", p, 16, 0, 100)
	if p.Timestamp != 0 {
		t.Errorf("Timestamp %d", p.Timestamp)
	}
	checkGeom(t, "NewPacket(-1, -1)", dpio.NewPacket(-1, -1), 0, 0, 0)
	checkGeom(t, "NewPacket(0, 0)", dpio.NewPacket(0, 0), 0, 0, 0)
}

func TestZeroPacket(t *testing.T) {
	var p dpio.Packet
	checkGeom(t, "zero", &p, 0, 0, 0)
	if _, err := p.Push(1); !errors.Is(err, dpio.ErrNoHeadroom) {
		t.Errorf("Push(1) on zero packet: %v", err)
	}
	if !p.SetBytes(nil) {
		t.Errorf("SetBytes(nil) = false")
	}
	if p.SetBytes([]byte{1}) {
		t.Errorf("SetBytes(1 byte) on zero packet = true")
	}
	if len(p.Extend()) != 0 {
		t.Errorf("Extend() on zero packet has length %d", len(p.Extend()))
	}
	p.SetLen(10)
	p.Pull(1)
	p.Truncate(0)
	p.Reset(5)
	checkGeom(t, "zero after ops", &p, 0, 0, 0)
}

func TestPacketSetBytes(t *testing.T) {
	p := dpio.NewPacket(8, 10)
	if !p.SetBytes(seq(10, 1)) {
		t.Fatalf("SetBytes of exactly the capacity failed")
	}
	checkGeom(t, "full", p, 8, 10, 0)
	if p.SetBytes(seq(11, 50)) {
		t.Errorf("SetBytes over capacity = true")
	}
	if !bytes.Equal(p.Bytes(), seq(10, 1)) {
		t.Errorf("failed SetBytes changed the frame: % x", p.Bytes())
	}
	src := seq(4, 100)
	if !p.SetBytes(src) {
		t.Fatal("SetBytes failed")
	}
	src[0] = 0
	if !bytes.Equal(p.Bytes(), seq(4, 100)) {
		t.Errorf("SetBytes did not copy: % x", p.Bytes())
	}
	checkGeom(t, "after short SetBytes", p, 8, 4, 6)
	if !p.SetBytes(nil) || p.Len() != 0 {
		t.Errorf("SetBytes(nil): len %d", p.Len())
	}
	// SetBytes keeps the current start, so capacity depends on it.
	if _, err := p.Push(8); err != nil {
		t.Fatal(err)
	}
	if !p.SetBytes(seq(18, 0)) || p.Headroom() != 0 {
		t.Errorf("SetBytes after Push: headroom %d len %d", p.Headroom(), p.Len())
	}
}

func TestPacketPushPull(t *testing.T) {
	p := dpio.NewPacket(4, 10)
	p.SetBytes([]byte{5, 6, 7})
	h, err := p.Push(2)
	if err != nil || len(h) != 2 {
		t.Fatalf("Push(2) = %d bytes, %v", len(h), err)
	}
	h[0], h[1] = 3, 4
	if !bytes.Equal(p.Bytes(), []byte{3, 4, 5, 6, 7}) {
		t.Errorf("after Push: % x", p.Bytes())
	}
	checkGeom(t, "after Push(2)", p, 2, 5, 7)
	if _, err := p.Push(3); !errors.Is(err, dpio.ErrNoHeadroom) {
		t.Errorf("Push beyond headroom: %v", err)
	}
	if _, err := p.Push(-1); !errors.Is(err, dpio.ErrNoHeadroom) {
		t.Errorf("Push(-1): %v", err)
	}
	checkGeom(t, "after failed Push", p, 2, 5, 7)
	if h, err := p.Push(0); err != nil || len(h) != 0 {
		t.Errorf("Push(0) = %d bytes, %v", len(h), err)
	}
	h, err = p.Push(2)
	if err != nil {
		t.Fatalf("Push of the whole headroom: %v", err)
	}
	h[0], h[1] = 1, 2
	checkGeom(t, "no headroom", p, 0, 7, 7)
	if _, err := p.Push(1); !errors.Is(err, dpio.ErrNoHeadroom) {
		t.Errorf("Push with no headroom: %v", err)
	}

	p.Pull(3)
	if !bytes.Equal(p.Bytes(), []byte{4, 5, 6, 7}) {
		t.Errorf("after Pull(3): % x", p.Bytes())
	}
	checkGeom(t, "after Pull(3)", p, 3, 4, 7)
	p.Pull(-2)
	checkGeom(t, "after Pull(-2)", p, 3, 4, 7)
	p.Pull(0)
	checkGeom(t, "after Pull(0)", p, 3, 4, 7)
	p.Pull(100)
	checkGeom(t, "after Pull(100)", p, 7, 0, 7)
	// Pulled bytes are headroom again.
	if h, err := p.Push(7); err != nil || !bytes.Equal(h, []byte{1, 2, 3, 4, 5, 6, 7}) {
		t.Errorf("Push after Pull: % x, %v", h, err)
	}
}

func TestPacketTruncate(t *testing.T) {
	p := dpio.NewPacket(2, 10)
	p.SetBytes(seq(6, 1))
	p.Truncate(10)
	checkGeom(t, "Truncate(longer)", p, 2, 6, 4)
	p.Truncate(6)
	checkGeom(t, "Truncate(len)", p, 2, 6, 4)
	p.Truncate(-1)
	checkGeom(t, "Truncate(-1)", p, 2, 6, 4)
	p.Truncate(4)
	checkGeom(t, "Truncate(4)", p, 2, 4, 6)
	if !bytes.Equal(p.Bytes(), seq(4, 1)) {
		t.Errorf("Truncate(4): % x", p.Bytes())
	}
	p.Truncate(0)
	checkGeom(t, "Truncate(0)", p, 2, 0, 10)
}

func TestPacketReset(t *testing.T) {
	p := dpio.NewPacket(8, 8)
	p.SetBytes(seq(5, 1))
	p.Timestamp = 99
	p.Reset(3)
	checkGeom(t, "Reset(3)", p, 3, 0, 13)
	if p.Timestamp != 0 {
		t.Errorf("Reset kept Timestamp %d", p.Timestamp)
	}
	p.Reset(100)
	checkGeom(t, "Reset(100)", p, 16, 0, 0)
	if p.SetBytes([]byte{1}) {
		t.Errorf("SetBytes after Reset to the whole buffer = true")
	}
	p.Reset(-5)
	checkGeom(t, "Reset(-5)", p, 0, 0, 16)
	p.Reset(16)
	checkGeom(t, "Reset(16)", p, 16, 0, 0)
}

func TestPacketExtendSetLen(t *testing.T) {
	p := dpio.NewPacket(4, 6)
	w := p.Extend()
	if len(w) != 6 || cap(w) != 6 {
		t.Fatalf("Extend: len %d cap %d, want 6", len(w), cap(w))
	}
	copy(w, seq(6, 10))
	p.SetLen(3)
	if !bytes.Equal(p.Bytes(), seq(3, 10)) {
		t.Errorf("SetLen(3): % x", p.Bytes())
	}
	p.SetLen(100)
	checkGeom(t, "SetLen(100)", p, 4, 6, 0)
	p.SetLen(-1)
	checkGeom(t, "SetLen(-1)", p, 4, 0, 6)
	if _, err := p.Push(4); err != nil {
		t.Fatal(err)
	}
	if w := p.Extend(); len(w) != 10 {
		t.Errorf("Extend after Push: len %d, want 10", len(w))
	}
}

func TestPacketCopyFrom(t *testing.T) {
	q := dpio.NewPacket(8, 32)
	q.SetBytes(seq(20, 1))
	q.Timestamp = 1234

	p := dpio.NewPacket(16, 32)
	if !p.CopyFrom(q) {
		t.Fatal("CopyFrom failed")
	}
	if !bytes.Equal(p.Bytes(), q.Bytes()) || p.Timestamp != 1234 {
		t.Errorf("copy: % x ts %d", p.Bytes(), p.Timestamp)
	}
	if p.Headroom()+p.Len()+p.Tailroom() != 48 {
		t.Errorf("copy geometry: headroom %d len %d tailroom %d", p.Headroom(), p.Len(), p.Tailroom())
	}
	q.Bytes()[0] = 0xff
	if p.Bytes()[0] != 1 {
		t.Errorf("copy aliases the source")
	}

	// A source with more headroom than the destination can give.
	big := dpio.NewPacket(100, 10)
	big.SetBytes(seq(10, 7))
	small := dpio.NewPacket(2, 10)
	if !small.CopyFrom(big) || !bytes.Equal(small.Bytes(), seq(10, 7)) {
		t.Errorf("CopyFrom with large source headroom: % x", small.Bytes())
	}
	if small.Headroom() > 2 {
		t.Errorf("copy headroom %d beyond what fits", small.Headroom())
	}

	// A frame that does not fit leaves the destination alone.
	tiny := dpio.NewPacket(1, 4)
	tiny.SetBytes([]byte{9, 9})
	tiny.Timestamp = 5
	if tiny.CopyFrom(q) {
		t.Errorf("CopyFrom of a 20-byte frame into 5 bytes = true")
	}
	if !bytes.Equal(tiny.Bytes(), []byte{9, 9}) || tiny.Timestamp != 5 || tiny.Headroom() != 1 {
		t.Errorf("failed CopyFrom changed the packet: % x ts %d headroom %d", tiny.Bytes(), tiny.Timestamp, tiny.Headroom())
	}

	// Exactly filling the buffer works.
	exact := dpio.NewPacket(0, 20)
	if !exact.CopyFrom(q) || !bytes.Equal(exact.Bytes(), q.Bytes()) {
		t.Errorf("CopyFrom into an exact-size buffer failed")
	}

	// Copying from itself is harmless.
	before := bytes.Clone(q.Bytes())
	if !q.CopyFrom(q) || !bytes.Equal(q.Bytes(), before) {
		t.Errorf("self CopyFrom changed the frame")
	}

	var zero dpio.Packet
	if !p.CopyFrom(&zero) || p.Len() != 0 {
		t.Errorf("CopyFrom(zero packet): len %d", p.Len())
	}
}

func TestNewBatchSize(t *testing.T) {
	const n, head, capacity = 5, 8, 24
	pkts := dpio.NewBatchSize(n, head, capacity)
	if len(pkts) != n {
		t.Fatalf("%d packets, want %d", len(pkts), n)
	}
	seen := map[*dpio.Packet]bool{}
	for i, p := range pkts {
		if seen[p] {
			t.Fatalf("packet %d repeated", i)
		}
		seen[p] = true
		checkGeom(t, "batch packet", p, head, 0, capacity)
		// The writable area is capped at the packet's own buffer.
		if w := p.Extend(); cap(w) != capacity {
			t.Errorf("packet %d: Extend cap %d, want %d", i, cap(w), capacity)
		}
	}
	// Fill every packet completely, headroom included, each with its own
	// byte; none may disturb another.
	for i, p := range pkts {
		w := p.Extend()
		for j := range w {
			w[j] = byte(i + 1)
		}
		p.SetLen(capacity)
		h, err := p.Push(head)
		if err != nil {
			t.Fatal(err)
		}
		for j := range h {
			h[j] = byte(i + 1)
		}
	}
	for i, p := range pkts {
		if p.Len() != head+capacity {
			t.Fatalf("packet %d: len %d", i, p.Len())
		}
		for j, c := range p.Bytes() {
			if c != byte(i+1) {
				t.Fatalf("packet %d byte %d = %d, want %d: buffers overlap", i, j, c, i+1)
			}
		}
		// Appending to a full frame must reallocate, not spill over.
		b := append(p.Bytes(), 0xee)
		b[0] = 0xee
		if p.Bytes()[0] != byte(i+1) {
			t.Fatalf("append to packet %d's frame wrote into the buffer", i)
		}
	}
	if i := len(pkts) - 1; pkts[i].Bytes()[head+capacity-1] != byte(i+1) {
		t.Errorf("last packet clobbered")
	}
	if got := dpio.NewBatchSize(0, head, capacity); len(got) != 0 {
		t.Errorf("NewBatchSize(0) = %d packets", len(got))
	}
}

func TestNewBatch(t *testing.T) {
	pkts := dpio.NewBatch(3)
	if len(pkts) != 3 {
		t.Fatalf("%d packets", len(pkts))
	}
	for _, p := range pkts {
		checkGeom(t, "NewBatch", p, dpio.DefaultHeadroom, 0, dpio.DefaultBufferSize)
	}
	pkts[0].SetBytes(seq(dpio.DefaultBufferSize, 0))
	if pkts[1].Len() != 0 || pkts[1].Headroom() != dpio.DefaultHeadroom {
		t.Errorf("filling one packet affected another")
	}
}
