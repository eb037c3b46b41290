package actions

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"

	"github.com/b7cafead/datapath/flow"
	dpio "github.com/b7cafead/datapath/io"
)

var be = binary.BigEndian

// Sink receives the packets that output actions send.
type Sink interface {
	// Output queues pkt for transmission on a datapath port. The packet
	// is lent, not given: it stays valid and unmodified until the
	// executor's Reset, so the sink must transmit (copy) it before then.
	Output(port uint32, pkt *dpio.Packet)
}

// Recirculator is implemented by a Sink that can take a packet back into
// the datapath's lookup, as recirc does. Without it, recirc is refused.
type Recirculator interface {
	// Recirculate runs the lookup again for pkt, whose headers are
	// unchanged since the key was extracted except by the actions;
	// key's metadata (recirc_id, set to the action's id, dp_hash,
	// skb_priority, skb_mark, conntrack, tunnel) carries over. pkt
	// and key are lent: they stay valid until Reset and until the call
	// returns, respectively.
	Recirculate(pkt *dpio.Packet, key *flow.Key)
}

// Upcaller is implemented by a Sink that can send packets to the slow
// path, as userspace does. Without it, userspace is refused.
type Upcaller interface {
	// Userspace sends pkt to the slow path with the action's argument
	// (its pid and userdata). pkt is lent as for Output; key is valid
	// during the call. l is the action list the userspace action is in
	// (a nested list's, inside clone, sample, check_pkt_len or dec_ttl),
	// which an upcall that asks for the actions (u.Actions) carries, as
	// Linux's OVS_PACKET_ATTR_ACTIONS does.
	Userspace(pkt *dpio.Packet, key *flow.Key, u *Userspace, l List)
}

// Meterer is implemented by a Sink that has meters, as meter needs.
// Without it, meter is refused.
type Meterer interface {
	// Meter runs pkt through meter id and reports whether it passes (a
	// packet that does not is dropped: no later action sees it). A
	// meter that does not exist passes every packet, as in OVS. pkt is
	// lent as for Output, only during the call.
	Meter(id uint32, pkt *dpio.Packet) bool
}

// Executor runs action lists on packets. It keeps the copies that an
// output followed by a modifying action needs, so its steady state
// allocates nothing. An Executor is used by one goroutine at a time.
//
// An action the executor cannot run (one List.Validate refuses) is never
// skipped: the executor stops at it, drops the packet and records the
// refusal, which Err reports.
type Executor struct {
	spare []*dpio.Packet
	used  int
	keys  []*flow.Key // the executor's copies of keys
	nkeys int         // keys in use

	refused  Action // the first action refused since Reset
	nrefused int    // packets dropped at a refused action since Reset
	// refusedL3 says that refused was refused because of the packet's
	// type (an Ethernet action on a packet that is not Ethernet, or the
	// reverse), not because it is not implemented.
	refusedL3 bool

	// top is the list Execute is running (run may get the rest of it).
	top List
}

// Reset releases the packet copies handed to sinks since the last Reset
// and forgets refused actions. Call it once the sink has transmitted
// everything queued.
func (x *Executor) Reset() {
	x.used = 0
	x.nrefused = 0
}

// Err reports the first action the executor refused to run since the last
// Reset, and on how many packets, or nil. Lists that pass List.Validate
// are refused only for a sink that lacks what an action needs (recirc,
// userspace, meter) or for a packet whose type does not fit an action
// (see Execute).
func (x *Executor) Err() error {
	if x.nrefused == 0 {
		return nil
	}
	if x.refusedL3 {
		return fmt.Errorf("actions: %s on a packet %s (%d packets dropped)", x.refused.Type, l3Reason(x.refused.Type), x.nrefused)
	}
	err := x.refused.validate(true)
	if err == nil {
		err = &NotImplementedError{Type: x.refused.Type, Attr: x.refused.Attr}
	}
	return fmt.Errorf("%w (%d packets dropped)", err, x.nrefused)
}

// refuse records that a could not be executed.
func (x *Executor) refuse(a *Action) {
	if x.nrefused == 0 {
		x.refused = Action{Type: a.Type, Attr: a.Attr, Set: a.Set}
		x.refusedL3 = false
	}
	x.nrefused++
}

// refuseType records that a could not be executed on a packet of its
// packet type.
func (x *Executor) refuseType(a *Action) {
	if x.nrefused == 0 {
		x.refused = Action{Type: a.Type}
		x.refusedL3 = true
	}
	x.nrefused++
}

