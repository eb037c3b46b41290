package dp

import (
	"fmt"
	"time"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/flow"
	dpio "github.com/b7cafead/datapath/io"
)

// Worker runs the pipeline for one goroutine: it owns the scratch state
// (keys, action executor, per-port output batches) so that processing
// allocates nothing in steady state. A Worker must not be used by two
// goroutines at once.
type Worker struct {
	d    *Datapath
	exec actions.Executor
	keys []flow.Key
	lays []flow.Layout
	outs []outQueue
	up   Upcall
	tmp  *dpio.Packet
	hits []*Flow // per packet of the batch: the flow it hit, or nil
	nout int     // packets handed to Output, to tell which actions dropped
	// keysDirty says that actions may have written keys' fields beyond
	// the packet fields since they were last cleared.
	keysDirty bool
	emc       *flow.EMC[*Flow]
	// shard spreads the classifier's hit counters across workers.
	shard int

	// depth is the number of recirculations the packet being executed
	// has been through; rkeys and rlays hold the key and layout of each.
	depth int
	rkeys [maxRecircDepth]flow.Key
	rlays [maxRecircDepth]flow.Layout
	ulay  flow.Layout // the layout of a packet a userspace action upcalls

	// rssKey is the key whose 5-tuple gives the RSS hash of the packet
	// being executed (actions.RSSKeyer): its key as received, or as
	// decapsulated, through any recirculations; nil when unknown.
	rssKey *flow.Key

	// meterNow is the datapath clock's reading for the batch, taken
	// when a meter first needs it (meterNowSet); flush, at the end of
	// each batch, clears meterNowSet.
	meterNow    int64
	meterNowSet bool

	// clock is a wall clock reading, and clockUnix its Unix nanoseconds,
	// from which now derives the time with one monotonic clock read.
	clock     time.Time
	clockUnix int64
}

// now returns the current Unix time in nanoseconds, for flows' last-used
// times. time.Now reads both the wall and the monotonic clock; now reads
// the monotonic one and adds the time elapsed since a wall clock reading
// taken at most a second before, so a step of the wall clock shows within
// a second.
func (w *Worker) now() int64 {
	if !w.clock.IsZero() {
		if d := time.Since(w.clock); d >= 0 && d < time.Second {
			return w.clockUnix + int64(d)
		}
	}
	w.clock = time.Now()
	w.clockUnix = w.clock.UnixNano()
	return w.clockUnix
}

// maxRecircDepth is how many times a packet may recirculate; the next
// recirc drops it (counted in DropStats.Recirc). It is OVS's
// MAX_RECIRC_DEPTH.
const maxRecircDepth = 6

// Recirculate implements actions.Recirculator: the packet is looked up
// again at once, as OVS's userspace datapath does, with its headers
// extracted anew and the key's metadata (the new recirc_id, dp_hash,
// skb_priority, skb_mark, conntrack and tunnel fields) kept. A miss goes
// to the slow path like any other.
func (w *Worker) Recirculate(pkt *dpio.Packet, key *flow.Key) {
	w.reenter(pkt, key, false)
}

// TunnelReceive implements actions.Tunneler: a packet tnl_pop
// decapsulated is looked up again at once, from the tunnel port, as
// Recirculate does (it counts as a recirculation); its RSS hash is that
// of its inner headers, as OVS computes it anew after decapsulation.
func (w *Worker) TunnelReceive(pkt *dpio.Packet, key *flow.Key) {
	w.reenter(pkt, key, true)
}

// RSSKey implements actions.RSSKeyer.
func (w *Worker) RSSKey() *flow.Key { return w.rssKey }

// reenter looks pkt up again with key's metadata, its headers extracted
// anew; decap says that it was just decapsulated.
func (w *Worker) reenter(pkt *dpio.Packet, key *flow.Key, decap bool) {
	d := w.d
	defer func() { w.nout++ }() // the packet went somewhere
	if w.depth >= maxRecircDepth {
		d.drops.recirc.Add(1)
		return
	}
	k, lay := &w.rkeys[w.depth], &w.rlays[w.depth]
	flow.ExtractLayoutType(pkt.Bytes(), key.InPort, key.PacketType, k, lay)
	k.CopyMetadata(key)
	if decap {
		saved := w.rssKey
		w.rssKey = k
		defer func() { w.rssKey = saved }()
	}
	w.depth++
	f, n := d.flows.lookup(k, w.shard)
	if f == nil {
		d.missed.Add(1)
		w.miss(pkt, k, lay)
	} else {
		d.hit.Add(1)
		d.maskHits.Add(uint64(n))
		f.hit(1, pkt.Len(), k.TCPFlags, time.Now().UnixNano())
		before := w.nout
		w.exec.Execute(pkt, k, lay, f.Actions(), w)
		if w.nout == before {
			d.drops.action.Add(1)
		}
	}
	w.depth--
}

