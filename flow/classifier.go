package flow

import (
	"math/bits"
	"sort"
	"sync"
	"sync/atomic"
)

// Classifier is a megaflow classifier: a tuple-space search over rules,
// each a masked key. Rules with the same mask share a subtable (a hash
// table of masked keys); a lookup masks the packet's key with each
// subtable's mask in turn and probes that subtable, so its cost grows with
// the number of distinct masks, not of rules. Subtables are kept ranked by
// how often they hit (see Rank), as OVS's dpcls does, so that the common
// case searches few.
//
// Lookups never block and may run concurrently with Insert, Delete and
// Rank: the subtable list and each subtable's slots are published through
// atomic pointers, and rule entries are immutable once published, so a
// reader sees every rule either whole or not at all. Writers serialize
// among themselves on an internal mutex.
//
// Rules are expected not to overlap (as megaflows installed by a slow path
// do not): when a key matches rules of several subtables, Lookup returns
// the one in the highest-ranked subtable.
type Classifier[V any] struct {
	mu    sync.Mutex
	subs  atomic.Pointer[[]*subtable[V]]
	count atomic.Int64
}

// subtable holds the rules of one mask.
type subtable[V any] struct {
	mask Key
	// words lists the indices of the mask's non-zero 64-bit words; only
	// those take part in hashing and comparison.
	words []uint8
	tab   atomic.Pointer[slots[V]]
	n     int // live entries; writers only
	used  int // live entries plus tombstones; writers only

	hits [hitShards]paddedCounter
	rank uint64 // hits at the last Rank; writers only
}

const hitShards = 8

type paddedCounter struct {
	n atomic.Uint64
	_ [56]byte
}

// slots is an open-addressed hash table in the manner of a Swiss table:
// slots come in groups of eight whose one-byte control words sit together
// in one 64-bit word, so a probe compares eight slots with a few
// arithmetic operations on one word and touches an entry only when its
// 7-bit hash tag matches. A control byte is ctrlEmpty (never used: a probe
// that meets one stops), ctrlDeleted (a tombstone) or the tag of a live
// entry. Groups are probed in turn from the one the hash selects.
//
// Concurrency: writers (serialized) store an entry's pointer before the
// control byte that announces it, and retire a slot's control byte before
// its pointer; a reader loads the control word first and verifies any
// entry it reaches, so it sees each rule whole or not at all.
type slots[V any] struct {
	gmask uint64 // number of groups - 1
	ctrl  []atomic.Uint64
	ptrs  []atomic.Pointer[entry[V]]
}

const (
	ctrlEmpty   = 0x80
	ctrlDeleted = 0xfe
	groupSize   = 8
	lsbs        = 0x0101010101010101
	msbs        = 0x8080808080808080
)

// matchTag returns a word with the high bit set in each byte of ctrl equal
// to tag (and, rarely, in a byte above a match: callers verify).
func matchTag(ctrl uint64, tag uint8) uint64 {
	x := ctrl ^ (lsbs * uint64(tag))
	return (x - lsbs) &^ x & msbs
}

// matchEmpty returns a word with the high bit set in each empty byte.
func matchEmpty(ctrl uint64) uint64 { return ctrl & (^ctrl << 6) & msbs }

// matchFree returns a word with the high bit set in each empty or deleted
// byte.
func matchFree(ctrl uint64) uint64 { return ctrl & msbs }

func splitHash(h uint64) (group uint64, tag uint8) { return h >> 7, uint8(h & 0x7f) }

type entry[V any] struct {
	hash uint64
	key  Key // masked
	val  V
}

// hash hashes a rule key that is already masked.
func (st *subtable[V]) hash(k *Key) uint64 { return st.maskedHash(k) }

// maskedEqual reports whether packet key k, masked with the subtable's
// mask, equals the masked rule key r, comparing only the mask's words.
func (st *subtable[V]) maskedEqual(r, k *Key) bool {
	rw, kw, mw := r.words(), k.words(), st.mask.words()
	for _, i := range st.words {
		if rw[i] != kw[i]&mw[i] {
			return false
		}
	}
	return true
}

// maskedHash hashes k masked with the subtable's mask without building
// the masked key.
func (st *subtable[V]) maskedHash(k *Key) uint64 {
	w, mw := k.words(), st.mask.words()
	h := uint64(0x9e3779b97f4a7c15)
	for _, i := range st.words {
		h ^= w[i] & mw[i]
		h *= 0xff51afd7ed558ccd
		h = bits.RotateLeft64(h, 31)
	}
	h ^= h >> 29
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 32
	return h
}

func newSubtable[V any](mask *Key) *subtable[V] {
	st := &subtable[V]{mask: *mask}
	for i, w := range mask.words() {
		if w != 0 {
			st.words = append(st.words, uint8(i))
		}
	}
	st.tab.Store(newSlots[V](16))
	return st
}

