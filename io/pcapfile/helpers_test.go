package pcapfile_test

import (
	"encoding/binary"
	stdio "io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	dpio "github.com/b7cafead/datapath/io"
	"github.com/b7cafead/datapath/io/pcapfile"
)

// frame returns a recognisable test frame of n bytes.
func frame(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

// rec is a test record: a frame with its time.
type rec struct {
	ts   int64 // nanoseconds since the epoch
	data []byte
}

// classic builds a classic pcap file by hand.
func classic(bo binary.AppendByteOrder, nano bool, linkType, snaplen uint32, recs []rec) []byte {
	magic := uint32(0xa1b2c3d4)
	if nano {
		magic = 0xa1b23c4d
	}
	b := bo.AppendUint32(nil, magic)
	b = bo.AppendUint16(b, 2)
	b = bo.AppendUint16(b, 4)
	b = bo.AppendUint32(b, 0)
	b = bo.AppendUint32(b, 0)
	b = bo.AppendUint32(b, snaplen)
	b = bo.AppendUint32(b, linkType)
	for _, r := range recs {
		frac := uint32(r.ts % 1e9)
		if !nano {
			frac /= 1000
		}
		b = bo.AppendUint32(b, uint32(r.ts/1e9))
		b = bo.AppendUint32(b, frac)
		b = bo.AppendUint32(b, uint32(len(r.data)))
		b = bo.AppendUint32(b, uint32(len(r.data)))
		b = append(b, r.data...)
	}
	return b
}

// ngb builds a pcapng file by hand, in either byte order.
type ngb struct {
	bo binary.AppendByteOrder
	b  []byte
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// block appends a block with the given type and body (padded to 4 bytes).
func (n *ngb) block(typ uint32, body []byte) *ngb {
	body = pad4(append([]byte(nil), body...))
	l := uint32(12 + len(body))
	n.b = n.bo.AppendUint32(n.b, typ)
	n.b = n.bo.AppendUint32(n.b, l)
	n.b = append(n.b, body...)
	n.b = n.bo.AppendUint32(n.b, l)
	return n
}

// opt encodes one option.
func (n *ngb) opt(code uint16, val []byte) []byte {
	b := n.bo.AppendUint16(nil, code)
	b = n.bo.AppendUint16(b, uint16(len(val)))
	return pad4(append(b, val...))
}

func (n *ngb) shb() *ngb {
	b := n.bo.AppendUint32(nil, 0x1a2b3c4d)
	b = n.bo.AppendUint16(b, 1)
	b = n.bo.AppendUint16(b, 0)
	b = n.bo.AppendUint64(b, ^uint64(0))
	b = append(b, n.opt(4, []byte("test"))...) // shb_userappl
	b = append(b, n.opt(0, nil)...)
	return n.block(0x0a0d0d0a, b)
}

func (n *ngb) idb(linkType uint16, snaplen uint32, opts ...[]byte) *ngb {
	b := n.bo.AppendUint16(nil, linkType)
	b = n.bo.AppendUint16(b, 0)
	b = n.bo.AppendUint32(b, snaplen)
	for _, o := range opts {
		b = append(b, o...)
	}
	if len(opts) > 0 {
		b = append(b, n.opt(0, nil)...)
	}
	return n.block(1, b)
}

func (n *ngb) epb(iface uint32, ts uint64, data []byte) *ngb {
	b := n.bo.AppendUint32(nil, iface)
	b = n.bo.AppendUint32(b, uint32(ts>>32))
	b = n.bo.AppendUint32(b, uint32(ts))
	b = n.bo.AppendUint32(b, uint32(len(data)))
	b = n.bo.AppendUint32(b, uint32(len(data)))
	b = pad4(append(b, data...))
	b = append(b, n.opt(1, []byte("comment"))...) // opt_comment
	b = append(b, n.opt(0, nil)...)
	return n.block(6, b)
}

func (n *ngb) pb(iface uint16, ts uint64, data []byte) *ngb {
	b := n.bo.AppendUint16(nil, iface)
	b = n.bo.AppendUint16(b, 0)
	b = n.bo.AppendUint32(b, uint32(ts>>32))
	b = n.bo.AppendUint32(b, uint32(ts))
	b = n.bo.AppendUint32(b, uint32(len(data)))
	b = n.bo.AppendUint32(b, uint32(len(data)))
	return n.block(2, append(b, data...))
}

func (n *ngb) spb(data []byte) *ngb {
	b := n.bo.AppendUint32(nil, uint32(len(data)))
	return n.block(3, append(b, data...))
}

// writeFile writes b to name in a fresh temporary directory.
func writeFile(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readAll reads every record of r in batches of n until an error, which
// it returns (io.EOF for a clean end).
func readAll(t testing.TB, r *pcapfile.Reader, n int) ([]rec, error) {
	t.Helper()
	batch := dpio.NewBatch(n)
	var out []rec
	for {
		k, err := r.Read(batch)
		if k < 0 || k > n {
			t.Fatalf("Read returned %d for a batch of %d", k, n)
		}
		if k > 0 && err != nil {
			t.Fatalf("Read returned %d packets and error %v", k, err)
		}
		for _, pk := range batch[:k] {
			out = append(out, rec{pk.Timestamp, append([]byte(nil), pk.Bytes()...)})
		}
		if err != nil {
			return out, err
		}
		if k == 0 {
			t.Fatal("Read returned 0 packets and no error")
		}
	}
}

// readFile opens and reads the whole file at path, expecting a clean end.
func readFile(t testing.TB, path string) []rec {
	t.Helper()
	r, err := pcapfile.Open(path, pcapfile.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := readAll(t, r, 3)
	if err != stdio.EOF {
		t.Fatalf("read %s: got error %v, want io.EOF", path, err)
	}
	return got
}

func sameRecs(t testing.TB, got, want []rec) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].ts != want[i].ts {
			t.Errorf("record %d: timestamp %d, want %d", i, got[i].ts, want[i].ts)
		}
		if string(got[i].data) != string(want[i].data) {
			t.Errorf("record %d: frame differs (len %d, want %d)", i, len(got[i].data), len(want[i].data))
		}
	}
}

// checkFileErr checks that err names the file and an offset.
func checkFileErr(t testing.TB, err error, path string) {
	t.Helper()
	msg := err.Error()
	if !strings.Contains(msg, filepath.Base(path)) || !strings.Contains(msg, "offset") {
		t.Fatalf("error %q does not name the file %s and an offset", msg, path)
	}
}

// testRecs is a small set of records with awkward lengths.
func testRecs() []rec {
	return []rec{
		{1_700_000_000_123_456_000, frame(60, 1)},
		{1_700_000_000_223_457_000, frame(61, 2)},
		{1_700_000_001_000_000_000, frame(1514, 3)},
		{1_700_000_002_999_999_000, frame(63, 4)},
	}
}
