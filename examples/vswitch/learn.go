package main

import (
	"sync"
	"time"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/dp"
	"github.com/b7cafead/datapath/flow"
)

// Defaults of the ageing flags, OVS's: a datapath flow idle for 10 s is
// removed (other_config:max-idle), a learned address not seen for 300 s
// is forgotten (other_config:mac-aging-time).
const (
	defaultMaxIdle = 10 * time.Second
	defaultMACAge  = 300 * time.Second
)

// macKey is a learned address on a VLAN (0: untagged).
type macKey struct {
	vlan uint16
	mac  [6]byte
}

// macEntry is where a learned address lives and when it was last seen.
type macEntry struct {
	port uint32
	seen time.Time
}

// learner is the MAC-learning slow path. It also ages what it learned:
// sweep removes the flows it installed once they are idle, and forgets
// addresses not seen for a while, so that hosts that leave or move while
// silent do not keep stale entries.
type learner struct {
	ports   []uint32 // every port, set before the datapath starts
	maxIdle time.Duration
	macAge  time.Duration
	now     func() time.Time // the clock of learning and ageing

	mu   sync.Mutex
	macs map[macKey]macEntry
	// learned are the flows the learner installed, with when it did; only
	// they are ever expired or deleted by it (flows from -flows stay).
	learned map[*dp.Flow]time.Time

	flooded, installed, moves, aged, expired uint64
}

func newLearner(ports []uint32, maxIdle, macAge time.Duration) *learner {
	return &learner{ports: ports, maxIdle: maxIdle, macAge: macAge, now: time.Now,
		macs: map[macKey]macEntry{}, learned: map[*dp.Flow]time.Time{}}
}

func vlanOf(k *flow.Key) uint16 {
	if k.VlanTCI[0]&flow.VLANCFI == 0 {
		return 0
	}
	return k.VlanTCI[0] & 0x0fff
}

// flowMACs returns the source and destination addresses of a flow the
// learner installed.
func flowMACs(f *dp.Flow) (src, dst macKey) {
	m := f.Match()
	v := vlanOf(&m.Key)
	return macKey{v, m.Key.EthSrc}, macKey{v, m.Key.EthDst}
}

// upcall handles a miss: learn, then install a flow or flood.
func (l *learner) upcall(u *dp.Upcall) {
	if u.Type != dp.UpcallMiss {
		return
	}
	k := &u.Key
	vlan := vlanOf(k)
	now := l.now()
	var stale []*dp.Flow
	l.mu.Lock()
	if k.EthSrc[0]&1 == 0 { // never learn a multicast source
		src := macKey{vlan, k.EthSrc}
		if old, ok := l.macs[src]; ok && old.port != u.InPort {
			// The address moved: the learned flows to it, and those
			// from it on its old port, are now wrong.
			l.moves++
			stale = l.flowsOfLocked(src)
		}
		l.macs[src] = macEntry{port: u.InPort, seen: now}
	}
	var out uint32
	known := false
	if k.EthDst[0]&1 == 0 {
		var e macEntry
		e, known = l.macs[macKey{vlan, k.EthDst}]
		out = e.port
	}
	if known && out != u.InPort {
		l.installed++
	} else {
		l.flooded++
	}
	l.mu.Unlock()
	l.delete(u.Datapath(), stale)

	if known && out == u.InPort {
		return // the destination is on the port it came from: drop
	}
	if known {
		var m flow.Match
		m.Key.InPort, m.Mask.InPort = u.InPort, ^uint32(0)
		m.Key.EthSrc, m.Key.EthDst = k.EthSrc, k.EthDst
		m.Mask.EthSrc = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		m.Mask.EthDst = m.Mask.EthSrc
		m.Key.VlanTCI[0], m.Mask.VlanTCI[0] = k.VlanTCI[0]&(flow.VLANCFI|0x0fff), flow.VLANCFI|0x0fff
		if f, err := u.Install(m, actions.List{actions.Output(out)}); err == nil {
			// Install may return a flow that was already there (another
			// packet won the race, or a -flows flow covers this one):
			// only a flow with exactly the learned match is the learner's.
			if nm, err := dp.NormalizeMatch(m); err == nil && f.Match() == nm {
				l.mu.Lock()
				if e, ok := l.macs[macKey{vlan, k.EthDst}]; !ok || e.port != out {
					// The destination moved (or aged) while the flow
					// was being installed: the move could not see it.
					l.mu.Unlock()
					u.Datapath().DelFlowUFID(f.UFID())
					return
				}
				if _, ok := l.learned[f]; !ok {
					l.learned[f] = now
				}
				l.mu.Unlock()
			}
			return
		}
		// Could not install (a -flows flow overlaps): just send it.
		u.Execute(actions.List{actions.Output(out)})
		return
	}
	flood := make(actions.List, 0, len(l.ports))
	for _, p := range l.ports {
		if p != u.InPort {
			flood = append(flood, actions.Output(p))
		}
	}
	if len(flood) > 0 {
		u.Execute(flood)
	}
}

// flowsOfLocked returns the learned flows from or to address a, and
// forgets them. Under mu.
func (l *learner) flowsOfLocked(a macKey) []*dp.Flow {
	var fs []*dp.Flow
	for f := range l.learned {
		if src, dst := flowMACs(f); src == a || dst == a {
			fs = append(fs, f)
			delete(l.learned, f)
		}
	}
	return fs
}

// delete removes flows from the datapath (those already gone are fine).
func (l *learner) delete(d *dp.Datapath, fs []*dp.Flow) {
	for _, f := range fs {
		d.DelFlowUFID(f.UFID())
	}
}

// sweep ages what was learned, as of now:
//   - a learned flow hit recently counts as its source address being
//     seen then (hits never reach the slow path, so this is how addresses
//     that only ever hit flows stay alive);
//   - a learned flow idle for maxIdle (since its last hit, or since it
//     was installed if it never was) is removed;
//   - an address not seen for macAge is forgotten, with the learned flows
//     to it, so that frames for it are flooded again.
func (l *learner) sweep(d *dp.Datapath, now time.Time) {
	var del []*dp.Flow
	l.mu.Lock()
	for f, at := range l.learned {
		if !f.Alive() { // deleted by someone else (a flush, a client)
			delete(l.learned, f)
			continue
		}
		last := at
		if u := f.Stats().Used; u.After(last) {
			last = u
		}
		src, _ := flowMACs(f)
		if e, ok := l.macs[src]; ok && last.After(e.seen) {
			e.seen = last
			l.macs[src] = e
		}
		if now.Sub(last) >= l.maxIdle {
			del = append(del, f)
			delete(l.learned, f)
			l.expired++
		}
	}
	for a, e := range l.macs {
		if now.Sub(e.seen) >= l.macAge {
			delete(l.macs, a)
			l.aged++
			for _, f := range l.flowsOfLocked(a) {
				del = append(del, f)
				l.expired++
			}
		}
	}
	l.mu.Unlock()
	l.delete(d, del)
}

// age runs sweep every interval until stop is closed.
func (l *learner) age(d *dp.Datapath, interval time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			l.sweep(d, l.now())
		}
	}
}
