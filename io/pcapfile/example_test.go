package pcapfile_test

import (
	"fmt"
	stdio "io"
	"log"
	"os"
	"path/filepath"
	"time"

	dpio "github.com/b7cafead/datapath/io"
	"github.com/b7cafead/datapath/io/pcapfile"
)

// Write two frames to a pcap file and read them back.
func Example_roundTrip() {
	dir, err := os.MkdirTemp("", "pcapfile-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "two.pcap")

	w, err := pcapfile.Create(path, pcapfile.WriterOptions{})
	if err != nil {
		log.Fatal(err)
	}
	out := dpio.NewBatch(2)
	start := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, pk := range out {
		frame := make([]byte, 60+i) // a minimal Ethernet frame, and one byte more
		frame[12], frame[13] = 0x08, 0x00
		pk.SetBytes(frame)
		pk.Timestamp = start.Add(time.Duration(i) * time.Millisecond).UnixNano()
	}
	if _, err := w.Write(out); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	r, err := pcapfile.Open(path, pcapfile.ReaderOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	in := dpio.NewBatch(r.BatchSize())
	for {
		n, err := r.Read(in)
		if err == stdio.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		for _, pk := range in[:n] {
			fmt.Println(r.Info().Name, pk.Len(), "bytes at", time.Unix(0, pk.Timestamp).UTC().Format(time.StampMilli))
		}
	}
	// Output:
	// two.pcap 60 bytes at Jan  2 03:04:05.000
	// two.pcap 61 bytes at Jan  2 03:04:05.001
}
