// Package io defines the datapath's packet I/O contract: batched ports,
// packet buffers with headroom, and an in-memory port pair for tests and
// benchmarks.
//
// A Port moves packets in batches. The caller owns every Packet it passes to
// Read or Write; a port never retains a Packet after the call returns. Read
// fills caller-owned buffers (copying the frame in after the packet's
// headroom); Write transmits the bytes the packets hold and leaves the
// buffers to the caller for reuse. This keeps the steady state free of
// allocation: a polling loop allocates its batch once and reuses it.
//
// Code that also needs the standard library's io package imports this one
// as dpio.
package io

import "errors"

// DefaultBatchSize is the number of packets a port moves per Read or Write
// unless it says otherwise through BatchSize.
const DefaultBatchSize = 32

// DefaultHeadroom is the number of bytes kept free in front of a received
// frame so that actions such as push_vlan or tunnel encapsulation can
// prepend headers without copying the packet.
const DefaultHeadroom = 128

// DefaultBufferSize is the frame capacity of a packet buffer made by
// NewBatch: enough for a 9000-byte jumbo frame with its Ethernet and VLAN
// headers.
const DefaultBufferSize = 9216

// ErrNoHeadroom is returned by Packet.Push when the buffer has too little
// space in front of the frame.
var ErrNoHeadroom = errors.New("io: not enough headroom")

// Packet is a frame in a buffer with headroom. The frame occupies
// buf[off:off+n]; the bytes before off are headroom and the bytes after
// off+n are tailroom. The zero Packet is an empty frame with no storage;
// use NewPacket or NewBatch to make usable ones.
type Packet struct {
	buf []byte
	off int
	n   int

	// Timestamp is the receive time in nanoseconds since the Unix epoch,
	// set by ports that know it (a capture file's record time); zero when
	// unknown.
	Timestamp int64
}

// NewPacket returns a packet buffer with the given headroom and frame
// capacity. The frame is empty.
func NewPacket(headroom, capacity int) *Packet {
	if headroom < 0 {
		headroom = 0
	}
	if capacity < 0 {
		capacity = 0
	}
	return &Packet{buf: make([]byte, headroom+capacity), off: headroom}
}

// NewBatch returns n packet buffers of DefaultHeadroom and
// DefaultBufferSize carved from one allocation.
func NewBatch(n int) []*Packet {
	return NewBatchSize(n, DefaultHeadroom, DefaultBufferSize)
}

// NewBatchSize returns n packet buffers with the given headroom and frame
// capacity carved from one backing allocation.
func NewBatchSize(n, headroom, capacity int) []*Packet {
	per := headroom + capacity
	store := make([]byte, n*per)
	pkts := make([]Packet, n)
	out := make([]*Packet, n)
	for i := range pkts {
		pkts[i] = Packet{buf: store[i*per : (i+1)*per : (i+1)*per], off: headroom}
		out[i] = &pkts[i]
	}
	return out
}

// Bytes returns the frame. The slice aliases the buffer: it is valid until
// the packet is next modified or reused.
func (p *Packet) Bytes() []byte { return p.buf[p.off : p.off+p.n] }

// Len returns the frame length in bytes.
func (p *Packet) Len() int { return p.n }

// Headroom returns the number of free bytes in front of the frame.
func (p *Packet) Headroom() int { return p.off }

// Tailroom returns the number of free bytes after the frame.
func (p *Packet) Tailroom() int { return len(p.buf) - p.off - p.n }

// Cap returns the largest frame the buffer can hold at its current start.
func (p *Packet) Cap() int { return len(p.buf) - p.off }

// Reset empties the frame and restores the headroom to h (clamped to the
// buffer size) so the buffer can receive a new frame.
func (p *Packet) Reset(h int) {
	if h > len(p.buf) {
		h = len(p.buf)
	}
	if h < 0 {
		h = 0
	}
	p.off, p.n, p.Timestamp = h, 0, 0
}

// SetBytes replaces the frame with a copy of b, keeping the current start
// offset. It returns false, leaving the packet unchanged, if b does not
// fit.
func (p *Packet) SetBytes(b []byte) bool {
	if len(b) > len(p.buf)-p.off {
		return false
	}
	p.n = copy(p.buf[p.off:], b)
	return true
}

// Extend returns the whole writable area from the frame start to the end of
// the buffer, for a receiver to fill before calling SetLen.
func (p *Packet) Extend() []byte { return p.buf[p.off:] }

// SetLen sets the frame length, clamped to the available capacity.
func (p *Packet) SetLen(n int) {
	if n < 0 {
		n = 0
	}
	if m := len(p.buf) - p.off; n > m {
		n = m
	}
	p.n = n
}

// Push prepends n bytes to the frame using the headroom and returns the new
// front n bytes for the caller to fill. It returns ErrNoHeadroom if fewer
// than n bytes of headroom remain.
func (p *Packet) Push(n int) ([]byte, error) {
	if n < 0 || n > p.off {
		return nil, ErrNoHeadroom
	}
	p.off -= n
	p.n += n
	return p.buf[p.off : p.off+n], nil
}

// Pull removes n bytes from the front of the frame, returning them to the
// headroom. Pulling more than the frame holds empties it.
func (p *Packet) Pull(n int) {
	if n > p.n {
		n = p.n
	}
	if n < 0 {
		n = 0
	}
	p.off += n
	p.n -= n
}

// Truncate shortens the frame to n bytes if it is longer.
func (p *Packet) Truncate(n int) {
	if n >= 0 && n < p.n {
		p.n = n
	}
}

// CopyFrom makes p a copy of q's frame and metadata, keeping p's own
// headroom when it is large enough. It returns false if q's frame does not
// fit in p's buffer.
func (p *Packet) CopyFrom(q *Packet) bool {
	off := p.off
	if off > len(p.buf)-q.n {
		off = len(p.buf) - q.n
	}
	if off < 0 {
		return false
	}
	p.off = off
	p.n = copy(p.buf[off:], q.Bytes())
	p.Timestamp = q.Timestamp
	return true
}
