package actions

import (
	"encoding/binary"
	"math/bits"

	"github.com/b7cafead/datapath/flow"
)

// The hash action's l4 algorithm, as OVS 3.1's userspace datapath
// computes it (lib/odp-execute.c): the packet's RSS hash, which
// dpif-netdev sets on reception to miniflow_hash_5tuple(flow, 0), mixed
// with the basis by hash_int. The hash functions are OVS's portable
// "mhash" ones (lib/hash.h; the x86 CRC32 variant is only built with
// SSE4.2, which Debian's OVS is not). Fields are taken as OVS reads them
// from memory: network byte order words loaded little-endian.

func mhashAdd(h, data uint32) uint32 {
	if data != 0 {
		data *= 0xcc9e2d51
		data = bits.RotateLeft32(data, 15)
		data *= 0x1b873593
		h ^= data
	}
	h = bits.RotateLeft32(h, 13)
	return h*5 + 0xe6546b64
}

func mhashAdd64(h uint32, data uint64) uint32 {
	return mhashAdd(mhashAdd(h, uint32(data)), uint32(data>>32))
}

func hashFinish(h, final uint32) uint32 {
	h ^= final
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// hash5Tuple is OVS's miniflow_hash_5tuple(flow, 0).
func hash5Tuple(k *flow.Key) uint32 {
	le := binary.LittleEndian
	var h uint32
	switch k.EthType {
	case flow.EthTypeIPv6:
		for _, a := range [2]*[16]byte{&k.IPv6Src, &k.IPv6Dst} {
			h = mhashAdd64(h, le.Uint64(a[0:]))
			h = mhashAdd64(h, le.Uint64(a[8:]))
		}
	case flow.EthTypeIPv4, flow.EthTypeARP:
		h = mhashAdd(h, le.Uint32(k.NwSrc[:]))
		h = mhashAdd(h, le.Uint32(k.NwDst[:]))
	default:
		return hashFinish(h, 42)
	}
	h = mhashAdd(h, uint32(k.NwProto))
	switch k.NwProto {
	case flow.IPProtoTCP, flow.IPProtoUDP, flow.IPProtoSCTP, flow.IPProtoICMP, flow.IPProtoICMPv6:
		// Both ports as one word, in memory order.
		var p [4]byte
		be.PutUint16(p[0:], k.TpSrc)
		be.PutUint16(p[2:], k.TpDst)
		h = mhashAdd(h, le.Uint32(p[:]))
	}
	return hashFinish(h, 42)
}

// dpHashL4 returns the dp_hash the hash action's l4 algorithm gives: OVS's
// hash_int(rss, basis), which is mhash's hash_2words(rss, basis).
func dpHashL4(rss, basis uint32) uint32 {
	return hashFinish(mhashAdd(mhashAdd(rss, 0), basis), 8)
}

// RSSKeyer is implemented by a Sink that knows from which key the
// datapath computed the RSS hash of the packet being executed. OVS's
// userspace datapath hashes a packet's 5-tuple once, when it is received
// (and again when tnl_pop decapsulates it), and keeps that hash through
// recirculations, whatever the actions change; hash(l4) and tnl_push's
// UDP source port use it. Without RSSKeyer, or when it returns nil, the
// executor hashes the key it was given.
type RSSKeyer interface {
	// RSSKey returns the key whose 5-tuple gives the packet's RSS hash,
	// or nil. The executor only reads it, during the call.
	RSSKey() *flow.Key
}

// rss returns the RSS hash of the packet with key k that sink executes.
func rss(sink Sink, k *flow.Key) uint32 {
	if r, ok := sink.(RSSKeyer); ok {
		if rk := r.RSSKey(); rk != nil {
			return hash5Tuple(rk)
		}
	}
	return hash5Tuple(k)
}

// dpHashSymL4 returns the dp_hash the hash action's sym_l4 algorithm
// gives: OVS's flow_hash_symmetric_l3l4(flow, basis, false) of the packet
// as it is when the action runs, which for a packet that is not IP is
// flow_hash_symmetric_l2.
func dpHashSymL4(k *flow.Key, basis uint32) uint32 {
	le := binary.LittleEndian
	h := basis
	switch k.EthType {
	case flow.EthTypeIPv4:
		var a [4]byte
		for i := range a {
			a[i] = k.NwSrc[i] ^ k.NwDst[i]
		}
		h = mhashAdd(h, le.Uint32(a[:]))
	case flow.EthTypeIPv6:
		for i := 0; i < 16; i += 8 {
			h = mhashAdd64(h, le.Uint64(k.IPv6Src[i:])^le.Uint64(k.IPv6Dst[i:]))
		}
	default:
		if k.PacketType != 0 {
			return 0
		}
		var f [12]byte
		be.PutUint16(f[0:], k.EthType)
		var vid uint16
		for _, t := range k.VlanTCI {
			vid ^= t & 0x0fff // VLAN_VID_MASK
		}
		be.PutUint16(f[2:], vid)
		for i := 0; i < 6; i++ {
			f[4+i] = k.EthSrc[i] ^ k.EthDst[i]
		}
		for i := 0; i < 12; i += 4 {
			h = mhashAdd(h, le.Uint32(f[i:]))
		}
		return hashFinish(h, basis)
	}
	h = mhashAdd(h, uint32(k.NwProto))
	if k.NwFrag&flow.FragMask == 0 && (k.NwProto == flow.IPProtoTCP || k.NwProto == flow.IPProtoSCTP) {
		// The XOR of the two big-endian ports, loaded as a 16-bit word.
		h = mhashAdd(h, uint32(bits.ReverseBytes16(k.TpSrc^k.TpDst)))
	}
	return hashFinish(h, basis)
}
