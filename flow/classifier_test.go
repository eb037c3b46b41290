package flow

import (
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// linear is the naive reference classifier: a list of rules scanned in
// order.
type linear struct {
	rules []linearRule
}

type linearRule struct {
	key, mask Key
	val       int
}

func (l *linear) insert(key, mask *Key, v int) {
	mk := key.Masked(mask)
	for i := range l.rules {
		if l.rules[i].mask == *mask && l.rules[i].key == mk {
			l.rules[i].val = v
			return
		}
	}
	l.rules = append(l.rules, linearRule{mk, *mask, v})
}

func (l *linear) delete(key, mask *Key) bool {
	mk := key.Masked(mask)
	for i := range l.rules {
		if l.rules[i].mask == *mask && l.rules[i].key == mk {
			l.rules = append(l.rules[:i], l.rules[i+1:]...)
			return true
		}
	}
	return false
}

// matching returns the values of every rule k matches.
func (l *linear) matching(k *Key) map[int]bool {
	out := map[int]bool{}
	for i := range l.rules {
		if l.rules[i].key.Matches(k, &l.rules[i].mask) {
			out[l.rules[i].val] = true
		}
	}
	return out
}

// randomMask builds a mask from a few random field groups.
func randomMask(r *rand.Rand) Key {
	var m Key
	m.InPort = ^uint32(0)
	m.EthType = 0xffff
	if r.Intn(10) == 0 {
		// Every bit: wider than a slot's inline words.
		for i := range m.words() {
			m.words()[i] = ^uint64(0)
		}
		return m
	}
	for n := 1 + r.Intn(4); n > 0; n-- {
		switch r.Intn(9) {
		case 0:
			m.EthSrc = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		case 1:
			m.EthDst = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		case 2:
			m.NwSrc = prefixMask4(8 + r.Intn(25))
		case 3:
			m.NwDst = prefixMask4(8 + r.Intn(25))
		case 4:
			m.NwProto = 0xff
		case 5:
			m.TpSrc = 0xffff
		case 6:
			m.TpDst = 0xffff
		case 7:
			m.VlanTCI[0] = 0xffff
		case 8:
			m.NwFrag = FragMask
		}
	}
	return m
}

// randomKey draws fields from small value sets so that rules and packets
// collide often.
func randomKey(r *rand.Rand) Key {
	var k Key
	k.InPort = uint32(1 + r.Intn(3))
	k.EthType = []uint16{EthTypeIPv4, EthTypeIPv6, EthTypeARP}[r.Intn(3)]
	k.EthSrc = [6]byte{0, 0, 0, 0, 0, byte(r.Intn(4))}
	k.EthDst = [6]byte{0, 0, 0, 0, 0, byte(r.Intn(4))}
	k.NwSrc = [4]byte{10, 0, byte(r.Intn(3)), byte(r.Intn(4))}
	k.NwDst = [4]byte{10, byte(r.Intn(2)), byte(r.Intn(3)), byte(r.Intn(4))}
	k.NwProto = []uint8{6, 17, 1}[r.Intn(3)]
	k.TpSrc = uint16(r.Intn(4))
	k.TpDst = uint16(r.Intn(4))
	k.VlanTCI[0] = uint16(r.Intn(3)) | VLANCFI
	k.NwFrag = uint8(r.Intn(2))
	return k
}

func TestClassifierRandomDifferential(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewSource(seed))
	for round := 0; round < 20; round++ {
		var c Classifier[int]
		var ref linear
		vals := make([]int, 600)
		for i := range vals {
			vals[i] = i
		}
		masks := make([]Key, 1+r.Intn(20))
		for i := range masks {
			masks[i] = randomMask(r)
		}
		type rule struct{ k, m Key }
		var live []rule
		for op := 0; op < 600; op++ {
			switch {
			case len(live) > 0 && r.Intn(4) == 0:
				i := r.Intn(len(live))
				ru := live[i]
				live = append(live[:i], live[i+1:]...)
				_, ok := c.Delete(&ru.k, &ru.m)
				if ok != ref.delete(&ru.k, &ru.m) {
					t.Fatalf("round %d: delete disagrees", round)
				}
			default:
				ru := rule{randomKey(r), masks[r.Intn(len(masks))]}
				_, replaced := c.Insert(&ru.k, &ru.m, &vals[op])
				existed := false
				for _, x := range live {
					if x.m == ru.m && x.k.Masked(&x.m) == ru.k.Masked(&ru.m) {
						existed = true
					}
				}
				if replaced != existed {
					t.Fatalf("round %d: insert replaced=%v, reference %v", round, replaced, existed)
				}
				if !existed {
					live = append(live, ru)
				}
				ref.insert(&ru.k, &ru.m, op)
			}
			if c.Len() != len(ref.rules) {
				t.Fatalf("round %d: Len %d, reference %d", round, c.Len(), len(ref.rules))
			}
			if op%50 == 0 {
				c.Rank()
			}
			for p := 0; p < 8; p++ {
				k := randomKey(r)
				if p%2 == 1 && len(live) > 0 {
					// A key that matches a live rule, unmasked bits random.
					ru := live[r.Intn(len(live))]
					kw, rw, mw := k.words(), ru.k.words(), ru.m.words()
					for i := range kw {
						kw[i] = rw[i]&mw[i] | kw[i]&^mw[i]
					}
				}
				want := ref.matching(&k)
				vp, _ := c.Lookup(&k, 0)
				ok := vp != nil
				if ok != (len(want) > 0) || (ok && !want[*vp]) {
					t.Fatalf("round %d: lookup of %s = %v; reference matches %v", round, Format(&k, &Key{InPort: ^uint32(0), EthType: 0xffff}), vp, want)
				}
			}
		}
		n := 0
		c.Range(func(key, mask *Key, v *int) bool {
			n++
			if *key != key.Masked(mask) {
				t.Fatalf("Range gave an unmasked key")
			}
			if got, ok := c.Get(key, mask); !ok || got != v {
				t.Fatalf("Get after Range: %v,%v want %v", got, ok, v)
			}
			found := false
			for _, ru := range ref.rules {
				if ru.mask == *mask && ru.key == *key && ru.val == *v {
					found = true
				}
			}
			if !found {
				t.Fatalf("Range gave a rule the reference does not have")
			}
			return true
		})
		if n != len(ref.rules) {
			t.Fatalf("Range saw %d rules, want %d", n, len(ref.rules))
		}
	}
}

