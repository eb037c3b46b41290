// Package dp is the datapath: numbered ports (vports) over io.Port
// devices, a masked flow table, the receive -> extract -> lookup -> execute
// pipeline, upcalls of missed packets to a slow path, and statistics.
//
// A Datapath can be driven two ways. Start runs one polling goroutine per
// port, as OVS's userspace datapath does; Process (or a Worker's Process)
// pushes a batch through the pipeline synchronously, which is what offline
// tools and deterministic tests want.
package dp

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/flow"
	dpio "github.com/b7cafead/datapath/io"
)

// Errors returned by datapath operations. They mirror the errno values OVS
// returns for the same conditions.
var (
	ErrExist    = errors.New("dp: already exists")       // EEXIST
	ErrNotExist = errors.New("dp: no such flow or port") // ENOENT
	ErrInvalid  = errors.New("dp: invalid argument")     // EINVAL
	ErrClosed   = errors.New("dp: datapath closed")
)

// UpcallHandler is a Go slow path: it is called for every packet that
// matches no flow, on the goroutine that processes the packet or, with
// Config.UpcallQueueLen, on a handler goroutine. It may execute actions on
// the packet and install a flow through the Upcall. It must not retain the
// Upcall or its packet after returning.
type UpcallHandler func(u *Upcall)

// Config configures a datapath. The zero value is a datapath without a
// slow path: missed packets are counted and dropped.
type Config struct {
	// Name is the datapath's name, as ovs-dpctl show prints it.
	Name string
	// Upcall handles packets that match no flow. Without it, upcalls go
	// to the per-pid queues of OpenUpcallQueue, chosen by the input
	// port's upcall pids; a packet with no queue to go to is lost.
	Upcall UpcallHandler
	// UpcallQueueLen, when positive, makes Upcall asynchronous: the
	// pipeline copies a missed packet into a queue of this many and goes
	// on, and UpcallWorkers goroutines (1 if zero) call the handler. A
	// flood of misses then costs the pipeline a copy per packet, and
	// packets that find the queue full are counted as lost. When zero,
	// the pipeline calls the handler itself, which suits a handler that
	// answers fast and wants the packet's flow installed before the rest
	// of its batch is looked up.
	UpcallQueueLen int
	UpcallWorkers  int
	// EMCInsertInvProb is the inverse probability with which a packet
	// that hits a megaflow is inserted into its worker's exact-match
	// cache (flow.DefaultEMCInsertInvProb when zero; 1 inserts every
	// hit). A negative value disables the exact-match cache.
	EMCInsertInvProb int
	// Clock returns the current time in nanoseconds (time.Now's
	// UnixNano when nil). Meters measure time with it: tests give a
	// clock of their own to meter deterministically.
	Clock func() int64
}

// Datapath is a userspace OVS-style datapath.
type Datapath struct {
	name   string
	upcall UpcallHandler

	mu     sync.Mutex // serializes port and flow changes
	ports  atomic.Pointer[map[uint32]*Vport]
	flows  table
	closed bool

	hit, missed, lost atomic.Uint64
	drops             struct{ action, invalidPort, txError, txFull, recirc, meter atomic.Uint64 }
	maskHits          atomic.Uint64 // subtables searched by hits, for hit/pkt
	emcHit            atomic.Uint64
	emcInvProb        uint32 // 0: no exact-match cache
	workers           atomic.Int32
	tunnelDrops       [actions.NumTunnelDrops]atomic.Uint64 // by reason

	defWorker struct {
		sync.Mutex
		w *Worker
	}
	pollers  sync.WaitGroup
	started  bool
	stopRank chan struct{}

	subs     []*Subscription // under mu
	eventSeq uint64          // under mu

	async  *asyncUpcalls // asynchronous Go handler, or nil
	queues atomic.Pointer[map[uint32]*UpcallQueue]

	clock   func() int64 // Config.Clock
	meterMu sync.Mutex   // serializes meter changes
	meters  atomic.Pointer[meterTable]
}

