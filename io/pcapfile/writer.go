package pcapfile

import (
	"bufio"
	"errors"
	"fmt"
	stdio "io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	dpio "github.com/b7cafead/datapath/io"
)

// writerSnaplen is the snapshot length of files a Writer makes; longer
// frames are truncated to it (the record keeps the original length).
const writerSnaplen = 65535

// WriterOptions configures a Writer. The zero value selects the defaults.
type WriterOptions struct {
	// Name is the port name reported by Info; the base name of the file
	// when empty ("pcap" for NewWriter).
	Name string
	// BatchSize is reported by BatchSize; dpio.DefaultBatchSize when zero
	// or negative.
	BatchSize int
}

// Writer is a transmit-only dpio.Port that records the frames written to
// it in a classic pcap file: little-endian, microsecond timestamps,
// snapshot length 65535 and LINKTYPE_ETHERNET. Frames longer than 65535
// bytes are truncated to it. Output is buffered; Flush or Close writes it
// out. Write, Flush and Close may be called from several goroutines.
type Writer struct {
	name   string
	batch  int
	stats  dpio.Counters
	closed atomic.Bool

	mu     sync.Mutex
	bw     *bufio.Writer
	pw     *pcapgo.Writer
	closer stdio.Closer // nil if the destination has no Close
}

var _ dpio.Port = (*Writer)(nil)

// Create creates (or truncates) the file at path and returns a Writer that
// records frames in it. The pcap file header is written at once.
func Create(path string, opt WriterOptions) (*Writer, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("pcapfile: %w", err)
	}
	if opt.Name == "" {
		opt.Name = filepath.Base(path)
	}
	w, err := NewWriter(f, opt)
	if err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

// NewWriter returns a Writer that records frames in pcap format to dst,
// starting with the file header. Close flushes the output and closes dst
// if it is an io.Closer.
func NewWriter(dst stdio.Writer, opt WriterOptions) (*Writer, error) {
	if opt.Name == "" {
		opt.Name = "pcap"
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = dpio.DefaultBatchSize
	}
	w := &Writer{name: opt.Name, batch: opt.BatchSize, bw: bufio.NewWriterSize(dst, 64<<10)}
	w.closer, _ = dst.(stdio.Closer)
	w.pw = pcapgo.NewWriter(w.bw)
	if err := w.pw.WriteFileHeader(writerSnaplen, layers.LinkTypeEthernet); err != nil {
		return nil, w.wrap(err)
	}
	return w, nil
}

func (w *Writer) wrap(err error) error {
	return fmt.Errorf("pcapfile: %s: %w", w.name, err)
}

// Write implements dpio.Port: each frame becomes one record, timestamped
// with the packet's Timestamp or, when that is zero, the time of the call.
// An error means the output failed (or net.ErrClosed after Close); the
// count says how many frames were recorded before it.
func (w *Writer) Write(pkts []*dpio.Packet) (int, error) {
	if w.closed.Load() {
		return 0, net.ErrClosed
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed.Load() {
		return 0, net.ErrClosed
	}
	var now time.Time
	for i, pk := range pkts {
		b := pk.Bytes()
		ci := gopacket.CaptureInfo{CaptureLength: len(b), Length: len(b)}
		if ci.CaptureLength > writerSnaplen {
			ci.CaptureLength = writerSnaplen
		}
		if pk.Timestamp != 0 {
			ci.Timestamp = time.Unix(0, pk.Timestamp)
		} else {
			if now.IsZero() {
				now = time.Now()
			}
			ci.Timestamp = now
		}
		if err := w.pw.WritePacket(ci, b[:ci.CaptureLength]); err != nil {
			w.stats.TxErrors.Add(1)
			return i, w.wrap(err)
		}
		w.stats.TxPackets.Add(1)
		w.stats.TxBytes.Add(uint64(len(b)))
	}
	return len(pkts), nil
}

// Read implements dpio.Port. A Writer cannot receive: Read returns at once
// with an error wrapping errors.ErrUnsupported (net.ErrClosed after
// Close).
func (w *Writer) Read(pkts []*dpio.Packet) (int, error) {
	if w.closed.Load() {
		return 0, net.ErrClosed
	}
	return 0, fmt.Errorf("pcapfile: %s: Read on a capture file writer: %w", w.name, errors.ErrUnsupported)
}

// Flush writes any buffered records to the destination.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed.Load() {
		return net.ErrClosed
	}
	if err := w.bw.Flush(); err != nil {
		return w.wrap(err)
	}
	return nil
}

// BatchSize implements dpio.Port.
func (w *Writer) BatchSize() int { return w.batch }

// Info implements dpio.Port. LinkUp is true until the port is closed.
func (w *Writer) Info() dpio.PortInfo {
	return dpio.PortInfo{Name: w.name, MTU: writerSnaplen, LinkUp: !w.closed.Load()}
}

// Stats implements dpio.Port.
func (w *Writer) Stats() dpio.PortStats { return w.stats.Snapshot() }

// Close implements dpio.Port: it flushes the buffered records and closes
// the destination, returning the first error from either. Later calls
// return net.ErrClosed; closing twice is harmless.
func (w *Writer) Close() error {
	if w.closed.Swap(true) {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.bw.Flush()
	if w.closer != nil {
		if cerr := w.closer.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return w.wrap(err)
	}
	return nil
}
