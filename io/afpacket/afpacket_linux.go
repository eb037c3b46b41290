package afpacket

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	dpio "github.com/b7cafead/datapath/io"
)

// Port is a datapath port on a Linux network interface: an AF_PACKET
// socket bound to the interface, with a TPACKET_V3 receive ring. It
// implements io.Port. Read must not be called from two goroutines at once;
// Write, Info and Stats may be called from any number of goroutines, also
// while a Read is in progress. Close may be called at any time: a Read
// blocked waiting for frames returns net.ErrClosed at once.
type Port struct {
	name     string
	ifindex  int
	batch    int
	headroom int

	fd   int    // the AF_PACKET socket
	efd  int    // eventfd that Close signals to wake a blocked Read
	ring []byte // the mapped receive ring
	nl   *netlink.Handle

	stats dpio.Counters

	// life is held shared by Read, Write, Stats and Info while they use
	// the socket, and exclusively by Close while it releases it.
	life   sync.RWMutex
	closed atomic.Bool

	// Receive state, used by Read only.
	rx struct {
		blockSize int
		numBlocks int
		blk       int  // current block
		open      bool // the current block is handed over and being read
		left      int  // frames of the current block not yet read
		off       int  // ring offset of the next frame
		end       int  // ring offset of the end of the current block
		fds       [2]unix.PollFd
	}

	// Transmit state, under txMu.
	txMu sync.Mutex
	msgs []mmsghdr
	iovs []unix.Iovec
	idx  []int // msgs[i] carries pkts[idx[i]]

	infoMu sync.Mutex
	info   dpio.PortInfo // as last read; what Info reports after Close
}

// mmsghdr mirrors struct mmsghdr of <sys/socket.h>; Go pads it to the
// alignment of its first field as C does.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

// Offsets into struct tpacket_block_desc: version, offset_to_priv, then
// struct tpacket_hdr_v1 (block_status, num_pkts, offset_to_first_pkt,
// blk_len, ...).
const (
	blkStatus    = 8
	blkNumPkts   = 12
	blkFirstPkt  = 16
	blkLen       = 20
	blkHeaderLen = 48 // sizeof(struct tpacket_block_desc)
)

// Open opens a port on the interface named ifname in the calling thread's
// network namespace. It fails if the interface does not exist, if the
// process lacks CAP_NET_RAW, or if cfg is invalid. Errors from the system
// keep the errno reachable with errors.Is.
func Open(ifname string, cfg Config) (*Port, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("afpacket: %s: rtnetlink: %w", ifname, err)
	}
	link, err := h.LinkByName(ifname)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("afpacket: interface %q: %w", ifname, err)
	}
	p := &Port{
		name:     ifname,
		ifindex:  link.Attrs().Index,
		batch:    cfg.BatchSize,
		headroom: cfg.Headroom,
		fd:       -1,
		efd:      -1,
		nl:       h,
	}
	p.info = p.infoFrom(link)
	if err := p.open(cfg); err != nil {
		p.release()
		return nil, fmt.Errorf("afpacket: %s: %w", ifname, err)
	}
	p.msgs = make([]mmsghdr, p.batch)
	p.iovs = make([]unix.Iovec, p.batch)
	p.idx = make([]int, p.batch)
	for i := range p.msgs {
		p.msgs[i].hdr.Iov = &p.iovs[i]
		p.msgs[i].hdr.SetIovlen(1)
	}
	return p, nil
}

func (c *Config) check() error {
	if c.BatchSize < 0 || c.Headroom < 0 || c.BlockSize < 0 || c.NumBlocks < 0 || c.BlockTimeout < 0 {
		return errors.New("afpacket: negative value in Config")
	}
	if c.BatchSize == 0 {
		c.BatchSize = dpio.DefaultBatchSize
	}
	if c.Headroom == 0 {
		c.Headroom = dpio.DefaultHeadroom
	}
	if c.BlockSize == 0 {
		c.BlockSize = DefaultBlockSize
	}
	if c.NumBlocks == 0 {
		c.NumBlocks = DefaultNumBlocks
	}
	if c.BlockTimeout == 0 {
		c.BlockTimeout = DefaultBlockTimeout
	}
	if ps := unix.Getpagesize(); c.BlockSize%ps != 0 {
		return fmt.Errorf("afpacket: BlockSize %d is not a multiple of the page size %d", c.BlockSize, ps)
	}
	if c.BlockSize > 1<<30 || c.NumBlocks > 1<<20 {
		return fmt.Errorf("afpacket: receive ring of %d blocks of %d bytes is too large", c.NumBlocks, c.BlockSize)
	}
	return nil
}

// tpacketFrameSize is the nominal frame size the ring request gives. A
// TPACKET_V3 ring packs frames of any size into its blocks; the kernel only
// checks that blocks divide into frames of this size.
const tpacketFrameSize = 2048

