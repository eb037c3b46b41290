package actions

import (
	"github.com/b7cafead/datapath/flow"
	dpio "github.com/b7cafead/datapath/io"
)

// pop_eth and push_eth, as OVS 3.1's pop_eth and push_eth
// (lib/packets.c): pop_eth removes the whole link layer header, Ethernet
// addresses, VLAN tags, EtherType and an LLC/SNAP header, up to the MPLS
// label stack or the network header, and makes the packet's type the
// EtherType that named what follows (packet_type(ns=1,id=...)); push_eth
// puts an Ethernet header in front of a packet that has none, with the
// action's addresses and the packet type's EtherType, and makes the packet
// Ethernet. The executor refuses pop_eth on a packet that is not Ethernet
// (or is shorter than an Ethernet header) and push_eth on one that is:
// OVS's userspace datapath aborts on both (they are assertions) and
// Linux's refuses the flow.
//
// The key the later actions see changes with the packet: pop_eth clears
// the Ethernet addresses and VLAN tags and sets PacketType, push_eth sets
// the addresses and makes PacketType Ethernet, so that a recirculation or
// an upcall extracts the packet as what it has become.

// l2Len returns the length of the link layer header of Ethernet frame b
// (at least 14 bytes) as OVS's miniflow_extract leaves it in l3_ofs (or
// l2_5_ofs, for MPLS): the Ethernet header, up to two VLAN tags, and an
// LLC/SNAP header with the Ethernet OUI. ly and l25 are what the executor
// knows of the frame's headers: the network header's offset and the label
// stack's.
func l2Len(b []byte, ly *flow.Layout, l25 int) int {
	switch {
	case l25 >= 0:
		return l25
	case ly.L3 != 0:
		return ly.L3
	}
	off, t := l2End(b)
	if t < 0x600 && off+8 <= len(b) && b[off] == 0xaa && b[off+1] == 0xaa && b[off+2] == 0x03 &&
		b[off+3] == 0 && b[off+4] == 0 && b[off+5] == 0 {
		off += 8
	}
	return off
}

// popEth removes the link layer header of pkt, an Ethernet frame of at
// least 14 bytes, updating key (owned by the executor), ly and l25.
func popEth(pkt *dpio.Packet, key *flow.Key, ly *flow.Layout, l25 *int) {
	n := min(l2Len(pkt.Bytes(), ly, *l25), pkt.Len())
	t := be.Uint16(pkt.Bytes()[n-2:])
	pkt.Pull(n)
	shift(ly, -n)
	if *l25 >= 0 {
		*l25 -= n
	}
	key.PacketType = flow.PacketTypeOf(t)
	key.EthType = t
	key.EthSrc, key.EthDst = [6]byte{}, [6]byte{}
	key.VlanTPID, key.VlanTCI = [flow.MaxVLANs]uint16{}, [flow.MaxVLANs]uint16{}
}

// pushEth puts an Ethernet header with e's addresses in front of pkt, a
// packet that is not Ethernet, updating key (owned by the executor), ly
// and l25. It reports false if the buffer has no room (the packet is then
// dropped).
func pushEth(pkt *dpio.Packet, key *flow.Key, ly *flow.Layout, l25 *int, e *EthAddrs) bool {
	if !prepend(pkt, 14) {
		return false
	}
	t := uint16(key.PacketType)
	b := pkt.Bytes()
	copy(b[0:6], e.Dst[:])
	copy(b[6:12], e.Src[:])
	be.PutUint16(b[12:], t)
	shift(ly, 14)
	if *l25 >= 0 {
		*l25 += 14
	}
	key.PacketType = flow.PacketTypeEthernet
	key.EthType = t
	key.EthSrc, key.EthDst = e.Src, e.Dst
	return true
}

// prepend makes n more bytes at the start of pkt, from its headroom or,
// without enough, by moving the packet within its buffer. The new bytes
// are not cleared. It reports false if the buffer has no room.
func prepend(pkt *dpio.Packet, n int) bool {
	if _, err := pkt.Push(n); err == nil {
		return true
	}
	size := pkt.Len()
	if pkt.Tailroom() < n {
		return false
	}
	b := pkt.Extend()
	copy(b[n:], b[:size])
	pkt.SetLen(size + n)
	return true
}