// newSlots returns an empty table of n slots (a power of two, at least
// groupSize).
func newSlots[V any](n int) *slots[V] {
	g := n / groupSize
	t := &slots[V]{gmask: uint64(g - 1), ctrl: make([]atomic.Uint64, g), ptrs: make([]atomic.Pointer[entry[V]], n)}
	for i := range t.ctrl {
		t.ctrl[i].Store(lsbs * ctrlEmpty)
	}
	return t
}

// setCtrl sets the control byte of slot i; writers only.
func (t *slots[V]) setCtrl(i uint64, c uint8) {
	w := &t.ctrl[i/groupSize]
	shift := (i % groupSize) * 8
	w.Store(w.Load()&^(0xff<<shift) | uint64(c)<<shift)
}

func (t *slots[V]) ctrlAt(i uint64) uint8 {
	return uint8(t.ctrl[i/groupSize].Load() >> ((i % groupSize) * 8))
}

func (st *subtable[V]) lookup(k *Key) (*entry[V], bool) {
	h := st.maskedHash(k)
	g, tag := splitHash(h)
	t := st.tab.Load()
	for n := uint64(0); n <= t.gmask; n++ {
		g &= t.gmask
		c := t.ctrl[g].Load()
		for m := matchTag(c, tag); m != 0; m &= m - 1 {
			i := g*groupSize + uint64(bits.TrailingZeros64(m)/8)
			if e := t.ptrs[i].Load(); e != nil && e.hash == h && st.maskedEqual(&e.key, k) {
				return e, true
			}
		}
		if matchEmpty(c) != 0 {
			return nil, false
		}
		g++
	}
	return nil, false
}

// find returns the slot index of the rule with masked key k, or -1. The
// caller holds the classifier's mutex.
func (st *subtable[V]) find(t *slots[V], k *Key, h uint64) int {
	g, tag := splitHash(h)
	for n := uint64(0); n <= t.gmask; n++ {
		g &= t.gmask
		c := t.ctrl[g].Load()
		for m := matchTag(c, tag); m != 0; m &= m - 1 {
			i := g*groupSize + uint64(bits.TrailingZeros64(m)/8)
			if e := t.ptrs[i].Load(); e != nil && e.hash == h && e.key == *k {
				return int(i)
			}
		}
		if matchEmpty(c) != 0 {
			return -1
		}
		g++
	}
	return -1
}

// store publishes e in free slot i: the pointer first, then the control
// byte.
func (t *slots[V]) store(i uint64, e *entry[V]) {
	t.ptrs[i].Store(e)
	_, tag := splitHash(e.hash)
	t.setCtrl(i, tag)
}

// freeSlot returns the first empty or deleted slot on h's probe sequence.
func (t *slots[V]) freeSlot(h uint64) uint64 {
	g, _ := splitHash(h)
	for {
		g &= t.gmask
		if m := matchFree(t.ctrl[g].Load()); m != 0 {
			return g*groupSize + uint64(bits.TrailingZeros64(m)/8)
		}
		g++
	}
}

// put inserts or replaces; the caller holds the classifier's mutex.
func (st *subtable[V]) put(k *Key, v V) (old V, replaced bool) {
	h := st.hash(k)
	t := st.tab.Load()
	e := &entry[V]{hash: h, key: *k, val: v}
	if i := st.find(t, k, h); i >= 0 {
		old = t.ptrs[i].Load().val
		t.ptrs[i].Store(e)
		return old, true
	}
	// Keep at most 3/4 of the slots used (live or deleted) so probes stay
	// short and always reach an empty slot.
	if (st.used+1)*4 > len(t.ptrs)*3 {
		t = st.rehash(16)
	}
	i := t.freeSlot(h)
	if t.ctrlAt(i) == ctrlEmpty {
		st.used++
	}
	t.store(i, e)
	st.n++
	return old, false
}

// rehash copies the live entries into a fresh table of at least n slots
// (and at least twice the entries) and publishes it.
func (st *subtable[V]) rehash(n int) *slots[V] {
	for n < (st.n+1)*2 {
		n *= 2
	}
	old := st.tab.Load()
	t := newSlots[V](n)
	for i := range old.ptrs {
		if old.ctrlAt(uint64(i))&0x80 != 0 {
			continue
		}
		e := old.ptrs[i].Load()
		t.store(t.freeSlot(e.hash), e)
	}
	st.used = st.n
	st.tab.Store(t)
	return t
}