func (p *Port) open(cfg Config) error {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return fmt.Errorf("socket(AF_PACKET): %w", err)
	}
	p.fd = fd
	// The socket has protocol 0 until it is bound: it receives nothing
	// while the ring is set up.
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return fmt.Errorf("setsockopt(PACKET_VERSION, TPACKET_V3): %w", err)
	}
	tov := cfg.BlockTimeout.Milliseconds()
	if tov < 1 {
		tov = 1
	}
	req := unix.TpacketReq3{
		Block_size:     uint32(cfg.BlockSize),
		Block_nr:       uint32(cfg.NumBlocks),
		Frame_size:     tpacketFrameSize,
		Frame_nr:       uint32(cfg.BlockSize / tpacketFrameSize * cfg.NumBlocks),
		Retire_blk_tov: uint32(tov),
	}
	if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return fmt.Errorf("setsockopt(PACKET_RX_RING, %d blocks of %d bytes): %w", cfg.NumBlocks, cfg.BlockSize, err)
	}
	ring, err := unix.Mmap(fd, 0, cfg.BlockSize*cfg.NumBlocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("mmap of the receive ring: %w", err)
	}
	p.ring = ring
	p.rx.blockSize, p.rx.numBlocks = cfg.BlockSize, cfg.NumBlocks
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil {
		return fmt.Errorf("setsockopt(PACKET_IGNORE_OUTGOING): %w", err)
	}
	sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: p.ifindex}
	if err := unix.Bind(fd, sa); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	if !cfg.NoPromisc {
		mreq := unix.PacketMreq{Ifindex: int32(p.ifindex), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
			return fmt.Errorf("setsockopt(PACKET_ADD_MEMBERSHIP, PACKET_MR_PROMISC): %w", err)
		}
	}
	if f := cfg.Fanout; f != nil {
		// A fanout group has its own receive hook, which ignores
		// outgoing frames only when the group says so.
		flags := unix.PACKET_FANOUT_FLAG_IGNORE_OUTGOING
		if f.Rollover {
			flags |= unix.PACKET_FANOUT_FLAG_ROLLOVER
		}
		if f.Defrag {
			flags |= unix.PACKET_FANOUT_FLAG_DEFRAG
		}
		arg := int(f.Group) | (int(f.Mode)|flags)<<16
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_FANOUT, arg); err != nil {
			return fmt.Errorf("setsockopt(PACKET_FANOUT, group %d, mode %v): %w", f.Group, f.Mode, err)
		}
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return fmt.Errorf("eventfd: %w", err)
	}
	p.efd = efd
	return nil
}

// release frees what open and Open acquired.
func (p *Port) release() {
	if p.ring != nil {
		unix.Munmap(p.ring)
		p.ring = nil
	}
	if p.fd >= 0 {
		unix.Close(p.fd)
		p.fd = -1
	}
	if p.efd >= 0 {
		unix.Close(p.efd)
		p.efd = -1
	}
	if p.nl != nil {
		p.nl.Close()
		p.nl = nil
	}
}

func htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}

// BatchSize implements io.Port.
func (p *Port) BatchSize() int { return p.batch }

// Name returns the interface's name.
func (p *Port) Name() string { return p.name }

// Ifindex returns the interface's index.
func (p *Port) Ifindex() int { return p.ifindex }

// Read implements io.Port. It copies frames from the receive ring into
// pkts, each after the port's headroom, with its receive time in
// Packet.Timestamp, and with the VLAN tag the kernel removed put back. It
// returns as soon as at least one frame was copied; it waits only when
// none is ready. A frame larger than its buffer, or truncated by the ring,
// is dropped and counted in RxErrors.
func (p *Port) Read(pkts []*dpio.Packet) (int, error) {
	if len(pkts) == 0 {
		return 0, nil
	}
	p.life.RLock()
	defer p.life.RUnlock()
	for {
		if p.closed.Load() {
			return 0, net.ErrClosed
		}
		if n := p.fill(pkts); n > 0 {
			return n, nil
		}
		if err := p.wait(); err != nil {
			return 0, err
		}
	}
}

