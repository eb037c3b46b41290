package actions_test

import (
	"bytes"
	"testing"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/flow"
)

// FuzzPopTunnel decapsulates arbitrary frames as each tunnel type: it
// must not panic; a packet it accepts loses a prefix of its bytes and
// gets a tunnel key, and one it refuses is left unchanged with no tunnel
// key. Each frame is also encapsulated by every tunnel type and
// decapsulated again, which must give it back. The seeds are
// encapsulations the executor made (testdata/fuzz).
func FuzzPopTunnel(f *testing.F) {
	f.Add(innerFrame())
	var x actions.Executor
	pushes := []string{pushVXLAN, pushVXLANc, pushGeneve, pushGRE, pushVXLAN6, pushGRE6}
	ports := []string{"4789", "4789", "6081", "3", "4789", "3"}
	f.Fuzz(func(t *testing.T, frame []byte) {
		for i, push := range pushes {
			s := newTunSink()
			x.Reset()
			run(&x, newPkt(frame), mustParse(t, push+",1"), s)
			if len(s.outs) != 1 {
				t.Fatalf("%s: outputs %v", push, s.outs)
			}
			s2 := newTunSink()
			x.Reset()
			run(&x, newPkt(s.outs[0].data), mustParse(t, "tnl_pop("+ports[i]+")"), s2)
			if len(s2.recirc) != 1 || !bytes.Equal(s2.recirc[0].data, frame) {
				t.Fatalf("%s then tnl_pop: drops %v, got %v, want %x", push, s2.drops, s2.recirc, frame)
			}
		}
		for _, typ := range []uint32{actions.TunnelVXLAN, actions.TunnelGeneve, actions.TunnelGRE} {
			pkt := newPkt(frame)
			var k flow.Key
			var lay flow.Layout
			flow.ExtractLayout(pkt.Bytes(), 1, &k, &lay)
			k.SkbMark = 9
			r := actions.PopTunnel(pkt, typ, &k, &lay)
			got := pkt.Bytes()
			if k.SkbMark != 9 || k.InPort != 1 {
				t.Fatalf("type %d: metadata changed", typ)
			}
			if r != 0 {
				if !bytes.Equal(got, frame) {
					t.Fatalf("type %d: refused (%v) but changed %x", typ, r, frame)
				}
				// The tunnel fields must be clear.
				if k.TunID != 0 || k.TunFlags != 0 || k.TunSrc != [4]byte{} || k.TunDst != [4]byte{} ||
					k.TunIPv6Src != [16]byte{} || k.TunIPv6Dst != [16]byte{} || k.TunTpSrc != 0 || k.TunTpDst != 0 ||
					k.TunTOS != 0 || k.TunTTL != 0 || k.TunGeneveLen != 0 {
					t.Fatalf("type %d: refused (%v) with tunnel fields set", typ, r)
				}
				continue
			}
			if len(got) >= len(frame) || !bytes.Equal(got, frame[len(frame)-len(got):]) {
				t.Fatalf("type %d: accepted %x but left %x", typ, frame, got)
			}
			l4 := lay.L4
			if l4 == 0 {
				// A later fragment: its payload follows the header.
				l4 = lay.L3 + int(frame[lay.L3]&0xf)*4
			}
			if typ != actions.TunnelGRE && (k.TunTpDst != uint16(frame[l4+2])<<8|uint16(frame[l4+3])) {
				t.Fatalf("type %d: tp_dst %d", typ, k.TunTpDst)
			}
			if typ == actions.TunnelGeneve && k.TunFlags&flow.TunFlagGeneve == 0 {
				t.Fatalf("geneve without the Geneve flag")
			}
		}
	})
}
