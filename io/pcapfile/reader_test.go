package pcapfile_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	stdio "io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	dpio "github.com/b7cafead/datapath/io"
	"github.com/b7cafead/datapath/io/pcapfile"
)

func TestClassicByteOrderAndResolution(t *testing.T) {
	recs := testRecs()
	recs[1].ts += 789 // only kept by nanosecond files
	for _, tc := range []struct {
		name string
		bo   binary.AppendByteOrder
		nano bool
	}{
		{"le-micro", binary.LittleEndian, false},
		{"be-micro", binary.BigEndian, false},
		{"le-nano", binary.LittleEndian, true},
		{"be-nano", binary.BigEndian, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := append([]rec(nil), recs...)
			if !tc.nano {
				for i := range want {
					want[i].ts -= want[i].ts % 1000
				}
			}
			p := writeFile(t, tc.name+".pcap", classic(tc.bo, tc.nano, 1, 65535, recs))
			sameRecs(t, readFile(t, p), want)
		})
	}
}

func TestPcapNGFromGopacket(t *testing.T) {
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriter(&buf, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddInterface(pcapgo.NgInterface{Name: "second", LinkType: layers.LinkTypeEthernet, SnapLength: 2000}); err != nil {
		t.Fatal(err)
	}
	recs := testRecs()
	for i, r := range recs {
		r.ts += int64(i) * 111 // nanosecond precision survives
		recs[i] = r
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, r.ts), CaptureLength: len(r.data), Length: len(r.data), InterfaceIndex: i % 2}
		if err := w.WritePacket(ci, r.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	p := writeFile(t, "gp.pcapng", buf.Bytes())
	sameRecs(t, readFile(t, p), recs)
}

func TestPcapNGHandmade(t *testing.T) {
	data := [][]byte{frame(60, 10), frame(61, 11), frame(62, 12), frame(63, 13), frame(64, 14)}
	for _, bo := range []binary.AppendByteOrder{binary.LittleEndian, binary.BigEndian} {
		n := &ngb{bo: bo}
		n.shb().
			idb(1, 0, n.opt(9, []byte{3})). // milliseconds
			idb(1, 100, n.opt(2, []byte("eth1")), n.opt(9, []byte{0x80 | 20}), n.opt(14, bo.AppendUint64(nil, 10))).
			block(0x0bad, []byte("unknown block, skipped")).
			epb(0, 1_700_000_000_123, data[0]).
			epb(1, 3<<20|1<<19, data[1]). // 3.5 s in 2^-20 units, +10 s offset
			spb(data[2]).
			pb(0, 42, data[3])
		// A second section in the other byte order restarts interfaces.
		other := binary.AppendByteOrder(binary.BigEndian)
		if bo == binary.BigEndian {
			other = binary.LittleEndian
		}
		m := &ngb{bo: other}
		m.shb().idb(1, 0).epb(0, 5_000_000, data[4]) // default microseconds
		want := []rec{
			{1_700_000_000_123_000_000, data[0]},
			{13_500_000_000, data[1]},
			{0, data[2]},
			{42_000_000, data[3]},
			{5_000_000_000, data[4]},
		}
		p := writeFile(t, "hand.pcapng", append(n.b, m.b...))
		sameRecs(t, readFile(t, p), want)
	}
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "rt.pcap")
	w, err := pcapfile.Create(p, pcapfile.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	recs := testRecs()
	batch := dpio.NewBatch(len(recs))
	var bytesOut uint64
	for i, r := range recs {
		batch[i].Reset(dpio.DefaultHeadroom)
		batch[i].SetBytes(r.data)
		batch[i].Timestamp = r.ts
		bytesOut += uint64(len(r.data))
	}
	if n, err := w.Write(batch); n != len(batch) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	// A packet without a timestamp gets the current time.
	before := time.Now().Truncate(time.Microsecond)
	nots := dpio.NewPacket(0, 100)
	nots.SetBytes(frame(100, 5))
	if n, err := w.Write([]*dpio.Packet{nots}); n != 1 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	after := time.Now()
	if s := w.Stats(); s.TxPackets != 5 || s.TxBytes != bytesOut+100 || s.TxErrors != 0 {
		t.Errorf("writer stats %+v", s)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	r, err := pcapfile.Open(p, pcapfile.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, r, 2)
	if err != stdio.EOF {
		t.Fatalf("got %v, want io.EOF", err)
	}
	if len(got) != 5 {
		t.Fatalf("got %d records, want 5", len(got))
	}
	sameRecs(t, got[:4], recs)
	if ts := time.Unix(0, got[4].ts); ts.Before(before) || ts.After(after) || string(got[4].data) != string(frame(100, 5)) {
		t.Errorf("untimed packet read back at %v, want between %v and %v", ts, before, after)
	}
	if s := r.Stats(); s.RxPackets != 5 || s.RxBytes != bytesOut+100 || s.RxErrors != 0 {
		t.Errorf("reader stats %+v", s)
	}
	r.Close()

	// The file is standard: gopacket's own reader agrees.
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gr, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if gr.LinkType() != layers.LinkTypeEthernet || gr.Snaplen() != 65535 {
		t.Errorf("link type %v snaplen %d", gr.LinkType(), gr.Snaplen())
	}
	for i, r := range recs {
		data, ci, err := gr.ReadPacketData()
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != string(r.data) || ci.Timestamp.UnixNano() != r.ts {
			t.Errorf("pcapgo record %d differs", i)
		}
	}
}

func TestNewWriterAndNewReader(t *testing.T) {
	var buf bytes.Buffer
	w, err := pcapfile.NewWriter(&buf, pcapfile.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pk := dpio.NewPacket(0, 64)
	pk.SetBytes(frame(64, 9))
	pk.Timestamp = 1e9
	if _, err := w.Write([]*dpio.Packet{pk, pk}); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 0 {
		t.Error("output not buffered")
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 24+2*(16+64) {
		t.Errorf("file is %d bytes, want %d", buf.Len(), 24+2*(16+64))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := pcapfile.NewReader(bytes.NewReader(buf.Bytes()), pcapfile.ReaderOptions{Name: "mem"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, r, 8)
	if err != stdio.EOF || len(got) != 2 || got[1].ts != 1e9 {
		t.Fatalf("got %d records, %v", len(got), err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestWriterTruncatesLongFrames(t *testing.T) {
	var buf bytes.Buffer
	w, _ := pcapfile.NewWriter(&buf, pcapfile.WriterOptions{})
	pk := dpio.NewPacket(0, 70000)
	pk.SetBytes(frame(70000, 1))
	pk.Timestamp = 1
	if n, err := w.Write([]*dpio.Packet{pk}); n != 1 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	gr, err := pcapgo.NewReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	data, ci, err := gr.ReadPacketData()
	if err != nil || len(data) != 65535 || ci.Length != 70000 {
		t.Fatalf("record: %d bytes, length %d, %v", len(data), ci.Length, err)
	}
}

func TestEOF(t *testing.T) {
	recs := testRecs()[:3]
	p := writeFile(t, "eof.pcap", classic(binary.LittleEndian, false, 1, 65535, recs))
	r, err := pcapfile.Open(p, pcapfile.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	batch := dpio.NewBatch(2)
	for i, want := range []struct {
		n   int
		err error
	}{{2, nil}, {1, nil}, {0, stdio.EOF}, {0, stdio.EOF}} {
		if n, err := r.Read(batch); n != want.n || err != want.err {
			t.Fatalf("Read %d = %d, %v; want %d, %v", i, n, err, want.n, want.err)
		}
	}
	if _, err := r.PeekTime(); err != stdio.EOF {
		t.Errorf("PeekTime at end = %v", err)
	}

	// A file with a header and no records is an empty capture.
	p = writeFile(t, "empty.pcap", classic(binary.BigEndian, true, 1, 0, nil))
	r2, err := pcapfile.Open(p, pcapfile.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if n, err := r2.Read(batch); n != 0 || err != stdio.EOF {
		t.Errorf("empty file: Read = %d, %v", n, err)
	}
	n := &ngb{bo: binary.LittleEndian}
	p = writeFile(t, "empty.pcapng", n.shb().b)
	r3, err := pcapfile.Open(p, pcapfile.ReaderOptions{})
	if err != nil {
		t.Fatalf("pcapng with only a section header: %v", err)
	}
	defer r3.Close()
	if n, err := r3.Read(batch); n != 0 || err != stdio.EOF {
		t.Errorf("empty pcapng: Read = %d, %v", n, err)
	}
}

func TestPeekTimeMerge(t *testing.T) {
	a := []rec{{1e9, frame(60, 1)}, {3e9, frame(60, 3)}, {4e9, frame(60, 4)}}
	b := []rec{{2e9, frame(70, 2)}, {5e9, frame(70, 5)}}
	pa := writeFile(t, "a.pcap", classic(binary.LittleEndian, false, 1, 65535, a))
	nb := &ngb{bo: binary.BigEndian}
	nb.shb().idb(1, 0, nb.opt(9, []byte{9}))
	for _, r := range b {
		nb.epb(0, uint64(r.ts), r.data)
	}
	pb := writeFile(t, "b.pcapng", nb.b)
	var in []*pcapfile.Reader
	for _, p := range []string{pa, pb} {
		r, err := pcapfile.Open(p, pcapfile.ReaderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		in = append(in, r)
	}
	one := dpio.NewBatch(1)
	var got []rec
	for {
		best, bestTS := -1, int64(0)
		for i, r := range in {
			ts, err := r.PeekTime()
			if err == stdio.EOF {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if ts2, _ := r.PeekTime(); ts2 != ts {
				t.Fatal("PeekTime consumed the record")
			}
			if best < 0 || ts < bestTS {
				best, bestTS = i, ts
			}
		}
		if best < 0 {
			break
		}
		if n, err := in[best].Read(one); n != 1 || err != nil {
			t.Fatalf("Read = %d, %v", n, err)
		}
		got = append(got, rec{one[0].Timestamp, append([]byte(nil), one[0].Bytes()...)})
	}
	sameRecs(t, got, []rec{a[0], b[0], a[1], a[2], b[1]})
}

func TestOversizedFramesSkipped(t *testing.T) {
	recs := testRecs() // the 1514-byte frame does not fit below
	p := writeFile(t, "big.pcap", classic(binary.LittleEndian, false, 1, 65535, recs))
	r, err := pcapfile.Open(p, pcapfile.ReaderOptions{Headroom: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	batch := dpio.NewBatchSize(8, 16, 100)
	n, err := r.Read(batch)
	if n != 3 || err != nil {
		t.Fatalf("Read = %d, %v; want 3", n, err)
	}
	for i, want := range []rec{recs[0], recs[1], recs[3]} {
		if string(batch[i].Bytes()) != string(want.data) || batch[i].Headroom() != 16 {
			t.Errorf("packet %d: wrong frame or headroom %d", i, batch[i].Headroom())
		}
	}
	if s := r.Stats(); s.RxErrors != 1 || s.RxPackets != 3 {
		t.Errorf("stats %+v", s)
	}
}

func TestTruncatedFiles(t *testing.T) {
	small := []rec{{1e9, frame(60, 1)}, {2e9, frame(61, 2)}, {3e9, frame(63, 3)}}
	var gp bytes.Buffer
	w, _ := pcapgo.NewNgWriter(&gp, layers.LinkTypeEthernet)
	for _, r := range small {
		w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(0, r.ts), CaptureLength: len(r.data), Length: len(r.data)}, r.data)
	}
	w.Flush()
	hand := &ngb{bo: binary.BigEndian}
	hand.shb().idb(1, 0, hand.opt(9, []byte{9})).epb(0, 1, small[0].data).spb(small[1].data).pb(0, 2, small[2].data)
	files := map[string][]byte{
		"le.pcap":     classic(binary.LittleEndian, false, 1, 65535, small),
		"be.pcap":     classic(binary.BigEndian, true, 1, 65535, small),
		"gp.pcapng":   gp.Bytes(),
		"hand.pcapng": hand.b,
	}
	dir := t.TempDir()
	for name, full := range files {
		p := filepath.Join(dir, name)
		for l := 0; l < len(full); l++ {
			if err := os.WriteFile(p, full[:l], 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := pcapfile.Open(p, pcapfile.ReaderOptions{})
			if err == nil {
				var got []rec
				got, err = readAll(t, r, 2)
				r.Close()
				if err == stdio.EOF {
					if len(got) >= len(small) {
						t.Fatalf("%s cut at %d: read all %d records", name, l, len(got))
					}
					continue
				}
			}
			checkFileErr(t, err, p)
			if !errors.Is(err, pcapfile.ErrTruncated) {
				t.Fatalf("%s cut at %d: %v is not ErrTruncated", name, l, err)
			}
		}
	}
}

func TestTruncatedMessage(t *testing.T) {
	full := classic(binary.LittleEndian, false, 1, 65535, []rec{{1, frame(60, 1)}, {2, frame(44, 2)}})
	p := writeFile(t, "foo.pcap", full[:24+76+12])
	r, err := pcapfile.Open(p, pcapfile.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, err = readAll(t, r, 4)
	want := "pcapfile: " + p + ": offset 100: truncated record (need 60 bytes, have 12)"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	var fe *pcapfile.FileError
	if !errors.As(err, &fe) || fe.Offset != 100 || fe.File != p {
		t.Fatalf("not a *FileError at offset 100: %#v", err)
	}
}

func TestLinkType(t *testing.T) {
	p := writeFile(t, "raw.pcap", classic(binary.LittleEndian, false, 101, 65535, testRecs()))
	_, err := pcapfile.Open(p, pcapfile.ReaderOptions{})
	if err == nil || !errors.Is(err, pcapfile.ErrLinkType) || !strings.Contains(err.Error(), "link type 101") {
		t.Fatalf("got %v, want a link type error", err)
	}
	checkFileErr(t, err, p)

	n := &ngb{bo: binary.LittleEndian}
	p = writeFile(t, "sll.pcapng", n.shb().idb(113, 0).b)
	_, err = pcapfile.Open(p, pcapfile.ReaderOptions{})
	if err == nil || !errors.Is(err, pcapfile.ErrLinkType) {
		t.Fatalf("got %v, want a link type error", err)
	}
	checkFileErr(t, err, p)

	// A non-Ethernet interface later in the file stops it there.
	n = &ngb{bo: binary.LittleEndian}
	n.shb().idb(1, 0).epb(0, 1, frame(60, 1)).idb(105, 0).epb(1, 2, frame(60, 2))
	p = writeFile(t, "late.pcapng", n.b)
	r, err := pcapfile.Open(p, pcapfile.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := readAll(t, r, 4)
	if len(got) != 1 || !errors.Is(err, pcapfile.ErrLinkType) {
		t.Fatalf("got %d records and %v", len(got), err)
	}
	if _, err2 := r.PeekTime(); err2 != err {
		t.Errorf("error is not sticky: %v", err2)
	}
}

func TestBadFiles(t *testing.T) {
	le := binary.LittleEndian
	okRec := []rec{{1, frame(60, 1)}}
	badSecond := classic(le, false, 1, 65535, []rec{{1, frame(60, 1)}, {2, frame(60, 2)}})
	le.PutUint32(badSecond[24+76+8:], 70000) // caplen of record 2 > snaplen
	overMax := classic(le, false, 1, 0, okRec)
	le.PutUint32(overMax[24+8:], pcapfile.MaxRecordLen+1)
	version := classic(le, false, 1, 65535, okRec)
	le.PutUint16(version[4:], 3)

	ng := func() *ngb { n := &ngb{bo: le}; return n.shb().idb(1, 0) }
	shbLen := len((&ngb{bo: le}).shb().b)
	idbEnd := len(ng().b)
	badBOM := ng().b
	badBOM[8] ^= 0xff
	ngVersion := ng().b
	le.PutUint16(ngVersion[12:], 2)
	badLen := ng().epb(0, 1, frame(60, 1)).b
	le.PutUint32(badLen[idbEnd+4:], 90) // not a multiple of 4
	badTrailer := ng().epb(0, 1, frame(60, 1)).b
	badTrailer[len(badTrailer)-1] ^= 1
	overrun := ng().epb(0, 1, frame(60, 1)).b
	le.PutUint32(overrun[idbEnd+20:], 200) // caplen beyond the block
	n := &ngb{bo: le}
	badRes := n.shb().idb(1, 0, n.opt(9, []byte{60})).b
	snap := (&ngb{bo: le}).shb().idb(1, 50).epb(0, 1, frame(60, 1)).b
	n = &ngb{bo: le}
	spbFirst := n.shb().spb(frame(60, 1)).b

	for _, tc := range []struct {
		name string
		b    []byte
		off  int64
		msg  string
	}{
		{"magic", []byte("this is not a capture file at all"), 0, "not a pcap or pcapng file"},
		{"modified", append(le.AppendUint32(nil, 0xa1b2cd34), make([]byte, 20)...), 0, "modified"},
		{"version", version, 0, "unsupported pcap version 3.4"},
		{"snaplen", badSecond, 100, "record length 70000 exceeds the snapshot length 65535"},
		{"max", overMax, 24, "exceeds the maximum 262144"},
		{"bom", badBOM, 0, "byte-order magic"},
		{"ngversion", ngVersion, 0, "unsupported pcapng version 2.0"},
		{"blocklen", badLen, int64(idbEnd), "invalid block length 90"},
		{"trailer", badTrailer, int64(idbEnd), "trailing length"},
		{"overrun", overrun, int64(idbEnd), "overruns the block length"},
		{"undefined", ng().epb(3, 1, frame(60, 1)).b, int64(idbEnd), "undefined interface 3"},
		{"tsresol", badRes, int64(shbLen), "timestamp resolution"},
		{"ngsnaplen", snap, int64(idbEnd), "exceeds the snapshot length 50"},
		{"spb", spbFirst, int64(shbLen), "no interface description"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, tc.name+".cap", tc.b)
			r, err := pcapfile.Open(p, pcapfile.ReaderOptions{})
			if err == nil {
				_, err = readAll(t, r, 4)
				r.Close()
			}
			var fe *pcapfile.FileError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a *FileError", err)
			}
			checkFileErr(t, err, p)
			if fe.Offset != tc.off || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %q, want offset %d and %q", err, tc.off, tc.msg)
			}
		})
	}
}

func TestOpenMissingFile(t *testing.T) {
	_, err := pcapfile.Open(filepath.Join(t.TempDir(), "nope.pcap"), pcapfile.ReaderOptions{})
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "nope.pcap") {
		t.Fatalf("got %v", err)
	}
}

func TestInfoAndOptions(t *testing.T) {
	p := writeFile(t, "info.pcap", classic(binary.LittleEndian, false, 1, 65535, testRecs()))
	r, err := pcapfile.Open(p, pcapfile.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := dpio.PortInfo{Name: "info.pcap", MTU: 65535, LinkUp: true, Headroom: dpio.DefaultHeadroom}
	if got := r.Info(); got.Name != want.Name || got.MTU != want.MTU || !got.LinkUp || got.Headroom != want.Headroom || got.MAC != nil {
		t.Errorf("Info = %+v, want %+v", got, want)
	}
	if r.BatchSize() != dpio.DefaultBatchSize {
		t.Errorf("BatchSize = %d", r.BatchSize())
	}
	r.Close()
	r, err = pcapfile.Open(p, pcapfile.ReaderOptions{Name: "in0", BatchSize: 7, Headroom: 64})
	if err != nil {
		t.Fatal(err)
	}
	if i := r.Info(); i.Name != "in0" || i.Headroom != 64 || r.BatchSize() != 7 {
		t.Errorf("Info = %+v, BatchSize %d", i, r.BatchSize())
	}
	r.Close()

	w, err := pcapfile.Create(filepath.Join(t.TempDir(), "out.pcap"), pcapfile.WriterOptions{BatchSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	if i := w.Info(); i.Name != "out.pcap" || i.MTU != 65535 || !i.LinkUp || w.BatchSize() != 5 {
		t.Errorf("writer Info = %+v, BatchSize %d", i, w.BatchSize())
	}
	w.Close()
}

func TestUnsupportedAndClose(t *testing.T) {
	p := writeFile(t, "c.pcap", classic(binary.LittleEndian, false, 1, 65535, testRecs()))
	r, err := pcapfile.Open(p, pcapfile.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	batch := dpio.NewBatch(1)
	if _, err := r.Write(batch); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Reader.Write = %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(batch); err != net.ErrClosed {
		t.Errorf("Read after Close = %v", err)
	}
	if _, err := r.PeekTime(); err != net.ErrClosed {
		t.Errorf("PeekTime after Close = %v", err)
	}
	if _, err := r.Write(batch); err != net.ErrClosed {
		t.Errorf("Write after Close = %v", err)
	}
	if r.Info().LinkUp {
		t.Error("LinkUp after Close")
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}

	w, err := pcapfile.Create(filepath.Join(t.TempDir(), "w.pcap"), pcapfile.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := w.Read(batch); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("Writer.Read = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Writer.Read blocked")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(batch); err != net.ErrClosed {
		t.Errorf("Write after Close = %v", err)
	}
	if _, err := w.Read(batch); err != net.ErrClosed {
		t.Errorf("Read after Close = %v", err)
	}
	if err := w.Flush(); err != net.ErrClosed {
		t.Errorf("Flush after Close = %v", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

// failWriter fails every write after the first ok bytes.
type failWriter struct {
	ok       int
	closeErr error
	closed   bool
}

var errDisk = errors.New("disk full")

func (f *failWriter) Write(b []byte) (int, error) {
	if len(b) <= f.ok {
		f.ok -= len(b)
		return len(b), nil
	}
	n := f.ok
	f.ok = 0
	return n, errDisk
}

func (f *failWriter) Close() error { f.closed = true; return f.closeErr }

func TestWriterErrors(t *testing.T) {
	pk := dpio.NewPacket(0, 1500)
	pk.SetBytes(frame(1500, 1))
	batch := []*dpio.Packet{pk, pk, pk, pk}

	// Write fails once the buffer has to be flushed.
	fw := &failWriter{ok: 1000}
	w, _ := pcapfile.NewWriter(fw, pcapfile.WriterOptions{Name: "disk"})
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		_, err = w.Write(batch)
	}
	if !errors.Is(err, errDisk) && (err == nil || !strings.Contains(err.Error(), "disk full")) {
		t.Fatalf("Write error = %v", err)
	}
	if w.Stats().TxErrors == 0 {
		t.Error("TxErrors not counted")
	}
	if err := w.Close(); err == nil || !fw.closed {
		t.Errorf("Close = %v, closed %v", err, fw.closed)
	}

	// Close reports a flush error, and a close error.
	fw = &failWriter{ok: 10}
	w, _ = pcapfile.NewWriter(fw, pcapfile.WriterOptions{})
	if err := w.Close(); !errors.Is(err, errDisk) {
		t.Errorf("Close = %v, want the flush error", err)
	}
	fw = &failWriter{ok: 1 << 20, closeErr: errors.New("close failed")}
	w, _ = pcapfile.NewWriter(fw, pcapfile.WriterOptions{})
	if err := w.Close(); !errors.Is(err, fw.closeErr) {
		t.Errorf("Close = %v, want the close error", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	recs := make([]rec, 2000)
	for i := range recs {
		recs[i] = rec{int64(i+1) * 1000, frame(60+i%40, byte(i))}
	}
	p := writeFile(t, "conc.pcap", classic(binary.LittleEndian, false, 1, 65535, recs))
	r, err := pcapfile.Open(p, pcapfile.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := pcapfile.Create(filepath.Join(t.TempDir(), "conc-out.pcap"), pcapfile.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			batch := dpio.NewBatch(8)
			for {
				n, err := r.Read(batch)
				if err != nil {
					return
				}
				if _, err := w.Write(batch[:n]); err != nil {
					return
				}
				r.PeekTime()
				_ = r.Stats()
			}
		}()
	}
	time.Sleep(time.Millisecond)
	r.Close()
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if rs, ws := r.Stats(), w.Stats(); rs.RxPackets != ws.TxPackets {
		t.Errorf("read %d, wrote %d", rs.RxPackets, ws.TxPackets)
	}
}

// manyRecords returns a classic pcap and a pcapng file with n records.
func manyRecords(t testing.TB, n int) (string, string) {
	recs := make([]rec, n)
	var ng bytes.Buffer
	nw, err := pcapgo.NewNgWriter(&ng, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		recs[i] = rec{int64(i+1) * 1000, frame(60+i%1400, byte(i))}
		d := recs[i].data
		nw.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(0, recs[i].ts), CaptureLength: len(d), Length: len(d)}, d)
	}
	nw.Flush()
	return writeFile(t, "many.pcap", classic(binary.LittleEndian, false, 1, 65535, recs)),
		writeFile(t, "many.pcapng", ng.Bytes())
}

func TestReadDoesNotAllocate(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	pcap, pcapng := manyRecords(t, 4000)
	for _, p := range []string{pcap, pcapng} {
		r, err := pcapfile.Open(p, pcapfile.ReaderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		batch := dpio.NewBatch(16)
		r.Read(batch) // warm up: grow the read buffer
		allocs := testing.AllocsPerRun(100, func() {
			if n, err := r.Read(batch); n != len(batch) || err != nil {
				t.Fatalf("Read = %d, %v", n, err)
			}
			r.PeekTime()
		})
		r.Close()
		if allocs != 0 {
			t.Errorf("%s: %v allocations per batch, want 0", filepath.Base(p), allocs)
		}
	}
}

func TestWriteDoesNotAllocate(t *testing.T) {
	w, _ := pcapfile.NewWriter(stdio.Discard, pcapfile.WriterOptions{})
	batch := dpio.NewBatch(16)
	for i, pk := range batch {
		pk.SetBytes(frame(100+i, byte(i)))
		if i%2 == 0 {
			pk.Timestamp = int64(i) * 1e6
		}
	}
	allocs := testing.AllocsPerRun(100, func() {
		if n, err := w.Write(batch); n != len(batch) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per batch, want 0", allocs)
	}
}

func BenchmarkRead(b *testing.B) {
	pcap, pcapng := manyRecords(b, 4000)
	for _, p := range []string{pcap, pcapng} {
		b.Run(filepath.Ext(p)[1:], func(b *testing.B) {
			batch := dpio.NewBatch(32)
			var r *pcapfile.Reader
			b.ReportAllocs()
			for b.Loop() {
				if r == nil {
					var err error
					if r, err = pcapfile.Open(p, pcapfile.ReaderOptions{}); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := r.Read(batch); err != nil {
					r.Close()
					r = nil
				}
			}
			if r != nil {
				r.Close()
			}
		})
	}
}

func TestLargeRecords(t *testing.T) {
	recs := []rec{{1, frame(3000, 1)}, {2, frame(100_000, 2)}, {3, frame(pcapfile.MaxRecordLen, 3)}, {4, frame(10, 4)}}
	n := &ngb{bo: binary.LittleEndian}
	n.shb().idb(1, 0, n.opt(9, []byte{9}))
	for _, r := range recs {
		n.epb(0, uint64(r.ts), r.data)
	}
	for name, b := range map[string][]byte{
		"large.pcap":   classic(binary.LittleEndian, true, 1, 0, recs),
		"large.pcapng": n.b,
	} {
		r, err := pcapfile.Open(writeFile(t, name, b), pcapfile.ReaderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		batch := dpio.NewBatchSize(2, dpio.DefaultHeadroom, pcapfile.MaxRecordLen)
		var got []rec
		for {
			k, err := r.Read(batch)
			for _, pk := range batch[:k] {
				got = append(got, rec{pk.Timestamp, append([]byte(nil), pk.Bytes()...)})
			}
			if err == stdio.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		r.Close()
		sameRecs(t, got, recs)
	}
}