// wait blocks until the ring may have a block to read or Close was called.
//
// poll reports the socket readable when the block before the one the
// kernel is filling is handed over. Read returns every block to the kernel
// as soon as it has read it and waits only when the block it would read
// next is the kernel's, so a handed-over block is always reported.
func (p *Port) wait() error {
	fds := &p.rx.fds
	*fds = [2]unix.PollFd{
		{Fd: int32(p.fd), Events: unix.POLLIN},
		{Fd: int32(p.efd), Events: unix.POLLIN},
	}
	for {
		_, err := unix.Poll(fds[:], -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("afpacket: %s: poll: %w", p.name, err)
		}
		break
	}
	if fds[0].Revents&unix.POLLERR != 0 {
		// A pending socket error, such as ENETDOWN when the interface
		// went down: clear it, or poll would report it forever. The
		// kernel resumes delivery when the interface comes back.
		unix.GetsockoptInt(p.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	}
	return nil
}

func (p *Port) blockStatus(blk int) *uint32 {
	return (*uint32)(unsafe.Pointer(&p.ring[blk*p.rx.blockSize+blkStatus]))
}

// fill copies frames from the handed-over blocks into pkts and returns how
// many it copied.
func (p *Port) fill(pkts []*dpio.Packet) int {
	r := &p.rx
	n := 0
	for n < len(pkts) {
		if !r.open {
			if atomic.LoadUint32(p.blockStatus(r.blk))&unix.TP_STATUS_USER == 0 {
				break
			}
			base := r.blk * r.blockSize
			b := p.ring[base : base+r.blockSize]
			npkts := int(binary.NativeEndian.Uint32(b[blkNumPkts:]))
			first := int(binary.NativeEndian.Uint32(b[blkFirstPkt:]))
			blen := int(binary.NativeEndian.Uint32(b[blkLen:]))
			if blen > r.blockSize || blen < blkHeaderLen {
				blen = r.blockSize
			}
			r.open, r.left, r.off, r.end = true, npkts, base+first, base+blen
		}
		if r.left == 0 {
			p.releaseBlock()
			continue
		}
		next, ok := p.frame(pkts[n])
		if ok {
			n++
		}
		r.left--
		if next == 0 || r.left == 0 {
			p.releaseBlock()
			continue
		}
		r.off += next
	}
	return n
}

// releaseBlock returns the current block to the kernel and moves on to the
// next.
func (p *Port) releaseBlock() {
	r := &p.rx
	if r.left > 0 {
		// The block's frame list ended early: the frames not reached
		// are lost.
		p.stats.RxErrors.Add(uint64(r.left))
	}
	atomic.StoreUint32(p.blockStatus(r.blk), unix.TP_STATUS_KERNEL)
	r.open, r.left = false, 0
	r.blk++
	if r.blk == r.numBlocks {
		r.blk = 0
	}
}

// frame copies the frame at the ring offset rx.off into pk. It returns the
// offset of the next frame relative to this one (zero for the block's last
// frame, or for a frame header that does not fit the block) and whether pk
// received a frame.
func (p *Port) frame(pk *dpio.Packet) (next int, ok bool) {
	r := &p.rx
	if r.off < 0 || r.off+unix.SizeofTpacket3Hdr > r.end {
		return 0, false
	}
	h := (*unix.Tpacket3Hdr)(unsafe.Pointer(&p.ring[r.off]))
	next = int(h.Next_offset)
	if next < 0 || r.off+next > r.end {
		next = 0
	}
	start := r.off + int(h.Mac)
	snap := int(h.Snaplen)
	if start+snap > r.end || snap < int(h.Len) {
		// Truncated by the ring: the frame is larger than a block.
		p.stats.RxErrors.Add(1)
		return next, false
	}
	f := p.ring[start : start+snap]
	if h.Status&unix.TP_STATUS_VLAN_VALID != 0 && len(f) >= 12 {
		// The kernel removed the outer tag into the metadata: put it
		// back between the MAC addresses and the EtherType. Reserve 4
		// more bytes of headroom, copy the frame, then push the tag's
		// 4 bytes so the frame starts at the usual headroom.
		tpid := uint16(0x8100)
		if h.Status&unix.TP_STATUS_VLAN_TPID_VALID != 0 && h.Hv1.Vlan_tpid != 0 {
			tpid = h.Hv1.Vlan_tpid
		}
		pk.Reset(p.headroom + 4)
		if !pk.SetBytes(f) {
			p.stats.RxErrors.Add(1)
			return next, false
		}
		if _, err := pk.Push(4); err != nil {
			p.stats.RxErrors.Add(1)
			return next, false
		}
		b := pk.Bytes()
		copy(b[:12], b[4:16])
		binary.BigEndian.PutUint16(b[12:], tpid)
		binary.BigEndian.PutUint16(b[14:], uint16(h.Hv1.Vlan_tci))
	} else {
		pk.Reset(p.headroom)
		if !pk.SetBytes(f) {
			p.stats.RxErrors.Add(1)
			return next, false
		}
	}
	pk.Timestamp = int64(h.Sec)*1e9 + int64(h.Nsec)
	p.stats.RxPackets.Add(1)
	p.stats.RxBytes.Add(uint64(pk.Len()))
	return next, true
}

// Write implements io.Port. It transmits the frames in order with one
// sendmmsg call per BatchSize frames and returns len(pkts): frames the
// kernel had no room for are counted in TxDropped (with the rest of their
// sendmmsg batch, as the queue is full), frames it refused (empty, larger
// than the MTU allows, interface down) in TxErrors. It returns
// net.ErrClosed after Close. Write does not retain pkts.
func (p *Port) Write(pkts []*dpio.Packet) (int, error) {
	p.life.RLock()
	defer p.life.RUnlock()
	if p.closed.Load() {
		return 0, net.ErrClosed
	}
	p.txMu.Lock()
	defer p.txMu.Unlock()
	for i := 0; i < len(pkts); {
		m := 0
		for ; i < len(pkts) && m < len(p.msgs); i++ {
			b := pkts[i].Bytes()
			if len(b) == 0 {
				p.stats.TxErrors.Add(1)
				continue
			}
			p.iovs[m].Base = &b[0]
			p.iovs[m].SetLen(len(b))
			p.idx[m] = i
			m++
		}
		p.send(pkts, m)
		for j := range p.iovs[:m] {
			p.iovs[j].Base = nil
		}
	}
	return len(pkts), nil
}

// send transmits the first m prepared messages and counts the outcome.
func (p *Port) send(pkts []*dpio.Packet, m int) {
	for sent := 0; sent < m; {
		r, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(p.fd),
			uintptr(unsafe.Pointer(&p.msgs[sent])), uintptr(m-sent), unix.MSG_DONTWAIT, 0, 0)
		switch errno {
		case 0:
			var bytes uint64
			for _, k := range p.idx[sent : sent+int(r)] {
				bytes += uint64(pkts[k].Len())
			}
			p.stats.TxPackets.Add(uint64(r))
			p.stats.TxBytes.Add(bytes)
			sent += int(r)
		case unix.EINTR:
		case unix.EAGAIN, unix.ENOBUFS:
			// No room in the socket or the device queue: the rest of
			// the batch would find none either.
			p.stats.TxDropped.Add(uint64(m - sent))
			return
		case unix.ENETDOWN, unix.ENXIO, unix.ENODEV:
			// The interface is down or gone.
			p.stats.TxErrors.Add(uint64(m - sent))
			return
		default:
			// This frame was refused (EMSGSIZE, EINVAL): skip it.
			p.stats.TxErrors.Add(1)
			sent++
		}
	}
}

