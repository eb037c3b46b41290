package dp

import (
	"bytes"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/flow"
	dpio "github.com/b7cafead/datapath/io"
)

// Trace is the datapath's account of what it does with one packet: the
// key it extracts, the flow that matches (or why none does), and what
// each of the flow's actions does to the packet. It is what a user would
// otherwise piece together from dpctl/dump-flows and ofproto/trace.
type Trace struct {
	InPort uint32
	Key    flow.Key // the packet's key as extracted
	Flow   *Flow    // the flow that matched, or nil
	// Miss says why no flow matched; empty when one did.
	Miss string
	// Near lists, when no flow matched, the installed flows that came
	// closest (fewest differing fields), with what differs.
	Near []NearMiss
	// Steps are the matched flow's actions, one per action, in order.
	Steps []TraceStep
}

// NearMiss is a flow that a packet did not match, and why.
type NearMiss struct {
	Flow *Flow
	// Want and Have are the flow's and the packet's values of the bits
	// that differ, in flow syntax (masked to the differing bytes).
	Want, Have string
}

// TraceStep is one action and what it did.
type TraceStep struct {
	Action string // the action in OVS syntax
	// Outputs are the ports the action sent the packet to (a port that
	// does not exist is listed with Dropped).
	Outputs []TraceOutput
	// Before and After show the key fields the action changed (empty if
	// it changed none), in flow syntax masked to the changed bytes.
	Before, After string
	// Upcalls describe the upcalls the action would make (userspace).
	Upcalls []string
	// Drop says why the action drops the packet or could not run, if it
	// does (a malformed packet for tnl_pop, a refused action, ...).
	Drop string
	// Then traces the packet as the datapath looks it up again after a
	// recirc, or after tnl_pop decapsulated it; nil otherwise.
	Then *Trace
	// Packet is the packet after the action.
	Packet []byte
}

// TraceOutput is a packet an action sent to a port.
type TraceOutput struct {
	Port    uint32
	Name    string // the port's name; empty if no such port
	Dropped bool   // no such port: the packet is dropped, as in OVS
	Packet  []byte
}

// Trace runs a packet received on inPort through the datapath without
// sending anything or changing any counter, and reports what would happen.
// (A lookup's subtable ranking counters are the one thing it touches.)
// A recirculation, or a tnl_pop that decapsulates the packet, is followed:
// the step's Then traces the packet as it is looked up again, up to OVS's
// recirculation depth.
func (d *Datapath) Trace(inPort uint32, frame []byte) (*Trace, error) {
	pkt := dpio.NewPacket(dpio.DefaultHeadroom, max(len(frame), dpio.DefaultBufferSize))
	if !pkt.SetBytes(frame) {
		return nil, fmt.Errorf("%w: packet of %d bytes too large", ErrInvalid, len(frame))
	}
	var key flow.Key
	var lay flow.Layout
	pt := uint32(flow.PacketTypeEthernet)
	if v := d.Port(inPort); v != nil && v.l3 {
		pt = l3PacketType(frame)
	}
	flow.ExtractLayoutType(pkt.Bytes(), inPort, pt, &key, &lay)
	t := d.trace(pkt, &key, &lay, 0, nil)
	if d.Port(inPort) == nil {
		t.Miss = fmt.Sprintf("port %d does not exist; a packet could not arrive on it", inPort)
	}
	return t, nil
}