func TestClassifierRank(t *testing.T) {
	var c Classifier[int]
	var a, b Key
	ma := Key{InPort: ^uint32(0)}
	mb := Key{EthType: 0xffff}
	a.InPort = 1
	b.EthType = EthTypeIPv4
	one, two := 1, 2
	c.Insert(&a, &ma, &one)
	c.Insert(&b, &mb, &two)
	pk := Key{InPort: 7, EthType: EthTypeIPv4}
	for i := 0; i < 10; i++ {
		if v, n := c.Lookup(&pk, i); v != &two || n != 2 {
			t.Fatalf("before rank: %v %d", v, n)
		}
	}
	c.Rank()
	if _, n := c.Lookup(&pk, 0); n != 1 {
		t.Errorf("after rank the busy subtable is searched %dth, want first", n)
	}
	if _, ok := c.Delete(&b, &mb); !ok || c.Masks() != 1 {
		t.Errorf("delete: masks %d", c.Masks())
	}
	c.Clear()
	if c.Len() != 0 || c.Masks() != 0 {
		t.Errorf("after Clear: %d rules, %d masks", c.Len(), c.Masks())
	}
}

// TestClassifierConcurrent looks up continuously while rules are inserted
// and deleted; a lookup must never return a rule its key does not match.
func TestClassifierConcurrent(t *testing.T) {
	var c Classifier[linearRule]
	r := rand.New(rand.NewSource(1))
	masks := []Key{randomMask(r), randomMask(r), randomMask(r)}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var lookups atomic.Int64
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			r := rand.New(rand.NewSource(int64(g) + 100))
			for !stop.Load() {
				k := randomKey(r)
				if v, _ := c.Lookup(&k, g); v != nil && !v.key.Matches(&k, &v.mask) {
					t.Errorf("lookup returned a rule that does not match")
					return
				}
				lookups.Add(1)
			}
		}(g)
	}
	var live []*linearRule
	deadline := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) {
		if len(live) > 200 || (len(live) > 0 && r.Intn(3) == 0) {
			i := r.Intn(len(live))
			c.Delete(&live[i].key, &live[i].mask)
			live = append(live[:i], live[i+1:]...)
			continue
		}
		k, m := randomKey(r), masks[r.Intn(len(masks))]
		ru := &linearRule{key: k.Masked(&m), mask: m}
		if _, replaced := c.Insert(&ru.key, &ru.mask, ru); replaced {
			for i := range live {
				if live[i].mask == ru.mask && live[i].key == ru.key {
					live[i] = ru
				}
			}
		} else {
			live = append(live, ru)
		}
	}
	stop.Store(true)
	wg.Wait()
	if lookups.Load() == 0 {
		t.Fatal("no lookups ran")
	}
}