// l3Reason says what was wrong with the packet an action refused for its
// type.
func l3Reason(t Type) string {
	switch t {
	case TypePushEth:
		return "that has an Ethernet header"
	case TypePopEth:
		return "without an Ethernet header"
	}
	return "that is not Ethernet"
}

func (x *Executor) clone(p *dpio.Packet) *dpio.Packet {
	if x.used == len(x.spare) || x.spare[x.used].Cap() < p.Len() {
		size := max(dpio.DefaultBufferSize, p.Len())
		c := dpio.NewPacket(dpio.DefaultHeadroom, size)
		if x.used == len(x.spare) {
			x.spare = append(x.spare, c)
		} else {
			x.spare[x.used] = c
		}
	}
	c := x.spare[x.used]
	x.used++
	c.Reset(dpio.DefaultHeadroom)
	c.CopyFrom(p)
	return c
}

// Execute runs l on pkt. key and lay are the packet's flow key and header
// layout from flow.ExtractLayout; the executor does not change them: the
// actions that change the key and not the packet (set of skb_priority and
// skb_mark, ct_clear, hash) change a copy the executor keeps, which the
// later actions of the list see. Outputs go to sink; when a later action
// modifies the packet, the output gets a copy made before the change. An
// empty list drops the packet, and so does an action the executor cannot
// run (see Err).
//
// As in OVS's userspace datapath, push_vlan and pop_vlan change the
// outermost tag (the header offsets that later set actions use move with
// it), and trunc sets how many bytes the next output (only) cuts from the
// end: the packet's length at the trunc minus the limit, at least 14 bytes
// being kept. dec_ttl follows Linux: an IPv4 TTL or IPv6 hop limit above 1
// is decremented (with the IPv4 checksum), otherwise the nested actions run
// instead of the rest of the list; other packets are left alone.
//
// clone, sample and check_pkt_len run their nested actions on a copy of
// the packet and of the key, unless they are the list's last action (then
// on the packet itself), as OVS does. A pending trunc carries into a
// clone's actions, and after a clone that is not last it is forgotten;
// the actions of sample and check_pkt_len do not apply it to their
// outputs (OVS runs them as a new batch, whose trunc flag is clear), but
// check_pkt_len counts it.
// sample draws a uniformly random 32-bit number (math/rand/v2's
// goroutine-safe generator) and runs its actions when the number is below
// the probability, as OVS does: probability 0 never runs them, 0xffffffff
// all but once in 2^32 times. check_pkt_len compares the length the next
// output would send, less the Ethernet padding after the IP packet, with
// its size.
//
// meter asks the sink (a Meterer) whether the packet passes; one that does
// not is dropped there. pop_eth and push_eth change the packet's type
// between Ethernet (Key.PacketType 0) and the type its EtherType names, as
// OVS does (see eth.go); the key the later actions see follows. On a
// packet that is not Ethernet, actions that need an Ethernet header are
// refused (push_vlan, push_mpls, pop_mpls, add_mpls with the layer 3
// flag, pop_eth), and those
// that OVS skips do nothing (pop_vlan, set of eth); so is push_eth on an
// Ethernet packet. The IP header of such a packet starts it: sets and
// dec_ttl find it there.
func (x *Executor) Execute(pkt *dpio.Packet, key *flow.Key, lay *flow.Layout, l List, sink Sink) {
	if len(l) > 0 && l[0].Type != TypeOutput && l[0].Type != TypeSet && l[0].Type != TypeSetMasked {
		n, top := x.nkeys, x.top // Execute may be called again by a sink (recirc)
		x.top = l
		x.run(pkt, key, false, lay, l, sink, 0, false, true, 0)
		x.nkeys, x.top = n, top
		return
	}
	// The common lists, sets of packet headers and then an output, run
	// here. Those sets leave the state run keeps as it starts (the
	// layout, the key, no trunc), so that the first other action and the
	// rest of the list can go to run as if they were the whole list.
	for i := 0; i < len(l); i++ {
		a := &l[i]
		if a.Type == TypeOutput && i == len(l)-1 {
			sink.Output(a.Port, pkt)
			return
		}
		if a.Type == TypeSetMasked || a.Type == TypeSet {
			if a.Attr == AttrIPv4 && a.Set != nil {
				// The most common set, without a call to setHeader.
				k, m := &a.Set.Key, &a.Set.Mask
				if a.Type == TypeSet {
					m = &fullMasks[AttrIPv4]
				}
				switch {
				case key.EthType != flow.EthTypeIPv4 || lay.End == 0:
				case m.NwSrc != [4]byte{} || m.NwDst != [4]byte{} || m.NwTos != 0:
					setIPv4(pkt.Bytes(), lay, k, m)
				case m.NwTTL != 0:
					// The TTL alone, here: setIPv4 does the same.
					nh := pkt.Bytes()[lay.L3:lay.End]
					if ttl := k.NwTTL | nh[8]&^m.NwTTL; nh[8] != ttl {
						be.PutUint16(nh[10:], Recalc16(be.Uint16(nh[10:]), uint16(nh[8])<<8, uint16(ttl)<<8))
						nh[8] = ttl
					}
				}
				continue
			}
			if setHeader(pkt, key, lay, a) {
				continue
			}
		}
		n, top := x.nkeys, x.top // Execute may be called again by a sink (recirc)
		x.top = l
		x.run(pkt, key, false, lay, l[i:], sink, 0, false, true, 0)
		x.nkeys, x.top = n, top
		return
	}
}

