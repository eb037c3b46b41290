//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/dp"
	"github.com/b7cafead/datapath/flow"
	"github.com/b7cafead/datapath/internal/ovsdummy"
	"github.com/b7cafead/datapath/internal/testpkt"
	dpio "github.com/b7cafead/datapath/io"
)

// meterCase is an OpenFlow meter (ovs-ofctl add-meter syntax) and our
// datapath's configuration of it, and the packets sent through it in
// steps: after waiting, a burst of frames of the given payload sizes.
type meterCase struct {
	name    string
	ofmeter string
	cfg     dp.MeterConfig
	steps   []meterStep
}

type meterStep struct {
	wait  time.Duration
	sizes []int // UDP payload sizes
}

// TestMeterAgainstOVS checks meters against OVS 3.1: OVS's bridge makes
// a datapath meter of each OpenFlow meter (the first gets datapath meter
// id 0), a dpctl flow sends packets through meter(N) to port 2, and the
// packets that pass, and the meter's counters, must be those of our
// datapath with the same configuration, whose clock moves as long as the
// test waited between steps. The rates are so low (1 packet or 1 kilobit
// per second) that the time OVS takes to process a burst refills no
// bucket by a packet: passes and drops are deterministic.
func TestMeterAgainstOVS(t *testing.T) {
	o := ovsdummy.Start(t, 3)
	drop := func(rate, burst uint32) dp.MeterBand {
		return dp.MeterBand{Type: dp.MeterBandDrop, Rate: rate, BurstSize: burst}
	}
	cases := []meterCase{
		{"pktps", "pktps,burst,band=type=drop,rate=1,burst_size=3",
			dp.MeterConfig{Flags: dp.MeterFlagPktps | dp.MeterFlagBurst, Bands: []dp.MeterBand{drop(1, 3)}},
			[]meterStep{{0, []int{10, 10, 10, 10, 10, 10}}, {1500 * time.Millisecond, []int{10, 10, 10}}}},
		// 3000 bits: a 242-byte frame (1936 bits) passes, the next does
		// not, but two 50-byte ones (400 bits each) after it do, as
		// OVS meters kbps packet by packet; 3.5 seconds later the
		// bucket is full again. Every drop is short of its packet by
		// more than half a second's tokens, so the time OVS takes does
		// not change the outcome.
		{"kbps", "kbps,burst,band=type=drop,rate=1,burst_size=3",
			dp.MeterConfig{Flags: dp.MeterFlagKbps | dp.MeterFlagBurst, Bands: []dp.MeterBand{drop(1, 3)}},
			[]meterStep{{0, []int{200, 200, 8, 8, 200}}, {3500 * time.Millisecond, []int{200, 8, 8, 200}}}},
		// Packets 3 and 4 exceed band 0 only, 5 and 6 both: band 1, the
		// higher rate, fires for them.
		{"two bands", "pktps,burst,band=type=drop,rate=1,burst_size=2,type=drop,rate=2,burst_size=4",
			dp.MeterConfig{Flags: dp.MeterFlagPktps | dp.MeterFlagBurst, Bands: []dp.MeterBand{drop(1, 2), drop(2, 4)}},
			[]meterStep{{0, []int{10, 10, 10, 10, 10, 10}}}},
		// No burst size: the rate.
		{"default burst", "pktps,band=type=drop,rate=2",
			dp.MeterConfig{Flags: dp.MeterFlagPktps, Bands: []dp.MeterBand{drop(2, 0)}},
			[]meterStep{{0, []int{10, 10, 10, 10}}}},
	}
	br := "unix:" + o.Dir() + "/br0.mgmt"
	ofctl := func(args ...string) string {
		out, err := exec.Command("ovs-ofctl", append([]string{"-O", "OpenFlow13"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("ovs-ofctl %v: %v: %s", args, err, out)
		}
		return string(out)
	}
	for i, c := range cases {
		ofctl("add-meter", br, fmt.Sprintf("meter=%d,%s", i+1, c.ofmeter))
	}
	stats := parseMeterStats(t, ofctl("meter-stats", br))

	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := o.Reset(); err != nil {
				t.Fatal(err)
			}
			match := "in_port(1),eth(),eth_type(0x0800),ipv4(proto=17,frag=no),udp()"
			acts := fmt.Sprintf("meter(%d),2", i) // OpenFlow meter i+1
			if err := o.AddFlow(match, acts); err != nil {
				t.Fatal(err)
			}
			clock := int64(1_700_000_000_000_000_000)
			d := dp.New(dp.Config{Clock: func() int64 { return clock }})
			defer d.Close()
			p1, _ := dpio.NewMemPair(dpio.MemConfig{Name: "p1"}, dpio.MemConfig{})
			p2, far2 := dpio.NewMemPair(dpio.MemConfig{Name: "p2", QueueLen: 256}, dpio.MemConfig{QueueLen: 256})
			d.AddPort(1, p1)
			d.AddPort(2, p2)
			if err := d.MeterSet(uint32(i), c.cfg); err != nil {
				t.Fatal(err)
			}
			if _, err := d.PutFlow(flow.MustParse(match), actions.MustParse(acts), dp.PutCreate); err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, s := range c.steps {
				time.Sleep(s.wait)
				clock += int64(s.wait)
				var frames [][]byte
				for _, size := range s.sizes {
					frames = append(frames, testpkt.UDP(testpkt.Frame{SrcPort: uint16(n), DstPort: 9, Payload: make([]byte, size)}))
					n++
				}
				if err := o.InjectMany(1, frames); err != nil {
					t.Fatal(err)
				}
				if err := o.WaitProcessed(10 * time.Second); err != nil {
					t.Fatal(err)
				}
				b := dpio.NewBatch(len(frames))
				for k, f := range frames {
					b[k].SetBytes(f)
				}
				d.Process(1, b)
			}
			want, err := o.TxPackets(2)
			if err != nil {
				t.Fatal(err)
			}
			got := readMem(far2)
			if len(got) != len(want) {
				t.Errorf("%d of %d packets passed, OVS passed %d", len(got), n, len(want))
			}
			for k := range min(len(got), len(want)) {
				if !bytes.Equal(got[k], want[k]) {
					t.Errorf("passed packet %d: ours %x, OVS %x", k, got[k], want[k])
				}
			}
			ovs := parseMeterStats(t, ofctl("meter-stats", br))[i+1]
			ovs.Packets -= stats[i+1].Packets
			ovs.Bytes -= stats[i+1].Bytes
			ours, err := d.MeterGet(uint32(i))
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(ours) != fmt.Sprint(ovs) {
				t.Errorf("meter stats %+v, OVS %+v", ours, ovs)
			}
			t.Logf("%d of %d passed; stats %+v", len(want), n, ovs)
		})
	}
}

