//go:build !linux

package afxdp

import (
	"fmt"
	"net"
	"runtime"

	dpio "github.com/b7cafead/datapath/io"
)

// Port is an AF_XDP port. AF_XDP exists only on Linux: on this system
// Open always fails and no Port can be made.
type Port struct{}

// Open fails on this system with an error wrapping ErrUnavailable.
func Open(ifname string, cfg Config) (*Port, error) {
	return nil, fmt.Errorf("%w: not supported on %s", ErrUnavailable, runtime.GOOS)
}

// Read implements dpio.Port; it returns net.ErrClosed.
func (p *Port) Read(pkts []*dpio.Packet) (int, error) { return 0, net.ErrClosed }

// Write implements dpio.Port; it returns net.ErrClosed.
func (p *Port) Write(pkts []*dpio.Packet) (int, error) { return 0, net.ErrClosed }

// BatchSize implements dpio.Port.
func (p *Port) BatchSize() int { return dpio.DefaultBatchSize }

// Info implements dpio.Port.
func (p *Port) Info() dpio.PortInfo { return dpio.PortInfo{} }

// Stats implements dpio.Port.
func (p *Port) Stats() dpio.PortStats { return dpio.PortStats{} }

// Close implements dpio.Port.
func (p *Port) Close() error { return nil }
