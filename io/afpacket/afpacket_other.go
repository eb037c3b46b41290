//go:build !linux

package afpacket

import dpio "github.com/b7cafead/datapath/io"

// Port is a datapath port on a network interface. On this system there is
// none: Open returns ErrNotSupported.
type Port struct{}

// Open returns ErrNotSupported: AF_PACKET sockets exist only on Linux.
func Open(ifname string, cfg Config) (*Port, error) { return nil, ErrNotSupported }

// BatchSize implements io.Port.
func (p *Port) BatchSize() int { return dpio.DefaultBatchSize }

// Name returns the interface's name.
func (p *Port) Name() string { return "" }

// Ifindex returns the interface's index.
func (p *Port) Ifindex() int { return 0 }

// Read implements io.Port; it returns ErrNotSupported.
func (p *Port) Read(pkts []*dpio.Packet) (int, error) { return 0, ErrNotSupported }

// Write implements io.Port; it returns ErrNotSupported.
func (p *Port) Write(pkts []*dpio.Packet) (int, error) { return 0, ErrNotSupported }

// Info implements io.Port.
func (p *Port) Info() dpio.PortInfo { return dpio.PortInfo{} }

// Stats implements io.Port.
func (p *Port) Stats() dpio.PortStats { return dpio.PortStats{} }

// Close implements io.Port.
func (p *Port) Close() error { return nil }
