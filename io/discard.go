package io

import (
	"net"
	"sync"
)

// DiscardPort is a port that counts and drops everything written to it and
// never receives anything: its Read blocks until Close. It stands in for a
// port that a flow names but that has no device behind it.
type DiscardPort struct {
	name  string
	stats Counters

	once   sync.Once
	closed chan struct{}
}

// NewDiscard returns a discard port with the given name.
func NewDiscard(name string) *DiscardPort {
	return &DiscardPort{name: name, closed: make(chan struct{})}
}

// Read implements Port: it blocks until the port is closed.
func (d *DiscardPort) Read(pkts []*Packet) (int, error) {
	<-d.closed
	return 0, net.ErrClosed
}

// Write implements Port: the frames are counted as transmitted and
// dropped.
func (d *DiscardPort) Write(pkts []*Packet) (int, error) {
	select {
	case <-d.closed:
		return 0, net.ErrClosed
	default:
	}
	var bytes uint64
	for _, p := range pkts {
		bytes += uint64(p.Len())
	}
	d.stats.TxPackets.Add(uint64(len(pkts)))
	d.stats.TxBytes.Add(bytes)
	return len(pkts), nil
}

// BatchSize implements Port.
func (d *DiscardPort) BatchSize() int { return DefaultBatchSize }

// Info implements Port.
func (d *DiscardPort) Info() PortInfo {
	return PortInfo{Name: d.name, MTU: 1500, LinkUp: true, Headroom: DefaultHeadroom}
}

// Stats implements Port.
func (d *DiscardPort) Stats() PortStats { return d.stats.Snapshot() }

// Close implements Port.
func (d *DiscardPort) Close() error {
	d.once.Do(func() { close(d.closed) })
	return nil
}
