package dp

import (
	"bytes"
	"testing"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/flow"
	"github.com/b7cafead/datapath/internal/testpkt"
	dpio "github.com/b7cafead/datapath/io"
)

// TestLayer3Port checks a port that carries IP packets without an
// Ethernet header: its packets get their packet type from the IP version,
// match flows without eth(), get an Ethernet header from push_eth; and
// Ethernet frames reach it through pop_eth, also after a recirculation.
func TestLayer3Port(t *testing.T) {
	var missed []flow.Key
	d := New(Config{Upcall: func(u *Upcall) { missed = append(missed, u.Key) }})
	defer d.Close()
	far := map[uint32]*dpio.MemPort{}
	for i, l3 := range []bool{false, true} {
		near, f := dpio.NewMemPair(dpio.MemConfig{Name: []string{"eth", "l3"}[i], QueueLen: 64}, dpio.MemConfig{QueueLen: 64})
		v, err := d.AddPortConfig(uint32(i+1), near, PortConfig{Layer3: l3})
		if err != nil {
			t.Fatal(err)
		}
		if v.Layer3() != l3 {
			t.Fatalf("port %d: Layer3() = %v", i+1, v.Layer3())
		}
		far[uint32(i+1)] = f
	}
	r := &rig{d: d, far: far}
	r.put(t, "in_port(2),packet_type(ns=1,id=0x800),eth_type(0x0800),ipv4(frag=no)",
		"push_eth(src=00:00:00:00:00:0a,dst=00:00:00:00:00:0b),1")
	r.put(t, "in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", "pop_eth,2")
	r.put(t, "in_port(1),eth(),eth_type(0x86dd),ipv6(frag=no)", "pop_eth,recirc(5)")
	r.put(t, "recirc_id(5),in_port(1),packet_type(ns=1,id=0x86dd),eth_type(0x86dd),ipv6(frag=no)", "2")

	payload := bytes.Repeat([]byte{7}, 30)
	udp4 := testpkt.UDP(testpkt.Frame{Src: "00:00:00:00:00:0a", Dst: "00:00:00:00:00:0b", Payload: payload})
	tcp6 := testpkt.TCP(testpkt.Frame{IPSrc: "::1", IPDst: "::2", Payload: payload})

	// Layer 3 in, Ethernet out.
	d.Process(2, batchOf(udp4[14:]))
	if out := drain(far[1]); len(out) != 1 || !bytes.Equal(out[0], udp4) {
		t.Errorf("push_eth: port 1 got %x, want %x", out, udp4)
	}
	// Ethernet in, layer 3 out, directly and after a recirculation.
	d.Process(1, batchOf(udp4, tcp6))
	if out := drain(far[2]); len(out) != 2 || !bytes.Equal(out[0], udp4[14:]) || !bytes.Equal(out[1], tcp6[14:]) {
		t.Errorf("pop_eth: port 2 got %x", out)
	}
	// A miss on the layer 3 port: IPv6 by its version, no flow.
	d.Process(2, batchOf(tcp6[14:], []byte{0x10, 1, 2}))
	if len(missed) != 2 {
		t.Fatalf("%d misses, want 2", len(missed))
	}
	var want flow.Key
	var lay flow.Layout
	flow.ExtractLayoutType(tcp6[14:], 2, flow.PacketTypeIPv6, &want, &lay)
	if missed[0] != want || missed[0].PacketType != flow.PacketTypeIPv6 || missed[0].NwProto != flow.IPProtoTCP {
		t.Errorf("missed key %s", flow.FormatKey(&missed[0], &missed[0]))
	}
	if missed[1].PacketType != flow.PacketTypeOf(0) {
		t.Errorf("a packet that is not IP has packet type %#x", missed[1].PacketType)
	}
	if st := d.Stats(); st.Hit != 4 || st.Drops != (DropStats{}) {
		t.Errorf("stats %+v", st)
	}
	// Execute treats a packet from the layer 3 port as one: push_eth
	// applies, and dec_ttl finds the IPv4 header at the start.
	if err := d.Execute(2, udp4[14:], actions.MustParse("dec_ttl(le_1(drop)),push_eth(src=00:00:00:00:00:0a,dst=00:00:00:00:00:0b),1")); err != nil {
		t.Fatal(err)
	}
	if out := drain(far[1]); len(out) != 1 || len(out[0]) != len(udp4) || out[0][14+8] != 63 || !bytes.Equal(out[0][:12], udp4[:12]) {
		t.Errorf("Execute on the layer 3 port sent %x", out)
	}
	// A trace from it too.
	tr, err := d.Trace(2, udp4[14:])
	if err != nil || tr.Key.PacketType != flow.PacketTypeIPv4 || len(tr.Steps) != 2 || !bytes.Equal(tr.Steps[1].Outputs[0].Packet, udp4) {
		t.Errorf("trace %+v, %v", tr, err)
	}
}
