package afpacket

import (
	"errors"
	"runtime"
	"strconv"
	"time"
)

// ErrNotSupported is returned by Open on systems other than Linux.
var ErrNotSupported = errors.New("afpacket: not supported on " + runtime.GOOS)

// Defaults for the zero fields of Config.
const (
	// DefaultBlockSize is the size of one receive ring block: room for
	// about 80 full-size Ethernet frames or a dozen 9000-byte ones.
	DefaultBlockSize = 128 << 10
	// DefaultNumBlocks is the number of blocks in the receive ring
	// (4 MiB of ring with DefaultBlockSize).
	DefaultNumBlocks = 32
	// DefaultBlockTimeout is how long the kernel may keep a block that
	// holds frames before handing it to Read even though it is not full.
	DefaultBlockTimeout = time.Millisecond
)

// Config configures a port. The zero value selects the defaults.
type Config struct {
	// BatchSize is the port's BatchSize (io.DefaultBatchSize when zero)
	// and the number of frames Write hands to one sendmmsg call.
	BatchSize int
	// Headroom is the headroom Read leaves in front of every frame
	// (io.DefaultHeadroom when zero).
	Headroom int
	// BlockSize is the size in bytes of one receive ring block, a
	// multiple of the page size (DefaultBlockSize when zero). The largest
	// frame the ring holds is a little smaller than a block.
	BlockSize int
	// NumBlocks is the number of blocks in the receive ring
	// (DefaultNumBlocks when zero). Frames that arrive while every block
	// waits to be read are dropped by the kernel and counted in
	// RxDropped.
	NumBlocks int
	// BlockTimeout is the longest the kernel keeps a partly filled block
	// before handing it over (DefaultBlockTimeout when zero; whole
	// milliseconds, at least one).
	BlockTimeout time.Duration
	// NoPromisc leaves the interface out of promiscuous mode: the port
	// then receives only frames addressed to the interface, broadcast and
	// multicast. A switch port wants promiscuous mode, the default.
	NoPromisc bool
	// Fanout, when not nil, joins the port to a fanout group: the ports
	// of one group on one interface share its received frames.
	Fanout *Fanout
}

// Fanout selects a PACKET_FANOUT group. All ports of a group must be
// opened on the same interface, in the same network namespace, with the
// same Mode and flags.
type Fanout struct {
	// Group is the group id, unique per network namespace.
	Group uint16
	// Mode says how frames are spread over the group's ports.
	Mode FanoutMode
	// Rollover sends a frame to another port of the group when the one
	// chosen has no room for it (PACKET_FANOUT_FLAG_ROLLOVER).
	Rollover bool
	// Defrag reassembles IP fragments before choosing a port, so that
	// every fragment of a packet goes to the same port
	// (PACKET_FANOUT_FLAG_DEFRAG).
	Defrag bool
}

// FanoutMode is how a fanout group spreads frames over its ports,
// numbered as the kernel's PACKET_FANOUT_* modes.
type FanoutMode uint16

// Fanout modes.
const (
	FanoutHash     FanoutMode = 0 // by flow hash: one flow, one port
	FanoutLB       FanoutMode = 1 // round robin
	FanoutCPU      FanoutMode = 2 // by the CPU that received the frame
	FanoutRollover FanoutMode = 3 // fill one port, then the next
	FanoutRandom   FanoutMode = 4 // at random
	FanoutQM       FanoutMode = 5 // by the frame's receive queue
)

// String returns the mode's name, such as "hash".
func (m FanoutMode) String() string {
	switch m {
	case FanoutHash:
		return "hash"
	case FanoutLB:
		return "lb"
	case FanoutCPU:
		return "cpu"
	case FanoutRollover:
		return "rollover"
	case FanoutRandom:
		return "random"
	case FanoutQM:
		return "qm"
	}
	return "mode-" + strconv.Itoa(int(m))
}