// run executes l on pkt. key is the flow key, owned by the executor (and
// changeable) when own is true; lay the layout, copied before a change;
// cut the length a trunc cuts and trunc whether the next output applies
// it (OVS's cutlen and batch trunc flag); final reports whether the packet is not used
// after l (otherwise an output must not truncate it in place, and sends a
// copy if the packet is changed later). It reports false if it stopped at
// an action it cannot run.
func (x *Executor) run(pkt *dpio.Packet, key *flow.Key, own bool, lay *flow.Layout, l List, sink Sink, cut int, trunc, final bool, depth int) bool {
	// ly is the packet's layout; push_vlan and pop_vlan move the headers,
	// and then work on a copy, moved.
	ly := lay
	var moved flow.Layout
	l25 := mplsUnknown // the MPLS label stack's offset, once an action needs it
	// whole is the list the actions are in, as userspace reports it: the
	// list Execute was given (l may be the rest of it), or a nested one.
	whole := l
	if depth == 0 {
		whole = x.top
	}
	for i := 0; i < len(l); i++ {
		a := &l[i]
		last := i == len(l)-1
		if a.Type == TypeOutput {
			// The most common action, tested before the switch.
			out := pkt
			if trunc && cut > 0 {
				if last && final {
					pkt.Truncate(pkt.Len() - cut)
				} else {
					out = x.clone(pkt)
					out.Truncate(out.Len() - cut)
				}
				cut, trunc = 0, false
			} else if !final && !last || !last && modifiesAfter(l[i+1:]) {
				out = x.clone(pkt)
			}
			sink.Output(a.Port, out)
			continue
		}
		switch a.Type {
		case TypeDrop:
			return true
		case TypeSet, TypeSetMasked:
			if metaAttr(a.Attr) {
				// The key changes, not the packet.
				if keyUnused(l[i+1:]) {
					continue
				}
				if !own {
					key, own = x.ownKey(key), true
				}
				st := a.set()
				if a.Attr == AttrTunnel {
					setTunnel(key, a.Type == TypeSetMasked, &st.Key, &st.Mask)
					continue
				}
				mask := &st.Mask
				if a.Type == TypeSet {
					mask = fullMask(a.Attr)
				}
				setMeta(key, a.Attr, &st.Key, mask)
				continue
			}
			if !setHeader(pkt, key, ly, a) {
				x.refuse(a)
				return false
			}
		case TypePushVLAN:
			if key.PacketType != flow.PacketTypeEthernet {
				x.refuseType(a)
				return false
			}
			if ly == lay {
				moved, ly = *lay, &moved
			}
			if !pushVLAN(pkt, ly, a.VLAN) {
				return true
			}
			if l25 >= 0 {
				l25 += 4
			}
		case TypePopVLAN:
			if key.PacketType != flow.PacketTypeEthernet {
				// No Ethernet header, no tag: nothing to do, as in OVS.
				continue
			}
			if ly == lay {
				moved, ly = *lay, &moved
			}
			n := pkt.Len()
			popVLAN(pkt, ly)
			if l25 >= 0 && pkt.Len() < n {
				l25 -= 4
			}
		case TypePushMPLS, TypeAddMPLS:
			if a.Type == TypeAddMPLS && a.MPLS.TunFlags&1 == 0 {
				// Without the layer 3 flag, whatever the packet is.
				if ly == lay {
					moved, ly = *lay, &moved
				}
				if !own {
					key, own = x.ownKey(key), true
				}
				if !addMPLSFront(pkt, key, ly, &l25, a.MPLS) {
					return true
				}
				continue
			}
			if key.PacketType != flow.PacketTypeEthernet {
				x.refuseType(a)
				return false
			}
			if ly == lay {
				moved, ly = *lay, &moved
			}
			if l25 == mplsUnknown {
				l25 = mplsOffset(pkt.Bytes())
			}
			if !pushMPLS(pkt, ly, &l25, a.MPLS) {
				return true
			}
		case TypePopMPLS:
			if key.PacketType != flow.PacketTypeEthernet {
				x.refuseType(a)
				return false
			}
			if ly == lay {
				moved, ly = *lay, &moved
			}
			if l25 == mplsUnknown {
				l25 = mplsOffset(pkt.Bytes())
			}
			popMPLS(pkt, ly, &l25, a.MPLS.EthType)
		case TypeTrunc:
			keep := max(int(a.MaxLen), 14)
			cut, trunc = max(pkt.Len()-keep, 0), true
		case TypeDecTTL:
			if !decTTL(pkt.Bytes(), key, ly) {
				// The nested actions replace the rest of the list.
				l, i = a.Actions, -1
				whole = l
			}
		case TypeRecirc:
			r, ok := sink.(Recirculator)
			if !ok {
				x.refuse(a)
				return false
			}
			p := pkt
			if !last || !final {
				p = x.clone(pkt)
			}
			k := x.ownKey(key)
			k.RecircID = a.ID
			r.Recirculate(p, k)
		case TypeUserspace:
			u, ok := sink.(Upcaller)
			if !ok || a.Userspace == nil {
				x.refuse(a)
				return false
			}
			p := pkt
			if !last || !final {
				p = x.clone(pkt)
			}
			u.Userspace(p, key, a.Userspace, whole)
		case TypeHash:
			if a.Hash.Alg != HashL4 && a.Hash.Alg != HashSymL4 {
				x.refuse(a)
				return false
			}
			if keyUnused(l[i+1:]) {
				continue
			}
			var h uint32
			if a.Hash.Alg == HashL4 {
				h = dpHashL4(rss(sink, key), a.Hash.Basis)
			} else {
				h = dpHashSymL4Packet(pkt, key, a.Hash.Basis)
			}
			if !own {
				key, own = x.ownKey(key), true
			}
			key.DpHash = h
		case TypeTunnelPush:
			tn, ok := sink.(Tunneler)
			if !ok || a.TunnelPush == nil {
				x.refuse(a)
				return false
			}
			if last {
				// OVS skips a tnl_push whose packet nothing uses.
				return true
			}
			if trunc && cut > 0 {
				pkt.Truncate(pkt.Len() - cut)
			}
			cut, trunc = 0, false
			tp := tn.TunnelPort(a.TunnelPush.TunnelPort)
			if tp == nil || !pushTunnel(pkt, a.TunnelPush, tp, rss(sink, key)) {
				tn.TunnelDrop(DropTunnelPush)
				return true
			}
			l25 = mplsUnknown
			if needsKey(l[i+1:]) {
				// The packet is a new one, from the output port, with
				// fresh metadata (OVS's pkt_metadata_init).
				if !own {
					key, own = x.ownKey(key), true
				}
				ly = &moved
				flow.ExtractLayout(pkt.Bytes(), a.TunnelPush.OutPort, key, ly)
			}
		case TypeTunnelPop:
			tn, ok := sink.(Tunneler)
			if !ok {
				x.refuse(a)
				return false
			}
			tp := tn.TunnelPort(a.Port)
			if tp == nil {
				if last {
					tn.TunnelDrop(DropInvalidTunnelPort)
				}
				continue
			}
			p := pkt
			if !last || !final {
				p = x.clone(pkt)
			}
			if trunc && cut > 0 {
				p.Truncate(p.Len() - cut)
			}
			cut, trunc = 0, false
			k := x.ownKey(key)
			if r := PopTunnel(p, tp.Type, k, ly); r != 0 {
				tn.TunnelDrop(r)
				continue
			}
			k.InPort = a.Port
			tn.TunnelReceive(p, k)
		case TypeMeter:
			m, ok := sink.(Meterer)
			if !ok {
				x.refuse(a)
				return false
			}
			if !m.Meter(a.ID, pkt) {
				return true
			}
		case TypePopEth:
			if key.PacketType != flow.PacketTypeEthernet || pkt.Len() < 14 {
				x.refuseType(a)
				return false
			}
			if ly == lay {
				moved, ly = *lay, &moved
			}
			if !own {
				key, own = x.ownKey(key), true
			}
			popEth(pkt, key, ly, &l25)
		case TypePushEth:
			if key.PacketType == flow.PacketTypeEthernet {
				x.refuseType(a)
				return false
			}
			if ly == lay {
				moved, ly = *lay, &moved
			}
			if !own {
				key, own = x.ownKey(key), true
			}
			if !pushEth(pkt, key, ly, &l25, &a.Eth) {
				return true
			}
		case TypeCTClear:
			if keyUnused(l[i+1:]) {
				continue
			}
			if !own {
				key, own = x.ownKey(key), true
			}
			clearCT(key)
		case TypeClone, TypeSample, TypeCheckPktLen:
			if depth >= maxNesting {
				// Deeper than the parser allows: drop.
				return true
			}
			nested := a.Actions
			switch a.Type {
			case TypeSample:
				if rand.Uint32() >= a.Probability {
					continue
				}
			case TypeCheckPktLen:
				size := pkt.Len() - cut
				if ly.End > 0 && ly.End < pkt.Len() {
					size -= pkt.Len() - ly.End
				}
				nested = a.LessEqual
				if size > int(a.PktLen) {
					nested = a.Greater
				}
			}
			if last {
				// The packet is the nested actions' own.
				return x.run(pkt, key, own, ly, nested, sink, cut, trunc && a.Type == TypeClone, final, depth+1)
			}
			p := pkt
			if modifiesAfter(nested) || modifiesAfter(l[i+1:]) || !final || trunc && cut > 0 {
				// The packet changes (an output truncating it in place
				// counts) or is used later: the nested actions get a copy.
				p = x.clone(pkt)
			}
			if !x.run(p, key, false, ly, nested, sink, cut, trunc && a.Type == TypeClone, p != pkt, depth+1) {
				return false
			}
			if a.Type == TypeClone {
				cut, trunc = 0, false
			}
		default:
			x.refuse(a)
			return false
		}
	}
	return true
}

