package flow

import (
	"encoding/binary"
	"unsafe"
)

var be = binary.BigEndian

// Extract fills k from the Ethernet frame b received on datapath port
// inPort. It allocates nothing and never panics; for a malformed or
// truncated frame it stops at the last valid layer and leaves the deeper
// fields zero, as OVS's miniflow_extract does. Metadata fields other than
// InPort (recirc_id, dp_hash, skb_priority, skb_mark) are zeroed; callers
// that track them set them afterwards.
func Extract(b []byte, inPort uint32, k *Key) {
	var l Layout
	ExtractLayout(b, inPort, k, &l)
}

// Layout gives the offsets of a frame's headers as extraction found them,
// for actions that rewrite headers. An offset of zero means the layer is
// absent (or was not valid), with one exception: in a packet that is not
// Ethernet (Key.PacketType not 0) the network header starts the packet,
// at L3 = 0. End is set exactly when an IPv4 or IPv6 header is valid, so
// End != 0 tells that L3 holds one, wherever it starts.
type Layout struct {
	L3  int // start of the IPv4, IPv6 or ARP header
	L4  int // start of the TCP, UDP, SCTP, ICMP or ICMPv6 header
	End int // end of the IP packet, excluding Ethernet padding
}

// ExtractLayout is Extract that also reports where the headers are.
func ExtractLayout(b []byte, inPort uint32, k *Key, l *Layout) {
	// Clearing the whole key (a vectorised memclr) costs about what
	// clearing the packet words and checking the other 50 for zero does.
	*k = Key{}
	extract(b, inPort, k, l)
}

// ExtractPacketFields is ExtractLayout for a key that the caller reuses
// packet after packet and whose fields after the packet's own (conntrack
// and tunnel state, which extraction never sets) it knows to be zero. Only
// the packet fields are cleared and written, which saves clearing the
// other three quarters of the key; the rest of k is left as it is.
func ExtractPacketFields(b []byte, inPort uint32, k *Key, l *Layout) {
	*(*[packetWords]uint64)(unsafe.Pointer(k)) = [packetWords]uint64{}
	extract(b, inPort, k, l)
}

// Packet types (Key.PacketType): the namespace in the high 16 bits, the
// type in the low 16, as OVS's packet_type(ns=...,id=...). Namespace 0
// (OpenFlow's ONF namespace) type 0 is Ethernet; namespace 1 holds packets
// that start with the header an EtherType names.
const (
	PacketTypeEthernet = 0
	PacketTypeIPv4     = 1<<16 | EthTypeIPv4
	PacketTypeIPv6     = 1<<16 | EthTypeIPv6
	PacketTypeMPLS     = 1<<16 | EthTypeMPLS
)

// PacketTypeOf returns the packet type of a packet that starts with the
// header EtherType t names (namespace 1).
func PacketTypeOf(t uint16) uint32 { return 1<<16 | uint32(t) }

// ExtractLayoutType is ExtractLayout for a packet of the given packet type
// (Key.PacketType): PacketTypeEthernet is an Ethernet frame, as for
// ExtractLayout; any other type is a packet without a link layer header,
// which starts with the header its type's low 16 bits name as an EtherType
// would, as OVS's miniflow_extract treats a packet that is not Ethernet:
// the key has the packet type, EthType is those 16 bits, no Ethernet
// addresses nor VLAN tags, and the network header is at offset 0.
func ExtractLayoutType(b []byte, inPort, packetType uint32, k *Key, l *Layout) {
	*k = Key{}
	extractType(b, inPort, packetType, k, l)
}

// ExtractPacketFieldsType is ExtractPacketFields for a packet of the given
// packet type (see ExtractLayoutType).
func ExtractPacketFieldsType(b []byte, inPort, packetType uint32, k *Key, l *Layout) {
	*(*[packetWords]uint64)(unsafe.Pointer(k)) = [packetWords]uint64{}
	extractType(b, inPort, packetType, k, l)
}

// extract fills a key whose packet fields are zero, from an Ethernet
// frame.
func extract(b []byte, inPort uint32, k *Key, l *Layout) {
	extractType(b, inPort, PacketTypeEthernet, k, l)
}