// New returns an empty datapath.
func New(cfg Config) *Datapath {
	if cfg.Name == "" {
		cfg.Name = "dp0"
	}
	d := &Datapath{name: cfg.Name, upcall: cfg.Upcall, clock: cfg.Clock}
	d.meters.Store(&meterTable{})
	switch {
	case cfg.EMCInsertInvProb == 0:
		d.emcInvProb = flow.DefaultEMCInsertInvProb
	case cfg.EMCInsertInvProb > 0:
		d.emcInvProb = uint32(cfg.EMCInsertInvProb)
	}
	m := map[uint32]*Vport{}
	d.ports.Store(&m)
	q := map[uint32]*UpcallQueue{}
	d.queues.Store(&q)
	if cfg.Upcall != nil && cfg.UpcallQueueLen > 0 {
		d.startAsync(cfg.UpcallQueueLen, cfg.UpcallWorkers)
	}
	return d
}

// Name returns the datapath's name.
func (d *Datapath) Name() string { return d.name }

// PortType is a vport's type, numbered as OVS's enum ovs_vport_type.
type PortType uint32

// Vport types. Of the tunnel types, AddPortConfig takes PortVXLAN,
// PortGeneve and PortGRE; the others are named here for the netlink
// protocol.
const (
	PortNetdev    PortType = 1   // a network device
	PortInternal  PortType = 2   // a device the datapath implements (the bridge's own port)
	PortGRE       PortType = 3   // GRE tunnel
	PortVXLAN     PortType = 4   // VXLAN tunnel
	PortGeneve    PortType = 5   // Geneve tunnel
	PortLISP      PortType = 105 // LISP tunnel
	PortSTT       PortType = 106 // STT tunnel
	PortERSPAN    PortType = 107 // ERSPAN tunnel
	PortIP6ERSPAN PortType = 108 // ERSPAN over IPv6
	PortIP6GRE    PortType = 109 // GRE over IPv6
	PortGTPU      PortType = 110 // GTP-U tunnel
	PortBareUDP   PortType = 111 // bare UDP tunnel
)

var portTypeNames = map[PortType]string{
	PortNetdev: "netdev", PortInternal: "internal", PortGRE: "gre", PortVXLAN: "vxlan",
	PortGeneve: "geneve", PortLISP: "lisp", PortSTT: "stt", PortERSPAN: "erspan",
	PortIP6ERSPAN: "ip6erspan", PortIP6GRE: "ip6gre", PortGTPU: "gtpu", PortBareUDP: "bareudp",
}

// String returns the type's name as OVS writes it, such as "vxlan".
func (t PortType) String() string {
	if n, ok := portTypeNames[t]; ok {
		return n
	}
	return "type-" + strconv.FormatUint(uint64(t), 10)
}

// PortConfig configures a vport.
type PortConfig struct {
	// Type is the vport type; PortNetdev when zero.
	Type PortType
	// UpcallPIDs are the netlink port ids to which upcalls of packets
	// received on this port are sent (OVS_VPORT_ATTR_UPCALL_PID); empty
	// for none.
	UpcallPIDs []uint32
	// Layer3 says that the device carries packets without a link layer
	// header, as an IP tunnel or a tun device does: a packet received on
	// it is IPv4 or IPv6 by its version (the first four bits), with the
	// packet type packet_type(ns=1,id=0x800) or (ns=1,id=0x86dd), or of
	// packet type (ns=1,id=0) if it is neither; flows match it without
	// eth(). Packets are sent to it as they are, whatever their type.
	Layer3 bool
	// TunnelDstPort is the UDP destination port of a VXLAN or Geneve
	// port (OVS_TUNNEL_ATTR_DST_PORT); zero means the IANA port, 4789
	// or 6081. The datapath records it: as in OVS, which packets a
	// tnl_pop decapsulates is the flows' choice.
	TunnelDstPort uint16
}

// tunnelTypes maps the tunnel vport types the datapath has to the
// actions package's tunnel types, with their default UDP ports and the
// names OVS gives their devices.
var tunnelTypes = map[PortType]struct {
	typ     uint32
	dstPort uint16
	name    string
}{
	PortVXLAN:  {actions.TunnelVXLAN, 4789, "vxlan_sys_"},
	PortGeneve: {actions.TunnelGeneve, 6081, "genev_sys_"},
	PortGRE:    {actions.TunnelGRE, 0, "gre_sys"},
}

