package pcapfile

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	stdio "io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"

	dpio "github.com/b7cafead/datapath/io"
)

// MaxRecordLen is the largest captured length a record may have; longer
// records are reported as errors.
const MaxRecordLen = 256 << 10

// linkTypeEthernet is LINKTYPE_ETHERNET, the only link type supported.
const linkTypeEthernet = 1

// readerMTU is what Reader.Info reports as the port's MTU.
const readerMTU = 65535

// ErrTruncated is wrapped by the *FileError reported for a file that ends
// inside a header, block or record.
var ErrTruncated = errors.New("truncated")

// ErrLinkType is wrapped by the *FileError reported for a capture whose
// link type is not Ethernet.
var ErrLinkType = errors.New("unsupported link type")

// FileError describes a malformed, truncated or unsupported capture file.
// Its message has the form "pcapfile: FILE: offset N: PROBLEM".
type FileError struct {
	File   string // file path as given to Open, or the name given to NewReader
	Offset int64  // byte offset of the bad file header, block or record
	Err    error  // the problem; may wrap ErrTruncated, ErrLinkType or an I/O error
}

// Error implements error.
func (e *FileError) Error() string {
	return "pcapfile: " + e.File + ": offset " + strconv.FormatInt(e.Offset, 10) + ": " + e.Err.Error()
}

// Unwrap returns e.Err.
func (e *FileError) Unwrap() error { return e.Err }

// ReaderOptions configures a Reader. The zero value selects the defaults.
type ReaderOptions struct {
	// Name is the port name reported by Info; the base name of the file
	// when empty ("pcap" for NewReader).
	Name string
	// BatchSize is reported by BatchSize; dpio.DefaultBatchSize when zero
	// or negative.
	BatchSize int
	// Headroom is the headroom Read leaves in front of each frame;
	// dpio.DefaultHeadroom when zero or negative.
	Headroom int
}

// Reader is a receive-only dpio.Port that replays the Ethernet frames of a
// pcap or pcapng file in file order. Read and PeekTime may be called from
// several goroutines; they are serialised internally.
type Reader struct {
	name     string // port name (Info)
	file     string // file name for errors
	batch    int
	headroom int
	stats    dpio.Counters
	closed   atomic.Bool

	mu     sync.Mutex
	closer stdio.Closer // nil once closed, or if the source has no Close
	br     *bufio.Reader
	off    int64 // bytes consumed from the start of the file
	err    error // sticky: io.EOF or the first parse/read error
	hdr    [32]byte
	buf    []byte // the pending record's frame is buf[:plen]

	// The next record, read ahead by PeekTime or Read.
	pending bool
	plen    int
	pts     int64

	ng      bool             // pcapng rather than classic pcap
	bo      binary.ByteOrder // byte order of the file (or current section)
	tsMul   int64            // classic: nanoseconds per timestamp fraction unit
	snaplen uint32           // classic: the file's snapshot length, 0 if none
	ifaces  []ngIface        // pcapng: interfaces of the current section
}

var _ dpio.Port = (*Reader)(nil)

// Open opens the capture file at path for reading. It reads the file
// header, the pcapng interface descriptions and the first record, so a
// file that is not a pcap or pcapng file, is not an Ethernet capture or is
// corrupt at the start fails here with a *FileError.
func Open(path string, opt ReaderOptions) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pcapfile: %w", err)
	}
	if opt.Name == "" {
		opt.Name = filepath.Base(path)
	}
	r, err := newReader(f, path, opt)
	if err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// NewReader returns a Reader for a capture file read from src. It behaves
// like Open; errors name the file by opt.Name ("pcap" when empty). Close
// closes src if it is an io.Closer.
func NewReader(src stdio.Reader, opt ReaderOptions) (*Reader, error) {
	if opt.Name == "" {
		opt.Name = "pcap"
	}
	return newReader(src, opt.Name, opt)
}

func newReader(src stdio.Reader, file string, opt ReaderOptions) (*Reader, error) {
	if opt.BatchSize <= 0 {
		opt.BatchSize = dpio.DefaultBatchSize
	}
	if opt.Headroom <= 0 {
		opt.Headroom = dpio.DefaultHeadroom
	}
	r := &Reader{
		name:     opt.Name,
		file:     file,
		batch:    opt.BatchSize,
		headroom: opt.Headroom,
		br:       bufio.NewReaderSize(src, 64<<10),
		buf:      make([]byte, 2048),
	}
	r.closer, _ = src.(stdio.Closer)
	if err := r.readFileHeader(); err != nil {
		return nil, err
	}
	if err := r.next(); err != nil {
		if err != stdio.EOF {
			return nil, err
		}
		r.err = err
	}
	return r, nil
}

