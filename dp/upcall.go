package dp

import (
	"errors"
	"fmt"
	"sync"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/flow"
	dpio "github.com/b7cafead/datapath/io"
)

// UpcallType says why a packet went to the slow path, numbered as OVS's
// OVS_PACKET_CMD_MISS and OVS_PACKET_CMD_ACTION.
type UpcallType uint8

// Upcall types.
const (
	UpcallMiss   UpcallType = 1 // the packet matched no flow
	UpcallAction UpcallType = 2 // a userspace() action sent it
)

// String returns "miss" or "action".
func (t UpcallType) String() string {
	switch t {
	case UpcallMiss:
		return "miss"
	case UpcallAction:
		return "action"
	}
	return fmt.Sprintf("upcall-type-%d", uint8(t))
}

// Upcall is a packet handed to a Go slow path (Config.Upcall).
type Upcall struct {
	w   *Worker
	lay *flow.Layout

	// Type says why the packet came up.
	Type UpcallType
	// InPort is the datapath port the packet arrived on.
	InPort uint32
	// Key is the packet's flow key.
	Key flow.Key
	// Packet is the packet. It belongs to the datapath and is valid only
	// during the handler call.
	Packet *dpio.Packet
	// Userdata is the userspace() action's userdata (action upcalls).
	Userdata []byte
	// EgressTunnel is the egress tunnel key of an action upcall whose
	// userspace() action names a tunnel port (tunnel_out_port=) when
	// set(tunnel(...)) gave the packet a tunnel key (one that differs
	// from the key it arrived with, if it came through a tunnel): a key
	// whose Tun* fields hold it, the rest zero. It stands for Linux's
	// OVS_PACKET_ATTR_EGRESS_TUN_KEY, except that the source address and
	// port are as set(tunnel) gave them, not filled in from a route
	// lookup. nil otherwise.
	EgressTunnel *flow.Key
	// Actions is the action list the userspace() action was in, when the
	// action asks for it (userspace(...,actions)), as Linux's
	// OVS_PACKET_ATTR_ACTIONS; nil otherwise. For the Go handler called
	// by the pipeline it may be the flow's own list: do not change it.
	Actions actions.List
}

// Execute runs acts on the upcalled packet, as OVS_PACKET_CMD_EXECUTE
// does for a packet the slow path received. For a handler called by the
// pipeline, the outputs are transmitted with the rest of the batch; for an
// asynchronous handler, when it returns.
func (u *Upcall) Execute(acts actions.List) error {
	if err := acts.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	u.w.exec.Execute(u.Packet, &u.Key, u.lay, acts, u.w)
	return nil
}

// Install installs a flow with match m and actions acts, then executes
// acts on the upcalled packet: the usual answer of a slow path to a miss,
// in one call. If the flow, or a flow that covers it, already exists
// (another packet of the same flow won the race) the packet is still
// executed with acts. As in OVS, the new
// flow's UFID is derived from the upcalled packet's key.
func (u *Upcall) Install(m flow.Match, acts actions.List) (*Flow, error) {
	d := u.w.d
	f, err := d.PutFlowUFID(flow.NewUFID(&u.Key), m, acts, PutCreate)
	if errors.Is(err, ErrExist) {
		// The flow, or one covering it, is there: another packet won.
		if g, gerr := d.GetFlow(m); gerr == nil {
			f, err = g, nil
		} else if mk := m.Key.Masked(&m.Mask); d.Lookup(&mk) != nil {
			f, err = d.Lookup(&mk), nil
		}
	}
	if err != nil {
		return nil, err
	}
	// As in OVS, the upcalled packet is not counted in the new flow's
	// statistics: the slow path accounts for it.
	u.w.exec.Execute(u.Packet, &u.Key, u.lay, acts, u.w)
	return f, nil
}

// Datapath returns the datapath that raised the upcall.
func (u *Upcall) Datapath() *Datapath { return u.w.d }