// Vport is a datapath port: a numbered attachment of an io.Port.
type Vport struct {
	no   uint32
	dev  dpio.Port
	typ  PortType
	l3   bool // PortConfig.Layer3
	pids atomic.Pointer[[]uint32]
	info dpio.PortInfo // as of the last event; under Datapath.mu

	tnl     *actions.TunnelPort // a tunnel port's state, or nil
	dstPort uint16              // a UDP tunnel's destination port

	rxPackets, rxBytes, rxErrors, rxDropped atomic.Uint64
	txPackets, txBytes, txErrors, txDropped atomic.Uint64

	stop chan struct{}
	done chan struct{}
}

// No returns the port number.
func (v *Vport) No() uint32 { return v.no }

// Type returns the vport's type.
func (v *Vport) Type() PortType { return v.typ }

// TunnelDstPort returns the UDP destination port of a VXLAN or Geneve
// port, or 0.
func (v *Vport) TunnelDstPort() uint16 { return v.dstPort }

// Layer3 reports whether the port carries packets without a link layer
// header (PortConfig.Layer3).
func (v *Vport) Layer3() bool { return v.l3 }

// UpcallPIDs returns the netlink port ids upcalls from this port go to.
func (v *Vport) UpcallPIDs() []uint32 {
	if p := v.pids.Load(); p != nil {
		return append([]uint32(nil), *p...)
	}
	return nil
}

// SetUpcallPIDs replaces the netlink port ids upcalls from this port go to
// (OVS_VPORT_CMD_SET with OVS_VPORT_ATTR_UPCALL_PID).
func (v *Vport) SetUpcallPIDs(pids []uint32) {
	p := append([]uint32(nil), pids...)
	v.pids.Store(&p)
}

// Device returns the io.Port behind the vport.
func (v *Vport) Device() dpio.Port { return v.dev }

// Name returns the device's name.
func (v *Vport) Name() string { return v.dev.Info().Name }

// Stats returns the vport's counters as the datapath counted them: what
// it received from the device and what it handed to the device.
func (v *Vport) Stats() dpio.PortStats {
	return dpio.PortStats{
		RxPackets: v.rxPackets.Load(), RxBytes: v.rxBytes.Load(),
		RxErrors: v.rxErrors.Load(), RxDropped: v.rxDropped.Load(),
		TxPackets: v.txPackets.Load(), TxBytes: v.txBytes.Load(),
		TxErrors: v.txErrors.Load(), TxDropped: v.txDropped.Load(),
	}
}

// AddPort attaches dev as netdev port number no. It fails with ErrExist if
// the number or the device's name is taken. If the datapath was started,
// the port is polled at once. Subscribers get an EventPortAdded.
func (d *Datapath) AddPort(no uint32, dev dpio.Port) (*Vport, error) {
	return d.AddPortConfig(no, dev, PortConfig{})
}

