package actions

import (
	"math/rand/v2"
	"testing"

	"github.com/b7cafead/datapath/flow"
	dpio "github.com/b7cafead/datapath/io"
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

type rssSink struct {
	rssKey *flow.Key
	got    []flow.Key
}

func (s *rssSink) Output(uint32, *dpio.Packet)             {}
func (s *rssSink) Recirculate(_ *dpio.Packet, k *flow.Key) { s.got = append(s.got, *k) }
func (s *rssSink) RSSKey() *flow.Key                       { return s.rssKey }

// TestRSSKeyer checks that hash(l4) hashes the key the sink names as the
// packet's RSS key, and the executor's key without one.
func TestRSSKeyer(t *testing.T) {
	k := flow.Key{EthType: flow.EthTypeIPv4, NwProto: flow.IPProtoUDP, NwSrc: [4]byte{10, 0, 0, 1}, TpSrc: 1}
	k0 := k
	k0.NwSrc = [4]byte{10, 5, 5, 5}
	l := List{{Type: TypeHash, Hash: Hash{Alg: HashL4, Basis: 7}}, Recirc(1)}
	var x Executor
	pkt := dpio.NewPacket(dpio.DefaultHeadroom, 64)
	var lay flow.Layout
	for _, tc := range []struct {
		rssKey *flow.Key
		want   uint32
	}{{&k0, dpHashL4(hash5Tuple(&k0), 7)}, {nil, dpHashL4(hash5Tuple(&k), 7)}} {
		s := &rssSink{rssKey: tc.rssKey}
		x.Execute(pkt, &k, &lay, l, s)
		if len(s.got) != 1 || s.got[0].DpHash != tc.want {
			t.Errorf("RSS key %v: recirculated %+v, want dp_hash %#x", tc.rssKey != nil, s.got, tc.want)
		}
	}
	if dpHashL4(hash5Tuple(&k0), 7) == dpHashL4(hash5Tuple(&k), 7) {
		t.Error("the two keys hash alike: the test tells nothing")
	}
}