// QueuedUpcall is an upcall delivered through a queue: a per-pid queue
// (OpenUpcallQueue) or the asynchronous handler's. It owns copies of the
// packet and userdata. To answer it, use the datapath's Execute and
// PutFlow (as an OVS slow path answers with OVS_PACKET_CMD_EXECUTE and
// OVS_FLOW_CMD_NEW).
type QueuedUpcall struct {
	Type     UpcallType
	PID      uint32 // the netlink port id it was sent to (per-pid queues)
	InPort   uint32
	Key      flow.Key
	Packet   []byte
	Userdata []byte
	// EgressTunnel is as Upcall.EgressTunnel: nil, or a copy of the
	// egress tunnel key of an action upcall.
	EgressTunnel *flow.Key
	// Actions is as Upcall.Actions.
	Actions actions.List
}

// upcallQueue is a bounded queue that the pipeline offers upcalls to
// without ever waiting.
type upcallQueue struct {
	mu     sync.RWMutex
	closed bool
	ch     chan *QueuedUpcall
}

func newUpcallQueue(n int) *upcallQueue {
	return &upcallQueue{ch: make(chan *QueuedUpcall, max(n, 1))}
}

// offer enqueues u unless the queue is full or closed.
func (q *upcallQueue) offer(u *QueuedUpcall) bool {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		return false
	}
	select {
	case q.ch <- u:
		return true
	default:
		return false
	}
}

func (q *upcallQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		close(q.ch)
	}
}

func newQueued(t UpcallType, pid uint32, k *flow.Key, pkt, userdata []byte, egress *flow.Key, acts actions.List) *QueuedUpcall {
	u := &QueuedUpcall{Type: t, PID: pid, InPort: k.InPort, Key: *k, Packet: append([]byte(nil), pkt...)}
	if acts != nil {
		// A list given to Execute may be reused once it returns.
		u.Actions = append(actions.List(nil), acts...)
	}
	if userdata != nil {
		u.Userdata = append([]byte(nil), userdata...)
	}
	if egress != nil {
		e := *egress
		u.EgressTunnel = &e
	}
	return u
}

// UpcallQueue receives the upcalls sent to one netlink port id: those of
// packets received on vports whose upcall pids include it. It is bounded:
// an upcall that finds it full is dropped and counted in the datapath's
// lost counter, as OVS counts a failed upcall.
type UpcallQueue struct {
	q   *upcallQueue
	pid uint32
	d   *Datapath
}

// C delivers the upcalls in the order they were raised. It is closed by
// Close and when the datapath closes.
func (q *UpcallQueue) C() <-chan *QueuedUpcall { return q.q.ch }

// PID returns the netlink port id the queue serves.
func (q *UpcallQueue) PID() uint32 { return q.pid }

// Close stops delivery to the queue and closes C; upcalls already queued
// stay readable. Later upcalls to its pid are lost.
func (q *UpcallQueue) Close() {
	q.d.mu.Lock()
	old := *q.d.queues.Load()
	if old[q.pid] == q {
		m := make(map[uint32]*UpcallQueue, len(old))
		for k, v := range old {
			if k != q.pid {
				m[k] = v
			}
		}
		q.d.queues.Store(&m)
	}
	q.d.mu.Unlock()
	q.q.close()
}

// OpenUpcallQueue opens the queue of netlink port id pid, holding up to
// capacity upcalls. It fails with ErrExist if pid has an open queue.
// Upcalls go to per-pid queues when the datapath has no Go handler
// (Config.Upcall).
func (d *Datapath) OpenUpcallQueue(pid uint32, capacity int) (*UpcallQueue, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, ErrClosed
	}
	old := *d.queues.Load()
	if _, ok := old[pid]; ok {
		return nil, fmt.Errorf("upcall queue of pid %d: %w", pid, ErrExist)
	}
	q := &UpcallQueue{q: newUpcallQueue(capacity), pid: pid, d: d}
	m := make(map[uint32]*UpcallQueue, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[pid] = q
	d.queues.Store(&m)
	return q, nil
}

