package afxdp

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	dpio "github.com/b7cafead/datapath/io"
)

// Port is a datapath port on one receive queue of a network interface,
// made by Open. Read and Write may be called from different goroutines at
// once, and each is also safe for concurrent use with itself (calls are
// serialized).
type Port struct {
	name      string
	ifindex   int
	queue     int
	headroom  int
	batch     int
	frameSize uint64

	fd   int // the AF_XDP socket
	efd  int // eventfd that wakes a blocked Read on Close
	umem []byte
	fill ring
	comp ring
	rx   ring
	tx   ring

	prog *ebpf.Program
	xsks *ebpf.Map
	lnk  link.Link

	stats  dpio.Counters
	closed atomic.Bool
	rmu    sync.Mutex // serializes Read, and Read against Close
	wmu    sync.Mutex // serializes Write, and Write against Close
	cmu    sync.Mutex // serializes Close
	done   bool       // resources released (under cmu, rmu and wmu)
	final  unix.XDPStatistics

	txFree []uint64 // free tx frame addresses (under wmu)
}

// ring is one of the four rings shared with the kernel.
type ring struct {
	mem   []byte
	prod  *uint32
	cons  *uint32
	mask  uint32
	descs []unix.XDPDesc // rx, tx
	addrs []uint64       // fill, completion
}

func (r *ring) init(mem []byte, off unix.XDPRingOffset, n uint32, desc bool) {
	r.mem = mem
	r.prod = (*uint32)(unsafe.Pointer(&mem[off.Producer]))
	r.cons = (*uint32)(unsafe.Pointer(&mem[off.Consumer]))
	r.mask = n - 1
	if desc {
		r.descs = unsafe.Slice((*unix.XDPDesc)(unsafe.Pointer(&mem[off.Desc])), n)
	} else {
		r.addrs = unsafe.Slice((*uint64)(unsafe.Pointer(&mem[off.Desc])), n)
	}
}