// trace looks the packet with key up and runs the flow's actions one by
// one on it; depth is the number of recirculations before.
func (d *Datapath) trace(pkt *dpio.Packet, key *flow.Key, lay *flow.Layout, depth int, rss *flow.Key) *Trace {
	t := &Trace{InPort: key.InPort, Key: *key}
	if rss == nil {
		rss = &t.Key // the key as received gives the RSS hash
	}
	f, _ := d.flows.lookup(&t.Key, 0)
	if f == nil {
		t.Miss = "no flow matches"
		if d.upcall != nil {
			t.Miss += "; the packet would be upcalled to the slow path"
		} else {
			t.Miss += "; no slow path: the packet would be dropped and counted as lost"
		}
		t.Near = d.nearMisses(&t.Key, 3)
		return t
	}
	t.Flow = f
	rec := &recordSink{d: d}
	var x actions.Executor
	acts := f.Actions()
	k := t.Key
	inPort, pt := k.InPort, k.PacketType
	for i := range acts {
		a := &acts[i]
		before := k
		*rec = recordSink{d: d, rss: rss}
		// Every action but the last runs followed by a probe, a
		// recirculation the sink recognises, which reports the key as
		// the executor has it after the action (metadata such as
		// skb_mark or the tunnel key is only there), and whose absence
		// says that the action consumed or dropped the packet. The last
		// action runs alone, as last, as in the flow (a tnl_push last in
		// its list does nothing, as in OVS).
		one := acts[i : i+1]
		if i < len(acts)-1 && (a.Type != actions.TypeRecirc || a.ID != traceProbe) {
			one, rec.probing = actions.List{*a, actions.Recirc(traceProbe)}, true
		}
		x.Execute(pkt, &k, lay, one, rec)
		refused := x.Err()
		x.Reset()
		st := TraceStep{Action: acts[i : i+1].String(), Outputs: rec.outs, Upcalls: rec.upcalls, Drop: rec.drop,
			Packet: append([]byte(nil), pkt.Bytes()...)}
		if refused != nil {
			st.Drop = refused.Error()
		}
		gone := refused != nil || rec.probing && !rec.probed
		if gone && st.Drop == "" {
			st.Drop = "the packet goes no further"
		}
		// What the action changed: the key extracted anew (with the
		// executor's metadata when the probe ran) against the key before
		// it.
		recirc := k.RecircID
		switch {
		case rec.probed:
			inPort, pt = rec.probeKey.InPort, rec.probeKey.PacketType
			if a.Type == actions.TypeTunnelPush {
				recirc = 0 // a new packet, with fresh metadata
			}
		case a.Type == actions.TypePushEth && pt != flow.PacketTypeEthernet:
			pt = flow.PacketTypeEthernet
		case a.Type == actions.TypePopEth && pt == flow.PacketTypeEthernet && refused == nil:
			pt = flow.PacketTypeOf(before.EthType)
		case a.Type == actions.TypeAddMPLS && refused == nil && a.MPLS.TunFlags&1 == 0 &&
			(a.MPLS.EthType == flow.EthTypeMPLS || a.MPLS.EthType == flow.EthTypeMPLSM):
			pt = flow.PacketTypeOf(a.MPLS.EthType)
		}
		var after flow.Key
		flow.ExtractLayoutType(pkt.Bytes(), inPort, pt, &after, lay)
		if rec.probed {
			after.CopyMetadata(&rec.probeKey)
		} else {
			after.CopyMetadata(&k)
		}
		after.RecircID = recirc
		k = after
		if m := diffMask(&before, &after); !m.IsZero() {
			st.Before = formatFields(&before, &m)
			st.After = formatFields(&after, &m)
		}
		if rec.again != nil {
			if depth >= maxRecircDepth {
				st.Drop = "too many recirculations: the packet would be dropped"
			} else {
				next := rss // kept through recirculations
				if rec.decap {
					next = &rec.againKey // computed anew after decapsulation
				}
				st.Then = d.trace(rec.again, &rec.againKey, &rec.againLay, depth+1, next)
			}
		}
		t.Steps = append(t.Steps, st)
		if gone {
			break // the executor stops there
		}
	}
	return t
}

// recordSink keeps copies of what actions output, upcall and send back
// to the datapath, without sending or counting anything.
type recordSink struct {
	d       *Datapath
	outs    []TraceOutput
	upcalls []string
	drop    string
	// again is a copy of a packet that recirculates or was decapsulated,
	// with its key and layout as the datapath would look it up.
	again    *dpio.Packet
	againKey flow.Key
	againLay flow.Layout
	// rss is the key whose 5-tuple gives the packet's RSS hash
	// (actions.RSSKeyer); decap says that again was decapsulated.
	rss   *flow.Key
	decap bool
	// probing says that the list ends with the trace's probe; probed,
	// that it ran, and probeKey is the key it saw.
	probing, probed bool
	probeKey        flow.Key
}

// traceProbe is the recirculation id of the probe a trace puts after
// each action.
const traceProbe = ^uint32(0)

// Meter implements actions.Meterer for a trace: the packet passes, and
// the meter is not run (that would take its tokens and count).
func (r *recordSink) Meter(id uint32, pkt *dpio.Packet) bool { return true }

// Recirculate implements actions.Recirculator for a trace: the packet is
// kept to be traced again.
func (r *recordSink) Recirculate(pkt *dpio.Packet, key *flow.Key) {
	if r.probing && key.RecircID == traceProbe {
		r.probed, r.probeKey = true, *key
		return
	}
	r.keep(pkt, key)
}