// queueUpcall sends an upcall to the queue of one of the input port's
// upcall pids (chosen by the key's hash, so that a flow's packets stay in
// order) and reports whether it was queued.
func (d *Datapath) queueUpcall(t UpcallType, k *flow.Key, pkt, userdata []byte) bool {
	v := d.Port(k.InPort)
	if v == nil {
		return false
	}
	p := v.pids.Load()
	if p == nil || len(*p) == 0 {
		return false
	}
	pids := *p
	pid := pids[0]
	if len(pids) > 1 {
		pid = pids[k.Hash(0)%uint64(len(pids))]
	}
	return d.queueUpcallPID(t, pid, k, pkt, userdata, nil, nil)
}

// queueUpcallPID queues an upcall for the netlink port pid, reporting
// false if there is no such queue or it is full.
func (d *Datapath) queueUpcallPID(t UpcallType, pid uint32, k *flow.Key, pkt, userdata []byte, egress *flow.Key, acts actions.List) bool {
	q := (*d.queues.Load())[pid]
	if q == nil {
		return false
	}
	return q.q.offer(newQueued(t, pid, k, pkt, userdata, egress, acts))
}

// asyncUpcalls runs the Go handler on goroutines of its own, fed by a
// bounded queue, so that a flood of misses costs the pipeline only a copy
// per packet (or a count, once the queue is full).
type asyncUpcalls struct {
	q  *upcallQueue
	wg sync.WaitGroup

	mu      sync.Mutex
	idle    sync.Cond
	pending int // queued or being handled
}

func (d *Datapath) startAsync(queueLen, workers int) {
	a := &asyncUpcalls{q: newUpcallQueue(queueLen)}
	a.idle.L = &a.mu
	for i := 0; i < max(workers, 1); i++ {
		w := d.NewWorker()
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			pkt := dpio.NewPacket(dpio.DefaultHeadroom, dpio.DefaultBufferSize)
			var lay flow.Layout
			var key flow.Key
			for qu := range a.q.ch {
				if pkt.Cap() < len(qu.Packet) {
					pkt = dpio.NewPacket(dpio.DefaultHeadroom, len(qu.Packet))
				}
				pkt.Reset(dpio.DefaultHeadroom)
				pkt.SetBytes(qu.Packet)
				flow.ExtractLayoutType(pkt.Bytes(), qu.InPort, qu.Key.PacketType, &key, &lay)
				w.up = Upcall{w: w, lay: &lay, Type: qu.Type, InPort: qu.InPort, Key: qu.Key, Packet: pkt, Userdata: qu.Userdata,
					EgressTunnel: qu.EgressTunnel, Actions: qu.Actions}
				d.upcall(&w.up)
				w.up = Upcall{}
				w.flush()
				a.done()
			}
		}()
	}
	d.async = a
}

func (a *asyncUpcalls) put(t UpcallType, k *flow.Key, pkt, userdata []byte, egress *flow.Key, acts actions.List) bool {
	a.mu.Lock()
	a.pending++
	a.mu.Unlock()
	if !a.q.offer(newQueued(t, 0, k, pkt, userdata, egress, acts)) {
		a.done()
		return false
	}
	return true
}

func (a *asyncUpcalls) done() {
	a.mu.Lock()
	a.pending--
	if a.pending == 0 {
		a.idle.Broadcast()
	}
	a.mu.Unlock()
}

// WaitUpcalls waits until the asynchronous handler (Config.UpcallQueueLen)
// has no upcall queued or in hand, and the outputs it made are
// transmitted. Without an asynchronous handler it returns at once.
func (d *Datapath) WaitUpcalls() {
	a := d.async
	if a == nil {
		return
	}
	a.mu.Lock()
	for a.pending > 0 {
		a.idle.Wait()
	}
	a.mu.Unlock()
}

// stop closes the queue and waits for the handlers to finish what it
// holds.
func (a *asyncUpcalls) stop() {
	a.q.close()
	a.wg.Wait()
}