func TestClassifierLookupAllocs(t *testing.T) {
	var c Classifier[int]
	r := rand.New(rand.NewSource(2))
	v := 1
	for i := 0; i < 1000; i++ {
		k, m := randomKey(r), randomMask(r)
		c.Insert(&k, &m, &v)
	}
	k := randomKey(r)
	if n := testing.AllocsPerRun(1000, func() { c.Lookup(&k, 0) }); n != 0 {
		t.Errorf("Lookup allocates %v times", n)
	}
}

// TestClassifierIterateConsistent walks the rules while another goroutine
// inserts and deletes others (growing and shrinking tables): every rule
// present throughout is returned exactly once.
func TestClassifierIterateConsistent(t *testing.T) {
	var c Classifier[int]
	masks := []Key{{InPort: ^uint32(0), NwDst: [4]byte{255, 255, 255, 255}}, {InPort: ^uint32(0), TpDst: 0xffff}}
	rule := func(i int) (Key, *Key) {
		var k Key
		k.InPort = uint32(i)
		k.NwDst = [4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}
		k.TpDst = uint16(i)
		return k, &masks[i%2]
	}
	vals := make([]int, 20000)
	for i := range vals {
		vals[i] = i
	}
	const stable = 2000
	for i := 0; i < stable; i++ {
		k, m := rule(i)
		c.Insert(&k, m, &vals[i])
	}
	var wg sync.WaitGroup
	var stop atomic.Bool
	wg.Add(1)
	go func() {
		defer wg.Done()
		for round := 0; !stop.Load(); round++ {
			// Grow well past the stable set, then shrink back.
			for i := stable; i < len(vals); i++ {
				k, m := rule(i)
				c.Insert(&k, m, &vals[i])
			}
			for i := stable; i < len(vals); i++ {
				k, m := rule(i)
				c.Delete(&k, m)
			}
		}
	}()
	for walk := 0; walk < 5; walk++ {
		seen := map[int]int{}
		it := c.Iterate()
		var k Key
		for n := 0; ; n++ {
			mask, v := it.Next(&k)
			if v == nil {
				break
			}
			if !k.Matches(&k, mask) || k != k.Masked(mask) {
				t.Fatalf("rule %d: key not masked", *v)
			}
			seen[*v]++
			if n%97 == 0 {
				time.Sleep(10 * time.Microsecond) // let the writer move things
			}
		}
		for i := 0; i < stable; i++ {
			if seen[i] != 1 {
				t.Fatalf("walk %d: stable rule %d returned %d times", walk, i, seen[i])
			}
		}
	}
	stop.Store(true)
	wg.Wait()
}