// errorf returns a *FileError at offset off.
func (r *Reader) errorf(off int64, format string, args ...any) error {
	return &FileError{File: r.file, Offset: off, Err: fmt.Errorf(format, args...)}
}

// truncated reports that the item of need bytes starting at start ends
// early; r.off says how far the file went.
func (r *Reader) truncated(start, need int64, what string) error {
	return r.errorf(start, "%w %s (need %d bytes, have %d)", ErrTruncated, what, need, r.off-start)
}

// readFull fills b, part of the item (header, block or record) of need
// bytes starting at start. If eofOK is set, an end of file exactly at
// start is a clean io.EOF; any other short read is a truncation error.
func (r *Reader) readFull(b []byte, start, need int64, what string, eofOK bool) error {
	n, err := stdio.ReadFull(r.br, b)
	r.off += int64(n)
	switch {
	case err == nil:
		return nil
	case err == stdio.EOF && eofOK && r.off == start:
		return stdio.EOF
	case err == stdio.EOF || err == stdio.ErrUnexpectedEOF:
		return r.truncated(start, need, what)
	default:
		return &FileError{File: r.file, Offset: start, Err: err}
	}
}

// discard skips n bytes of the item of need bytes starting at start.
func (r *Reader) discard(n, start, need int64, what string) error {
	for n > 0 {
		chunk := n
		if chunk > 1<<30 {
			chunk = 1 << 30
		}
		d, err := r.br.Discard(int(chunk))
		r.off += int64(d)
		n -= int64(d)
		if err != nil {
			if err == stdio.EOF || err == stdio.ErrUnexpectedEOF {
				return r.truncated(start, need, what)
			}
			return &FileError{File: r.file, Offset: start, Err: err}
		}
	}
	return nil
}

// frame returns the read buffer resized to n bytes, growing it if needed.
func (r *Reader) frame(n int) []byte {
	if n > cap(r.buf) {
		c := 2 * cap(r.buf)
		if c < n {
			c = n
		}
		if c > MaxRecordLen {
			c = MaxRecordLen
		}
		r.buf = make([]byte, c)
	}
	return r.buf[:n]
}

// Classic pcap magic numbers, as read in little-endian order.
const (
	magicMicro    = 0xa1b2c3d4
	magicNano     = 0xa1b23c4d
	magicModified = 0xa1b2cd34
	magicNG       = 0x0a0d0d0a
)

// readFileHeader identifies the format and reads the classic pcap file
// header or the first pcapng section header.
func (r *Reader) readFileHeader() error {
	h := r.hdr[:4]
	if err := r.readFull(h, 0, 24, "file header", false); err != nil {
		return err
	}
	le, be := binary.LittleEndian.Uint32(h), binary.BigEndian.Uint32(h)
	switch {
	case le == magicNG:
		r.ng = true
		if err := r.readFull(r.hdr[4:8], 0, 28, "section header block", false); err != nil {
			return err
		}
		return r.readSectionHeader(0)
	case le == magicMicro || le == magicNano:
		r.bo = binary.LittleEndian
	case be == magicMicro || be == magicNano:
		r.bo = binary.BigEndian
	case le == magicModified || be == magicModified:
		return r.errorf(0, "unsupported modified (Kuznetzov) pcap format")
	default:
		return r.errorf(0, "not a pcap or pcapng file (magic number %#08x)", be)
	}
	r.tsMul = 1000
	if r.bo.Uint32(h) == magicNano {
		r.tsMul = 1
	}
	h = r.hdr[4:24]
	if err := r.readFull(h, 0, 24, "file header", false); err != nil {
		return err
	}
	if major, minor := r.bo.Uint16(r.hdr[4:6]), r.bo.Uint16(r.hdr[6:8]); major != 2 {
		return r.errorf(0, "unsupported pcap version %d.%d", major, minor)
	}
	// 0 means no limit (but MaxRecordLen) for this reader.
	r.snaplen = r.bo.Uint32(r.hdr[16:20])
	if lt := r.bo.Uint32(r.hdr[20:24]) & 0xffff; lt != linkTypeEthernet {
		return r.errorf(20, "%w %d (only Ethernet, 1, is supported)", ErrLinkType, lt)
	}
	return nil
}

