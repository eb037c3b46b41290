package actions_test

import (
	"testing"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/flow"
	"github.com/b7cafead/datapath/internal/testpkt"
	dpio "github.com/b7cafead/datapath/io"
)

func BenchmarkActions(b *testing.B) {
	// 14 + 20 + 8 + 22 = 64 bytes.
	frame := testpkt.UDP(testpkt.Frame{SrcPort: 1000, DstPort: 2000, Payload: make([]byte, 22)})
	if len(frame) != 64 {
		b.Fatalf("frame is %d bytes, want 64", len(frame))
	}
	for _, bm := range []struct{ name, acts string }{
		{"output", "2"},
		{"set-ipv4-ttl", "set(ipv4(ttl=63)),2"},
		// The tag is popped again so that every iteration starts from the
		// same frame; the output before the pop gets a copy.
		{"push-vlan-output-pop", "push_vlan(vid=10,pcp=0),2,pop_vlan"},
		{"clone-3-outputs", "clone(2,3,4)"},
		{"clone-push-mpls", "clone(push_mpls(label=7,tc=0,ttl=64,bos=1,eth_type=0x8847),3),hash(l4(0)),set(skb_mark(1)),2"},
	} {
		b.Run(bm.name, func(b *testing.B) {
			l := mustParse(b, bm.acts)
			pkt := newPkt(frame)
			var k flow.Key
			var lay flow.Layout
			flow.ExtractLayout(pkt.Bytes(), 1, &k, &lay)
			var x actions.Executor
			var sink countSink
			b.ReportAllocs()
			for b.Loop() {
				sink.reset()
				x.Reset()
				x.Execute(pkt, &k, &lay, l, &sink)
			}
			if len(sink.ports) == 0 {
				b.Fatalf("%d outputs", len(sink.ports))
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpps")
		})
	}
}

// BenchmarkTunnel measures tnl_push (then an output) and tnl_pop (to a
// sink that takes the decapsulated packet) on a 64-byte inner frame, and
// with UDP checksums on a 1400-byte one. Each iteration first restores
// the frame (a copy), as the actions change it.
func BenchmarkTunnel(b *testing.B) {
	small := testpkt.UDP(testpkt.Frame{SrcPort: 1000, DstPort: 2000, Payload: make([]byte, 22)})
	large := testpkt.UDP(testpkt.Frame{SrcPort: 1000, DstPort: 2000, Payload: make([]byte, 1400-42)})
	encap := func(inner []byte, push string) []byte {
		s := newTunSink()
		var x actions.Executor
		run(&x, newPkt(inner), mustParse(b, push+",1"), s)
		return s.outs[0].data
	}
	for _, bm := range []struct {
		name, acts, frame string
		inner             []byte
	}{
		{"push-vxlan", pushVXLAN + ",2", "", small},
		{"push-vxlan-ipv6-csum", pushVXLAN6 + ",2", "", small},
		{"push-vxlan-ipv6-csum-1400", pushVXLAN6 + ",2", "", large},
		{"push-gre-csum-seq", pushGRE + ",2", "", small},
		{"pop-vxlan", "tnl_pop(4789)", pushVXLAN, small},
		{"pop-geneve-opts", "tnl_pop(6081)", pushGeneve, small},
		{"pop-vxlan-ipv6-csum", "tnl_pop(4789)", pushVXLAN6, small},
		{"pop-vxlan-ipv6-csum-1400", "tnl_pop(4789)", pushVXLAN6, large},
	} {
		b.Run(bm.name, func(b *testing.B) {
			frame := bm.inner
			if bm.frame != "" {
				frame = encap(bm.inner, bm.frame)
			}
			l := mustParse(b, bm.acts)
			pkt := newPkt(frame)
			var k flow.Key
			var lay flow.Layout
			flow.ExtractLayout(pkt.Bytes(), 1, &k, &lay)
			var x actions.Executor
			sink := &countTunSink{ports: newTunSink().ports}
			b.ReportAllocs()
			for b.Loop() {
				pkt.Reset(dpio.DefaultHeadroom)
				pkt.SetBytes(frame)
				x.Reset()
				x.Execute(pkt, &k, &lay, l, sink)
			}
			if sink.out+sink.recirc != b.N {
				b.Fatalf("%d outputs, %d recirculations for %d packets", sink.out, sink.recirc, b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpps")
		})
	}
}
