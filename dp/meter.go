package dp

import (
	"errors"
	"fmt"
	"sync"
	"time"

	dpio "github.com/b7cafead/datapath/io"
)

// Meters, as OVS 3.1's userspace datapath has them (lib/dpif-netdev.c):
// a meter is a set of bands, each a token bucket with a rate and a burst
// size, in kilobits or in packets. The meter action sends each packet
// through its meter; a packet that exceeds a band's rate fires the band
// (of those it exceeds, the one with the highest rate) and, every band
// being of type drop, is dropped.
//
// The arithmetic is OVS's: time is counted in whole milliseconds (the
// clock's reading divided by 10^6, each reading rounded down before they
// are subtracted), a bucket holds thousandths of a packet (pktps) or bits
// (kbps) and starts full, gains rate tokens per millisecond up to
// 1000 * burst, and a packet takes 1000 tokens (pktps) or 8 per byte
// (kbps) from every band whose bucket has that many. The time elapsed since
// the meter was last used is capped at the time the largest bucket takes
// to fill, computed as OVS does (burst * 1000 / rate, rounded down, for
// each band), so a band whose burst is below a thousandth of its rate
// never refills, as in OVS. A burst size of 0 is the rate.
//
// OVS meters a batch of packets at a time, with one reading of the clock
// for each batch received; the worker reads the clock once per batch too
// (at the first packet that meets a meter), and meters the packets one by
// one, which for the packets of one flow passes and drops the same ones
// as OVS's batch arithmetic. Packets of several flows through one meter
// in one batch are metered in arrival order here, while OVS meters each
// flow's packets together, flows in the order of their first packet:
// for a packets-per-second meter the totals agree, which packets pass
// may not.

// MaxMeters is the number of meter ids: ids 0 to MaxMeters-1 are valid
// (OVS's MAX_METERS).
const MaxMeters = 1 << 18

// MaxMeterBands is the most bands a meter has (OVS's MAX_BANDS).
const MaxMeterBands = 8

// MeterFlags are a meter's flags, OpenFlow 1.3's OFPMF13_*.
type MeterFlags uint16

// Meter flags. Exactly one of MeterFlagKbps and MeterFlagPktps must be given.
// MeterFlagBurst and MeterFlagStats are accepted and change nothing: the datapath
// always uses the bands' burst sizes and always counts.
const (
	MeterFlagKbps  MeterFlags = 1 << 0 // rates and bursts in kilobits (per second)
	MeterFlagPktps MeterFlags = 1 << 1 // rates and bursts in packets (per second)
	MeterFlagBurst MeterFlags = 1 << 2 // the bands' burst sizes apply
	MeterFlagStats MeterFlags = 1 << 3 // keep statistics
)

// MeterBandType is a band's type, OpenFlow 1.3's OFPMBT13_*.
type MeterBandType uint16

// Meter band types. The datapath implements drop only, as OVS's
// userspace datapath.
const (
	MeterBandDrop       MeterBandType = 1 // drop the packet
	MeterBandDSCPRemark MeterBandType = 2 // lower the DSCP drop precedence (not supported)
)

// MeterBand is a band of a meter's configuration.
type MeterBand struct {
	Type MeterBandType
	// Rate is the rate above which the band fires, in kbps or packets
	// per second as the meter's flags say. It must not be 0.
	Rate uint32
	// BurstSize is the bucket's size, in kilobits or packets; 0 means
	// Rate.
	BurstSize uint32
}

// MeterConfig is a meter's configuration, as OVS's struct
// ofputil_meter_config.
type MeterConfig struct {
	Flags MeterFlags
	Bands []MeterBand
}

// MeterStats are a meter's counters.
type MeterStats struct {
	// Packets and Bytes count the packets that went through the meter,
	// passed or dropped.
	Packets, Bytes uint64
	// Bands count, for each band of the configuration in order, the
	// packets that fired it (and were dropped).
	Bands []MeterBandStats
}

// MeterBandStats are a band's counters.
type MeterBandStats struct {
	Packets, Bytes uint64
}

// Errors of MeterSet, MeterGet and MeterDel, besides ErrInvalid (no band,
// or more than MaxMeterBands) and ErrNotExist (no such meter). Each
// stands for the errno OVS's dpif layer returns for the same condition.
var (
	ErrMeterID       = errors.New("dp: meter id out of range")            // EFBIG
	ErrMeterFlags    = errors.New("dp: meter flags not supported")        // EBADF
	ErrMeterBandType = errors.New("dp: meter band type not supported")    // ENODEV
	ErrMeterRate     = errors.New("dp: meter band rate must not be zero") // EDOM
)