// Open binds a Port to queue cfg.Queue of interface ifname: it creates the
// AF_XDP socket and its UMEM, loads and attaches the XDP program that
// redirects the queue's frames to the socket, and stocks the fill ring.
// Errors that mean AF_XDP cannot be used here wrap ErrUnavailable.
func Open(ifname string, cfg Config) (*Port, error) {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = dpio.DefaultBatchSize
	}
	if cfg.Headroom <= 0 {
		cfg.Headroom = dpio.DefaultHeadroom
	}
	if cfg.RingSize == 0 {
		cfg.RingSize = defaultRingSize
	}
	if cfg.FrameSize == 0 {
		cfg.FrameSize = defaultFrameSize
	}
	if cfg.RingSize < 0 || cfg.RingSize&(cfg.RingSize-1) != 0 || cfg.RingSize > 1<<16 {
		return nil, fmt.Errorf("afxdp: ring size %d is not a power of two up to 65536", cfg.RingSize)
	}
	if cfg.FrameSize != 2048 && cfg.FrameSize != 4096 {
		return nil, fmt.Errorf("afxdp: frame size %d is not 2048 or 4096", cfg.FrameSize)
	}
	if cfg.Queue < 0 {
		return nil, fmt.Errorf("afxdp: negative queue %d", cfg.Queue)
	}
	var mode link.XDPAttachFlags
	switch cfg.Mode {
	case ModeGeneric:
		mode = link.XDPGenericMode
	case ModeDriver:
		mode = link.XDPDriverMode
	default:
		return nil, fmt.Errorf("afxdp: unknown mode %d", cfg.Mode)
	}
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("afxdp: %w", err)
	}
	if n := rxQueues(ifname); n > 0 && cfg.Queue >= n {
		return nil, fmt.Errorf("afxdp: %s has %d receive queues, no queue %d", ifname, n, cfg.Queue)
	}

	p := &Port{name: ifname, ifindex: ifi.Index, queue: cfg.Queue, headroom: cfg.Headroom, batch: cfg.BatchSize,
		frameSize: uint64(cfg.FrameSize), fd: -1, efd: -1}
	ok := false
	defer func() {
		if !ok {
			p.release()
		}
	}()

	p.fd, err = unix.Socket(unix.AF_XDP, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: socket: %w", ErrUnavailable, err)
	}
	p.efd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("afxdp: eventfd: %w", err)
	}

	// The UMEM: RingSize frames to receive into, RingSize to send from.
	n := uint32(cfg.RingSize)
	frames := 2 * int(n)
	p.umem, err = unix.Mmap(-1, 0, frames*cfg.FrameSize, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("afxdp: mmap umem: %w", err)
	}
	reg := unix.XDPUmemReg{
		Addr: uint64(uintptr(unsafe.Pointer(&p.umem[0]))),
		Len:  uint64(len(p.umem)),
		Size: uint32(cfg.FrameSize),
	}
	if err := setsockopt(p.fd, unix.XDP_UMEM_REG, unsafe.Pointer(&reg), unsafe.Sizeof(reg)); err != nil {
		return nil, fmt.Errorf("%w: XDP_UMEM_REG: %w", ErrUnavailable, err)
	}
	for _, opt := range []int{unix.XDP_UMEM_FILL_RING, unix.XDP_UMEM_COMPLETION_RING, unix.XDP_RX_RING, unix.XDP_TX_RING} {
		size := int32(n)
		if err := setsockopt(p.fd, opt, unsafe.Pointer(&size), 4); err != nil {
			return nil, fmt.Errorf("afxdp: setting ring %d size: %w", opt, err)
		}
	}
	var off unix.XDPMmapOffsets
	olen := uint32(unsafe.Sizeof(off))
	if _, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(p.fd), unix.SOL_XDP, unix.XDP_MMAP_OFFSETS,
		uintptr(unsafe.Pointer(&off)), uintptr(unsafe.Pointer(&olen)), 0); e != 0 {
		return nil, fmt.Errorf("%w: XDP_MMAP_OFFSETS: %w", ErrUnavailable, e)
	}
	if olen != uint32(unsafe.Sizeof(off)) {
		return nil, fmt.Errorf("%w: kernel too old (XDP_MMAP_OFFSETS without ring flags)", ErrUnavailable)
	}
	descSize := uint64(unsafe.Sizeof(unix.XDPDesc{}))
	rings := []struct {
		r    *ring
		off  unix.XDPRingOffset
		pg   int64
		size uint64
		desc bool
	}{
		{&p.fill, off.Fr, unix.XDP_UMEM_PGOFF_FILL_RING, 8, false},
		{&p.comp, off.Cr, unix.XDP_UMEM_PGOFF_COMPLETION_RING, 8, false},
		{&p.rx, off.Rx, unix.XDP_PGOFF_RX_RING, descSize, true},
		{&p.tx, off.Tx, unix.XDP_PGOFF_TX_RING, descSize, true},
	}
	for _, r := range rings {
		mem, err := unix.Mmap(p.fd, r.pg, int(r.off.Desc+uint64(n)*r.size),
			unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
		if err != nil {
			return nil, fmt.Errorf("afxdp: mmap ring: %w", err)
		}
		r.r.init(mem, r.off, n, r.desc)
	}

	// Stock the fill ring with the receive frames; the rest are for
	// sending.
	for i := uint32(0); i < n; i++ {
		p.fill.addrs[i] = uint64(i) * p.frameSize
	}
	atomic.StoreUint32(p.fill.prod, n)
	p.txFree = make([]uint64, 0, n)
	for i := n; i < 2*n; i++ {
		p.txFree = append(p.txFree, uint64(i)*p.frameSize)
	}

	// The XDP program and its socket map.
	maxEntries := uint32(cfg.Queue + 1)
	if q := rxQueues(ifname); q > int(maxEntries) {
		maxEntries = uint32(q)
	}
	p.xsks, err = ebpf.NewMap(&ebpf.MapSpec{Name: "afxdp_xsks", Type: ebpf.XSKMap,
		KeySize: 4, ValueSize: 4, MaxEntries: maxEntries})
	if err != nil {
		return nil, fmt.Errorf("%w: XSKMAP: %w", ErrUnavailable, err)
	}
	p.prog, err = ebpf.NewProgram(&ebpf.ProgramSpec{Name: "afxdp_redirect", Type: ebpf.XDP,
		License: "Dual MIT/GPL", Instructions: program(p.xsks.FD())})
	if err != nil {
		return nil, fmt.Errorf("%w: loading XDP program: %w", ErrUnavailable, err)
	}

	flags := uint16(unix.XDP_COPY)
	if cfg.ZeroCopy {
		flags = unix.XDP_ZEROCOPY
	}
	// A socket closed just before on the same queue releases it
	// asynchronously (its UMEM pool goes after an RCU grace period):
	// retry EBUSY for a moment.
	sa := &unix.SockaddrXDP{Flags: flags, Ifindex: uint32(ifi.Index), QueueID: uint32(cfg.Queue)}
	for start := time.Now(); ; time.Sleep(5 * time.Millisecond) {
		err = unix.Bind(p.fd, sa)
		if err != unix.EBUSY || time.Since(start) > time.Second {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("afxdp: bind to %s queue %d: %w", ifname, cfg.Queue, err)
	}
	if err := p.xsks.Put(uint32(cfg.Queue), uint32(p.fd)); err != nil {
		return nil, fmt.Errorf("afxdp: registering the socket in the XSKMAP: %w", err)
	}
	p.lnk, err = link.AttachXDP(link.XDPOptions{Program: p.prog, Interface: ifi.Index, Flags: mode})
	if errors.Is(err, ebpf.ErrNotSupported) || errors.Is(err, unix.EOPNOTSUPP) {
		return nil, fmt.Errorf("%w: attaching XDP program to %s in %v mode: %w", ErrUnavailable, ifname, cfg.Mode, err)
	}
	if err != nil {
		return nil, fmt.Errorf("afxdp: attaching XDP program to %s in %v mode: %w", ifname, cfg.Mode, err)
	}
	ok = true
	return p, nil
}

// program returns the XDP program: redirect the frame to the XSKMAP
// entry of the queue it arrived on, XDP_PASS when there is none.
//
//	return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
func program(mapFD int) asm.Instructions {
	return asm.Instructions{
		// r2 = ctx->rx_queue_index (struct xdp_md, offset 16)
		asm.LoadMem(asm.R2, asm.R1, 16, asm.Word),
		asm.LoadMapPtr(asm.R1, mapFD),
		// The low bits of the flags are the action when the lookup
		// fails.
		asm.Mov.Imm(asm.R3, 2), // XDP_PASS
		asm.FnRedirectMap.Call(),
		asm.Return(),
	}
}

func setsockopt(fd, opt int, val unsafe.Pointer, size uintptr) error {
	_, _, e := unix.Syscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_XDP, uintptr(opt), uintptr(val), size, 0)
	if e != 0 {
		return e
	}
	return nil
}

