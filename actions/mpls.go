package actions

import (
	"github.com/b7cafead/datapath/flow"
	dpio "github.com/b7cafead/datapath/io"
)

// MPLS actions, as OVS 3.1's push_mpls, pop_mpls and add_mpls
// (lib/packets.c) do them on an Ethernet frame: the label stack starts
// right after the EtherType (after up to two VLAN tags); a push inserts
// the entry at the top of the stack (or where the layer 3 header starts,
// if the frame has no stack) and sets the EtherType before the stack; a
// pop removes the top entry and sets that EtherType to the action's.

const (
	mplsUnknown = -2 // the stack's offset is not known yet
	mplsNone    = -1 // the frame has no label stack
)

func isMPLS(t uint16) bool { return t == flow.EthTypeMPLS || t == flow.EthTypeMPLSM }

// l2End returns the offset after the Ethernet header and up to two VLAN
// tags, and the EtherType found there.
func l2End(b []byte) (int, uint16) {
	if len(b) < 14 {
		return 0, 0
	}
	off, t := 14, be.Uint16(b[12:])
	for i := 0; i < flow.MaxVLANs && (t == flow.EthTypeVLAN || t == flow.EthTypeQinQ) && off+4 <= len(b); i++ {
		t = be.Uint16(b[off+2:])
		off += 4
	}
	return off, t
}

// mplsOffset returns the offset of the frame's label stack, or mplsNone.
func mplsOffset(b []byte) int {
	off, t := l2End(b)
	if off == 0 || !isMPLS(t) {
		return mplsNone
	}
	return off
}

// pushMPLS pushes a label stack entry; l25 is the stack's offset, updated.
// It reports false if the buffer has no room (the packet is then dropped).
func pushMPLS(pkt *dpio.Packet, ly *flow.Layout, l25 *int, m MPLS) bool {
	if !isMPLS(m.EthType) || pkt.Len() < 14 {
		return true
	}
	if *l25 < 0 {
		if ly.L3 != 0 {
			*l25 = ly.L3
		} else {
			*l25, _ = l2End(pkt.Bytes())
		}
	}
	n := *l25
	if n > pkt.Len() {
		return true
	}
	be.PutUint16(pkt.Bytes()[n-2:], m.EthType)
	if _, err := pkt.Push(4); err != nil {
		size := pkt.Len()
		if pkt.Tailroom() < 4 {
			return false
		}
		b := pkt.Extend()
		copy(b[4:], b[:size])
		pkt.SetLen(size + 4)
	}
	b := pkt.Bytes()
	copy(b[0:n], b[4:4+n])
	be.PutUint32(b[n:], m.LSE)
	shift(ly, 4)
	return true
}

// popMPLS pops the top label stack entry, setting the EtherType before
// the stack to ethType; l25 is the stack's offset, updated.
func popMPLS(pkt *dpio.Packet, ly *flow.Layout, l25 *int, ethType uint16) {
	n := *l25
	if n < 14 || n+4 > pkt.Len() {
		return
	}
	b := pkt.Bytes()
	be.PutUint16(b[n-2:], ethType)
	bos := b[n+2]&1 != 0
	copy(b[4:4+n], b[0:n])
	pkt.Pull(4)
	shift(ly, -4)
	if bos {
		*l25 = mplsNone
	}
}

// addMPLSFront puts a label stack entry at the very start of the packet,
// as OVS's add_mpls does without the layer 3 flag: the packet becomes one
// of type (1, EtherType) whose payload is what it was, an Ethernet frame
// (an Ethernet pseudowire) or a layer 3 packet (after pop_eth). The
// key's packet type and EtherType follow. It reports false if the buffer
// has no room (the packet is then dropped).
func addMPLSFront(pkt *dpio.Packet, key *flow.Key, ly *flow.Layout, l25 *int, m MPLS) bool {
	if !isMPLS(m.EthType) {
		return true // OVS ignores it
	}
	if !prepend(pkt, 4) {
		return false
	}
	be.PutUint32(pkt.Bytes(), m.LSE)
	shift(ly, 4)
	*l25 = 0
	key.PacketType = flow.PacketTypeOf(m.EthType)
	key.EthType = m.EthType
	return true
}