// Info implements io.Port. It reads the interface's carrier state, MTU and
// address over rtnetlink. LinkUp is true when the interface is up and
// running (administratively up, with carrier). After Close, or if the
// interface is gone, it reports the last known values with LinkUp false.
func (p *Port) Info() dpio.PortInfo {
	p.life.RLock()
	defer p.life.RUnlock()
	p.infoMu.Lock()
	defer p.infoMu.Unlock()
	if p.closed.Load() {
		p.info.LinkUp = false
		return p.copyInfo()
	}
	link, err := p.nl.LinkByIndex(p.ifindex)
	if err != nil {
		p.info.LinkUp = false
		return p.copyInfo()
	}
	p.info = p.infoFrom(link)
	return p.copyInfo()
}

func (p *Port) copyInfo() dpio.PortInfo {
	i := p.info
	i.MAC = append(net.HardwareAddr(nil), i.MAC...)
	return i
}

func (p *Port) infoFrom(link netlink.Link) dpio.PortInfo {
	a := link.Attrs()
	const upRunning = unix.IFF_UP | unix.IFF_RUNNING
	return dpio.PortInfo{
		Name:     p.name,
		MAC:      append(net.HardwareAddr(nil), a.HardwareAddr...),
		MTU:      a.MTU,
		LinkUp:   a.RawFlags&upRunning == upRunning,
		Headroom: p.headroom,
	}
}

// Stats implements io.Port. RxDropped is the number of frames the kernel
// dropped because the receive ring was full.
func (p *Port) Stats() dpio.PortStats {
	p.life.RLock()
	if !p.closed.Load() {
		p.kernelStats()
	}
	p.life.RUnlock()
	return p.stats.Snapshot()
}

// kernelStats adds the kernel's drop count since the last call to
// RxDropped (reading PACKET_STATISTICS resets the kernel's counters).
func (p *Port) kernelStats() {
	if s, err := unix.GetsockoptTpacketStatsV3(p.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
		p.stats.RxDropped.Add(uint64(s.Drops))
	}
}

// Close implements io.Port. It wakes a blocked Read, which returns
// net.ErrClosed, waits for calls in progress to return, then closes the
// socket (which takes the interface out of promiscuous mode and out of the
// fanout group) and unmaps the ring. Closing twice is harmless.
func (p *Port) Close() error {
	if !p.closed.CompareAndSwap(false, true) {
		return nil
	}
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	unix.Write(p.efd, one[:])
	p.life.Lock()
	defer p.life.Unlock()
	p.kernelStats()
	p.infoMu.Lock()
	p.info.LinkUp = false
	p.infoMu.Unlock()
	p.release()
	return nil
}
