package flow

import (
	"encoding/binary"
	"testing"
)

// TestMurmur128Vectors checks the 128-bit hash against values computed by
// OVS 3.1's hash_bytes128 (lib/hash.c, 64-bit build) for the bytes
// i*37+11, i = 0..47, with basis 0x9abcdef1, over the first 0, 8, ..., 48
// bytes.
func TestMurmur128Vectors(t *testing.T) {
	vectors := []struct {
		words  int
		h1, h2 uint64
	}{
		{0, 0xb2c1768d755e31e8, 0x9d04c2f3d513795a},
		{1, 0x4fd59adf188e7603, 0xb643666f169da4a1},
		{2, 0xbc1e3aa104a4b443, 0x1adc16ddd6a5d332},
		{3, 0xcf9337b00b544ad2, 0xb81d6c7434e8edd8},
		{4, 0x38579985b78e1ef1, 0xf62582d3d3ba707c},
		{5, 0xb1c079b1c5aba284, 0xaa4c5298d138c115},
		{6, 0x5b34fb3778a67a4d, 0xb8f9f0fc95f8bca0},
	}
	var buf [48]byte
	for i := range buf {
		buf[i] = byte(i*37 + 11)
	}
	var w [6]uint64
	for i := range w {
		w[i] = binary.LittleEndian.Uint64(buf[i*8:])
	}
	for _, v := range vectors {
		h1, h2 := murmur128(w[:v.words], 0x9abcdef1)
		if h1 != v.h1 || h2 != v.h2 {
			t.Errorf("%d words: %#x %#x, want %#x %#x", v.words, h1, h2, v.h1, v.h2)
		}
	}
}

func TestUFIDText(t *testing.T) {
	u := UFID{0x1d1d3c7a, 0x7a1b4b5e, 0x9ad50c2d, 0x5c3b8f01}
	const want = "1d1d3c7a-7a1b-4b5e-9ad5-0c2d5c3b8f01"
	if s := u.String(); s != want {
		t.Fatalf("String = %q, want %q", s, want)
	}
	for _, in := range []string{want, "ufid:" + want, "ufid:1D1D3C7A-7A1B-4B5E-9AD5-0C2D5C3B8F01"} {
		got, err := ParseUFID(in)
		if err != nil || got != u {
			t.Errorf("ParseUFID(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "ufid:", want[:35], want + "0", "1d1d3c7a_7a1b-4b5e-9ad5-0c2d5c3b8f01", "1d1d3c7a-7a1b-4b5e-9ad5-0c2d5c3b8f0g", "ufid:ufid:" + want} {
		if _, err := ParseUFID(bad); err == nil {
			t.Errorf("ParseUFID(%q) succeeded", bad)
		}
	}
}

func TestNewUFID(t *testing.T) {
	a := MustParse("in_port(1),eth_type(0x0800),ipv4(src=10.0.0.1,frag=no)")
	b := MustParse("in_port(2),eth_type(0x0800),ipv4(src=10.0.0.1,frag=no)")
	ua, ub := NewUFID(&a.Key), NewUFID(&b.Key)
	if ua != NewUFID(&a.Key) {
		t.Error("equal keys give different UFIDs")
	}
	if ua == ub {
		t.Error("different keys give the same UFID")
	}
	for _, u := range []UFID{ua, ub, HashUFID(&a.Key, 0)} {
		// Version 4, RFC 4122 variant, as uuid_set_bits_v4 sets.
		if u[1]&0xf000 != 0x4000 || u[2]>>30 != 2 {
			t.Errorf("%v: not a version 4 UUID", u)
		}
	}
	b1, again, b2 := HashUFID(&a.Key, 1), HashUFID(&a.Key, 1), HashUFID(&a.Key, 2)
	if b1 != again || b1 == b2 {
		t.Error("HashUFID does not depend on its basis alone")
	}
	// The words hashed are the key's bytes in memory order.
	kb := keyBytes(&a.Key)
	w := make([]uint64, len(kb)/8)
	for i := range w {
		w[i] = binary.NativeEndian.Uint64(kb[i*8:])
	}
	h1, h2 := murmur128(w, 7)
	u := UFID{uint32(h1), uint32(h1 >> 32), uint32(h2), uint32(h2 >> 32)}
	u[2] = u[2]&^0xc0000000 | 0x80000000
	u[1] = u[1]&^0xf000 | 0x4000
	if got := HashUFID(&a.Key, 7); got != u {
		t.Errorf("HashUFID = %v, want %v", got, u)
	}
}