// meter is a datapath meter. Its mutex serializes the workers that meter
// packets through it and the readers of its counters.
type meter struct {
	mu       sync.Mutex
	pktps    bool
	nbands   int
	maxDelta uint64 // milliseconds
	used     int64  // the clock when last used, nanoseconds
	packets  uint64
	bytes    uint64
	bands    [MaxMeterBands]meterBand
}

type meterBand struct {
	rate    uint64 // per second
	max     uint64 // the bucket's capacity: burst size * 1000
	bucket  uint64 // thousandths of packets, or bits
	packets uint64
	bytes   uint64
}

// newMeter returns a meter for a valid configuration, its buckets full.
func newMeter(cfg *MeterConfig, now int64) *meter {
	m := &meter{pktps: cfg.Flags&MeterFlagPktps != 0, nbands: len(cfg.Bands), used: now}
	for i, b := range cfg.Bands {
		burst := b.BurstSize
		if burst == 0 {
			burst = b.Rate
		}
		mb := &m.bands[i]
		mb.rate = uint64(b.Rate)
		mb.max = uint64(burst) * 1000
		mb.bucket = mb.max
		// OVS keeps this in 32 bits, truncating it.
		m.maxDelta = max(m.maxDelta, uint64(uint32(mb.max/mb.rate)))
	}
	return m
}

// pass meters one packet of size bytes at time now (nanoseconds) and
// reports whether it passes.
func (m *meter) pass(now int64, size int) bool {
	m.mu.Lock()
	dt := now/1e6 - m.used/1e6
	if dt < 0 {
		// Another worker used the meter with a later reading: OVS
		// takes the two as simultaneous.
		dt = 0
	}
	delta := min(uint64(dt), m.maxDelta)
	m.used = now
	m.packets++
	m.bytes += uint64(size)
	volume := uint64(size) * 8
	if m.pktps {
		volume = 1000
	}
	fired := -1
	var firedRate uint64
	for i := range m.bands[:m.nbands] {
		b := &m.bands[i]
		b.bucket = min(b.bucket+delta*b.rate, b.max)
		if b.bucket >= volume {
			b.bucket -= volume
		} else if b.rate > firedRate {
			fired, firedRate = i, b.rate
		}
	}
	if fired >= 0 {
		b := &m.bands[fired]
		b.packets++
		b.bytes += uint64(size)
	}
	m.mu.Unlock()
	return fired < 0
}

// stats returns the meter's counters.
func (m *meter) stats() MeterStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := MeterStats{Packets: m.packets, Bytes: m.bytes, Bands: make([]MeterBandStats, m.nbands)}
	for i := range s.Bands {
		s.Bands[i] = MeterBandStats{Packets: m.bands[i].packets, Bytes: m.bands[i].bytes}
	}
	return s
}

// checkMeter validates a meter configuration as OVS's dpif layer and
// userspace datapath do, in their order.
func checkMeter(id uint32, cfg *MeterConfig) error {
	units := cfg.Flags & (MeterFlagKbps | MeterFlagPktps)
	if units == 0 || units == MeterFlagKbps|MeterFlagPktps {
		return fmt.Errorf("%w: meter %d: exactly one of kbps and pktps is needed", ErrMeterFlags, id)
	}
	if len(cfg.Bands) == 0 {
		return fmt.Errorf("%w: meter %d has no band", ErrInvalid, id)
	}
	for i, b := range cfg.Bands {
		if b.Rate == 0 {
			return fmt.Errorf("%w: meter %d band %d", ErrMeterRate, id, i)
		}
	}
	if id >= MaxMeters {
		return fmt.Errorf("%w: meter %d (the largest is %d)", ErrMeterID, id, MaxMeters-1)
	}
	if extra := cfg.Flags &^ (MeterFlagKbps | MeterFlagPktps | MeterFlagBurst | MeterFlagStats); extra != 0 {
		return fmt.Errorf("%w: meter %d flags %#x", ErrMeterFlags, id, uint16(extra))
	}
	if len(cfg.Bands) > MaxMeterBands {
		return fmt.Errorf("%w: meter %d has %d bands (at most %d)", ErrInvalid, id, len(cfg.Bands), MaxMeterBands)
	}
	for i, b := range cfg.Bands {
		if b.Type != MeterBandDrop {
			return fmt.Errorf("%w: meter %d band %d has type %d", ErrMeterBandType, id, i, b.Type)
		}
	}
	return nil
}