// rxQueues returns the number of receive queues of the interface, or 0
// if sysfs does not say.
func rxQueues(ifname string) int {
	ents, err := os.ReadDir("/sys/class/net/" + ifname + "/queues")
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "rx-") {
			n++
		}
	}
	return n
}

// BatchSize implements dpio.Port.
func (p *Port) BatchSize() int { return p.batch }

// Info implements dpio.Port: the interface's name, address, MTU and
// carrier state as the kernel reports them now.
func (p *Port) Info() dpio.PortInfo {
	info := dpio.PortInfo{Name: p.name, Headroom: p.headroom}
	ifi, err := net.InterfaceByIndex(p.ifindex)
	if err != nil {
		return info
	}
	info.MAC, info.MTU = ifi.HardwareAddr, ifi.MTU
	if p.closed.Load() {
		return info
	}
	st, _ := os.ReadFile("/sys/class/net/" + p.name + "/operstate")
	switch strings.TrimSpace(string(st)) {
	case "up":
		info.LinkUp = true
	case "unknown":
		info.LinkUp = ifi.Flags&net.FlagRunning != 0
	}
	return info
}

// Stats implements dpio.Port. Besides what Read and Write count, RxDropped
// includes the frames the kernel dropped for want of frames in the fill
// ring, or because they did not fit in one (XDP_STATISTICS rx_dropped),
// or for want of room in the rx ring (rx_ring_full), RxErrors the
// invalid fill descriptors (rx_invalid_descs) and TxErrors the invalid tx
// descriptors (tx_invalid_descs).
func (p *Port) Stats() dpio.PortStats {
	s := p.stats.Snapshot()
	x := p.xdpStats()
	s.RxDropped += x.Rx_dropped + x.Rx_ring_full
	s.RxErrors += x.Rx_invalid_descs
	s.TxErrors += x.Tx_invalid_descs
	return s
}

