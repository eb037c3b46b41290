package flow

import "unsafe"

// EMCEntries is the number of entries of an exact-match cache, as in OVS
// (EM_FLOW_HASH_SHIFT 13).
const EMCEntries = 1 << 13

// DefaultEMCInsertInvProb is the default inverse probability of inserting
// a megaflow hit into the exact-match cache: 1 in 100, OVS's
// other_config:emc-insert-inv-prob default. Inserting only a sample keeps
// the cache from thrashing when there are many more flows than entries,
// while busy flows still get in quickly.
const DefaultEMCInsertInvProb = 100

// Liveness is what an exact-match cache needs of the values it holds: a
// value that is no longer alive (its flow was deleted) is never returned.
type Liveness interface {
	comparable
	Alive() bool
}

// EMC is an exact-match cache: a small hash table from complete packet
// keys to the megaflow they hit, consulted before the classifier. It is
// two-way set associative with EMCEntries entries. An EMC belongs to one
// polling goroutine and is not safe for concurrent use.
//
// Invalidation: entries hold values, not copies, so a flow whose actions
// change is seen changed at once, and a deleted flow (Alive false) is
// skipped and its entries are reused.
type EMC[V Liveness] struct {
	// An entry keeps the words extraction writes next to its hash and
	// value; the trailing words (conntrack, tunnel) live apart in tails,
	// which only Lookup and Insert read. LookupPacket, the datapath's
	// lookup, so touches 168 bytes per entry (1.4 MB for the cache)
	// rather than a whole 544-byte key.
	entries [EMCEntries]emcEntry[V]
	tails   [EMCEntries][trailingWords]uint64
	invProb uint32
	rng     uint32
}

type emcEntry[V Liveness] struct {
	hash   uint64
	set    bool
	packet bool // the key's trailing (tunnel, conntrack) words are zero
	head   [packetWords]uint64
	val    V
}

// keyHead and keyTail are the packet words and the trailing words of k.
func keyHead(k *Key) *[packetWords]uint64 { return (*[packetWords]uint64)(unsafe.Pointer(k)) }
func keyTail(k *Key) *[trailingWords]uint64 {
	return (*[trailingWords]uint64)(unsafe.Pointer(&k.words()[packetWords]))
}

const emcMask = EMCEntries - 1

// NewEMC returns an empty cache that inserts one megaflow hit in invProb
// (1 inserts every hit; 0 means DefaultEMCInsertInvProb).
func NewEMC[V Liveness](invProb uint32) *EMC[V] {
	if invProb == 0 {
		invProb = DefaultEMCInsertInvProb
	}
	return &EMC[V]{invProb: invProb, rng: 0x9e3779b9}
}

// Hash returns the hash the cache uses for k; callers that look up and
// then insert the same key compute it once.
func (c *EMC[V]) Hash(k *Key) uint64 { return k.hashPacketPart() }

// Lookup returns the cached value for the exact key k with hash h.
func (c *EMC[V]) Lookup(k *Key, h uint64) (v V, ok bool) {
	for _, i := range [2]uint64{h & emcMask, (h >> 13) & emcMask} {
		e := &c.entries[i]
		if e.set && e.hash == h && e.head == *keyHead(k) && c.tails[i] == *keyTail(k) && e.val.Alive() {
			return e.val, true
		}
	}
	return v, false
}

// LookupPacket is Lookup for a key whose trailing words (the tunnel and
// conntrack state that extraction does not write) are all zero, as
// Extract leaves them: it compares only the words extraction writes.
// Passing a key with tunnel or conntrack state set gives wrong answers; use
// Lookup for those.
func (c *EMC[V]) LookupPacket(k *Key, h uint64) (v V, ok bool) {
	// The datapath calls this for every packet: the two ways are written
	// out, and so is the comparison (equalPacketWords, which the compiler
	// does not inline).
	a := keyHead(k)
	e := &c.entries[h&emcMask]
	if e.hash != h || !e.set || !e.packet {
		e = &c.entries[(h>>13)&emcMask]
		if e.hash != h || !e.set || !e.packet {
			return v, false
		}
	}
	if e.head != *a {
		// Both ways may hold keys of hash h (a collision in the full 64
		// bits, or a packet and a non-packet key): the slow path sorts
		// that out.
		return c.lookupPacketSlow(k, h)
	}
	if !e.val.Alive() {
		return c.lookupPacketSlow(k, h)
	}
	return e.val, true
}

// lookupPacketSlow is LookupPacket trying both ways in full.
func (c *EMC[V]) lookupPacketSlow(k *Key, h uint64) (v V, ok bool) {
	pk := keyHead(k)
	for _, i := range [2]uint64{h & emcMask, (h >> 13) & emcMask} {
		e := &c.entries[i]
		if e.set && e.packet && e.hash == h && equalPacketWords(&e.head, pk) && e.val.Alive() {
			return e.val, true
		}
	}
	return v, false
}

// Insert caches v for key k with hash h, with probability 1/invProb.
func (c *EMC[V]) Insert(k *Key, h uint64, v V) {
	if c.invProb > 1 {
		// xorshift32
		x := c.rng
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		c.rng = x
		if x%c.invProb != 0 {
			return
		}
	}
	c.insert(k, h, v)
}

func (c *EMC[V]) insert(k *Key, h uint64, v V) {
	var victim *emcEntry[V]
	var vi uint64
	for _, i := range [2]uint64{h & emcMask, (h >> 13) & emcMask} {
		e := &c.entries[i]
		if e.set && e.hash == h && e.head == *keyHead(k) && c.tails[i] == *keyTail(k) {
			e.val = v
			return
		}
		// Prefer an empty or dead entry, then the one with the lower
		// hash (an arbitrary but stable choice, as OVS makes).
		switch {
		case victim == nil:
			victim, vi = e, i
		case !e.set || !e.val.Alive():
			if victim.set && victim.val.Alive() {
				victim, vi = e, i
			}
		case victim.set && victim.val.Alive() && e.hash < victim.hash:
			victim, vi = e, i
		}
	}
	victim.hash, victim.set, victim.head, victim.val = h, true, *keyHead(k), v
	c.tails[vi] = *keyTail(k)
	victim.packet = k.trailingZero()
}

// Clear empties the cache.
func (c *EMC[V]) Clear() {
	var zero V
	for i := range c.entries {
		c.entries[i].set = false
		c.entries[i].val = zero
	}
}

// equalPacketWords compares two keys' packet words without a call or a
// branch per word: the differences of all eighteen are ORed together.
func equalPacketWords(a, b *[packetWords]uint64) bool {
	return (a[0]^b[0])|(a[1]^b[1])|(a[2]^b[2])|(a[3]^b[3])|(a[4]^b[4])|(a[5]^b[5])|
		(a[6]^b[6])|(a[7]^b[7])|(a[8]^b[8])|(a[9]^b[9])|(a[10]^b[10])|(a[11]^b[11])|
		(a[12]^b[12])|(a[13]^b[13])|(a[14]^b[14])|(a[15]^b[15])|(a[16]^b[16])|(a[17]^b[17]) == 0
}
