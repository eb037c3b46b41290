package pcapfile_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	stdio "io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	dpio "github.com/b7cafead/datapath/io"
	"github.com/b7cafead/datapath/io/pcapfile"
)

// FuzzReader opens arbitrary bytes as a capture file and reads it to the
// end: it must never panic, and every error but io.EOF must be a
// *FileError naming the file.
func FuzzReader(f *testing.F) {
	recs := []rec{{1e9, frame(60, 1)}, {2e9 + 1, frame(61, 2)}}
	f.Add(classic(binary.LittleEndian, false, 1, 65535, recs))
	f.Add(classic(binary.BigEndian, true, 1, 100, recs))
	var ng bytes.Buffer
	w, _ := pcapgo.NewNgWriter(&ng, layers.LinkTypeEthernet)
	for _, r := range recs {
		w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(0, r.ts), CaptureLength: len(r.data), Length: len(r.data)}, r.data)
	}
	w.Flush()
	f.Add(ng.Bytes())
	hand := &ngb{bo: binary.BigEndian}
	hand.shb().idb(1, 64, hand.opt(9, []byte{0x80 | 10}), hand.opt(14, []byte{0, 0, 0, 0, 0, 0, 0, 1})).
		epb(0, 1, recs[0].data).spb(recs[1].data).pb(0, 2, recs[1].data)
	f.Add(hand.b)

	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "fuzz.pcap")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := pcapfile.Open(p, pcapfile.ReaderOptions{})
		if err == nil {
			// Small buffers exercise the skipping of frames that do not fit.
			batch := dpio.NewBatchSize(3, 8, 100)
			for i := 0; ; i++ {
				if i%2 == 0 {
					if _, perr := r.PeekTime(); perr != nil {
						err = perr
						break
					}
				}
				var n int
				n, err = r.Read(batch)
				if n < 0 || n > len(batch) || (n > 0 && err != nil) || (n == 0 && err == nil) {
					t.Fatalf("Read = %d, %v", n, err)
				}
				if err != nil {
					break
				}
			}
			if n, err2 := r.Read(batch); n != 0 || err2 != err {
				t.Fatalf("error not sticky: %v then %d, %v", err, n, err2)
			}
			r.Close()
		}
		if err == stdio.EOF {
			return
		}
		var fe *pcapfile.FileError
		if !errors.As(err, &fe) || fe.File != p {
			t.Fatalf("error %v is not a *FileError for %s", err, p)
		}
		checkFileErr(t, err, p)
	})
}