// TunnelReceive implements actions.Tunneler for a trace: the decapsulated
// packet is kept to be traced again from the tunnel port.
func (r *recordSink) TunnelReceive(pkt *dpio.Packet, key *flow.Key) {
	r.keep(pkt, key)
	r.decap = true
}

// RSSKey implements actions.RSSKeyer, as the worker does.
func (r *recordSink) RSSKey() *flow.Key { return r.rss }

// TunnelPort implements actions.Tunneler.
func (r *recordSink) TunnelPort(port uint32) *actions.TunnelPort {
	if v := r.d.Port(port); v != nil {
		return v.tnl
	}
	return nil
}

// TunnelDrop implements actions.Tunneler: the reason is recorded.
func (r *recordSink) TunnelDrop(reason actions.TunnelDrop) {
	r.drop = "dropped: " + reason.String()
}

// Userspace implements actions.Upcaller for a trace: the upcall is
// described, not made.
func (r *recordSink) Userspace(pkt *dpio.Packet, key *flow.Key, u *actions.Userspace, _ actions.List) {
	r.upcalls = append(r.upcalls, fmt.Sprintf("action upcall to pid %d with %d bytes of userdata", u.PID, len(u.Userdata)))
}

// keep copies pkt and its key, extracted anew with the metadata kept, as
// the worker looks a packet up again.
func (r *recordSink) keep(pkt *dpio.Packet, key *flow.Key) {
	r.again = dpio.NewPacket(dpio.DefaultHeadroom, max(pkt.Len(), dpio.DefaultBufferSize))
	r.again.SetBytes(pkt.Bytes())
	flow.ExtractLayoutType(r.again.Bytes(), key.InPort, key.PacketType, &r.againKey, &r.againLay)
	r.againKey.CopyMetadata(key)
}

func (r *recordSink) Output(port uint32, pkt *dpio.Packet) {
	o := TraceOutput{Port: port, Packet: append([]byte(nil), pkt.Bytes()...)}
	if v := r.d.Port(port); v != nil {
		o.Name = v.Name()
	} else {
		o.Dropped = true
	}
	r.outs = append(r.outs, o)
}

// diffMask returns a mask of every whole key field in which a and b
// differ.
func diffMask(a, b *flow.Key) flow.Key {
	var m flow.Key
	ab, bb, mb := keyBytes(a), keyBytes(b), keyBytes(&m)
	for _, f := range keyFields {
		if !bytes.Equal(ab[f.off:f.off+f.size], bb[f.off:f.off+f.size]) {
			for i := f.off; i < f.off+f.size; i++ {
				mb[i] = 0xff
			}
		}
	}
	return m
}

// wholeFields widens mask m to whole key fields: a field with any bit of m
// set gets every bit set.
func wholeFields(m *flow.Key) flow.Key {
	var out flow.Key
	mb, ob := keyBytes(m), keyBytes(&out)
	for _, f := range keyFields {
		for i := f.off; i < f.off+f.size; i++ {
			if mb[i] != 0 {
				for j := f.off; j < f.off+f.size; j++ {
					ob[j] = 0xff
				}
				break
			}
		}
	}
	return out
}

// keyField is the byte span of one field of flow.Key (an element of an
// array of numbers is a field of its own).
type keyField struct{ off, size int }

var keyFields = func() []keyField {
	var out []keyField
	t := reflect.TypeOf(flow.Key{})
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Name == "_" {
			continue
		}
		off, size := int(f.Offset), int(f.Type.Size())
		if f.Type.Kind() == reflect.Array && f.Type.Elem().Kind() != reflect.Uint8 {
			es := int(f.Type.Elem().Size())
			for j := 0; j < f.Type.Len(); j++ {
				out = append(out, keyField{off + j*es, es})
			}
			continue
		}
		out = append(out, keyField{off, size})
	}
	return out
}()

func keyBytes(k *flow.Key) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(k)), unsafe.Sizeof(*k))
}

// formatFields formats the fields of k that m selects, without the empty
// eth() that the flow syntax adds when the packet type is not matched.
func formatFields(k, m *flow.Key) string {
	s := flow.Format(k, m)
	if m.EthSrc == ([6]byte{}) && m.EthDst == ([6]byte{}) {
		s = strings.Replace(s, "eth(),", "", 1)
		s = strings.TrimSuffix(strings.Replace(s, ",eth()", "", 1), "eth()")
	}
	return s
}