func readMem(p *dpio.MemPort) [][]byte {
	var out [][]byte
	b := dpio.NewBatch(16)
	for {
		n, _ := p.TryRead(b)
		if n == 0 {
			return out
		}
		for _, pk := range b[:n] {
			out = append(out, append([]byte(nil), pk.Bytes()...))
		}
	}
}

var (
	meterLine = regexp.MustCompile(`^meter:(\d+) flow_count:\d+ packet_in_count:(\d+) byte_in_count:(\d+)`)
	bandLine  = regexp.MustCompile(`^(\d+): packet_count:(\d+) byte_count:(\d+)`)
)

// parseMeterStats reads "ovs-ofctl meter-stats" output: OpenFlow meter id
// to counters.
func parseMeterStats(t *testing.T, out string) map[int]dp.MeterStats {
	t.Helper()
	m := map[int]dp.MeterStats{}
	id := -1
	num := func(s string) uint64 {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if f := meterLine.FindStringSubmatch(l); f != nil {
			id = int(num(f[1]))
			m[id] = dp.MeterStats{Packets: num(f[2]), Bytes: num(f[3])}
		} else if f := bandLine.FindStringSubmatch(l); f != nil && id >= 0 {
			s := m[id]
			s.Bands = append(s.Bands, dp.MeterBandStats{Packets: num(f[2]), Bytes: num(f[3])})
			m[id] = s
		}
	}
	return m
}