// next reads the next record into the read buffer and marks it pending.
// It returns io.EOF at a clean end of file.
func (r *Reader) next() error {
	if r.ng {
		return r.nextNG()
	}
	start := r.off
	h := r.hdr[:16]
	if err := r.readFull(h, start, 16, "record", true); err != nil {
		if have := r.off - start; have >= 12 && errors.Is(err, ErrTruncated) {
			// The captured length survived: say how long the record is.
			return r.truncated(start, 16+int64(r.bo.Uint32(h[8:12])), "record")
		}
		return err
	}
	sec, frac, caplen := r.bo.Uint32(h[0:4]), r.bo.Uint32(h[4:8]), r.bo.Uint32(h[8:12])
	if err := r.checkLen(start, caplen, r.snaplen); err != nil {
		return err
	}
	data := r.frame(int(caplen))
	if err := r.readFull(data, start, 16+int64(caplen), "record", false); err != nil {
		return err
	}
	r.pending, r.plen = true, int(caplen)
	r.pts = int64(sec)*1e9 + int64(frac)*r.tsMul
	return nil
}

// fill makes sure a record is pending, or returns the sticky error.
func (r *Reader) fill() error {
	if r.pending {
		return nil
	}
	if r.err != nil {
		return r.err
	}
	if err := r.next(); err != nil {
		r.err = err
		return err
	}
	return nil
}

// PeekTime returns the timestamp, in nanoseconds since the Unix epoch, of
// the record the next Read will return first, without consuming it. It
// returns io.EOF when no records remain, net.ErrClosed after Close, or the
// *FileError that stops the file. pcapng simple packet blocks carry no
// time and report 0. If that record turns out to be too long for the
// caller's packet buffer, Read skips it, so a caller merging files should
// still check the Timestamp of the packets Read returns.
func (r *Reader) PeekTime() (int64, error) {
	if r.closed.Load() {
		return 0, net.ErrClosed
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed.Load() {
		return 0, net.ErrClosed
	}
	if err := r.fill(); err != nil {
		return 0, err
	}
	return r.pts, nil
}

// Read implements dpio.Port. It fills up to len(pkts) packets with the next
// records of the file, in order, setting each packet's Timestamp to its
// record time. Records longer than a packet's capacity are skipped and
// counted in RxErrors. Read does not block beyond the file reads: when
// records remain it returns at least one; once the file is exhausted it
// returns 0 and io.EOF. A malformed record ends the file with a
// *FileError, returned after the records before it have been delivered.
// After Close, Read returns net.ErrClosed.
func (r *Reader) Read(pkts []*dpio.Packet) (int, error) {
	if r.closed.Load() {
		return 0, net.ErrClosed
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed.Load() {
		return 0, net.ErrClosed
	}
	n := 0
	for n < len(pkts) {
		if r.fill() != nil {
			break
		}
		r.pending = false
		data := r.buf[:r.plen]
		pk := pkts[n]
		pk.Reset(r.headroom)
		if !pk.SetBytes(data) {
			r.stats.RxErrors.Add(1)
			continue
		}
		pk.Timestamp = r.pts
		r.stats.RxPackets.Add(1)
		r.stats.RxBytes.Add(uint64(len(data)))
		n++
	}
	if n > 0 {
		return n, nil
	}
	return 0, r.err
}

// Write implements dpio.Port. A Reader cannot transmit: Write returns an
// error wrapping errors.ErrUnsupported (net.ErrClosed after Close).
func (r *Reader) Write(pkts []*dpio.Packet) (int, error) {
	if r.closed.Load() {
		return 0, net.ErrClosed
	}
	return 0, fmt.Errorf("pcapfile: %s: Write on a capture file reader: %w", r.name, errors.ErrUnsupported)
}

// BatchSize implements dpio.Port.
func (r *Reader) BatchSize() int { return r.batch }

// Info implements dpio.Port. LinkUp is true until the port is closed.
func (r *Reader) Info() dpio.PortInfo {
	return dpio.PortInfo{Name: r.name, MTU: readerMTU, LinkUp: !r.closed.Load(), Headroom: r.headroom}
}

// Stats implements dpio.Port.
func (r *Reader) Stats() dpio.PortStats { return r.stats.Snapshot() }

// Close implements dpio.Port: it closes the file, and later calls return
// net.ErrClosed. A Read already copying records finishes its batch first.
// Closing twice is harmless.
func (r *Reader) Close() error {
	r.closed.Store(true)
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.closer
	r.closer = nil
	if c == nil {
		return nil
	}
	if err := c.Close(); err != nil {
		return fmt.Errorf("pcapfile: %s: %w", r.file, err)
	}
	return nil
}