// Userspace implements actions.Upcaller: the packet goes to the slow
// path as an action upcall (UpcallAction) with the action's userdata: to
// the Go handler, its asynchronous queue, or the queue of the action's
// netlink pid. A packet no queue takes is counted as lost.
func (w *Worker) Userspace(pkt *dpio.Packet, key *flow.Key, u *actions.Userspace, l actions.List) {
	d := w.d
	w.nout++
	// An egress tunnel key, as Linux's, is one that set(tunnel) gave
	// the packet for output (not the one it arrived with).
	var eg flow.Key
	var egress *flow.Key // &eg when there is one
	if u.HasTunnelOutPort && key.HasTunnel() && w.TunnelPort(u.TunnelOutPort) != nil &&
		(w.rssKey == nil || !key.SameTunnel(w.rssKey)) {
		eg.SetTunnel(key)
		egress = &eg
	}
	switch {
	case d.upcall != nil && d.async == nil:
		saved := w.up
		w.up = Upcall{w: w, Type: UpcallAction, InPort: key.InPort, Key: *key, Packet: pkt, Userdata: u.Userdata}
		if egress != nil {
			// Rare (sampling of tunnelled traffic): allocated, so that
			// a handler's own action upcalls cannot overwrite it.
			e := eg
			w.up.EgressTunnel = &e
		}
		if u.Actions {
			w.up.Actions = l
		}
		var k flow.Key
		flow.ExtractLayoutType(pkt.Bytes(), key.InPort, key.PacketType, &k, &w.ulay)
		w.up.lay = &w.ulay
		d.upcall(&w.up)
		w.up = saved
	case d.async != nil:
		if !d.async.put(UpcallAction, key, pkt.Bytes(), u.Userdata, egress, actionsIf(u, l)) {
			d.lost.Add(1)
		}
	default:
		if !d.queueUpcallPID(UpcallAction, u.PID, key, pkt.Bytes(), u.Userdata, egress, actionsIf(u, l)) {
			d.lost.Add(1)
		}
	}
}

// actionsIf returns l if the userspace action u asks for the actions to
// go with the upcall.
func actionsIf(u *actions.Userspace, l actions.List) actions.List {
	if u.Actions {
		return l
	}
	return nil
}

// TunnelPort implements actions.Tunneler: it returns port's tunnel
// state if it is a tunnel port.
func (w *Worker) TunnelPort(port uint32) *actions.TunnelPort {
	if v := (*w.d.ports.Load())[port]; v != nil {
		return v.tnl
	}
	return nil
}

// TunnelDrop implements actions.Tunneler: the packet is counted as
// dropped for the reason given.
func (w *Worker) TunnelDrop(r actions.TunnelDrop) {
	w.nout++ // accounted for here, not as an action drop
	if int(r) < len(w.d.tunnelDrops) {
		w.d.tunnelDrops[r].Add(1)
	}
}

// flowRun is a run of consecutive packets of a batch that hit flow f:
// their count, bytes and TCP flags, for f's counters, and f's actions,
// loaded once for the run. out is the index in Worker.outs of the queue
// of the port the actions output to when they are a single output, or -1.
type flowRun struct {
	f     *Flow
	pkts  int
	bytes int
	flags uint16
	fa    *flowActions
	out   int
}

// add counts packet p, with key k, in the run.
func (r *flowRun) add(p *dpio.Packet, k *flow.Key) {
	r.pkts++
	r.bytes += p.Len()
	r.flags |= k.TCPFlags
}

// startRun ends run r, adding it to its flow's counters, and starts one
// of flow f (nil for packets that hit no flow).
func (w *Worker) startRun(r *flowRun, f *Flow, now int64) {
	if r.f != nil {
		r.f.hit(r.pkts, r.bytes, r.flags, now)
	}
	*r = flowRun{f: f, out: -1}
	if f != nil {
		r.fa = f.acts.Load()
		if r.fa.output {
			r.out = w.queue(r.fa.outPort)
		}
	}
}

type outQueue struct {
	port uint32
	pkts []*dpio.Packet
}

// NewWorker returns a pipeline worker for d, with its own exact-match
// cache unless the datapath's configuration disables it.
func (d *Datapath) NewWorker() *Worker {
	w := &Worker{d: d, shard: int(d.workers.Add(1))}
	if d.emcInvProb > 0 {
		w.emc = flow.NewEMC[*Flow](d.emcInvProb)
	}
	return w
}

// Output implements actions.Sink: it queues pkt for port, to be
// transmitted when the batch is done.
func (w *Worker) Output(port uint32, pkt *dpio.Packet) {
	w.nout++
	q := &w.outs[w.queue(port)]
	q.pkts = append(q.pkts, pkt)
}