func (p *Port) xdpStats() unix.XDPStatistics {
	p.cmu.Lock()
	defer p.cmu.Unlock()
	if p.done {
		return p.final
	}
	var x unix.XDPStatistics
	l := uint32(unsafe.Sizeof(x))
	unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(p.fd), unix.SOL_XDP, unix.XDP_STATISTICS,
		uintptr(unsafe.Pointer(&x)), uintptr(unsafe.Pointer(&l)), 0)
	return x
}

// Read implements dpio.Port. It blocks in poll(2) until a frame arrives
// or the port is closed. Each frame is copied into the next packet after
// the port's headroom and its UMEM frame goes straight back to the fill
// ring. A frame larger than a packet's capacity is dropped and counted in
// RxErrors.
func (p *Port) Read(pkts []*dpio.Packet) (int, error) {
	if len(pkts) == 0 {
		return 0, nil
	}
	p.rmu.Lock()
	defer p.rmu.Unlock()
	for {
		if p.closed.Load() {
			return 0, net.ErrClosed
		}
		if n := p.receive(pkts); n > 0 {
			return n, nil
		}
		if atomic.LoadUint32(p.rx.prod) != *p.rx.cons {
			continue // frames were there, all too large
		}
		fds := [2]unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}, {Fd: int32(p.efd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds[:], -1); err != nil && err != unix.EINTR {
			return 0, fmt.Errorf("afxdp: poll: %w", err)
		}
		if fds[0].Revents&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 && !p.closed.Load() {
			return 0, fmt.Errorf("afxdp: %s: socket error (poll events %#x)", p.name, fds[0].Revents)
		}
	}
}

// receive moves what the rx ring holds into pkts and returns how many it
// filled. Under rmu.
func (p *Port) receive(pkts []*dpio.Packet) int {
	cons := *p.rx.cons
	avail := atomic.LoadUint32(p.rx.prod) - cons
	if avail == 0 {
		return 0
	}
	if avail > uint32(len(pkts)) {
		avail = uint32(len(pkts))
	}
	// The fill ring has room for every frame taken off the rx ring:
	// both hold at most RingSize of the RingSize receive frames.
	fprod := *p.fill.prod
	n := 0
	var bytes uint64
	for i := uint32(0); i < avail; i++ {
		d := p.rx.descs[(cons+i)&p.rx.mask]
		pk := pkts[n]
		pk.Reset(p.headroom)
		if d.Addr+uint64(d.Len) <= uint64(len(p.umem)) && pk.SetBytes(p.umem[d.Addr:d.Addr+uint64(d.Len)]) {
			n++
			bytes += uint64(d.Len)
		} else {
			p.stats.RxErrors.Add(1)
		}
		p.fill.addrs[(fprod+i)&p.fill.mask] = d.Addr &^ (p.frameSize - 1)
	}
	atomic.StoreUint32(p.fill.prod, fprod+avail)
	atomic.StoreUint32(p.rx.cons, cons+avail)
	p.stats.RxPackets.Add(uint64(n))
	p.stats.RxBytes.Add(bytes)
	return n
}