// ownKey returns a copy of key that the executor owns until the
// Execute that asked for it returns.
func (x *Executor) ownKey(key *flow.Key) *flow.Key {
	if x.nkeys == len(x.keys) {
		x.keys = append(x.keys, new(flow.Key))
	}
	k := x.keys[x.nkeys]
	x.nkeys++
	*k = *key
	return k
}

// keyUnused reports whether no action of l needs the key, so that a change
// of the key's metadata before them can be left out: they output or drop
// the packet, or only change the key themselves (and so are left out as
// well).
func keyUnused(l List) bool {
	for i := range l {
		switch l[i].Type {
		case TypeOutput, TypeDrop, TypeTrunc, TypeHash, TypeCTClear:
		case TypeSet, TypeSetMasked:
			if !metaAttr(l[i].Attr) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// dpHashSymL4Packet returns the dp_hash of hash(sym_l4(basis)) for pkt as
// it is now, extracted anew as OVS does.
func dpHashSymL4Packet(pkt *dpio.Packet, key *flow.Key, basis uint32) uint32 {
	// Of the packet as it is now, as OVS extracts it.
	var fk flow.Key
	var fl flow.Layout
	flow.ExtractLayoutType(pkt.Bytes(), key.InPort, key.PacketType, &fk, &fl)
	return dpHashSymL4(&fk, basis)
}

// metaAttr reports whether a is packet metadata: setting it changes the
// key, not the packet.
func metaAttr(a Attr) bool { return a == AttrPriority || a == AttrSkbMark || a == AttrTunnel }

// setMeta applies a (masked) set of packet metadata to the key.
func setMeta(key *flow.Key, attr Attr, k, m *flow.Key) {
	switch attr {
	case AttrPriority:
		key.Priority = k.Priority | key.Priority&^m.Priority
	case AttrSkbMark:
		key.SkbMark = k.SkbMark | key.SkbMark&^m.SkbMark
	}
}

// setTunnel applies a set of the tunnel key (the packet's tunnel
// metadata) to key. An unmasked set replaces the whole tunnel key with k's,
// as OVS's odp_set_tunnel_action does; a tunnel id makes it a keyed
// tunnel (FLOW_TNL_F_KEY), as decoding the netlink attributes does. A
// masked set, which OVS's userspace datapath cannot execute (it asserts)
// and Linux refuses, but which OVS's parser makes of most set(tunnel(...))
// texts (key and mask with the same attributes), writes the bits of m as
// every other masked set does and keeps the others.
func setTunnel(key *flow.Key, masked bool, k, m *flow.Key) {
	if masked {
		key.SetTunnelMasked(k, m)
		return
	}
	key.SetTunnel(k)
	if key.TunID != 0 {
		key.TunFlags |= flow.TunFlagKey
	}
}

// clearCT clears the connection tracking fields of the key, as OVS's
// ct_clear does.
func clearCT(k *flow.Key) {
	k.CtState, k.CtNwProto, k.CtZone, k.CtMark = 0, 0, 0, 0
	k.CtLabel = [16]byte{}
	k.CtNwSrc, k.CtNwDst, k.CtTpSrc, k.CtTpDst = [4]byte{}, [4]byte{}, 0, 0
	k.CtIPv6Src, k.CtIPv6Dst = [16]byte{}, [16]byte{}
}

// modifiesAfter reports whether an action of l may change the packet, so
// that an output before them must send a copy.
func modifiesAfter(l List) bool {
	for i := range l {
		switch l[i].Type {
		case TypeOutput, TypeDrop, TypeCTClear, TypeHash, TypeMeter:
		case TypeSet, TypeSetMasked:
			if !metaAttr(l[i].Attr) {
				return true
			}
		case TypeClone, TypeSample, TypeCheckPktLen:
			// Their actions run on a copy, unless they are last.
			if i == len(l)-1 && (modifiesAfter(l[i].Actions) || modifiesAfter(l[i].Greater) || modifiesAfter(l[i].LessEqual)) {
				return true
			}
		default:
			return true
		}
	}
	return false
}

// needsKey reports whether an action of l reads the packet's key or
// layout (anything but outputs, drop and trunc).
func needsKey(l List) bool {
	for i := range l {
		switch l[i].Type {
		case TypeOutput, TypeDrop, TypeTrunc:
		default:
			return true
		}
	}
	return false
}

// shift moves the header offsets of ly by n bytes.
func shift(ly *flow.Layout, n int) {
	if ly.L3 != 0 || ly.End != 0 {
		ly.L3 += n
	}
	if ly.L4 != 0 {
		ly.L4 += n
	}
	if ly.End != 0 {
		ly.End += n
	}
}

// pushVLAN inserts a VLAN header after the Ethernet addresses, as OVS's
// eth_push_vlan: the TCI's CFI bit is cleared in the header. Frames
// shorter than an Ethernet header are left alone. It reports false if the
// buffer has no room for the tag (the packet is then dropped).
func pushVLAN(pkt *dpio.Packet, ly *flow.Layout, v VLAN) bool {
	if pkt.Len() < 14 {
		return true
	}
	if _, err := pkt.Push(4); err != nil {
		// No headroom: move the frame within the buffer instead.
		n := pkt.Len()
		if pkt.Tailroom() < 4 {
			return false
		}
		b := pkt.Extend()
		copy(b[4:], b[:n])
		pkt.SetLen(n + 4)
	}
	b := pkt.Bytes()
	copy(b[0:12], b[4:16])
	be.PutUint16(b[12:], v.TPID)
	be.PutUint16(b[14:], v.TCI&^flow.VLANCFI)
	shift(ly, 4)
	return true
}

// popVLAN removes the outermost 802.1Q or 802.1ad header, if the frame has
// one, as OVS's eth_pop_vlan.
func popVLAN(pkt *dpio.Packet, ly *flow.Layout) {
	b := pkt.Bytes()
	if len(b) < 18 {
		return
	}
	if t := be.Uint16(b[12:]); t != flow.EthTypeVLAN && t != flow.EthTypeQinQ {
		return
	}
	copy(b[4:16], b[0:12])
	pkt.Pull(4)
	shift(ly, -4)
}

// decTTL decrements the IPv4 TTL (updating the header checksum) or the
// IPv6 hop limit. It reports false, changing nothing, if the TTL is 1 or
// less.
func decTTL(b []byte, key *flow.Key, ly *flow.Layout) bool {
	switch {
	case key.EthType == flow.EthTypeIPv4 && ly.End != 0 && ly.L3+20 <= len(b):
		nh := b[ly.L3:]
		ttl := nh[8]
		if ttl <= 1 {
			return false
		}
		be.PutUint16(nh[10:], Recalc16(be.Uint16(nh[10:]), uint16(ttl)<<8, uint16(ttl-1)<<8))
		nh[8] = ttl - 1
	case key.EthType == flow.EthTypeIPv6 && ly.End != 0 && ly.L3+40 <= len(b):
		nh := b[ly.L3:]
		if nh[7] <= 1 {
			return false
		}
		nh[7]--
	}
	return true
}

// setHeader applies set action a to pkt if it sets a packet header. It
// reports false, changing nothing, if a sets metadata or an attribute the
// executor cannot set.
func setHeader(pkt *dpio.Packet, key *flow.Key, ly *flow.Layout, a *Action) bool {
	st := a.set()
	mask := &st.Mask
	if a.Type == TypeSet {
		mask = fullMask(a.Attr)
	}
	if a.Attr == AttrIPv4 {
		// The most common set, without a second switch.
		if key.EthType == flow.EthTypeIPv4 && ly.End != 0 {
			setIPv4(pkt.Bytes(), ly, &st.Key, mask)
		}
		return true
	}
	return set(pkt.Bytes(), key, ly, a.Attr, &st.Key, mask)
}

// set applies a (masked) set action of a packet header attribute to frame
// b. It reports false if it cannot set attr (see settable).
func set(b []byte, key *flow.Key, lay *flow.Layout, attr Attr, k, m *flow.Key) bool {
	switch attr {
	case AttrEthernet:
		if len(b) < 14 || key.PacketType != flow.PacketTypeEthernet {
			// No Ethernet header: nothing to set, as in OVS.
			return true
		}
		for i := 0; i < 6; i++ {
			b[i] = k.EthDst[i] | b[i]&^m.EthDst[i]
			b[6+i] = k.EthSrc[i] | b[6+i]&^m.EthSrc[i]
		}
	case AttrIPv4:
		if key.EthType != flow.EthTypeIPv4 || lay.End == 0 {
			return true
		}
		setIPv4(b, lay, k, m)
	case AttrTCP:
		if key.NwProto != flow.IPProtoTCP || lay.L4 == 0 || key.NwFrag&flow.FragLater != 0 {
			return true
		}
		th := b[lay.L4:lay.End]
		if len(th) < 20 || int(th[12]>>4)*4 < 20 || int(th[12]>>4)*4 > len(th) {
			return true
		}
		setPort(th[0:2], k.TpSrc|be.Uint16(th[0:])&^m.TpSrc, th[16:18])
		setPort(th[2:4], k.TpDst|be.Uint16(th[2:])&^m.TpDst, th[16:18])
	case AttrIPv6:
		if key.EthType != flow.EthTypeIPv6 {
			return true
		}
		setIPv6(b, lay, k, m)
	case AttrICMP, AttrICMPv6:
		want := uint8(flow.IPProtoICMP)
		if attr == AttrICMPv6 {
			want = flow.IPProtoICMPv6
		}
		if key.NwProto != want || key.NwFrag&flow.FragLater != 0 {
			return true
		}
		setICMP(b, lay, k, m)
	case AttrSCTP:
		if key.NwProto != flow.IPProtoSCTP || key.NwFrag&flow.FragLater != 0 {
			return true
		}
		setSCTP(b, lay, k, m)
	case AttrARP:
		if key.EthType != flow.EthTypeARP && key.EthType != flow.EthTypeRARP {
			return true
		}
		setARP(b, lay, k, m)
	case AttrND:
		if key.EthType != flow.EthTypeIPv6 || key.NwProto != flow.IPProtoICMPv6 || key.NwFrag&flow.FragLater != 0 {
			return true
		}
		setND(b, lay, k, m)
	case AttrUDP:
		if key.NwProto != flow.IPProtoUDP || lay.L4 == 0 || key.NwFrag&flow.FragLater != 0 {
			return true
		}
		uh := b[lay.L4:lay.End]
		if len(uh) < 8 {
			return true
		}
		src := k.TpSrc | be.Uint16(uh[0:])&^m.TpSrc
		dst := k.TpDst | be.Uint16(uh[2:])&^m.TpDst
		if be.Uint16(uh[6:]) == 0 {
			// No checksum over IPv4: keep it that way.
			be.PutUint16(uh[0:], src)
			be.PutUint16(uh[2:], dst)
			return true
		}
		setPort(uh[0:2], src, uh[6:8])
		setPort(uh[2:4], dst, uh[6:8])
		if be.Uint16(uh[6:]) == 0 {
			be.PutUint16(uh[6:], 0xffff)
		}
	default:
		return false
	}
	return true
}

func setPort(field []byte, v uint16, csum []byte) {
	old := be.Uint16(field)
	if old == v {
		return
	}
	be.PutUint16(csum, Recalc16(be.Uint16(csum), old, v))
	be.PutUint16(field, v)
}

// setIPv4 applies a (masked) set of ipv4 to frame b, whose IPv4 header
// starts at lay.L3. As OVS's odp_set_ipv4, it leaves alone the fields
// whose mask is zero, even where the key has bits (a masked set keeps the
// bits outside its mask): only the fields with a mask get key | (old &^
// mask).
func setIPv4(b []byte, lay *flow.Layout, k, m *flow.Key) {
	nh := b[lay.L3:lay.End]
	_ = nh[19]
	if m.NwSrc != ([4]byte{}) || m.NwDst != ([4]byte{}) {
		setIPv4Addrs(b, lay, k, m)
	}
	if m.NwTos != 0 {
		if tos := k.NwTos | nh[1]&^m.NwTos; nh[1] != tos {
			be.PutUint16(nh[10:], Recalc16(be.Uint16(nh[10:]), uint16(nh[1]), uint16(tos)))
			nh[1] = tos
		}
	}
	if m.NwTTL != 0 {
		if ttl := k.NwTTL | nh[8]&^m.NwTTL; nh[8] != ttl {
			be.PutUint16(nh[10:], Recalc16(be.Uint16(nh[10:]), uint16(nh[8])<<8, uint16(ttl)<<8))
			nh[8] = ttl
		}
	}
}

// setIPv4Addrs sets the addresses of a set of ipv4, those whose mask is
// not zero.
func setIPv4Addrs(b []byte, lay *flow.Layout, k, m *flow.Key) {
	nh := b[lay.L3:lay.End]
	_ = nh[19]
	if ms := be.Uint32(m.NwSrc[:]); ms != 0 {
		setIPv4Addr(b, lay, 12, be.Uint32(k.NwSrc[:])|be.Uint32(nh[12:])&^ms)
	}
	if md := be.Uint32(m.NwDst[:]); md != 0 {
		setIPv4Addr(b, lay, 16, be.Uint32(k.NwDst[:])|be.Uint32(nh[16:])&^md)
	}
}

// setIPv4Addr rewrites the IPv4 address at offset off of the IPv4 header
// of b to v, updating the IP header checksum and the TCP or UDP checksum
// that covers it.
func setIPv4Addr(b []byte, lay *flow.Layout, off int, v uint32) {
	nh := b[lay.L3:lay.End]
	old := be.Uint32(nh[off:])
	if old == v {
		return
	}
	var l4 []byte
	if lay.L4 != 0 {
		l4 = b[lay.L4:lay.End]
	}
	switch nh[9] {
	case flow.IPProtoTCP:
		if len(l4) >= 20 {
			be.PutUint16(l4[16:], Recalc32(be.Uint16(l4[16:]), old, v))
		}
	case flow.IPProtoUDP:
		if len(l4) >= 8 && be.Uint16(l4[6:]) != 0 {
			c := Recalc32(be.Uint16(l4[6:]), old, v)
			if c == 0 {
				c = 0xffff
			}
			be.PutUint16(l4[6:], c)
		}
	}
	be.PutUint16(nh[10:], Recalc32(be.Uint16(nh[10:]), old, v))
	be.PutUint32(nh[off:], v)
}

// Recalc16 returns the Internet checksum csum updated for a 16-bit word of
// the covered data changing from old to new (RFC 1624, equation 3), with
// all values in network byte order as integers. The carry is folded
// completely, as OVS 3.1 does (checked against it: a header whose checksum
// is 0 gets 0xfeff, not 0xffff, when its TTL goes from 0 to 1).
func Recalc16(csum, old, new uint16) uint16 {
	s := uint32(^csum) + uint32(^old) + uint32(new)
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	return ^uint16(s)
}

// Recalc32 is Recalc16 for a 32-bit field.
func Recalc32(csum uint16, old, new uint32) uint16 {
	return Recalc16(Recalc16(csum, uint16(old>>16), uint16(new>>16)), uint16(old), uint16(new))
}
