package flow

import (
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/b7cafead/datapath/internal/testpkt"
)

// benchFrames are 64-byte frames (60 bytes without the FCS, as a NIC
// hands them over, plus padding to 64 where the headers are shorter).
func benchFrames() []struct {
	name  string
	frame []byte
} {
	pad := func(b []byte) []byte {
		if len(b) < 64 {
			b = append(b, make([]byte, 64-len(b))...)
		}
		return b
	}
	return []struct {
		name  string
		frame []byte
	}{
		{"ipv4-udp", pad(testpkt.UDP(testpkt.Frame{SrcPort: 1000, DstPort: 2000}))},
		{"vlan-ipv4-tcp", pad(testpkt.TCP(testpkt.Frame{VLAN: 10, SrcPort: 40000, DstPort: 80, TCPFlags: "S"}))},
		{"ipv6-tcp", pad(testpkt.TCP(testpkt.Frame{IPSrc: "2001:db8::1", IPDst: "2001:db8::2", SrcPort: 40000, DstPort: 80, TCPFlags: "A"}))},
	}
}

func BenchmarkExtract(b *testing.B) {
	for _, f := range benchFrames() {
		b.Run(f.name, func(b *testing.B) {
			frame := f.frame
			var k Key
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				Extract(frame, 1, &k)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpps")
			if k.TpDst == 0 {
				b.Fatal("no L4 extracted")
			}
		})
	}
}

// BenchmarkExtractGopacket decodes the same frames with gopacket's
// DecodingLayerParser into preallocated layers, its fastest mode, for
// comparison.
func BenchmarkExtractGopacket(b *testing.B) {
	for _, f := range benchFrames() {
		b.Run(f.name, func(b *testing.B) {
			frame := f.frame
			var (
				eth   layers.Ethernet
				dot1q layers.Dot1Q
				ip4   layers.IPv4
				ip6   layers.IPv6
				tcp   layers.TCP
				udp   layers.UDP
			)
			p := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &dot1q, &ip4, &ip6, &tcp, &udp)
			p.IgnoreUnsupported = true
			decoded := make([]gopacket.LayerType, 0, 8)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := p.DecodeLayers(frame, &decoded); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpps")
			if n := len(decoded); n == 0 || (decoded[n-1] != layers.LayerTypeTCP && decoded[n-1] != layers.LayerTypeUDP) {
				b.Fatalf("decoded %v", decoded)
			}
		})
	}
}
