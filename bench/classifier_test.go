package bench

import (
	"fmt"
	"math/rand"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/b7cafead/datapath/flow"
)

// classifierSet builds n rules spread evenly over m masks, and packet keys
// that hit rules of every mask. Mask i matches in_port, eth_type and the
// top 8+i bits of the IPv4 destination plus, for odd i, the UDP
// destination port, so the masks differ in width and in which words they
// touch, as megaflows do. Rules of mask i match in_port i+1 only, so no
// two rules overlap and a packet matches exactly one subtable: a lookup
// searches on average half of them.
func classifierSet(n, m int) (rules []flow.Match, pkts []flow.Key) {
	r := rand.New(rand.NewSource(1))
	for i := 0; i < n; i++ {
		mi := i % m
		var mk flow.Match
		mk.Mask.InPort = ^uint32(0)
		mk.Mask.EthType = 0xffff
		bits := 8 + mi
		mask := ^uint32(0) << (32 - bits)
		mk.Mask.NwDst = [4]byte{byte(mask >> 24), byte(mask >> 16), byte(mask >> 8), byte(mask)}
		if mi%2 == 1 {
			mk.Mask.TpDst = 0xffff
			mk.Mask.NwProto = 0xff
		}
		mk.Key.InPort = uint32(mi + 1)
		mk.Key.EthType = flow.EthTypeIPv4
		mk.Key.NwProto = flow.IPProtoUDP
		mk.Key.TpDst = uint16(r.Intn(65536))
		dst := r.Uint32()
		mk.Key.NwDst = [4]byte{byte(dst >> 24), byte(dst >> 16), byte(dst >> 8), byte(dst)}
		rules = append(rules, mk)
	}
	for i := 0; i < 4096; i++ {
		ru := rules[r.Intn(len(rules))]
		k := ru.Key
		k.NwSrc = [4]byte{10, 0, 0, byte(i)}
		k.TpSrc = uint16(i)
		pkts = append(pkts, k)
	}
	return rules, pkts
}

type benchFlow struct{ dead atomic.Bool }

func (f *benchFlow) Alive() bool { return !f.dead.Load() }

// BenchmarkClassifier looks up packets in a 100k-rule classifier with 1,
// 10 and 20 masks (ranked once, as after a second of traffic).
func BenchmarkClassifier(b *testing.B) {
	for _, masks := range []int{1, 10, 20} {
		b.Run(fmt.Sprintf("masks-%d", masks), func(b *testing.B) {
			rules, pkts := classifierSet(100000, masks)
			var c flow.Classifier[benchFlow]
			for i := range rules {
				c.Insert(&rules[i].Key, &rules[i].Mask, &benchFlow{})
			}
			for i := range pkts {
				c.Lookup(&pkts[i], 0)
			}
			c.Rank()
			runtime.GC() // settle the setup's garbage before timing
			b.ReportAllocs()
			b.ResetTimer()
			miss := 0
			for i := 0; i < b.N; i++ {
				if f, _ := c.Lookup(&pkts[i&4095], 0); f == nil {
					miss++
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mlookups/s")
			if miss > 0 {
				b.Fatalf("%d misses", miss)
			}
		})
	}
}

// BenchmarkEMC looks up packets that are all in the exact-match cache.
func BenchmarkEMC(b *testing.B) {
	_, pkts := classifierSet(1000, 1)
	c := flow.NewEMC[*benchFlow](1)
	f := &benchFlow{}
	for i := range pkts[:1024] {
		c.Insert(&pkts[i], c.Hash(&pkts[i]), f)
	}
	// Keep the keys that stayed in the cache (a few collide in both ways).
	var keys []flow.Key
	for i := range pkts[:1024] {
		if _, ok := c.Lookup(&pkts[i], c.Hash(&pkts[i])); ok {
			keys = append(keys, pkts[i])
		}
	}
	for len(keys) < 1024 {
		keys = append(keys, keys[len(keys)%64])
	}
	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		miss := 0
		for i := 0; i < b.N; i++ {
			k := &keys[i&1023]
			if _, ok := c.Lookup(k, c.Hash(k)); !ok {
				miss++
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mlookups/s")
		if miss > 0 {
			b.Fatalf("%d misses", miss)
		}
	})
	// hit-packet is the datapath's lookup: keys straight from extraction,
	// compared on the words extraction writes.
	b.Run("hit-packet", func(b *testing.B) {
		b.ReportAllocs()
		miss := 0
		for i := 0; i < b.N; i++ {
			k := &keys[i&1023]
			if _, ok := c.LookupPacket(k, c.Hash(k)); !ok {
				miss++
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mlookups/s")
		if miss > 0 {
			b.Fatalf("%d misses", miss)
		}
	})
}

// BenchmarkFlowPut inserts rules into a classifier that already holds
// 100k, deleting each again so that the size stays at 100k.
func BenchmarkFlowPut(b *testing.B) {
	rules, _ := classifierSet(200000, 20)
	var c flow.Classifier[benchFlow]
	for i := range rules[:100000] {
		c.Insert(&rules[i].Key, &rules[i].Mask, &benchFlow{})
	}
	extra := rules[100000:]
	f := &benchFlow{}
	runtime.GC() // settle the setup's garbage before timing
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := &extra[i%len(extra)]
		c.Insert(&r.Key, &r.Mask, f)
		c.Delete(&r.Key, &r.Mask)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
}
