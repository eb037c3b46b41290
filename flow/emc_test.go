package flow

import (
	"sync/atomic"
	"testing"
)

type cachedFlow struct {
	id   int
	dead atomic.Bool
}

func (f *cachedFlow) Alive() bool { return !f.dead.Load() }

func TestEMC(t *testing.T) {
	c := NewEMC[*cachedFlow](1)
	a := &cachedFlow{id: 1}
	k := Key{InPort: 1, EthType: EthTypeIPv4, TpSrc: 7}
	h := c.Hash(&k)
	if _, ok := c.Lookup(&k, h); ok {
		t.Fatal("hit in an empty cache")
	}
	c.Insert(&k, h, a)
	if v, ok := c.Lookup(&k, h); !ok || v != a {
		t.Fatalf("lookup after insert: %v %v", v, ok)
	}
	// A key differing in any field misses.
	k2 := k
	k2.TpDst = 1
	if _, ok := c.Lookup(&k2, c.Hash(&k2)); ok {
		t.Error("hit for a different key")
	}
	// A deleted flow is never returned.
	a.dead.Store(true)
	if _, ok := c.Lookup(&k, h); ok {
		t.Error("hit for a dead flow")
	}
	// Its entry is reused.
	b := &cachedFlow{id: 2}
	c.Insert(&k, h, b)
	if v, ok := c.Lookup(&k, h); !ok || v != b {
		t.Errorf("after reinsert: %v %v", v, ok)
	}
	c.Clear()
	if _, ok := c.Lookup(&k, h); ok {
		t.Error("hit after Clear")
	}
}

func TestEMCInsertProbability(t *testing.T) {
	c := NewEMC[*cachedFlow](100)
	f := &cachedFlow{}
	inserted := 0
	for i := 0; i < 10000; i++ {
		k := Key{InPort: 1, NwSrc: [4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}}
		h := c.Hash(&k)
		c.Insert(&k, h, f)
		if _, ok := c.Lookup(&k, h); ok {
			inserted++
		}
	}
	// About 1 in 100; allow a wide margin for the generator.
	if inserted < 50 || inserted > 200 {
		t.Errorf("%d of 10000 inserted at 1/100", inserted)
	}
}

func TestEMCTwoWays(t *testing.T) {
	c := NewEMC[*cachedFlow](1)
	// Fill far more keys than entries; every lookup that hits must
	// return the flow that was inserted for that exact key.
	flows := make([]*cachedFlow, 3*EMCEntries)
	hits := 0
	for i := range flows {
		flows[i] = &cachedFlow{id: i}
		k := Key{InPort: uint32(i)}
		c.Insert(&k, c.Hash(&k), flows[i])
	}
	for i := range flows {
		k := Key{InPort: uint32(i)}
		if v, ok := c.Lookup(&k, c.Hash(&k)); ok {
			hits++
			if v != flows[i] {
				t.Fatalf("key %d returned flow %d", i, v.id)
			}
		}
	}
	if hits == 0 || hits > EMCEntries {
		t.Errorf("%d hits", hits)
	}
}

func TestEMCLookupAllocs(t *testing.T) {
	c := NewEMC[*cachedFlow](1)
	k := Key{InPort: 1}
	h := c.Hash(&k)
	c.Insert(&k, h, &cachedFlow{})
	if n := testing.AllocsPerRun(1000, func() { c.Lookup(&k, h) }); n != 0 {
		t.Errorf("Lookup allocates %v", n)
	}
}

func TestEMCLookupPacket(t *testing.T) {
	c := NewEMC[*cachedFlow](1)
	plain := Key{InPort: 1, EthType: EthTypeIPv4}
	f := &cachedFlow{id: 1}
	h := c.Hash(&plain)
	c.Insert(&plain, h, f)
	if v, ok := c.LookupPacket(&plain, h); !ok || v != f {
		t.Fatalf("LookupPacket: %v %v", v, ok)
	}
	// A cached key with conntrack state must not answer LookupPacket for
	// the same packet without it, although both hash alike.
	c.Clear()
	tracked := plain
	tracked.CtState = CtStateTracked
	g := &cachedFlow{id: 2}
	c.Insert(&tracked, c.Hash(&tracked), g)
	if _, ok := c.LookupPacket(&plain, h); ok {
		t.Error("LookupPacket returned the entry of a key with conntrack state")
	}
	if v, ok := c.Lookup(&tracked, c.Hash(&tracked)); !ok || v != g {
		t.Error("Lookup misses the key with conntrack state")
	}
	if n := testing.AllocsPerRun(1000, func() { c.LookupPacket(&plain, h) }); n != 0 {
		t.Errorf("LookupPacket allocates %v", n)
	}
}

// TestEMCLookupPacketNDFields checks that the ND fields, which extraction
// writes, take part in LookupPacket: ND messages that differ only in the
// reserved word or the options type are different entries.
func TestEMCLookupPacketNDFields(t *testing.T) {
	c := NewEMC[*cachedFlow](1)
	base := Key{InPort: 1, EthType: EthTypeIPv6, NwProto: IPProtoICMPv6, TpSrc: 136}
	keys := []Key{base, base, base}
	keys[1].NdReserved = 0x20000000
	keys[2].TCPFlags = 2
	for i := range keys {
		c.Insert(&keys[i], c.Hash(&keys[i]), &cachedFlow{id: i})
	}
	for i := range keys {
		if v, ok := c.LookupPacket(&keys[i], c.Hash(&keys[i])); !ok || v.id != i {
			t.Errorf("key %d: LookupPacket = %v, %v", i, v, ok)
		}
	}
}
