package io

import (
	"fmt"
	"net"
	"sync"
)

// MemConfig configures one end of an in-memory port pair. The zero value
// selects the defaults.
type MemConfig struct {
	Name      string           // port name; "memN" when empty
	MAC       net.HardwareAddr // port address; none when nil
	MTU       int              // 1500 when zero
	BatchSize int              // DefaultBatchSize when zero
	Headroom  int              // DefaultHeadroom when zero
	// QueueLen is the number of frames that may wait to be read; a Write
	// to a full queue drops the excess frames and counts them in the
	// writer's TxDropped. 1024 when zero.
	QueueLen int
	// SlotSize is the largest frame the queue holds; larger frames are
	// dropped and counted in TxErrors. DefaultBufferSize when zero.
	SlotSize int
}

// MemPort is one end of an in-memory port pair made by NewMemPair. What is
// written to one end is read from the other, in order, by copy. Its queue
// is a ring of preallocated slots, so moving frames allocates nothing.
type MemPort struct {
	cfg   MemConfig
	peer  *MemPort
	stats Counters

	mu     sync.Mutex
	cond   sync.Cond
	slots  [][]byte // ring of frames waiting to be read from this end
	ts     []int64
	head   int
	count  int
	closed bool
	down   bool // carrier off (SetLinkUp(false))
}

var memSeq struct {
	sync.Mutex
	n int
}

// NewMemPair returns two connected in-memory ports.
func NewMemPair(a, b MemConfig) (*MemPort, *MemPort) {
	pa, pb := newMemPort(a), newMemPort(b)
	pa.peer, pb.peer = pb, pa
	return pa, pb
}

func newMemPort(c MemConfig) *MemPort {
	if c.Name == "" {
		memSeq.Lock()
		c.Name = fmt.Sprintf("mem%d", memSeq.n)
		memSeq.n++
		memSeq.Unlock()
	}
	if c.MTU == 0 {
		c.MTU = 1500
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.Headroom <= 0 {
		c.Headroom = DefaultHeadroom
	}
	if c.QueueLen <= 0 {
		c.QueueLen = 1024
	}
	if c.SlotSize <= 0 {
		c.SlotSize = DefaultBufferSize
	}
	p := &MemPort{cfg: c}
	p.cond.L = &p.mu
	store := make([]byte, c.QueueLen*c.SlotSize)
	p.slots = make([][]byte, c.QueueLen)
	for i := range p.slots {
		p.slots[i] = store[i*c.SlotSize : i*c.SlotSize : (i+1)*c.SlotSize]
	}
	p.ts = make([]int64, c.QueueLen)
	return p
}

// Peer returns the other end of the pair.
func (p *MemPort) Peer() *MemPort { return p.peer }

// BatchSize implements Port.
func (p *MemPort) BatchSize() int { return p.cfg.BatchSize }

// Info implements Port.
func (p *MemPort) Info() PortInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	return PortInfo{Name: p.cfg.Name, MAC: p.cfg.MAC, MTU: p.cfg.MTU, LinkUp: !p.closed && !p.down, Headroom: p.cfg.Headroom}
}

// SetLinkUp sets the carrier state Info reports, to simulate a cable
// pulled or plugged. Frames still flow: it changes only what is reported.
func (p *MemPort) SetLinkUp(up bool) {
	p.mu.Lock()
	p.down = !up
	p.mu.Unlock()
}

// SetMTU changes the MTU Info reports.
func (p *MemPort) SetMTU(mtu int) {
	p.mu.Lock()
	p.cfg.MTU = mtu
	p.mu.Unlock()
}

// SetMAC changes the address Info reports.
func (p *MemPort) SetMAC(mac net.HardwareAddr) {
	p.mu.Lock()
	p.cfg.MAC = append(net.HardwareAddr(nil), mac...)
	p.mu.Unlock()
}

// Stats implements Port.
func (p *MemPort) Stats() PortStats { return p.stats.Snapshot() }

// Pending returns the number of frames waiting to be read from this end.
func (p *MemPort) Pending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.count
}

// Read implements Port. It blocks until a frame is queued or either end is
// closed.
func (p *MemPort) Read(pkts []*Packet) (int, error) {
	if len(pkts) == 0 {
		return 0, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		for p.count == 0 && !p.closed {
			p.cond.Wait()
		}
		if p.closed {
			return 0, net.ErrClosed
		}
		// Frames too large for the buffers are dropped (RxErrors);
		// keep waiting until one is delivered.
		if n := p.dequeue(pkts); n > 0 {
			return n, nil
		}
	}
}

// TryRead is Read without blocking: it returns 0 frames when none wait.
func (p *MemPort) TryRead(pkts []*Packet) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, net.ErrClosed
	}
	return p.dequeue(pkts), nil
}

func (p *MemPort) dequeue(pkts []*Packet) int {
	n := 0
	var bytes, errs uint64
	head, count := p.head, p.count
	for n < len(pkts) && count > 0 {
		f := p.slots[head]
		pk := pkts[n]
		pk.Reset(p.cfg.Headroom)
		if !pk.SetBytes(f) {
			errs++
		} else {
			pk.Timestamp = p.ts[head]
			bytes += uint64(len(f))
			n++
		}
		if head++; head == len(p.slots) {
			head = 0
		}
		count--
	}
	p.head, p.count = head, count
	// One update of each counter per batch, not per frame.
	if n > 0 {
		p.stats.RxPackets.Add(uint64(n))
		p.stats.RxBytes.Add(bytes)
	}
	if errs > 0 {
		p.stats.RxErrors.Add(errs)
	}
	return n
}

// Write implements Port: the frames are copied into the peer's queue.
func (p *MemPort) Write(pkts []*Packet) (int, error) {
	q := p.peer
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return 0, net.ErrClosed
	}
	var bytes, sent, dropped, errs uint64
	for _, pk := range pkts {
		b := pk.Bytes()
		switch {
		case len(b) > q.cfg.SlotSize:
			errs++
		case q.count == len(q.slots):
			dropped++
		default:
			i := q.head + q.count
			if i >= len(q.slots) {
				i -= len(q.slots)
			}
			q.slots[i] = append(q.slots[i][:0], b...)
			q.ts[i] = pk.Timestamp
			q.count++
			sent++
			bytes += uint64(len(b))
		}
	}
	if sent > 0 {
		q.cond.Signal()
	}
	q.mu.Unlock()
	p.stats.TxPackets.Add(sent)
	p.stats.TxBytes.Add(bytes)
	p.stats.TxDropped.Add(dropped)
	p.stats.TxErrors.Add(errs)
	return len(pkts), nil
}

// Close implements Port. Closing either end closes both: pending and later
// calls on either end return net.ErrClosed.
func (p *MemPort) Close() error {
	for _, e := range [2]*MemPort{p, p.peer} {
		e.mu.Lock()
		e.closed = true
		e.cond.Broadcast()
		e.mu.Unlock()
	}
	return nil
}
