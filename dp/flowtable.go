package dp

import (
	"sort"
	"sync/atomic"
	"time"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/flow"
)

// Flow is an installed datapath flow: a masked match, its actions and its
// statistics.
type Flow struct {
	// Pointer fields first: the collector then scans a Flow's first words
	// only, not its 1 KiB match.
	acts    atomic.Pointer[flowActions]
	created time.Time

	packets  atomic.Uint64
	bytes    atomic.Uint64
	used     atomic.Int64 // Unix nanoseconds of the last hit; 0 = never
	tcpFlags atomic.Uint32
	dead     atomic.Bool // deleted: caches must not return it
	seq      uint64      // installation order, for stable dumps
	ufid     flow.UFID
	match    flow.Match
}

// Alive reports whether the flow is still installed.
func (f *Flow) Alive() bool { return f != nil && !f.dead.Load() }

// Match returns the flow's key and mask.
func (f *Flow) Match() flow.Match { return f.match }

// UFID returns the flow's unique identifier.
func (f *Flow) UFID() flow.UFID { return f.ufid }

// Actions returns the flow's current actions.
func (f *Flow) Actions() actions.List { return f.acts.Load().list }

// flowActions are a flow's actions with what the pipeline needs to know
// of them, published together.
type flowActions struct {
	list actions.List
	// metadata: the actions may write the key's fields after the packet
	// fields (tunnel, conntrack), so the worker must clear them before
	// reusing the key.
	metadata bool
	// output: the list is a single output action, to port outPort. The
	// worker then queues the packet itself, which is what the executor
	// would do, without running it.
	output  bool
	outPort uint32
}

func newFlowActions(l actions.List) *flowActions {
	fa := &flowActions{list: l, metadata: writesMetadata(l)}
	if len(l) == 1 && l[0].Type == actions.TypeOutput {
		fa.output, fa.outPort = true, l[0].Port
	}
	return fa
}

// writesMetadata reports whether l may write key fields that extraction
// does not: anything but outputs, drops, VLAN tags, truncation and sets
// of packet header attributes counts (conservatively) as yes.
func writesMetadata(l actions.List) bool {
	for i := range l {
		a := &l[i]
		switch a.Type {
		case actions.TypeOutput, actions.TypeDrop, actions.TypePushVLAN, actions.TypePopVLAN, actions.TypeTrunc:
		case actions.TypeSet, actions.TypeSetMasked:
			switch a.Attr {
			case actions.AttrEthernet, actions.AttrIPv4, actions.AttrIPv6, actions.AttrTCP, actions.AttrUDP,
				actions.AttrSCTP, actions.AttrICMP, actions.AttrICMPv6, actions.AttrARP, actions.AttrND:
			default:
				return true
			}
		default:
			return true
		}
	}
	return false
}

// FlowStats are a flow's counters.
type FlowStats struct {
	Packets  uint64
	Bytes    uint64
	Used     time.Time // zero if the flow was never hit
	TCPFlags uint16    // union of the TCP flags of the packets that hit it
}

// Stats returns the flow's counters.
func (f *Flow) Stats() FlowStats {
	s := FlowStats{
		Packets:  f.packets.Load(),
		Bytes:    f.bytes.Load(),
		TCPFlags: uint16(f.tcpFlags.Load()),
	}
	if u := f.used.Load(); u != 0 {
		s.Used = time.Unix(0, u)
	}
	return s
}

// usedResolution is how stale a flow's last-used time may get: dumps show
// it in milliseconds, as OVS keeps it, and a flow hit again within that
// time is spared the store (a locked instruction on amd64) batch after
// batch.
const usedResolution = int64(time.Millisecond)

func (f *Flow) hit(packets, bytes int, tcpFlags uint16, now int64) {
	f.packets.Add(uint64(packets))
	f.bytes.Add(uint64(bytes))
	if now-f.used.Load() >= usedResolution {
		f.used.Store(now)
	}
	if tcpFlags != 0 {
		for {
			old := f.tcpFlags.Load()
			if old|uint32(tcpFlags) == old || f.tcpFlags.CompareAndSwap(old, old|uint32(tcpFlags)) {
				break
			}
		}
	}
}

// clearStats zeroes the counters (a modify with the clear flag).
func (f *Flow) clearStats() {
	f.packets.Store(0)
	f.bytes.Store(0)
	f.used.Store(0)
	f.tcpFlags.Store(0)
}

// AppendDump appends the flow as ovs-appctl dpctl/dump-flows prints it:
// "MATCH, packets:N, bytes:N, used:T[, flags:F], actions:ACTIONS". now is
// the time "used" is measured from.
func (f *Flow) AppendDump(dst []byte, now time.Time) []byte {
	dst = flow.AppendFormat(dst, &f.match.Key, &f.match.Mask)
	st := f.Stats()
	dst = append(dst, ", packets:"...)
	dst = appendUint(dst, st.Packets)
	dst = append(dst, ", bytes:"...)
	dst = appendUint(dst, st.Bytes)
	dst = append(dst, ", used:"...)
	if st.Used.IsZero() {
		dst = append(dst, "never"...)
	} else {
		ms := now.Sub(st.Used).Milliseconds()
		if ms < 0 {
			ms = 0
		}
		dst = appendUint(dst, uint64(ms/1000))
		dst = append(dst, '.')
		frac := ms % 1000
		dst = append(dst, byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10), 's')
	}
	if st.TCPFlags != 0 {
		dst = append(dst, ", flags:"...)
		dst = flow.AppendTCPFlagsStat(dst, st.TCPFlags)
	}
	dst = append(dst, ", actions:"...)
	return f.Actions().Append(dst)
}

