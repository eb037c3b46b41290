package flow

import (
	"math/bits"
	"sort"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Classifier is a megaflow classifier: a tuple-space search over rules,
// each a masked key with a value of type *T. Rules with the same mask
// share a subtable (a hash table of masked keys); a lookup masks the
// packet's key with each subtable's mask in turn and probes that subtable,
// so its cost grows with the number of distinct masks, not of rules.
// Subtables are kept ranked by how often they hit (see Rank), as OVS's
// dpcls does, so that the common case searches few.
//
// A subtable stores each rule in one 64-byte slot: a version, the hash,
// the value pointer and the rule's masked key words (only the words its
// mask covers; the fifth and later words of a mask wider than five words
// go to a side array). A probe that finds a rule thus touches one cache
// line of the table and no separately allocated entry.
//
// Lookups never block and may run concurrently with Insert, Delete and
// Rank: the subtable list and each subtable's table are published through
// atomic pointers, and a writer brackets every change of a slot with an
// odd and then an even version (a sequence lock), so a reader that saw the
// same even version before and after reading a slot has read one rule
// whole; otherwise it reads again. Writers serialize among themselves on
// an internal mutex.
//
// Rules are expected not to overlap (as megaflows installed by a slow path
// do not): when a key matches rules of several subtables, Lookup returns
// the one in the highest-ranked subtable.
type Classifier[T any] struct {
	mu    sync.Mutex
	subs  atomic.Pointer[[]*subtable[T]]
	count atomic.Int64
}

// subtable holds the rules of one mask.
type subtable[T any] struct {
	// tab and mh are all that a lookup that misses the subtable reads of
	// it.
	tab atomic.Pointer[slots[T]]
	mh  maskHash
	// ws lists the mask's non-zero 64-bit words in key order; only they
	// take part in hashing and comparison.
	ws   []maskWord
	mask Key
	n    int // live entries; writers only
	used int // live entries plus tombstones; writers only

	hits [hitShards]paddedCounter
	rank uint64 // hits at the last Rank; writers only
}

const hitShards = 8

// maskWord is one non-zero word of a subtable's mask and its index in
// the key.
type maskWord struct {
	i, m uint64
}

type paddedCounter struct {
	n atomic.Uint64
	_ [56]byte
}

// inlineWords is how many masked key words a slot holds itself.
const inlineWords = 5

// slot is one rule of a subtable. Its fields are atomics only so that
// readers racing with a writer are well defined; ver orders them.
type slot[T any] struct {
	ver  atomic.Uint64 // odd while a writer changes the slot
	hash atomic.Uint64
	val  atomic.Pointer[T]
	w    [inlineWords]atomic.Uint64 // the first masked key words
}

// slots is an open-addressed hash table in the manner of a Swiss table:
// slots come in groups of eight whose one-byte control words sit together
// in one 64-bit word, so a probe compares eight slots with a few
// arithmetic operations on one word and touches a slot only when its
// hash tag matches. A control byte is ctrlEmpty (never used), ctrlDeleted
// (a tombstone) or a live slot's 7-bit tag; next to it, in the same cache
// line, a second word holds 7 more bits of each live slot's hash, so that
// a probe touches a slot that does not hold the key once in about 3,000
// rather than once in 25 (with five live slots in the group).
//
// Groups are probed in turn from the one the hash selects, and a probe
// stops after a group that has not overflowed: an insert that finds a
// group full marks it so (the mark stays until the table is rebuilt), so
// a key is always in its first group or past a run of marked ones. A
// lookup that misses a subtable thus usually reads one group, as with
// the "overflow counts" of Folly's F14 tables, where stopping at a group
// with an empty slot would go on to the next one whenever the first was
// full.
type slots[T any] struct {
	gmask uint64 // number of groups - 1
	ctrl  []group
	s     []slot[T]
	extra int             // masked key words per slot beyond inlineWords
	more  []atomic.Uint64 // those words, extra per slot
}

// group holds the control bytes of eight slots and, per slot, 7 more bits
// of the hash (tag2). Bit 63 of ext (a bit no tag2 uses) marks a group
// that has overflowed.
type group struct {
	ctrl atomic.Uint64
	ext  atomic.Uint64
}

const (
	overflowed = 1 << 63
	lows7      = 0x7f7f7f7f7f7f7f7f
)

const (
	ctrlEmpty   = 0x80
	ctrlDeleted = 0xfe
	groupSize   = 8
	lsbs        = 0x0101010101010101
	msbs        = 0x8080808080808080
)

// matchHash returns a word with the high bit set in each byte whose slot
// has the tags of the hash whose tag and tag2 are replicated in each byte
// of tags and tags2, given the group's control and extension words (and,
// rarely, in a byte above a match: callers verify). A byte of x | y is
// zero when both tags match; ext's bit 63 is masked off with the others.
func matchHash(ctrl, ext, tags, tags2 uint64) uint64 {
	z := ctrl ^ tags | (ext^tags2)&lows7
	return (z - lsbs) &^ z & msbs
}

// matchFree returns a word with the high bit set in each empty or deleted
// byte.
func matchFree(ctrl uint64) uint64 { return ctrl & msbs }

func splitHash(h uint64) (group uint64, tag uint8) { return h >> 7, uint8(h & 0x7f) }

// tag2 returns the extension tag of hash h, from bits the group index does
// not use.
func tag2(h uint64) uint8 { return uint8(h >> 57) }

// tagWords returns h's tag and tag2 replicated in each byte of a word.
func tagWords(h uint64) (tags, tags2 uint64) {
	return lsbs * (h & 0x7f), lsbs * (h >> 57)
}

// maskHash is what hashing a key under a subtable's mask needs: the mask's
// first hashFirst words (padded with zero words, which add the same to
// every key's hash) and the rest. Words are taken in pairs, each pair
// through one multiplication independent of the others, and the first
// three pairs with straight-line code: most megaflow masks have no more
// than six words. A lookup computes this hash once per subtable it
// searches, so every instruction counts.
type maskHash struct {
	n     int // mask words
	first [hashFirst]hashWord
	rest  []hashWord
}

// hashWord is a mask word and the byte offset in a Key of the word it
// masks (an offset rather than an index so that reading the key word
// needs no bounds check: offsets are made only by newSubtable, from
// indexes of the mask's own words).
type hashWord struct {
	off, m uint64
}

const hashFirst = 6

// keyWord returns the word of k at byte offset off, a multiple of 8 less
// than the size of a Key.
func keyWord(k *Key, off uint64) uint64 {
	return *(*uint64)(unsafe.Add(unsafe.Pointer(k), off))
}

// hash hashes key k masked with the mask without building the masked key.
// candidate has a copy of it written out.
func (p *maskHash) hash(k *Key) uint64 {
	f := &p.first
	h := mum(keyWord(k, f[0].off)&f[0].m^hashK0, keyWord(k, f[1].off)&f[1].m^hashK1)
	if p.n > 2 {
		h += mum(keyWord(k, f[2].off)&f[2].m^hashK2, keyWord(k, f[3].off)&f[3].m^hashK3)
		if p.n > 4 {
			h += mum(keyWord(k, f[4].off)&f[4].m^hashK4, keyWord(k, f[5].off)&f[5].m^hashK5)
			for r := p.rest; len(r) > 0; r = r[2:] {
				// rest has an even length (padded like first).
				h += mum(keyWord(k, r[0].off)&r[0].m^hashK6, keyWord(k, r[1].off)&r[1].m^hashK7)
			}
		}
	}
	return mum(h^hashK1, hashK2)
}

// maskedHash hashes k masked with the subtable's mask.
func (st *subtable[T]) maskedHash(k *Key) uint64 { return st.mh.hash(k) }

func newSubtable[T any](mask *Key) *subtable[T] {
	st := &subtable[T]{mask: *mask}
	for i, w := range mask.words() {
		if w != 0 {
			st.ws = append(st.ws, maskWord{i: uint64(i), m: w})
		}
	}
	st.mh.n = len(st.ws)
	for j, mw := range st.ws {
		hw := hashWord{off: mw.i * 8, m: mw.m}
		if j < hashFirst {
			st.mh.first[j] = hw
		} else {
			st.mh.rest = append(st.mh.rest, hw)
		}
	}
	if len(st.mh.rest)%2 == 1 {
		st.mh.rest = append(st.mh.rest, hashWord{})
	}
	st.tab.Store(st.newSlots(16))
	return st
}

// newSlots returns an empty table of n slots (a power of two, at least
// groupSize).
func (st *subtable[T]) newSlots(n int) *slots[T] {
	g := n / groupSize
	t := &slots[T]{gmask: uint64(g - 1), ctrl: make([]group, g), s: make([]slot[T], n)}
	if len(st.ws) > inlineWords {
		t.extra = len(st.ws) - inlineWords
		t.more = make([]atomic.Uint64, n*t.extra)
	}
	for i := range t.ctrl {
		t.ctrl[i].ctrl.Store(lsbs * ctrlEmpty)
	}
	return t
}

// setCtrl sets the control byte of slot i; writers only.
func (t *slots[T]) setCtrl(i uint64, c uint8) {
	w := &t.ctrl[i/groupSize].ctrl
	shift := (i % groupSize) * 8
	w.Store(w.Load()&^(0xff<<shift) | uint64(c)<<shift)
}

// setTag2 sets the extension tag of slot i; writers only.
func (t *slots[T]) setTag2(i uint64, c uint8) {
	w := &t.ctrl[i/groupSize].ext
	shift := (i % groupSize) * 8
	w.Store(w.Load()&^(0x7f<<shift) | uint64(c)<<shift)
}

func (t *slots[T]) ctrlAt(i uint64) uint8 {
	return uint8(t.ctrl[i/groupSize].ctrl.Load() >> ((i % groupSize) * 8))
}

// matchSlot reports whether slot i holds the rule that packet key k
// matches (k is masked on the fly). It returns the rule's value, and
// retry=true when a writer changed the slot while it was being read.
func (st *subtable[T]) matchSlot(t *slots[T], i uint64, k *Key, h uint64) (v *T, retry bool) {
	s := &t.s[i]
	ver := s.ver.Load()
	if ver&1 != 0 {
		return nil, true
	}
	if s.hash.Load() != h {
		return nil, s.ver.Load() != ver
	}
	w := k.words()
	ws := st.ws
	j := 0
	for ; j < len(ws) && j < inlineWords; j++ {
		if s.w[j].Load() != w[ws[j].i]&ws[j].m {
			return nil, s.ver.Load() != ver
		}
	}
	if j < len(ws) {
		more := t.more[int(i)*t.extra:][:t.extra]
		for ; j < len(ws) && j-inlineWords < len(more); j++ {
			if more[j-inlineWords].Load() != w[ws[j].i]&ws[j].m {
				return nil, s.ver.Load() != ver
			}
		}
	}
	v = s.val.Load()
	if s.ver.Load() != ver {
		return nil, true
	}
	return v, false
}

// lookup probes the subtable for packet key k.
func (st *subtable[T]) lookup(k *Key) *T { return st.lookupHash(k, st.maskedHash(k)) }

// lookupHash probes the subtable for packet key k, whose masked hash is h.
func (st *subtable[T]) lookupHash(k *Key, h uint64) *T {
	tags, tags2 := tagWords(h)
again:
	g, _ := splitHash(h)
	t := st.tab.Load()
	for n := uint64(0); n <= t.gmask; n++ {
		g &= t.gmask
		gr := &t.ctrl[g]
		c, e := gr.ctrl.Load(), gr.ext.Load()
		for m := matchHash(c, e, tags, tags2); m != 0; m &= m - 1 {
			v, retry := st.matchSlot(t, g*groupSize+uint64(bits.TrailingZeros64(m)/8), k, h)
			if retry {
				goto again
			}
			if v != nil {
				return v
			}
		}
		if e&overflowed == 0 {
			return nil
		}
		g++
	}
	return nil
}

// slotEqual reports whether live slot i holds masked key mk; writers only.
func (st *subtable[T]) slotEqual(t *slots[T], i uint64, mk *Key, h uint64) bool {
	s := &t.s[i]
	if s.hash.Load() != h {
		return false
	}
	w := mk.words()
	for j, mw := range st.ws {
		if t.word(i, j) != w[mw.i] {
			return false
		}
	}
	return true
}

// word returns masked key word j (in mask word order) of slot i.
func (t *slots[T]) word(i uint64, j int) uint64 {
	if j < inlineWords {
		return t.s[i].w[j].Load()
	}
	return t.more[int(i)*t.extra+j-inlineWords].Load()
}

// find returns the slot index of the rule with masked key mk, or -1. The
// caller holds the classifier's mutex.
func (st *subtable[T]) find(t *slots[T], mk *Key, h uint64) int {
	tags, tags2 := tagWords(h)
	g, _ := splitHash(h)
	for n := uint64(0); n <= t.gmask; n++ {
		g &= t.gmask
		c, e := t.ctrl[g].ctrl.Load(), t.ctrl[g].ext.Load()
		for m := matchHash(c, e, tags, tags2); m != 0; m &= m - 1 {
			i := g*groupSize + uint64(bits.TrailingZeros64(m)/8)
			if st.slotEqual(t, i, mk, h) {
				return int(i)
			}
		}
		if e&overflowed == 0 {
			return -1
		}
		g++
	}
	return -1
}

// store writes a rule into free slot i and then announces it in the
// control byte. words are the masked key words in mask word order.
func (t *slots[T]) store(i uint64, h uint64, words func(j int) uint64, n int, v *T) {
	s := &t.s[i]
	ver := s.ver.Load()
	s.ver.Store(ver + 1)
	s.hash.Store(h)
	for j := 0; j < n; j++ {
		if j < inlineWords {
			s.w[j].Store(words(j))
		} else {
			t.more[int(i)*t.extra+j-inlineWords].Store(words(j))
		}
	}
	s.val.Store(v)
	s.ver.Store(ver + 2)
	_, tag := splitHash(h)
	t.setTag2(i, tag2(h))
	t.setCtrl(i, tag)
}

// freeSlot returns the first empty or deleted slot on h's probe sequence,
// marking the full groups before it as overflowed.
func (t *slots[T]) freeSlot(h uint64) uint64 {
	g, _ := splitHash(h)
	for {
		g &= t.gmask
		gr := &t.ctrl[g]
		if m := matchFree(gr.ctrl.Load()); m != 0 {
			return g*groupSize + uint64(bits.TrailingZeros64(m)/8)
		}
		gr.ext.Store(gr.ext.Load() | overflowed)
		g++
	}
}

// put inserts or replaces the rule with masked key mk; the caller holds
// the classifier's mutex.
func (st *subtable[T]) put(mk *Key, v *T) (old *T, replaced bool) {
	h := st.maskedHash(mk)
	t := st.tab.Load()
	if i := st.find(t, mk, h); i >= 0 {
		// Only the value changes, and it is one atomic word.
		return t.s[i].val.Swap(v), true
	}
	// Keep at most 3/4 of the slots used (live or deleted) so probes stay
	// short and always reach an empty slot.
	if (st.used+1)*4 > len(t.s)*3 {
		t = st.rehash(16)
	}
	i := t.freeSlot(h)
	if t.ctrlAt(i) == ctrlEmpty {
		st.used++
	}
	w := mk.words()
	t.store(i, h, func(j int) uint64 { return w[st.ws[j].i] }, len(st.ws), v)
	st.n++
	return nil, false
}

// rehash copies the live rules into a fresh table of at least n slots
// (and at least twice the rules) and publishes it. The old table is left
// as it is for readers still probing it.
func (st *subtable[T]) rehash(n int) *slots[T] {
	for n < (st.n+1)*2 {
		n *= 2
	}
	old := st.tab.Load()
	t := st.newSlots(n)
	for i := range old.s {
		if old.ctrlAt(uint64(i))&0x80 != 0 {
			continue
		}
		s := &old.s[i]
		h := s.hash.Load()
		t.store(t.freeSlot(h), h, func(j int) uint64 { return old.word(uint64(i), j) }, len(st.ws), s.val.Load())
	}
	st.used = st.n
	st.tab.Store(t)
	return t
}

func (st *subtable[T]) del(mk *Key) (*T, bool) {
	h := st.maskedHash(mk)
	t := st.tab.Load()
	i := st.find(t, mk, h)
	if i < 0 {
		return nil, false
	}
	s := &t.s[i]
	t.setCtrl(uint64(i), ctrlDeleted)
	ver := s.ver.Load()
	s.ver.Store(ver + 1)
	v := s.val.Swap(nil)
	s.hash.Store(0)
	s.ver.Store(ver + 2)
	st.n--
	if st.n > 0 && st.used > 4*st.n && len(t.s) > 16 {
		st.rehash(16)
	}
	return v, true
}

func (st *subtable[T]) hitCount() uint64 {
	var n uint64
	for i := range st.hits {
		n += st.hits[i].n.Load()
	}
	return n
}

// Insert adds the rule (key, mask) with value v, replacing the value of
// an identical rule. Only the bits of key set in mask matter. It reports
// whether a rule was replaced, and the old value. v must not be nil.
func (c *Classifier[T]) Insert(key, mask *Key, v *T) (old *T, replaced bool) {
	if v == nil {
		panic("flow: Classifier.Insert of a nil value")
	}
	mk := key.Masked(mask)
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.subtable(mask)
	if st == nil {
		st = newSubtable[T](mask)
		subs := c.list()
		n := make([]*subtable[T], len(subs), len(subs)+1)
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
func (c *Classifier[T]) Delete(key, mask *Key) (*T, bool) {
	mk := key.Masked(mask)
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.subtable(mask)
	if st == nil {
		return nil, false
	}
	v, ok := st.del(&mk)
	if !ok {
		return nil, false
	}
	c.count.Add(-1)
	if st.n == 0 {
		subs := c.list()
		n := make([]*subtable[T], 0, len(subs)-1)
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
func (c *Classifier[T]) Get(key, mask *Key) (*T, bool) {
	for _, st := range c.list() {
		if st.mask == *mask {
			if v := st.lookup(key); v != nil {
				return v, true
			}
			break
		}
	}
	return nil, false
}

func (c *Classifier[T]) list() []*subtable[T] {
	if p := c.subs.Load(); p != nil {
		return *p
	}
	return nil
}

// subtable returns the subtable of mask; the caller holds c.mu.
func (c *Classifier[T]) subtable(mask *Key) *subtable[T] {
	for _, st := range c.list() {
		if st.mask == *mask {
			return st
		}
	}
	return nil
}

// Lookup returns the value of a rule that packet key k matches (nil if
// none does), and the number of subtables searched. shard spreads the
// subtables' hit counters across goroutines: pass a small number that is
// stable per goroutine (such as a worker index) to keep them from sharing
// cache lines.
func (c *Classifier[T]) Lookup(k *Key, shard int) (v *T, searched int) {
	subs := c.list()
	for i := 0; ; i++ {
		i, h, t, g, m := candidate(subs, i, k)
		if i >= len(subs) {
			return nil, len(subs)
		}
		st := subs[i]
		if v := st.lookupAt(t, g, m, k, h); v != nil {
			st.hits[shard&(hitShards-1)].n.Add(1)
			return v, i + 1
		}
	}
}

// candidate returns the index of the first subtable from subs[i:] that may
// hold key k, k's masked hash there, and the table, group and matchHash
// result that say it may; i is len(subs) if none may. Most
// subtables a lookup searches do not hold the key, and the first group the
// hash selects tells so when no tags there match and the group has not
// overflowed (or the groups after it, if it has). This loop settles those
// without a call (the hash is
// maskHash.hash written out), so that it keeps everything in registers.
func candidate[T any](subs []*subtable[T], i int, k *Key) (_ int, h uint64, t *slots[T], g, m uint64) {
	for ; i < len(subs); i++ {
		st := subs[i]
		p := &st.mh
		f := &p.first
		h := mum(keyWord(k, f[0].off)&f[0].m^hashK0, keyWord(k, f[1].off)&f[1].m^hashK1)
		if p.n > 2 {
			h += mum(keyWord(k, f[2].off)&f[2].m^hashK2, keyWord(k, f[3].off)&f[3].m^hashK3)
			if p.n > 4 {
				h += mum(keyWord(k, f[4].off)&f[4].m^hashK4, keyWord(k, f[5].off)&f[5].m^hashK5)
				for r := p.rest; len(r) > 0; r = r[2:] {
					h += mum(keyWord(k, r[0].off)&r[0].m^hashK6, keyWord(k, r[1].off)&r[1].m^hashK7)
				}
			}
		}
		h = mum(h^hashK1, hashK2)
		t := st.tab.Load()
		g, _ := splitHash(h)
		tags, tags2 := tagWords(h)
		// At most every group once: deletions leave overflow marks, so in
		// a table that has seen much churn every group may carry one.
		for n := uint64(0); n <= t.gmask; n++ {
			g &= t.gmask
			gr := &t.ctrl[g]
			c, e := gr.ctrl.Load(), gr.ext.Load()
			if m := matchHash(c, e, tags, tags2); m != 0 {
				return i, h, t, g, m
			}
			if e&overflowed == 0 {
				break
			}
			g++
		}
	}
	return i, 0, nil, 0, 0
}

// lookupAt finishes a lookup of key k, with masked hash h, that candidate
// started: m is the matchHash result of group g of table t.
func (st *subtable[T]) lookupAt(t *slots[T], g, m uint64, k *Key, h uint64) *T {
	for ; m != 0; m &= m - 1 {
		v, retry := st.matchSlot(t, g*groupSize+uint64(bits.TrailingZeros64(m)/8), k, h)
		if retry {
			return st.lookupHash(k, h)
		}
		if v != nil {
			return v
		}
	}
	if t.ctrl[g].ext.Load()&overflowed == 0 {
		return nil
	}
	// A false match in a group that overflowed: probe from the start.
	return st.lookupHash(k, h)
}

// Rank reorders the subtables by the hits each had since the previous
// Rank, busiest first. Lookups go on meanwhile; call it periodically (OVS
// does so every second).
func (c *Classifier[T]) Rank() {
	c.mu.Lock()
	defer c.mu.Unlock()
	subs := c.list()
	n := make([]*subtable[T], len(subs))
	copy(n, subs)
	delta := make(map[*subtable[T]]uint64, len(n))
	for _, st := range n {
		h := st.hitCount()
		delta[st] = h - st.rank
		st.rank = h
	}
	sort.SliceStable(n, func(i, j int) bool { return delta[n[i]] > delta[n[j]] })
	c.subs.Store(&n)
}

// Len returns the number of rules.
func (c *Classifier[T]) Len() int { return int(c.count.Load()) }

// Masks returns the number of distinct masks (subtables).
func (c *Classifier[T]) Masks() int { return len(c.list()) }

// Range calls f for every rule, in subtable rank order, until f returns
// false. It makes the promise Iterate's iterator makes.
func (c *Classifier[T]) Range(f func(key, mask *Key, v *T) bool) {
	it := c.Iterate()
	var k Key
	for {
		mask, v := it.Next(&k)
		if v == nil || !f(&k, mask, v) {
			return
		}
	}
}

// Iterator walks a classifier's rules; see Iterate.
type Iterator[T any] struct {
	subs []*subtable[T]
	si   int
	t    *slots[T]
	i    int
}

// Iterate returns an iterator over the rules. It never blocks writers and
// is consistent under concurrent changes in this sense: a rule present
// from the start of the walk to its end is returned exactly once; a rule
// inserted or deleted during the walk may or may not be returned (and one
// deleted and inserted again, as a new rule, may be returned twice). The
// walk takes the subtable list and each subtable's table as published
// when it reaches them; a table is never reorganized in place, only
// replaced.
func (c *Classifier[T]) Iterate() *Iterator[T] { return &Iterator[T]{subs: c.list()} }

// Next stores the next rule's masked key in k and returns its mask and
// value, or a nil value at the end. The mask belongs to the classifier:
// do not modify it.
func (it *Iterator[T]) Next(k *Key) (mask *Key, v *T) {
	for it.si < len(it.subs) {
		st := it.subs[it.si]
		if it.t == nil {
			it.t, it.i = st.tab.Load(), 0
		}
		for it.i < len(it.t.s) {
			i := it.i
			it.i++
			if it.t.ctrlAt(uint64(i))&0x80 != 0 {
				continue
			}
			*k = Key{}
			if v := st.readSlot(it.t, uint64(i), k); v != nil {
				return &st.mask, v
			}
		}
		it.si++
		it.t = nil
	}
	return nil, nil
}

// readSlot reads live slot i's rule into k (masked) and returns its value,
// or nil if the slot holds no rule.
func (st *subtable[T]) readSlot(t *slots[T], i uint64, k *Key) *T {
	s := &t.s[i]
	kw := k.words()
	for {
		if t.ctrlAt(i)&0x80 != 0 {
			return nil
		}
		ver := s.ver.Load()
		if ver&1 != 0 {
			continue
		}
		for j, mw := range st.ws {
			kw[mw.i] = t.word(i, j)
		}
		v := s.val.Load()
		if s.ver.Load() == ver {
			return v
		}
	}
}

// Clear removes every rule.
func (c *Classifier[T]) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.subs.Store(&[]*subtable[T]{})
	c.count.Store(0)
}
