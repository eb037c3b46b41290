package actions

import (
	"math/rand/v2"
	"testing"
)

// TestSum16 checks the word-at-a-time sum against a 16-bit one, on
// lengths around the loops' boundaries and on all-ones data (the largest
// carries).
func TestSum16(t *testing.T) {
	slow := func(b []byte) uint16 {
		var s uint64
		for i := 0; i+1 < len(b); i += 2 {
			s += uint64(b[i])<<8 | uint64(b[i+1])
		}
		if len(b)%2 == 1 {
			s += uint64(b[len(b)-1]) << 8
		}
		return fold(uint32(s&0xffffffff) + uint32(s>>32))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 300; n++ {
		for _, fill := range []string{"random", "ones", "zero"} {
			b := make([]byte, n)
			for i := range b {
				switch fill {
				case "random":
					b[i] = byte(r.Uint32())
				case "ones":
					b[i] = 0xff
				}
			}
			if got, want := fold(sum16(b)), slow(b); got != want {
				t.Fatalf("%d %s bytes: %#x, want %#x", n, fill, got, want)
			}
			if s := sum16(b); s >= 1<<17 {
				t.Fatalf("%d %s bytes: sum %#x not folded", n, fill, s)
			}
		}
	}
	big := make([]byte, 65536)
	for i := range big {
		big[i] = 0xff
	}
	if got, want := fold(sum16(big)), slow(big); got != want {
		t.Fatalf("64 KiB of ones: %#x, want %#x", got, want)
	}
}