// AddPortConfig is AddPort with a vport type and upcall pids.
//
// A tunnel port (PortVXLAN, PortGeneve, PortGRE) is what tnl_push and
// tnl_pop name: tnl_push encapsulates as its type says, and a packet
// tnl_pop decapsulates enters the datapath again from it (in_port is the
// tunnel port, the key's tunnel fields are set). It receives nothing
// itself and is not polled. dev may be nil for it: the datapath then
// gives it a device that discards what it is sent, named as OVS names
// it ("vxlan_sys_4789", "genev_sys_6081", "gre_sys"). Other tunnel types
// are refused (ErrInvalid).
func (d *Datapath) AddPortConfig(no uint32, dev dpio.Port, cfg PortConfig) (*Vport, error) {
	var tnl *actions.TunnelPort
	var dstPort uint16
	switch cfg.Type {
	case 0:
		cfg.Type = PortNetdev
	case PortNetdev, PortInternal:
	case PortVXLAN, PortGeneve, PortGRE:
		tt := tunnelTypes[cfg.Type]
		tnl = &actions.TunnelPort{Type: tt.typ}
		if tt.dstPort != 0 {
			dstPort = cfg.TunnelDstPort
			if dstPort == 0 {
				dstPort = tt.dstPort
			}
		} else if cfg.TunnelDstPort != 0 {
			return nil, fmt.Errorf("%w: port %d: a %v port has no UDP port", ErrInvalid, no, cfg.Type)
		}
		if dev == nil {
			name := tt.name
			if dstPort != 0 {
				name += strconv.Itoa(int(dstPort))
			}
			dev = dpio.NewDiscard(name)
		}
	default:
		return nil, fmt.Errorf("%w: port %d: vport type %v is not supported", ErrInvalid, no, cfg.Type)
	}
	if dev == nil {
		return nil, fmt.Errorf("%w: port %d: no device", ErrInvalid, no)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, ErrClosed
	}
	old := *d.ports.Load()
	if _, ok := old[no]; ok {
		return nil, fmt.Errorf("port %d: %w", no, ErrExist)
	}
	name := dev.Info().Name
	for _, v := range old {
		if v.Name() == name {
			return nil, fmt.Errorf("port name %q: %w", name, ErrExist)
		}
	}
	v := &Vport{no: no, dev: dev, typ: cfg.Type, l3: cfg.Layer3, info: dev.Info(), tnl: tnl, dstPort: dstPort}
	v.SetUpcallPIDs(cfg.UpcallPIDs)
	m := make(map[uint32]*Vport, len(old)+1)
	for k, x := range old {
		m[k] = x
	}
	m[no] = v
	d.ports.Store(&m)
	d.emit(EventPortAdded, no, v.info)
	if d.started && tnl == nil {
		d.poll(v)
	}
	return v, nil
}

// DelPort detaches port no, closes its device and waits for its polling
// goroutine (if any) to finish the batch it holds. Subscribers get an
// EventPortRemoved.
func (d *Datapath) DelPort(no uint32) error {
	d.mu.Lock()
	old := *d.ports.Load()
	v, ok := old[no]
	if !ok {
		d.mu.Unlock()
		return fmt.Errorf("port %d: %w", no, ErrNotExist)
	}
	m := make(map[uint32]*Vport, len(old))
	for k, x := range old {
		if k != no {
			m[k] = x
		}
	}
	d.ports.Store(&m)
	d.emit(EventPortRemoved, no, v.info)
	d.mu.Unlock()
	err := d.stopPort(v)
	return err
}

func (d *Datapath) stopPort(v *Vport) error {
	if v.stop != nil {
		close(v.stop)
	}
	err := v.dev.Close()
	if v.done != nil {
		<-v.done
	}
	return err
}

// Port returns port no, or nil.
func (d *Datapath) Port(no uint32) *Vport { return (*d.ports.Load())[no] }

// PortByName returns the port whose device has the given name, or nil.
func (d *Datapath) PortByName(name string) *Vport {
	for _, v := range *d.ports.Load() {
		if v.Name() == name {
			return v
		}
	}
	return nil
}

// Ports returns the ports in number order.
func (d *Datapath) Ports() []*Vport { return d.portsSorted() }

func (d *Datapath) portsSorted() []*Vport {
	m := *d.ports.Load()
	out := make([]*Vport, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].no < out[j].no })
	return out
}

// PutFlags select the behaviour of PutFlow, as OVS_FLOW_CMD_NEW and
// OVS_FLOW_CMD_SET with NLM_F_CREATE do.
type PutFlags uint8

// Flags for PutFlow.
const (
	PutCreate    PutFlags = 1 << iota // create the flow if it does not exist
	PutModify                         // change the actions of an existing flow
	PutZeroStats                      // with PutModify: clear its counters
	PutProbe                          // report errors without logging (no effect here)
)