func (st *subtable[V]) del(k *Key) (V, bool) {
	h := st.hash(k)
	t := st.tab.Load()
	i := st.find(t, k, h)
	if i < 0 {
		var zero V
		return zero, false
	}
	v := t.ptrs[i].Load().val
	t.setCtrl(uint64(i), ctrlDeleted)
	t.ptrs[i].Store(nil)
	st.n--
	if st.n > 0 && st.used > 4*st.n && len(t.ptrs) > 16 {
		st.rehash(16)
	}
	return v, true
}

func (st *subtable[V]) hitCount() uint64 {
	var n uint64
	for i := range st.hits {
		n += st.hits[i].n.Load()
	}
	return n
}

// Insert adds the rule (key, mask) with value v, replacing the value of
// an identical rule. Only the bits of key set in mask matter. It reports
// whether a rule was replaced, and the old value.
func (c *Classifier[V]) Insert(key, mask *Key, v V) (old V, replaced bool) {
	mk := key.Masked(mask)
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.subtable(mask)
	if st == nil {
		st = newSubtable[V](mask)
		subs := c.list()
		n := make([]*subtable[V], len(subs), len(subs)+1)
		copy(n, subs)
		n = append(n, st)
		c.subs.Store(&n)
	}
	old, replaced = st.put(&mk, v)
	if !replaced {
		c.count.Add(1)
	}
	return old, replaced
}

// Delete removes the rule (key, mask) and returns its value.
func (c *Classifier[V]) Delete(key, mask *Key) (V, bool) {
	mk := key.Masked(mask)
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.subtable(mask)
	if st == nil {
		var zero V
		return zero, false
	}
	v, ok := st.del(&mk)
	if !ok {
		return v, false
	}
	c.count.Add(-1)
	if st.n == 0 {
		subs := c.list()
		n := make([]*subtable[V], 0, len(subs)-1)
		for _, s := range subs {
			if s != st {
				n = append(n, s)
			}
		}
		c.subs.Store(&n)
	}
	return v, true
}

// Get returns the value of the rule (key, mask) itself, not of a rule a
// packet with key would match.
func (c *Classifier[V]) Get(key, mask *Key) (V, bool) {
	mk := key.Masked(mask)
	for _, st := range c.list() {
		if st.mask == *mask {
			if e, ok := st.lookup(&mk); ok {
				return e.val, true
			}
			break
		}
	}
	var zero V
	return zero, false
}

func (c *Classifier[V]) list() []*subtable[V] {
	if p := c.subs.Load(); p != nil {
		return *p
	}
	return nil
}

// subtable returns the subtable of mask; the caller holds c.mu.
func (c *Classifier[V]) subtable(mask *Key) *subtable[V] {
	for _, st := range c.list() {
		if st.mask == *mask {
			return st
		}
	}
	return nil
}

// Lookup returns the value of a rule that packet key k matches, and the
// number of subtables searched. shard spreads the subtables' hit counters
// across goroutines: pass a small number that is stable per goroutine
// (such as a worker index) to keep them from sharing cache lines.
func (c *Classifier[V]) Lookup(k *Key, shard int) (v V, ok bool, searched int) {
	subs := c.list()
	for i, st := range subs {
		if e, hit := st.lookup(k); hit {
			st.hits[shard&(hitShards-1)].n.Add(1)
			return e.val, true, i + 1
		}
	}
	return v, false, len(subs)
}

// Rank reorders the subtables by the hits each had since the previous
// Rank, busiest first. Lookups go on meanwhile; call it periodically (OVS
// does so every second).
func (c *Classifier[V]) Rank() {
	c.mu.Lock()
	defer c.mu.Unlock()
	subs := c.list()
	n := make([]*subtable[V], len(subs))
	copy(n, subs)
	delta := make(map[*subtable[V]]uint64, len(n))
	for _, st := range n {
		h := st.hitCount()
		delta[st] = h - st.rank
		st.rank = h
	}
	sort.SliceStable(n, func(i, j int) bool { return delta[n[i]] > delta[n[j]] })
	c.subs.Store(&n)
}

// Len returns the number of rules.
func (c *Classifier[V]) Len() int { return int(c.count.Load()) }

// Masks returns the number of distinct masks (subtables).
func (c *Classifier[V]) Masks() int { return len(c.list()) }

// Range calls f for every rule, in subtable rank order, until f returns
// false. Rules inserted or deleted meanwhile may or may not be seen; every
// rule present throughout is seen once.
func (c *Classifier[V]) Range(f func(key, mask *Key, v V) bool) {
	for _, st := range c.list() {
		t := st.tab.Load()
		for i := range t.ptrs {
			if t.ctrlAt(uint64(i))&0x80 != 0 {
				continue
			}
			e := t.ptrs[i].Load()
			if e == nil {
				continue
			}
			if !f(&e.key, &st.mask, e.val) {
				return
			}
		}
	}
}

// Clear removes every rule.
func (c *Classifier[V]) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.subs.Store(&[]*subtable[V]{})
	c.count.Store(0)
}
