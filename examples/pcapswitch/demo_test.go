package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/b7cafead/datapath/internal/testpkt"
	dpio "github.com/b7cafead/datapath/io"
	"github.com/b7cafead/datapath/io/pcapfile"
)

var update = flag.Bool("update", false, "rewrite the demo captures")

// demoInputs are the packets of the embedded demo, per input port.
func demoInputs() map[uint32][][]byte {
	a := testpkt.Frame{Src: "00:00:00:00:00:01", Dst: "00:00:00:00:00:02", IPSrc: "10.0.0.1", IPDst: "10.0.0.2"}
	b := testpkt.Frame{Src: "00:00:00:00:00:02", Dst: "00:00:00:00:00:01", IPSrc: "10.0.0.2", IPDst: "10.0.0.1"}
	dns := a
	dns.SrcPort, dns.DstPort, dns.Payload = 40000, 53, []byte("example query")
	web := a
	web.Dst, web.IPDst, web.SrcPort, web.DstPort, web.TCPFlags = "00:00:00:00:00:03", "10.0.0.3", 40001, 80, "S"
	arp := a
	arp.IPDst = "10.0.0.3"
	ping := a
	ping.IPDst = "10.0.0.9"
	reply := b
	reply.SrcPort, reply.DstPort, reply.Payload = 53, 40000, []byte("example answer")
	return map[uint32][][]byte{
		1: {testpkt.UDP(dns), testpkt.ARPRequest(arp), testpkt.TCP(web), testpkt.UDP(dns), testpkt.ICMPEcho(ping), testpkt.UDP(dns)},
		2: {testpkt.UDP(reply), testpkt.UDP(reply), testpkt.UDP(reply)},
	}
}

func writeCapture(t *testing.T, frames [][]byte, start time.Time, step time.Duration) []byte {
	t.Helper()
	stamps := make([]time.Time, len(frames))
	for i := range stamps {
		stamps[i] = start.Add(time.Duration(i) * step)
	}
	return writeCaptureAt(t, frames, stamps)
}

// writeCaptureAt returns a pcap of frames with the given timestamps.
func writeCaptureAt(t *testing.T, frames [][]byte, stamps []time.Time) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcapfile.NewWriter(&buf, pcapfile.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		p := dpio.NewPacket(0, len(f))
		p.SetBytes(f)
		p.Timestamp = stamps[i].UnixNano()
		if _, err := w.Write([]*dpio.Packet{p}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestDemoCaptures checks that the embedded demo captures are what
// demoInputs describes; go test -run TestDemoCaptures -update rewrites
// them.
func TestDemoCaptures(t *testing.T) {
	in := demoInputs()
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for port, step := range map[uint32]time.Duration{1: 10 * time.Millisecond, 2: 15 * time.Millisecond} {
		name := filepath.Join("demo", map[uint32]string{1: "port1.pcap", 2: "port2.pcap"}[port])
		want := writeCapture(t, in[port], start.Add(time.Duration(port)*time.Millisecond), step)
		if *update {
			if err := os.WriteFile(name, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale; run go test -run TestDemoCaptures -update", name)
		}
	}
}

// captureStep is the capture time step of the replay tests.
const captureStep = time.Millisecond

func testTime(d time.Duration) time.Time {
	return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(d)
}