// NormalizeMatch applies the datapath's rules to a match before it is
// installed, as OVS's userspace datapath does: the recirculation id is
// always matched exactly, and a match that says nothing of the outer VLAN
// tag matches its VLAN id and presence bit (the datapath key cannot say
// "any VLAN", so no VLAN attribute means no VLAN tag). It fails if the
// input port is not matched exactly. The key keeps its values as given
// (see flow.Match).
func NormalizeMatch(m flow.Match) (flow.Match, error) {
	if m.Mask.InPort != ^uint32(0) {
		return m, fmt.Errorf("%w: in_port is not an exact match", ErrInvalid)
	}
	m.Mask.RecircID = ^uint32(0)
	if m.Mask.VlanTCI[0] == 0 {
		m.Mask.VlanTCI[0] = flow.VLANCFI | 0x0fff
	}
	return m, nil
}

// PutFlow installs or modifies a flow, as OVS's userspace datapath does.
// The flow's key, as written (m.Key, bits outside the mask included), is
// looked up as if it were a packet: a flow with exactly this match, or
// else any flow on the same port that the key hits (an overlapping flow),
// is the existing flow. Then:
//
//   - none and PutCreate: the flow is created;
//   - none otherwise: ErrNotExist;
//   - one and PutModify: its actions are replaced (and with PutZeroStats
//     its counters cleared);
//   - one and PutCreate: ErrExist;
//   - one otherwise: ErrInvalid (an overlapping flow).
//
// The actions are validated first: an action the datapath cannot execute
// is refused, with an error that wraps both ErrInvalid and the actions
// package's error (actions.ErrNotImplemented for an action not
// implemented yet). A new flow's UFID is derived from m.Key as OVS
// derives one (flow.NewUFID); see PutFlowUFID to give one.
func (d *Datapath) PutFlow(m flow.Match, acts actions.List, flags PutFlags) (*Flow, error) {
	return d.PutFlowUFID(flow.UFID{}, m, acts, flags)
}

// PutFlowUFID is PutFlow for a flow named by ufid (a zero ufid: derived
// from m.Key). Creating a flow whose UFID another flow already has fails
// with ErrExist, as in the Linux datapath; modifying a flow keeps the UFID
// it has.
func (d *Datapath) PutFlowUFID(ufid flow.UFID, m flow.Match, acts actions.List, flags PutFlags) (*Flow, error) {
	if err := acts.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if ufid.IsZero() {
		ufid = flow.NewUFID(&m.Key)
	}
	m, err := NormalizeMatch(m)
	if err != nil {
		return nil, err
	}
	acts = append(actions.List(nil), acts...)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, ErrClosed
	}
	f := d.flows.get(&m)
	if f == nil {
		// As OVS does, look up the key as written, unmasked: bits
		// outside the mask take part.
		f, _ = d.flows.lookup(&m.Key, 0)
	}
	if f != nil {
		switch {
		case flags&PutModify != 0:
			f.acts.Store(newFlowActions(acts))
			if flags&PutZeroStats != 0 {
				f.clearStats()
			}
			return f, nil
		case flags&PutCreate != 0:
			if f.match != m {
				return nil, fmt.Errorf("%w: flow %v overlaps it", ErrExist, f.match)
			}
			return nil, ErrExist
		default:
			return nil, fmt.Errorf("%w: flow %v overlaps it", ErrInvalid, f.match)
		}
	}
	if flags&PutCreate == 0 {
		return nil, ErrNotExist
	}
	if d.flows.byUFID(ufid) != nil {
		return nil, fmt.Errorf("%w: another flow has UFID %v", ErrExist, ufid)
	}
	f = &Flow{match: m, ufid: ufid, created: time.Now()}
	f.acts.Store(newFlowActions(acts))
	d.flows.insert(f)
	return f, nil
}

// GetFlow returns the flow with exactly this match (after normalization).
func (d *Datapath) GetFlow(m flow.Match) (*Flow, error) {
	m, err := NormalizeMatch(m)
	if err != nil {
		return nil, err
	}
	if f := d.flows.get(&m); f != nil {
		return f, nil
	}
	return nil, ErrNotExist
}

// GetFlowUFID returns the flow named ufid.
func (d *Datapath) GetFlowUFID(ufid flow.UFID) (*Flow, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if f := d.flows.byUFID(ufid); f != nil {
		return f, nil
	}
	return nil, ErrNotExist
}

