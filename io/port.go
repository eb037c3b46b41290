package io

import (
	"net"
	"sync/atomic"
)

// Port is a batched packet port: a network device, a capture file, a
// Hyper-V switch port or an in-memory test double.
//
// Contract, shared by every implementation:
//   - Read receives up to len(pkts) frames into the caller's buffers and
//     returns how many it filled. Each filled packet is Reset to the
//     port's Headroom before the frame is copied in. Read blocks until at
//     least one frame is available, the port is closed (net.ErrClosed), or
//     the source is exhausted (the standard library's io.EOF, for finite
//     sources such as capture files). A frame larger than a buffer's
//     capacity is dropped and counted in RxErrors.
//   - Write transmits the frames of pkts in order and returns how many it
//     accepted. The port does not retain the packets: it copies or
//     transmits their bytes before returning, and the caller may reuse
//     them at once. A frame the port cannot send is counted in TxDropped
//     (or TxErrors) and still counts as accepted; an error return means
//     the port itself failed or was closed (net.ErrClosed).
//   - BatchSize is the largest batch the port moves at once; it never
//     changes over the port's life.
//   - Close releases the port's resources and makes later and pending
//     Read and Write calls return net.ErrClosed. Closing twice is
//     harmless.
//   - Read and Write may be called from different goroutines at the same
//     time; concurrent calls to Read (or to Write) need their own
//     synchronisation unless the implementation says otherwise.
type Port interface {
	Read(pkts []*Packet) (int, error)
	Write(pkts []*Packet) (int, error)
	BatchSize() int
	Info() PortInfo
	Stats() PortStats
	Close() error
}

// PortInfo describes a port.
type PortInfo struct {
	Name     string           // interface or file name
	MAC      net.HardwareAddr // the port's own address, if it has one
	MTU      int              // largest IP packet the port carries
	LinkUp   bool             // carrier state
	Headroom int              // headroom Read leaves in front of frames
}

// PortStats are a port's counters, in the shape of ovs-dpctl show -s.
type PortStats struct {
	RxPackets, RxBytes, RxErrors, RxDropped uint64
	TxPackets, TxBytes, TxErrors, TxDropped uint64
}

// Counters is a set of atomic port counters that implementations embed and
// update; Snapshot reads them all.
type Counters struct {
	RxPackets, RxBytes, RxErrors, RxDropped atomic.Uint64
	TxPackets, TxBytes, TxErrors, TxDropped atomic.Uint64
}

// Snapshot returns the current counter values.
func (c *Counters) Snapshot() PortStats {
	return PortStats{
		RxPackets: c.RxPackets.Load(), RxBytes: c.RxBytes.Load(),
		RxErrors: c.RxErrors.Load(), RxDropped: c.RxDropped.Load(),
		TxPackets: c.TxPackets.Load(), TxBytes: c.TxBytes.Load(),
		TxErrors: c.TxErrors.Load(), TxDropped: c.TxDropped.Load(),
	}
}