// queue returns the index in w.outs of port's output queue, adding one if
// there is none. Queues stay (emptied by flush) from batch to batch, so
// indexes stay valid.
func (w *Worker) queue(port uint32) int {
	for i := range w.outs {
		if w.outs[i].port == port {
			return i
		}
	}
	w.outs = append(w.outs, outQueue{port: port, pkts: make([]*dpio.Packet, 0, dpio.DefaultBatchSize)})
	return len(w.outs) - 1
}

// flush transmits every queued packet and releases the executor's copies.
func (w *Worker) flush() {
	ports := *w.d.ports.Load()
	for i := range w.outs {
		q := &w.outs[i]
		if len(q.pkts) == 0 {
			continue
		}
		v := ports[q.port]
		if v == nil || v.tnl != nil {
			// Output to a port that does not exist, or to a tunnel port
			// (which has no transmit queue; packets go through tunnels
			// by tnl_push): dropped, as in OVS.
			w.d.drops.invalidPort.Add(uint64(len(q.pkts)))
			clear(q.pkts)
			q.pkts = q.pkts[:0]
			continue
		}
		var bytes uint64
		for _, p := range q.pkts {
			bytes += uint64(p.Len())
		}
		n, err := v.dev.Write(q.pkts)
		switch {
		case err != nil:
			v.txErrors.Add(uint64(len(q.pkts) - n))
			w.d.drops.txError.Add(uint64(len(q.pkts) - n))
		case n < len(q.pkts):
			v.txDropped.Add(uint64(len(q.pkts) - n))
			w.d.drops.txFull.Add(uint64(len(q.pkts) - n))
		}
		if n == len(q.pkts) {
			v.txPackets.Add(uint64(n))
			v.txBytes.Add(bytes)
		} else if n > 0 {
			var b uint64
			for _, p := range q.pkts[:n] {
				b += uint64(p.Len())
			}
			v.txPackets.Add(uint64(n))
			v.txBytes.Add(b)
		}
		clear(q.pkts)
		q.pkts = q.pkts[:0]
	}
	w.exec.Reset()
	w.meterNowSet = false // the next batch reads the clock again
}

// Process pushes a batch received on port inPort through the pipeline:
// extract each packet's key, look it up, run the flow's actions (or raise
// an upcall on a miss), then transmit everything the batch produced. The
// caller keeps ownership of pkts; they may be modified by set actions.
func (w *Worker) Process(inPort uint32, pkts []*dpio.Packet) {
	d := w.d
	if cap(w.keys) < len(pkts) {
		w.keys = make([]flow.Key, len(pkts))
		w.lays = make([]flow.Layout, len(pkts))
	}
	if w.keysDirty {
		// Actions of the last batch may have written conntrack or
		// tunnel fields; extraction writes only the packet fields.
		clear(w.keys[:cap(w.keys)])
		w.keysDirty = false
	}
	keys, lays := w.keys[:len(pkts)], w.lays[:len(pkts)]
	l3 := false
	if v := (*d.ports.Load())[inPort]; v != nil {
		l3 = v.l3
	}
	if cap(w.hits) < len(pkts) {
		w.hits = make([]*Flow, len(pkts))
	}
	hits := w.hits[:len(pkts)]

	// Classify the whole batch: exact-match cache, then the megaflow
	// classifier.
	var nhit, missed, searched, emcHits, actDrops, rxBytes uint64
	// A batch comes from one port: one classifier serves it.
	cls := d.flows.classifier(inPort)
	emc := w.emc
	for i, p := range pkts {
		b := p.Bytes()
		rxBytes += uint64(len(b))
		if l3 {
			flow.ExtractPacketFieldsType(b, inPort, l3PacketType(b), &keys[i], &lays[i])
		} else {
			flow.ExtractPacketFields(b, inPort, &keys[i], &lays[i])
		}
	}
	// Extraction writes the keys' fields a few bytes at a time; hashing a
	// key right after would load its words while those stores are still
	// in flight, which the CPU cannot forward to wider loads. Extracting
	// the whole batch first lets them complete.
	//
	// Packets are executed in order, and each flow's counters updated
	// once per run of consecutive packets that hit it (r). A packet that
	// hits a flow whose actions are a single output is queued as soon as
	// it is classified while every packet before it has been (done is
	// their number); the others wait for the loop after this one, as
	// their actions may call back into the datapath.
	now := w.now()
	var r flowRun
	done := 0
	for i := range keys {
		k := &keys[i]
		var h uint64
		var f *Flow
		if emc != nil {
			h = emc.Hash(k)
			// Keys straight from extraction carry no tunnel or
			// conntrack state, so the cheaper packet lookup applies.
			var ok bool
			if f, ok = emc.LookupPacket(k, h); ok {
				emcHits++
			}
		}
		if f == nil {
			var n int
			if cls != nil {
				f, n = cls.Lookup(k, w.shard)
			}
			if f == nil {
				continue
			}
			searched += uint64(n)
			if emc != nil {
				emc.Insert(k, h, f)
			}
		}
		if done == i {
			if f != r.f {
				w.startRun(&r, f, now)
			}
			if r.out >= 0 {
				p := pkts[i]
				r.add(p, k)
				q := &w.outs[r.out]
				q.pkts = append(q.pkts, p)
				w.nout++
				nhit++
				done++
				continue
			}
		}
		hits[i] = f
	}
	if v := (*d.ports.Load())[inPort]; v != nil {
		v.rxPackets.Add(uint64(len(pkts)))
		v.rxBytes.Add(rxBytes)
	}

	upcalled := false
	for i := done; i < len(pkts); i++ {
		p := pkts[i]
		f := hits[i]
		if f == nil && upcalled {
			// An earlier upcall of this batch may have installed a flow
			// covering this packet: far cheaper to find it than to miss.
			var n int
			if f, n = d.flows.lookup(&keys[i], w.shard); f != nil {
				searched += uint64(n)
			}
		}
		if f != r.f {
			w.startRun(&r, f, now)
		}
		w.rssKey = &keys[i]
		if f == nil {
			missed++
			upcalled = w.miss(p, &keys[i], &lays[i]) || upcalled
			continue
		}
		nhit++
		r.add(p, &keys[i])
		if r.out >= 0 {
			// What the executor would do for the single output action.
			q := &w.outs[r.out]
			q.pkts = append(q.pkts, p)
			w.nout++
			continue
		}
		before := w.nout
		w.keysDirty = w.keysDirty || r.fa.metadata
		w.exec.Execute(p, &keys[i], &lays[i], r.fa.list, w)
		if w.nout == before {
			actDrops++
		}
	}
	w.rssKey = nil
	w.startRun(&r, nil, now)
	if done < len(pkts) {
		clear(hits) // otherwise none was set
	}
	if nhit > 0 {
		d.hit.Add(nhit)
		if searched > 0 {
			d.maskHits.Add(searched)
		}
		if emcHits > 0 {
			d.emcHit.Add(emcHits)
		}
	}
	if missed > 0 {
		d.missed.Add(missed)
	}
	if actDrops > 0 {
		d.drops.action.Add(actDrops)
	}
	w.flush()
}