// DelFlow removes the flow with exactly this match and returns it with its
// final counters.
func (d *Datapath) DelFlow(m flow.Match) (*Flow, error) {
	m, err := NormalizeMatch(m)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if f := d.flows.remove(&m); f != nil {
		return f, nil
	}
	return nil, ErrNotExist
}

// DelFlowUFID removes the flow named ufid and returns it with its final
// counters.
func (d *Datapath) DelFlowUFID(ufid flow.UFID) (*Flow, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f := d.flows.byUFID(ufid)
	if f == nil {
		return nil, ErrNotExist
	}
	return d.flows.remove(&f.match), nil
}

// Flows returns a snapshot of the installed flows in installation order.
func (d *Datapath) Flows() []*Flow { return d.flows.all() }

// FlushFlows removes every flow.
func (d *Datapath) FlushFlows() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.flows.flush()
}

// Lookup returns the flow a packet with key k would hit, or nil.
func (d *Datapath) Lookup(k *flow.Key) *Flow {
	f, _ := d.flows.lookup(k, 0)
	return f
}

// Stats are datapath-wide counters in the shape of ovs-dpctl show.
type Stats struct {
	Hit    uint64 // packets that matched a flow
	Missed uint64 // packets that matched no flow
	Lost   uint64 // missed packets that no slow path received
	Flows  int    // installed flows
	Masks  int    // distinct masks
	// MaskHits is the number of masks searched by the hits that went to
	// the classifier; divided by those hits it is OVS's "masks hit/pkt".
	MaskHits uint64
	// EMCHit is the number of hits served by exact-match caches.
	EMCHit uint64
	// Drops counts packets (or copies) dropped after a lookup, by reason.
	// With Missed (upcalled or lost), they account for every packet the
	// datapath accepted that no port transmitted.
	Drops DropStats
}

// DropStats are the datapath's drop counters by reason.
type DropStats struct {
	// Action counts packets that hit a flow whose actions sent them
	// nowhere (drop, or no output).
	Action uint64
	// InvalidPort counts packets sent to a port that does not exist.
	InvalidPort uint64
	// TxError counts packets a port's device failed to send (closed,
	// too large); TxFull those it had no room for. The ports count them
	// too (TxErrors, TxDropped).
	TxError, TxFull uint64
	// Recirc counts packets dropped because they recirculated more
	// than 6 times (OVS's MAX_RECIRC_DEPTH), tnl_pop counting as a
	// recirculation.
	Recirc uint64
	// TunnelPush counts packets tnl_push dropped: its tunnel port is not
	// one, or the header did not fit (OVS's
	// datapath_drop_tunnel_push_error).
	TunnelPush uint64
	// InvalidTunnelPort counts packets dropped by a tnl_pop whose port
	// is not a tunnel port (datapath_drop_invalid_tnl_port).
	InvalidTunnelPort uint64
	// TunnelPop counts packets tnl_pop found malformed for its port
	// (datapath_drop_tunnel_pop_error); TunnelPopReasons splits them
	// by reason, indexed by actions.TunnelDrop.
	TunnelPop        uint64
	TunnelPopReasons [actions.NumTunnelDrops]uint64
	// Meter counts packets (or copies) a meter dropped (OVS's
	// datapath_drop_meter).
	Meter uint64
}