// String returns the flow as dpctl/dump-flows prints it.
func (f *Flow) String() string { return string(f.AppendDump(nil, time.Now())) }

func appendUint(dst []byte, v uint64) []byte {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(dst, buf[i:]...)
}

// table is the datapath's flow table: one megaflow classifier per input
// port, as dpif-netdev keeps one dpcls per in_port (in_port is always
// matched exactly), so a packet searches only the masks of flows on its
// own port. Lookups never block; changes are serialized by the datapath's
// mutex.
type table struct {
	ports atomic.Pointer[map[uint32]*flow.Classifier[Flow]]
	seq   uint64              // installation counter; changes only under Datapath.mu
	ufids map[flow.UFID]*Flow // under Datapath.mu
}

// classifier returns the classifier of input port port, or nil.
func (t *table) classifier(port uint32) *flow.Classifier[Flow] {
	if m := t.ports.Load(); m != nil {
		return (*m)[port]
	}
	return nil
}

// classifiers returns every port's classifier, by port number.
func (t *table) classifiers() []*flow.Classifier[Flow] {
	m := t.ports.Load()
	if m == nil {
		return nil
	}
	nos := make([]uint32, 0, len(*m))
	for no := range *m {
		nos = append(nos, no)
	}
	sort.Slice(nos, func(i, j int) bool { return nos[i] < nos[j] })
	out := make([]*flow.Classifier[Flow], len(nos))
	for i, no := range nos {
		out[i] = (*m)[no]
	}
	return out
}

// byUFID returns the flow named ufid, or nil; the caller holds
// Datapath.mu.
func (t *table) byUFID(ufid flow.UFID) *Flow { return t.ufids[ufid] }

// lookup returns the flow matching packet key k, or nil, and how many
// subtables it searched.
func (t *table) lookup(k *flow.Key, shard int) (*Flow, int) {
	c := t.classifier(k.InPort)
	if c == nil {
		return nil, 0
	}
	return c.Lookup(k, shard)
}

// get returns the flow with exactly this key and mask.
func (t *table) get(m *flow.Match) *Flow {
	c := t.classifier(m.Key.InPort)
	if c == nil {
		return nil
	}
	f, _ := c.Get(&m.Key, &m.Mask)
	return f
}

// insert adds f; the caller checked that no flow with its match exists.
func (t *table) insert(f *Flow) {
	t.seq++
	f.seq = t.seq
	if t.ufids == nil {
		t.ufids = map[flow.UFID]*Flow{}
	}
	t.ufids[f.ufid] = f
	port := f.match.Key.InPort
	c := t.classifier(port)
	if c == nil {
		c = new(flow.Classifier[Flow])
		m := map[uint32]*flow.Classifier[Flow]{}
		if old := t.ports.Load(); old != nil {
			for k, v := range *old {
				m[k] = v
			}
		}
		m[port] = c
		t.ports.Store(&m)
	}
	c.Insert(&f.match.Key, &f.match.Mask, f)
}

// remove deletes the flow with this match, returning it.
func (t *table) remove(m *flow.Match) *Flow {
	c := t.classifier(m.Key.InPort)
	if c == nil {
		return nil
	}
	f, ok := c.Delete(&m.Key, &m.Mask)
	if !ok {
		return nil
	}
	f.dead.Store(true)
	delete(t.ufids, f.ufid)
	return f
}

// all returns every flow in installation order.
func (t *table) all() []*Flow {
	var out []*Flow
	for _, c := range t.classifiers() {
		c.Range(func(_, _ *flow.Key, f *Flow) bool {
			out = append(out, f)
			return true
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

func (t *table) flush() {
	for _, f := range t.all() {
		f.dead.Store(true)
	}
	t.ports.Store(&map[uint32]*flow.Classifier[Flow]{})
	clear(t.ufids)
}

// size returns the number of flows and of masks (subtables, summed over
// the ports' classifiers).
func (t *table) size() (flows, masks int) {
	for _, c := range t.classifiers() {
		flows += c.Len()
		masks += c.Masks()
	}
	return flows, masks
}

// rank re-ranks every classifier's subtables by recent hits.
func (t *table) rank() {
	for _, c := range t.classifiers() {
		c.Rank()
	}
}

// FlowDump walks the installed flows in batches, the way a netlink client
// dumps them; see DumpFlows.
type FlowDump struct {
	cls []*flow.Classifier[Flow]
	it  *flow.Iterator[Flow]
	key flow.Key
}

// DumpFlows starts a walk over the installed flows that runs alongside
// forwarding and flow changes without stopping either. A flow installed
// for the whole walk is returned exactly once; one added or deleted during
// it may or may not be. Flows come in table order, not installation order
// (see Flows for a sorted snapshot).
func (d *Datapath) DumpFlows() *FlowDump { return &FlowDump{cls: d.flows.classifiers()} }

// Next fills dst with the next flows and returns how many it stored; 0
// means the walk is over.
func (fd *FlowDump) Next(dst []*Flow) int {
	n := 0
	for n < len(dst) {
		if fd.it == nil {
			if len(fd.cls) == 0 {
				break
			}
			fd.it = fd.cls[0].Iterate()
			fd.cls = fd.cls[1:]
		}
		_, f := fd.it.Next(&fd.key)
		if f == nil {
			fd.it = nil
			continue
		}
		dst[n] = f
		n++
	}
	return n
}
