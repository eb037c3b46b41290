package flow

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"math/bits"
	"unsafe"
)

// UFID is a unique flow identifier: 128 bits that name a datapath flow
// independently of its key, as OVS's ovs_u128. It is held as four 32-bit
// words, the way OVS holds it, and printed the way OVS prints it (a UUID:
// the first word, the second split 16/16, the third split 16/16, the
// fourth).
type UFID [4]uint32

// IsZero reports whether u is the all-zero UFID, which names no flow.
func (u UFID) IsZero() bool { return u == UFID{} }

// String returns u in OVS's text form without the "ufid:" prefix, such as
// "1d1d3c7a-7a1b-4b5e-9ad5-0c2d5c3b8f01".
func (u UFID) String() string { return string(u.AppendText(nil)) }

// AppendText appends u as String does.
func (u UFID) AppendText(dst []byte) []byte {
	dst = appendHex(dst, uint64(u[0]), 8)
	dst = append(dst, '-')
	dst = appendHex(dst, uint64(u[1]>>16), 4)
	dst = append(dst, '-')
	dst = appendHex(dst, uint64(u[1]&0xffff), 4)
	dst = append(dst, '-')
	dst = appendHex(dst, uint64(u[2]>>16), 4)
	dst = append(dst, '-')
	dst = appendHex(dst, uint64(u[2]&0xffff), 4)
	return appendHex(dst, uint64(u[3]), 8)
}

func appendHex(dst []byte, v uint64, digits int) []byte {
	const hex = "0123456789abcdef"
	for i := digits - 1; i >= 0; i-- {
		dst = append(dst, hex[(v>>(4*uint(i)))&0xf])
	}
	return dst
}

// ErrUFIDSyntax is returned by ParseUFID for text that is not a UFID.
var ErrUFIDSyntax = errors.New("flow: invalid UFID (want ufid:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")

// ParseUFID parses a UFID in OVS's text form, with or without the "ufid:"
// prefix that dpctl commands put before it. Hex digits may be upper or
// lower case.
func ParseUFID(s string) (UFID, error) {
	if len(s) >= 5 && s[:5] == "ufid:" {
		s = s[5:]
	}
	// 8-4-4-4-12
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return UFID{}, ErrUFIDSyntax
	}
	var v [32]byte
	n := 0
	for i := 0; i < len(s); i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			continue
		}
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			v[n] = c - '0'
		case c >= 'a' && c <= 'f':
			v[n] = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v[n] = c - 'A' + 10
		default:
			return UFID{}, ErrUFIDSyntax
		}
		n++
	}
	var u UFID
	for i := 0; i < 32; i++ {
		u[i/8] = u[i/8]<<4 | uint32(v[i])
	}
	return u, nil
}

// ufidSecret is the per-process basis of NewUFID, drawn at start as OVS
// draws its odp_flow_key_hash secret, so that UFIDs are not predictable
// across runs.
var ufidSecret = func() uint32 {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("flow: no randomness for the UFID secret: " + err.Error())
	}
	return binary.LittleEndian.Uint32(b[:])
}()

// NewUFID derives a UFID from a flow key, as OVS's datapath does for a flow
// put without one: a 128-bit hash of the key with a secret drawn once per
// process, with the bits of a random (version 4) UUID set. Equal keys give
// equal UFIDs within a process. Pass the key as the flow's creator wrote
// it (Match.Key), not masked.
func NewUFID(k *Key) UFID { return HashUFID(k, ufidSecret) }

// HashUFID is NewUFID with a caller-chosen basis instead of the process
// secret, for reproducible UFIDs (tests, replays).
func HashUFID(k *Key, basis uint32) UFID {
	w := k.words()
	h1, h2 := murmur128(w[:], uint64(basis))
	u := UFID{uint32(h1), uint32(h1 >> 32), uint32(h2), uint32(h2 >> 32)}
	// RFC 4122 version 4 and variant bits, where OVS's uuid_set_bits_v4
	// puts them.
	u[2] = u[2]&^0xc0000000 | 0x80000000
	u[1] = u[1]&^0x0000f000 | 0x00004000
	return u
}

// murmur128 is MurmurHash3's x64 128-bit hash (the hash OVS's
// hash_bytes128 computes on 64-bit hosts) of whole little-endian 64-bit
// words, with seed as the initial value of both halves.
func murmur128(w []uint64, seed uint64) (uint64, uint64) {
	const c1, c2 = 0x87c37b91114253d5, 0x4cf5ad432745937f
	h1, h2 := seed, seed
	i := 0
	for ; i+2 <= len(w); i += 2 {
		k1, k2 := w[i], w[i+1]
		k1 *= c1
		k1 = bits.RotateLeft64(k1, 31)
		k1 *= c2
		h1 ^= k1
		h1 = bits.RotateLeft64(h1, 27)
		h1 += h2
		h1 = h1*5 + 0x52dce729

		k2 *= c2
		k2 = bits.RotateLeft64(k2, 33)
		k2 *= c1
		h2 ^= k2
		h2 = bits.RotateLeft64(h2, 31)
		h2 += h1
		h2 = h2*5 + 0x38495ab5
	}
	if i < len(w) {
		// An odd last word is the tail's first eight bytes.
		k1 := w[i]
		k1 *= c1
		k1 = bits.RotateLeft64(k1, 31)
		k1 *= c2
		h1 ^= k1
	}
	n := uint64(len(w) * 8)
	h1 ^= n
	h2 ^= n
	h1 += h2
	h2 += h1
	h1 = fmix64(h1)
	h2 = fmix64(h2)
	h1 += h2
	h2 += h1
	return h1, h2
}

func fmix64(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	k *= 0xc4ceb9fe1a85ec53
	k ^= k >> 33
	return k
}

// keyBytes returns the bytes of k in memory order.
func keyBytes(k *Key) []byte { return unsafe.Slice((*byte)(unsafe.Pointer(k)), unsafe.Sizeof(*k)) }