// miss hands a packet that matched no flow to the slow path and reports
// whether a synchronous handler saw it (and may have installed a flow).
func (w *Worker) miss(p *dpio.Packet, k *flow.Key, lay *flow.Layout) bool {
	d := w.d
	switch {
	case d.upcall != nil && d.async == nil:
		saved := w.up // a recirculated packet may miss inside a handler's Execute
		w.up = Upcall{w: w, Type: UpcallMiss, InPort: k.InPort, Key: *k, Packet: p, lay: lay}
		d.upcall(&w.up)
		w.up = saved
		return true
	case d.async != nil:
		if !d.async.put(UpcallMiss, k, p.Bytes(), nil, nil, nil) {
			d.lost.Add(1)
		}
	default:
		if !d.queueUpcall(UpcallMiss, k, p.Bytes(), nil) {
			d.lost.Add(1)
		}
	}
	return false
}

// Execute runs acts on a copy of frame as if it had arrived on port
// inPort (a packet without an Ethernet header if that is a layer 3
// port), and transmits the results.
func (w *Worker) Execute(inPort uint32, frame []byte, acts actions.List) error {
	if w.tmp == nil || w.tmp.Cap() < len(frame) {
		w.tmp = dpio.NewPacket(dpio.DefaultHeadroom, max(len(frame), dpio.DefaultBufferSize))
	}
	w.tmp.Reset(dpio.DefaultHeadroom)
	if !w.tmp.SetBytes(frame) {
		return fmt.Errorf("%w: packet of %d bytes too large", ErrInvalid, len(frame))
	}
	var k flow.Key
	var lay flow.Layout
	pt := uint32(flow.PacketTypeEthernet)
	if v := w.d.Port(inPort); v != nil && v.l3 {
		pt = l3PacketType(frame)
	}
	flow.ExtractLayoutType(w.tmp.Bytes(), inPort, pt, &k, &lay)
	saved := w.rssKey
	w.rssKey = &k
	w.exec.Execute(w.tmp, &k, &lay, acts, w)
	w.rssKey = saved
	w.flush()
	return nil
}

// l3PacketType returns the packet type of packet b received on a layer 3
// port: IPv4 or IPv6 by the IP version, (ns=1,id=0) otherwise.
func l3PacketType(b []byte) uint32 {
	if len(b) > 0 {
		switch b[0] >> 4 {
		case 4:
			return flow.PacketTypeIPv4
		case 6:
			return flow.PacketTypeIPv6
		}
	}
	return flow.PacketTypeOf(0)
}