// Write implements dpio.Port. Each frame is copied into a free UMEM frame
// and queued on the tx ring; the kernel is kicked once per batch. A frame
// larger than a UMEM frame is counted in TxErrors, one for which no UMEM
// frame is free after reaping the completion ring is counted in
// TxDropped. Write does not wait for the frames to leave.
func (p *Port) Write(pkts []*dpio.Packet) (int, error) {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if p.closed.Load() {
		return 0, net.ErrClosed
	}
	p.reap()
	prod := *p.tx.prod
	queued := uint32(0)
	var bytes, dropped, errs uint64
	for _, pk := range pkts {
		b := pk.Bytes()
		if uint64(len(b)) > p.frameSize {
			errs++
			continue
		}
		if len(p.txFree) == 0 {
			if queued > 0 {
				atomic.StoreUint32(p.tx.prod, prod+queued)
				prod += queued
				queued = 0
			}
			p.kick()
			p.reap()
			if len(p.txFree) == 0 {
				dropped++
				continue
			}
		}
		addr := p.txFree[len(p.txFree)-1]
		p.txFree = p.txFree[:len(p.txFree)-1]
		copy(p.umem[addr:addr+p.frameSize], b)
		p.tx.descs[(prod+queued)&p.tx.mask] = unix.XDPDesc{Addr: addr, Len: uint32(len(b))}
		queued++
		bytes += uint64(len(b))
	}
	if queued > 0 {
		atomic.StoreUint32(p.tx.prod, prod+queued)
	}
	p.kick()
	p.reap()
	p.stats.TxPackets.Add(uint64(len(pkts)) - dropped - errs)
	p.stats.TxBytes.Add(bytes)
	p.stats.TxDropped.Add(dropped)
	p.stats.TxErrors.Add(errs)
	return len(pkts), nil
}

// kick asks the kernel to send what the tx ring holds. In copy mode the
// kernel sends a bounded budget per call and says EAGAIN or EBUSY while
// more remains; a few retries drain the ring. Under wmu.
func (p *Port) kick() {
	for try := 0; try < 64; try++ {
		if atomic.LoadUint32(p.tx.cons) == *p.tx.prod {
			return
		}
		_, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(p.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0, unix.EAGAIN, unix.EBUSY, unix.ENOBUFS, unix.EINTR:
		default:
			return
		}
	}
}

// reap returns the frames the kernel has finished sending to the free
// list. Under wmu.
func (p *Port) reap() {
	cons := *p.comp.cons
	n := atomic.LoadUint32(p.comp.prod) - cons
	for i := uint32(0); i < n; i++ {
		p.txFree = append(p.txFree, p.comp.addrs[(cons+i)&p.comp.mask]&^(p.frameSize-1))
	}
	if n > 0 {
		atomic.StoreUint32(p.comp.cons, cons+n)
	}
}

// Close implements dpio.Port: it wakes a blocked Read (which returns
// net.ErrClosed), waits for Read and Write in progress to return, detaches
// the XDP program and releases the socket, the rings and the UMEM.
// Closing twice is harmless.
func (p *Port) Close() error {
	p.cmu.Lock()
	defer p.cmu.Unlock()
	if p.done {
		return nil
	}
	p.closed.Store(true)
	var one [8]byte
	one[0] = 1
	unix.Write(p.efd, one[:])
	p.rmu.Lock()
	defer p.rmu.Unlock()
	p.wmu.Lock()
	defer p.wmu.Unlock()
	var x unix.XDPStatistics
	l := uint32(unsafe.Sizeof(x))
	unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(p.fd), unix.SOL_XDP, unix.XDP_STATISTICS,
		uintptr(unsafe.Pointer(&x)), uintptr(unsafe.Pointer(&l)), 0)
	p.final = x
	err := p.release()
	p.done = true
	return err
}

// release frees whatever Open made, in reverse order.
func (p *Port) release() error {
	var errs []error
	if p.lnk != nil {
		errs = append(errs, p.lnk.Close())
	}
	if p.prog != nil {
		errs = append(errs, p.prog.Close())
	}
	if p.xsks != nil {
		// The map holds a reference to the socket and is freed
		// asynchronously; drop the reference now so that the queue is
		// free for another socket as soon as Close returns.
		p.xsks.Delete(uint32(p.queue))
		errs = append(errs, p.xsks.Close())
	}
	for _, r := range []*ring{&p.fill, &p.comp, &p.rx, &p.tx} {
		if r.mem != nil {
			errs = append(errs, unix.Munmap(r.mem))
			*r = ring{}
		}
	}
	if p.fd >= 0 {
		errs = append(errs, unix.Close(p.fd))
		p.fd = -1
	}
	if p.umem != nil {
		errs = append(errs, unix.Munmap(p.umem))
		p.umem = nil
	}
	if p.efd >= 0 {
		errs = append(errs, unix.Close(p.efd))
		p.efd = -1
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("afxdp: close: %w", err)
	}
	return nil
}
