package bench

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/dp"
	"github.com/b7cafead/datapath/flow"
	"github.com/b7cafead/datapath/internal/testpkt"
	dpio "github.com/b7cafead/datapath/io"
)

const batchSize = dpio.DefaultBatchSize

// udp64 is a 64-byte Ethernet/IPv4/UDP frame (60 bytes plus FCS on the
// wire).
func udp64(srcPort uint16) []byte {
	f := testpkt.UDP(testpkt.Frame{SrcPort: srcPort, DstPort: 53, Payload: make([]byte, 18)})
	return f
}

func fill(batch []*dpio.Packet, frame func(i int) []byte) {
	for i, p := range batch {
		p.Reset(dpio.DefaultHeadroom)
		p.SetBytes(frame(i))
	}
}

func reportMpps(b *testing.B, packets int) {
	b.ReportMetric(float64(packets)/b.Elapsed().Seconds()/1e6, "Mpps")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(packets), "ns/pkt")
}

// BenchmarkCopyThrough moves batches of 64-byte packets from an input
// batch to an in-memory output port and drains it, with no lookup: the
// ceiling the pipeline is compared with.
func BenchmarkCopyThrough(b *testing.B) {
	out, sink := dpio.NewMemPair(dpio.MemConfig{}, dpio.MemConfig{})
	batch := dpio.NewBatch(batchSize)
	drainBuf := dpio.NewBatch(batchSize)
	fill(batch, func(int) []byte { return udp64(1000) })
	runtime.GC() // settle the setup's garbage before timing
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out.Write(batch)
		sink.TryRead(drainBuf)
	}
	reportMpps(b, b.N*batchSize)
}

// pipeline is a datapath with port 1 (input, fed directly to a Worker) and
// port 2 (an in-memory pair whose far end is drained).
type pipeline struct {
	d     *dp.Datapath
	w     *dp.Worker
	sink  *dpio.MemPort
	drain []*dpio.Packet
}

func newPipeline(b *testing.B, cfg dp.Config) *pipeline {
	d := dp.New(cfg)
	in, _ := dpio.NewMemPair(dpio.MemConfig{Name: "p1"}, dpio.MemConfig{})
	out, sink := dpio.NewMemPair(dpio.MemConfig{Name: "p2"}, dpio.MemConfig{})
	d.AddPort(1, in)
	d.AddPort(2, out)
	b.Cleanup(func() { d.Close() })
	return &pipeline{d: d, w: d.NewWorker(), sink: sink, drain: dpio.NewBatch(batchSize)}
}

func (p *pipeline) put(b *testing.B, f string, a string) {
	m, err := flow.Parse(f)
	if err != nil {
		b.Fatal(err)
	}
	acts, err := actions.Parse(a)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := p.d.PutFlow(m, acts, dp.PutCreate); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPipeline runs batches of 64-byte UDP packets through the whole
// datapath: extraction, lookup, actions, output to an in-memory port.
func BenchmarkPipeline(b *testing.B) {
	b.Run("emc-hit", func(b *testing.B) {
		p := newPipeline(b, dp.Config{})
		p.put(b, "in_port(1),eth_type(0x0800),ipv4(frag=no)", "2")
		// The action does not modify packets, so the batch is reused as is.
		batch := dpio.NewBatch(batchSize)
		fill(batch, func(int) []byte { return frame1000 })
		runtime.GC() // settle the setup's garbage before timing
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			p.w.Process(1, batch)
			p.sink.TryRead(p.drain)
		}
		reportMpps(b, b.N*batchSize)
	})
	b.Run("megaflow-20-masks", func(b *testing.B) {
		p := newPipeline(b, dp.Config{EMCInsertInvProb: -1})
		// 10k flows spread over 20 masks: mask i matches the top 12+i bits
		// of the destination address and the first byte of the source,
		// which is i+1 for the flows of mask i, so that no two flows
		// overlap (as a slow path installs them; the datapath refuses an
		// overlapping put, as OVS does).
		const flows, masks = 10000, 20
		addrs := func(j int) (src, dst, mask uint32) {
			i, k := j%masks, j/masks
			bits := 12 + i
			return uint32(i+1)<<24 | 1, uint32(k) << (32 - bits), ^uint32(0) << (32 - bits)
		}
		for j := 0; j < flows; j++ {
			src, dst, mask := addrs(j)
			p.put(b, fmt.Sprintf("in_port(1),eth_type(0x0800),ipv4(src=%s/255.0.0.0,dst=%s/%s,frag=no)", ip4(src&0xff000000), ip4(dst), ip4(mask)), "2")
		}
		// Packets that hit flows in every subtable, round robin.
		frames := make([][]byte, 256)
		for i := range frames {
			src, dst, _ := addrs(i * 37 % flows)
			frames[i] = testpkt.UDP(testpkt.Frame{IPSrc: ip4(src), IPDst: ip4(dst), DstPort: 53, Payload: make([]byte, 18)})
		}
		batches := make([][]*dpio.Packet, len(frames)/batchSize)
		for i := range batches {
			batches[i] = dpio.NewBatch(batchSize)
			fill(batches[i], func(k int) []byte { return frames[i*batchSize+k] })
		}
		runtime.GC() // settle the setup's garbage before timing
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			p.w.Process(1, batches[i%len(batches)])
			p.sink.TryRead(p.drain)
		}
		reportMpps(b, b.N*batchSize)
		if st := p.d.Stats(); st.Missed != 0 {
			b.Fatalf("%d misses", st.Missed)
		}
	})
	b.Run("miss-upcall", func(b *testing.B) {
		var installed int
		p := newPipeline(b, dp.Config{EMCInsertInvProb: -1, Upcall: func(u *dp.Upcall) {
			m := flow.Match{Key: u.Key}
			m.Mask.InPort = ^uint32(0)
			m.Mask.EthType = 0xffff
			m.Mask.TpSrc = 0xffff
			m.Mask.NwProto = 0xff
			m.Key = m.Key.Masked(&m.Mask)
			if _, err := u.Install(m, actions.List{actions.Output(2)}); err == nil {
				installed++
			}
		}})
		batch := dpio.NewBatch(batchSize)
		fill(batch, func(int) []byte { return frame1000 })
		port := 0
		runtime.GC() // settle the setup's garbage before timing
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if port+batchSize > 8192 {
				p.d.FlushFlows()
				port = 0
			}
			// A new UDP source port per packet: every packet is a new flow.
			for _, pk := range batch {
				port++
				binary.BigEndian.PutUint16(pk.Bytes()[34:], uint16(port))
			}
			p.w.Process(1, batch)
			p.sink.TryRead(p.drain)
		}
		b.ReportMetric(float64(installed)/b.Elapsed().Seconds(), "flows/s")
		reportMpps(b, b.N*batchSize)
	})
}

var frame1000 = udp64(1000)

func ip4(v uint32) string {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], v)
	return fmt.Sprintf("%d.%d.%d.%d", a[0], a[1], a[2], a[3])
}