// smallMeters is how many meter ids, from 0, a meterTable holds in an
// array; OVS's bridge numbers datapath meters from 0 up, so these are the
// ones in use.
const smallMeters = 1024

// meterTable is the datapath's set of meters, replaced whole (copy on
// write) by every change, so that lookups take no lock.
type meterTable struct {
	small [smallMeters]*meter
	big   map[uint32]*meter // ids from smallMeters on
}

// get returns meter id, or nil.
func (t *meterTable) get(id uint32) *meter {
	if id < smallMeters {
		return t.small[id]
	}
	return t.big[id]
}

// with returns a copy of t where id is m (nil: removed).
func (t *meterTable) with(id uint32, m *meter) *meterTable {
	n := &meterTable{small: t.small}
	if id < smallMeters {
		n.small[id] = m
	}
	if len(t.big) > 0 || (id >= smallMeters && m != nil) {
		n.big = make(map[uint32]*meter, len(t.big)+1)
		for k, v := range t.big {
			n.big[k] = v
		}
		if id >= smallMeters {
			if m != nil {
				n.big[id] = m
			} else {
				delete(n.big, id)
			}
		}
	}
	return n
}

// now reads the datapath's clock, in nanoseconds.
func (d *Datapath) now() int64 {
	if d.clock != nil {
		return d.clock()
	}
	return time.Now().UnixNano()
}

// MeterSet creates meter id, or replaces it (with new, zero counters and
// full buckets), as OVS's dpif_meter_set: the configuration must give
// exactly one of MeterFlagKbps and MeterFlagPktps (else ErrMeterFlags), no other
// flag than those and MeterFlagBurst and MeterFlagStats (ErrMeterFlags), 1 to
// MaxMeterBands bands (ErrInvalid), all of type drop (ErrMeterBandType)
// and with a rate (ErrMeterRate); id must be below MaxMeters
// (ErrMeterID).
func (d *Datapath) MeterSet(id uint32, cfg MeterConfig) error {
	if err := checkMeter(id, &cfg); err != nil {
		return err
	}
	m := newMeter(&cfg, d.now())
	d.meterMu.Lock()
	defer d.meterMu.Unlock()
	d.meters.Store(d.meters.Load().with(id, m))
	return nil
}

// MeterGet returns meter id's counters. It fails with ErrMeterID for an
// id not below MaxMeters and ErrNotExist for a meter that is not set.
func (d *Datapath) MeterGet(id uint32) (MeterStats, error) {
	if id >= MaxMeters {
		return MeterStats{}, fmt.Errorf("%w: meter %d", ErrMeterID, id)
	}
	m := d.meters.Load().get(id)
	if m == nil {
		return MeterStats{}, fmt.Errorf("meter %d: %w", id, ErrNotExist)
	}
	return m.stats(), nil
}

// MeterDel removes meter id and returns its final counters, failing as
// MeterGet. Packets that meet a meter action of a removed meter pass, as
// for any meter that does not exist.
func (d *Datapath) MeterDel(id uint32) (MeterStats, error) {
	if id >= MaxMeters {
		return MeterStats{}, fmt.Errorf("%w: meter %d", ErrMeterID, id)
	}
	d.meterMu.Lock()
	defer d.meterMu.Unlock()
	t := d.meters.Load()
	m := t.get(id)
	if m == nil {
		return MeterStats{}, fmt.Errorf("meter %d: %w", id, ErrNotExist)
	}
	d.meters.Store(t.with(id, nil))
	return m.stats(), nil
}

// Meter implements actions.Meterer: pkt goes through meter id at the time
// the worker read for its batch. A packet the meter drops is counted in
// DropStats.Meter; one that meets a meter that does not exist passes.
func (w *Worker) Meter(id uint32, pkt *dpio.Packet) bool {
	d := w.d
	m := d.meters.Load().get(id)
	if m == nil {
		return true
	}
	if !w.meterNowSet {
		w.meterNow, w.meterNowSet = d.now(), true
	}
	if m.pass(w.meterNow, pkt.Len()) {
		return true
	}
	d.drops.meter.Add(1)
	w.nout++ // accounted for: not an action drop too
	return false
}
