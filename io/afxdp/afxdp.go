package afxdp

import "errors"

// ErrUnavailable is wrapped by the error Open returns when AF_XDP cannot
// be used here: another operating system, missing privileges, or a kernel
// without AF_XDP or XDP support. The underlying reason (often a
// syscall.Errno) stays reachable through errors.Unwrap / errors.Is.
var ErrUnavailable = errors.New("afxdp: AF_XDP unavailable")

// Mode selects how the XDP program is attached to the interface.
type Mode int

const (
	// ModeGeneric attaches in generic (SKB) mode: slower, but works on
	// every device, including veth and loopback-like virtual devices.
	ModeGeneric Mode = iota
	// ModeDriver attaches in native (driver) mode; the driver must
	// support XDP.
	ModeDriver
)

// String returns "generic" or "driver".
func (m Mode) String() string {
	switch m {
	case ModeGeneric:
		return "generic"
	case ModeDriver:
		return "driver"
	}
	return "unknown"
}

// Config configures a Port. The zero value selects the defaults.
type Config struct {
	// Queue is the receive queue of the interface to bind to; 0 when
	// zero.
	Queue int
	// Mode is how the XDP program is attached; ModeGeneric when zero.
	Mode Mode
	// ZeroCopy binds the socket with XDP_ZEROCOPY instead of XDP_COPY.
	// It needs a driver with AF_XDP zero-copy support and ModeDriver.
	ZeroCopy bool
	// BatchSize is the largest batch Read and Write move at once;
	// dpio.DefaultBatchSize when zero.
	BatchSize int
	// Headroom is the headroom Read leaves in front of each frame;
	// dpio.DefaultHeadroom when zero.
	Headroom int
	// RingSize is the number of entries of each of the four rings, a
	// power of two; 1024 when zero. The UMEM holds 2*RingSize frames:
	// RingSize for receiving and RingSize for sending.
	RingSize int
	// FrameSize is the size of a UMEM frame, 2048 or 4096; 4096 when
	// zero. The largest frame that can be received is FrameSize-256.
	FrameSize int
}

const (
	defaultRingSize  = 1024
	defaultFrameSize = 4096
	xdpHeadroom      = 256 // XDP_PACKET_HEADROOM
)