// TestClassifierHashWidths checks that the hash a lookup computes inline
// (candidate) is the one rules are stored under (maskHash.hash), for masks
// of every width from one word to the whole key.
func TestClassifierHashWidths(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for width := 1; width <= KeyWords; width++ {
		var mask Key
		for _, i := range r.Perm(KeyWords)[:width] {
			mask.words()[i] = r.Uint64() | 1
		}
		st := newSubtable[int](&mask)
		var k Key
		for i := range k.words() {
			k.words()[i] = r.Uint64()
		}
		want := st.maskedHash(&k)
		mk := k.Masked(&mask)
		if got := st.maskedHash(&mk); got != want {
			t.Fatalf("width %d: masked key hashes to %#x, key to %#x", width, got, want)
		}
		// candidate reports a hash only when the group may hold the key:
		// store a rule for k so that it does.
		v := 1
		st.put(&mk, &v)
		if _, h, _, _, _ := candidate([]*subtable[int]{st}, 0, &k); h != want {
			t.Fatalf("width %d: lookup hash %#x, stored under %#x", width, h, want)
		}
	}
}

// TestClassifierOverflow fills one subtable to its load limit again and
// again, with deletions between, so that groups fill up and probes must
// follow overflow marks; every live rule must stay reachable and no
// deleted one may be found.
func TestClassifierOverflow(t *testing.T) {
	var c Classifier[int]
	mask := Key{InPort: ^uint32(0), NwSrc: [4]byte{0xff, 0xff, 0xff, 0xff}}
	key := func(i int) Key {
		return Key{InPort: 1, NwSrc: [4]byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}}
	}
	r := rand.New(rand.NewSource(4))
	live := map[int]bool{}
	vals := make([]int, 20000)
	for round := 0; round < 6; round++ {
		for i := 0; i < 3000; i++ {
			n := r.Intn(len(vals))
			k := key(n)
			if live[n] && r.Intn(2) == 0 {
				if _, ok := c.Delete(&k, &mask); !ok {
					t.Fatalf("delete of live rule %d failed", n)
				}
				delete(live, n)
				continue
			}
			vals[n] = n
			c.Insert(&k, &mask, &vals[n])
			live[n] = true
		}
		for n := range vals {
			k := key(n)
			v, _ := c.Lookup(&k, 0)
			if live[n] != (v != nil) || (v != nil && *v != n) {
				t.Fatalf("round %d: lookup of rule %d: %v, live %v", round, n, v, live[n])
			}
		}
	}
	marked := 0
	tab := c.list()[0].tab.Load()
	for i := range tab.ctrl {
		if tab.ctrl[i].ext.Load()&overflowed != 0 {
			marked++
		}
	}
	if marked == 0 {
		t.Fatalf("no group overflowed: the test does not exercise overflow")
	}
}

// TestClassifierAllOverflowed checks that a lookup that misses ends when
// every group of a table carries an overflow mark (as churn can leave
// them), rather than going round the table for ever.
func TestClassifierAllOverflowed(t *testing.T) {
	var c Classifier[int]
	mask := Key{InPort: ^uint32(0)}
	v := 1
	c.Insert(&Key{InPort: 1}, &mask, &v)
	tab := c.list()[0].tab.Load()
	for i := range tab.ctrl {
		tab.ctrl[i].ext.Store(tab.ctrl[i].ext.Load() | overflowed)
	}
	if got, _ := c.Lookup(&Key{InPort: 1}, 0); got != &v {
		t.Fatalf("lookup of the rule: %v", got)
	}
	done := make(chan *int)
	go func() {
		got, _ := c.Lookup(&Key{InPort: 2}, 0)
		done <- got
	}()
	select {
	case got := <-done:
		if got != nil {
			t.Fatalf("lookup of an absent key: %v", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("lookup of an absent key does not end")
	}
}