// extractType fills a key whose packet fields are zero, for any packet
// type. A packet that is not Ethernet starts with the header its type
// names; from there on both are parsed by the same code.
func extractType(b []byte, inPort, packetType uint32, k *Key, l *Layout) {
	k.InPort = inPort
	*l = Layout{}
	frame := b
	var t uint16
	if packetType != PacketTypeEthernet {
		// No link layer header: the type names what starts the packet.
		k.PacketType = packetType
		t = uint16(packetType)
		k.EthType = t
		goto network
	}
	if len(b) < 14 {
		return
	}
	copy(k.EthDst[:], b[0:6])
	copy(k.EthSrc[:], b[6:12])
	b = b[12:]

	// VLAN tags.
	for n := 0; n < MaxVLANs; n++ {
		t := be.Uint16(b)
		if t != EthTypeVLAN && t != EthTypeQinQ {
			break
		}
		if len(b) < 6 {
			// A TPID with no room for its TCI (and the EtherType after
			// it): OVS stops, and the TPID is taken as the EtherType.
			break
		}
		k.VlanTPID[n] = t
		k.VlanTCI[n] = be.Uint16(b[2:]) | VLANCFI
		b = b[4:]
	}

	// EtherType, including 802.3 frames with or without LLC/SNAP.
	t = be.Uint16(b)
	b = b[2:]
	if t < 0x600 {
		// 802.2 LLC: DSAP/SSAP 0xaa, control 0x03, OUI 0 means SNAP.
		if len(b) >= 8 && b[0] == 0xaa && b[1] == 0xaa && b[2] == 0x03 &&
			b[3] == 0 && b[4] == 0 && b[5] == 0 && be.Uint16(b[6:]) >= 0x600 {
			t = be.Uint16(b[6:])
			b = b[8:]
		} else {
			k.EthType = EthTypeNone
			return
		}
	}
	k.EthType = t

network:
	off := cap(frame) - cap(b)
	switch t {
	case EthTypeIPv4:
		// Written here rather than in a function of its own, which the
		// compiler would not inline: IPv4 is the common case.
		if len(b) < 20 {
			return
		}
		hl := int(b[0]&0x0f) * 4
		tot := int(be.Uint16(b[2:]))
		if hl < 20 || hl > len(b) || tot > len(b) || hl > tot {
			return
		}
		b = b[:tot] // drop Ethernet padding
		l.L3, l.End = off, off+tot
		copy(k.NwSrc[:], b[12:16])
		copy(k.NwDst[:], b[16:20])
		k.NwTos = b[1]
		k.NwTTL = b[8]
		k.NwProto = b[9]
		if off := be.Uint16(b[6:]); off&0x3fff != 0 { // MF or offset
			k.NwFrag = FragAny
			if off&0x1fff != 0 {
				k.NwFrag |= FragLater
				return
			}
		}
		l.L4 = off + hl
		// TCP and UDP, the common cases, without a call.
		switch k.NwProto {
		case IPProtoTCP:
			extractTCP(b[hl:], k)
		case IPProtoUDP:
			extractUDP(b[hl:], k)
		default:
			extractL4(b[hl:], k)
		}
	case EthTypeIPv6:
		extractIPv6(b, k, l, off)
	case EthTypeARP, EthTypeRARP:
		if extractARP(b, k) {
			l.L3 = off
		}
	case EthTypeMPLS, EthTypeMPLSM:
		extractMPLS(b, k)
	}
}

// extractMPLS reads the label stack entries up to the bottom of the
// stack; OVS keeps the first three and does not look beyond the stack.
func extractMPLS(b []byte, k *Key) {
	for n := 0; len(b) >= 4; n++ {
		lse := be.Uint32(b)
		if n < MaxMPLSLabels {
			k.MplsLSE[n] = lse
		}
		b = b[4:]
		if lse&MPLSBOSMask != 0 {
			break
		}
	}
}

func extractTCP(b []byte, k *Key) {
	if len(b) >= 20 {
		hl := int(b[12]>>4) * 4
		if hl >= 20 && hl <= len(b) {
			k.TpSrc = be.Uint16(b)
			k.TpDst = be.Uint16(b[2:])
			k.TCPFlags = be.Uint16(b[12:]) & 0x0fff
		}
	}
}

func extractUDP(b []byte, k *Key) {
	if len(b) >= 8 {
		k.TpSrc = be.Uint16(b)
		k.TpDst = be.Uint16(b[2:])
	}
}

func extractL4(b []byte, k *Key) {
	switch k.NwProto {
	case IPProtoTCP:
		extractTCP(b, k)
	case IPProtoUDP:
		extractUDP(b, k)
	case IPProtoSCTP:
		if len(b) >= 12 {
			k.TpSrc = be.Uint16(b)
			k.TpDst = be.Uint16(b[2:])
		}
	case IPProtoICMP:
		if len(b) >= 8 {
			k.TpSrc = uint16(b[0])
			k.TpDst = uint16(b[1])
		}
	case IPProtoICMPv6:
		if len(b) >= 8 {
			k.TpSrc = uint16(b[0])
			k.TpDst = uint16(b[1])
			extractND(b, k)
		}
	}
}