// nearMisses returns up to n installed flows closest to packet key k:
// flows on the packet's input port first, then those that differ in the
// fewest fields of their masks.
func (d *Datapath) nearMisses(k *flow.Key, n int) []NearMiss {
	type cand struct {
		f             *Flow
		otherPort     bool
		fields        int
		want, differs flow.Key
	}
	var cs []cand
	for _, f := range d.flows.all() {
		mt := f.Match()
		m := diffMask(k, &mt.Key)
		// Only the bits the flow matches count.
		mb, fb := keyBytes(&m), keyBytes(&mt.Mask)
		for i := range mb {
			mb[i] &= fb[i]
		}
		m = wholeFields(&m)
		nf := 0
		for _, kf := range keyFields {
			if mb[kf.off] != 0 {
				nf++
			}
		}
		cs = append(cs, cand{f: f, otherPort: mt.Key.InPort != k.InPort, fields: nf, want: mt.Key, differs: m})
	}
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].otherPort != cs[j].otherPort {
			return !cs[i].otherPort
		}
		return cs[i].fields < cs[j].fields
	})
	var out []NearMiss
	for _, c := range cs[:min(n, len(cs))] {
		out = append(out, NearMiss{Flow: c.f, Want: formatFields(&c.want, &c.differs), Have: formatFields(k, &c.differs)})
	}
	return out
}

func keyWords(k *flow.Key) *[flow.KeyWords]uint64 {
	return (*[flow.KeyWords]uint64)(unsafe.Pointer(k))
}

// packetMask returns a mask of every field extraction fills in (the key
// up to the conntrack fields), to show a packet's whole key.
func packetMask(*flow.Key) *flow.Key {
	var m flow.Key
	n := int(unsafe.Offsetof(m.CtState)) / 8
	for i := range keyWords(&m)[:n] {
		keyWords(&m)[i] = ^uint64(0)
	}
	return &m
}

// String renders the trace for people, one fact per line.
// sent counts the packets t's steps, and the traces they lead to, send.
func (t *Trace) sent() int {
	n := 0
	for _, s := range t.Steps {
		for _, o := range s.Outputs {
			if !o.Dropped {
				n++
			}
		}
		if s.Then != nil {
			n += s.Then.sent()
		}
	}
	return n
}

func (t *Trace) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "packet on port %d: %s\n", t.InPort, flow.Format(&t.Key, packetMask(&t.Key)))
	if t.Flow == nil {
		fmt.Fprintf(&b, "no match: %s\n", t.Miss)
		for _, n := range t.Near {
			fmt.Fprintf(&b, "  nearest flow %s\n    wants %s\n    packet has %s\n", n.Flow.Match(), n.Want, n.Have)
		}
		return b.String()
	}
	if t.Miss != "" {
		fmt.Fprintf(&b, "note: %s\n", t.Miss)
	}
	fmt.Fprintf(&b, "flow: %s\n", t.Flow.Match())
	if len(t.Steps) == 0 {
		b.WriteString("actions: drop (none)\n")
	}
	for i, s := range t.Steps {
		fmt.Fprintf(&b, "%d. %s", i+1, s.Action)
		if s.Before != "" {
			fmt.Fprintf(&b, ": %s -> %s", s.Before, s.After)
		}
		for _, o := range s.Outputs {
			if o.Dropped {
				fmt.Fprintf(&b, ": port %d does not exist, dropped", o.Port)
			} else {
				fmt.Fprintf(&b, ": sent %d bytes to port %d (%s)", len(o.Packet), o.Port, o.Name)
			}
		}
		for _, u := range s.Upcalls {
			fmt.Fprintf(&b, ": %s", u)
		}
		if s.Drop != "" {
			fmt.Fprintf(&b, ": %s", s.Drop)
		}
		b.WriteByte('\n')
		if s.Then != nil {
			// The packet as it is looked up again, indented.
			for _, l := range strings.SplitAfter(strings.TrimSuffix(s.Then.String(), "\n"), "\n") {
				b.WriteString("    " + l)
			}
			b.WriteByte('\n')
		}
	}
	outs := t.sent()
	b.WriteString("result: ")
	if outs == 0 {
		b.WriteString("dropped\n")
	} else {
		b.WriteString(strconv.Itoa(outs) + " packet(s) sent\n")
	}
	return b.String()
}