// Stats returns the datapath's counters.
func (d *Datapath) Stats() Stats {
	flows, masks := d.flows.size()
	var tnl [actions.NumTunnelDrops]uint64
	var pop uint64
	for i := range tnl {
		tnl[i] = d.tunnelDrops[i].Load()
		if r := actions.TunnelDrop(i); r != actions.DropTunnelPush && r != actions.DropInvalidTunnelPort {
			pop += tnl[i]
		}
	}
	st := Stats{Hit: d.hit.Load(), Missed: d.missed.Load(), Lost: d.lost.Load(),
		Flows: flows, Masks: masks, MaskHits: d.maskHits.Load(), EMCHit: d.emcHit.Load(),
		Drops: DropStats{Action: d.drops.action.Load(), InvalidPort: d.drops.invalidPort.Load(),
			TxError: d.drops.txError.Load(), TxFull: d.drops.txFull.Load(), Recirc: d.drops.recirc.Load(),
			TunnelPush: tnl[actions.DropTunnelPush], InvalidTunnelPort: tnl[actions.DropInvalidTunnelPort],
			TunnelPop: pop, Meter: d.drops.meter.Load()}}
	st.Drops.TunnelPopReasons = tnl
	st.Drops.TunnelPopReasons[actions.DropTunnelPush] = 0
	st.Drops.TunnelPopReasons[actions.DropInvalidTunnelPort] = 0
	return st
}

// Start begins polling every port, and every port added later, on its own
// goroutine. A port whose device reports the end of its data (io.EOF)
// stops being polled; Close or DelPort stops the others.
func (d *Datapath) Start() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.started || d.closed {
		return
	}
	d.started = true
	for _, v := range *d.ports.Load() {
		if v.tnl == nil {
			d.poll(v)
		}
	}
	// Re-rank the classifier's subtables by recent hits once a second,
	// as dpif-netdev does for each PMD's dpcls.
	d.stopRank = make(chan struct{})
	d.pollers.Add(1)
	go func() {
		defer d.pollers.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-d.stopRank:
				return
			case <-t.C:
				d.flows.rank()
				d.CheckPorts()
			}
		}
	}()
}

func (d *Datapath) poll(v *Vport) {
	v.stop = make(chan struct{})
	v.done = make(chan struct{})
	d.pollers.Add(1)
	go func() {
		defer d.pollers.Done()
		defer close(v.done)
		w := d.NewWorker()
		batch := dpio.NewBatch(v.dev.BatchSize())
		for {
			n, err := v.dev.Read(batch)
			if n > 0 {
				w.Process(v.no, batch[:n])
			}
			if err != nil {
				if !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.EOF) {
					v.rxErrors.Add(1)
					select {
					case <-v.stop:
						return
					case <-time.After(10 * time.Millisecond):
						continue
					}
				}
				return
			}
		}
	}()
}

// Close stops polling, closes every port's device and waits for the
// polling goroutines to exit. Packets already accepted by a poller are
// processed before it exits.
func (d *Datapath) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	ports := *d.ports.Load()
	if d.stopRank != nil {
		close(d.stopRank)
	}
	for _, v := range d.portsSorted() {
		d.emit(EventPortRemoved, v.no, v.info)
	}
	for len(d.subs) > 0 {
		d.unsubscribe(d.subs[0])
	}
	d.mu.Unlock()
	var first error
	for _, v := range ports {
		if err := d.stopPort(v); err != nil && first == nil {
			first = err
		}
	}
	d.pollers.Wait()
	// The pollers are done: no more upcalls. Let the handlers finish
	// what is queued, and close the per-pid queues.
	if d.async != nil {
		d.async.stop()
	}
	for _, q := range *d.queues.Load() {
		q.q.close()
	}
	return first
}

// Process pushes a batch received on port inPort through the pipeline on
// the calling goroutine and transmits the results before returning. The
// caller keeps ownership of pkts. Concurrent calls are serialized; use a
// Worker per goroutine to process in parallel.
func (d *Datapath) Process(inPort uint32, pkts []*dpio.Packet) {
	d.defWorker.Lock()
	if d.defWorker.w == nil {
		d.defWorker.w = d.NewWorker()
	}
	d.defWorker.w.Process(inPort, pkts)
	d.defWorker.Unlock()
}

// Execute runs acts on a copy of pkt as if it had arrived on port inPort
// (OVS_PACKET_CMD_EXECUTE) and transmits the results.
func (d *Datapath) Execute(inPort uint32, pkt []byte, acts actions.List) error {
	if err := acts.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	d.defWorker.Lock()
	defer d.defWorker.Unlock()
	if d.defWorker.w == nil {
		d.defWorker.w = d.NewWorker()
	}
	return d.defWorker.w.Execute(inPort, pkt, acts)
}