// IPv6 extension headers that OVS walks.
const (
	ip6HopOpts  = 0
	ip6Routing  = 43
	ip6Fragment = 44
	ip6AH       = 51
	ip6DstOpts  = 60
)

func extractIPv6(b []byte, k *Key, l *Layout, off int) {
	if len(b) < 40 {
		return
	}
	plen := int(be.Uint16(b[4:]))
	if 40+plen > len(b) {
		return
	}
	b = b[:40+plen]
	l.L3, l.End = off, off+40+plen
	copy(k.IPv6Src[:], b[8:24])
	copy(k.IPv6Dst[:], b[24:40])
	flow := be.Uint32(b)
	tos := uint8(flow >> 20)
	ttl := b[7]
	proto := b[6]
	b = b[40:]
	var frag uint8
	for {
		switch proto {
		case ip6HopOpts, ip6Routing, ip6DstOpts, ip6AH, ip6Fragment:
		default:
			goto done
		}
		if len(b) < 8 {
			return
		}
		next := b[0]
		switch proto {
		case ip6HopOpts, ip6Routing, ip6DstOpts:
			n := (int(b[1]) + 1) * 8
			if n > len(b) {
				return
			}
			b = b[n:]
		case ip6AH:
			n := (int(b[1]) + 2) * 4
			if n > len(b) {
				return
			}
			b = b[n:]
		case ip6Fragment:
			offlg := be.Uint16(b[2:])
			b = b[8:]
			if offlg != 0 {
				frag = FragAny
				if offlg&0xfff8 != 0 {
					// A later fragment: OVS reports the fragment
					// header itself as the protocol.
					frag |= FragLater
					proto = ip6Fragment
					goto fragDone
				}
			}
		}
		proto = next
	}
done:
	k.NwProto, k.NwTos, k.NwTTL, k.NwFrag = proto, tos, ttl, frag
	k.IPv6Label = flow & 0xfffff
	l.L4 = l.End - len(b)
	// TCP and UDP, the common cases, without a call (as for IPv4).
	switch proto {
	case IPProtoTCP:
		extractTCP(b, k)
	case IPProtoUDP:
		extractUDP(b, k)
	default:
		extractL4(b, k)
	}
	return
fragDone:
	k.NwProto, k.NwTos, k.NwTTL, k.NwFrag = proto, tos, ttl, frag
	k.IPv6Label = flow & 0xfffff
}

// extractND fills the neighbour discovery fields from an ICMPv6 message
// (b starts at the ICMPv6 header and holds at least 8 bytes) that is a
// neighbour solicitation or advertisement, as OVS's miniflow_extract does:
//
//   - NdReserved is the word after the checksum, even when the message is
//     too short for a target;
//   - the first source (type 1) or target (type 2) link-layer address
//     option that is 8 bytes long gives its address, and the type of the
//     first of them goes into TCPFlags (nd_ext's nd_options_type);
//   - an option of length 0 or running past the end stops the walk, and
//     what was found before it stays (the kernel datapath would clear it);
//   - a second option of a type already seen makes the message invalid:
//     the target and both addresses are cleared, but the reserved word and
//     the options type stay.
func extractND(b []byte, k *Key) {
	if (b[0] != 135 && b[0] != 136) || b[1] != 0 {
		return
	}
	k.NdReserved = be.Uint32(b[4:])
	if len(b) < 24 {
		return
	}
	copy(k.NdTarget[:], b[8:24])
	var optType uint8
	for b = b[24:]; len(b) >= 8; {
		n := int(b[1]) * 8
		if n == 0 || n > len(b) {
			break
		}
		if n == 8 && (b[0] == 1 || b[0] == 2) {
			addr := &k.ArpSHA
			if b[0] == 2 {
				addr = &k.ArpTHA
			}
			if *addr != ([6]byte{}) {
				k.NdTarget, k.ArpSHA, k.ArpTHA = [16]byte{}, [6]byte{}, [6]byte{}
				break
			}
			copy(addr[:], b[2:8])
			if optType == 0 {
				optType = b[0]
			}
		}
		b = b[n:]
	}
	k.TCPFlags = uint16(optType)
}

func extractARP(b []byte, k *Key) bool {
	// Ethernet/IPv4 ARP only: htype 1, ptype 0x0800, hlen 6, plen 4.
	if len(b) < 28 || be.Uint16(b) != 1 || be.Uint16(b[2:]) != EthTypeIPv4 || b[4] != 6 || b[5] != 4 {
		return false
	}
	if op := be.Uint16(b[6:]); op <= 0xff {
		k.NwProto = uint8(op)
	}
	copy(k.ArpSHA[:], b[8:14])
	copy(k.NwSrc[:], b[14:18])
	copy(k.ArpTHA[:], b[18:24])
	copy(k.NwDst[:], b[24:28])
	return true
}
