package dp

import (
	"bytes"
	"strings"
	"testing"

	"github.com/b7cafead/datapath/internal/testpkt"
)

func TestTrace(t *testing.T) {
	r := newRig(t, Config{}, 3)
	f := r.put(t, "in_port(1),eth_type(0x0800),ipv4(proto=17,frag=no),udp()", "2,set(ipv4(ttl=9)),3,7")
	r.put(t, "in_port(2),eth_type(0x86dd),ipv6(frag=no)", "1")
	frame := testpkt.UDP(testpkt.Frame{})
	tr, err := r.d.Trace(1, frame)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Flow != f || tr.Miss != "" || len(tr.Steps) != 4 {
		t.Fatalf("trace %+v", tr)
	}
	s0, s1, s2, s3 := tr.Steps[0], tr.Steps[1], tr.Steps[2], tr.Steps[3]
	if s0.Action != "2" || len(s0.Outputs) != 1 || s0.Outputs[0].Port != 2 || s0.Outputs[0].Name != "p2" || !bytes.Equal(s0.Outputs[0].Packet, frame) {
		t.Errorf("step 1 %+v", s0)
	}
	if s1.Action != "set(ipv4(ttl=9))" || s1.Before != "ipv4(ttl=64)" || s1.After != "ipv4(ttl=9)" || len(s1.Outputs) != 0 {
		t.Errorf("step 2 %+v", s1)
	}
	if len(s2.Outputs) != 1 || s2.Outputs[0].Packet[22] != 9 {
		t.Errorf("step 3 %+v", s2)
	}
	if len(s3.Outputs) != 1 || !s3.Outputs[0].Dropped {
		t.Errorf("step 4 %+v", s3)
	}
	// Nothing was sent or counted.
	if st := r.d.Stats(); st.Hit != 0 || st.Missed != 0 {
		t.Errorf("stats %+v", st)
	}
	if n := len(drain(r.far[2])) + len(drain(r.far[3])); n != 0 {
		t.Errorf("trace sent %d packets", n)
	}
	if f.Stats().Packets != 0 {
		t.Errorf("flow counted the trace")
	}
	out := tr.String()
	t.Log("\n" + out)
	for _, want := range []string{"packet on port 1: ", "ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=no)",
		"flow: recirc_id(0),in_port(1),eth_type(0x0800),ipv4(proto=17,frag=no)",
		"1. 2: sent 60 bytes to port 2 (p2)", "2. set(ipv4(ttl=9)): ipv4(ttl=64) -> ipv4(ttl=9)",
		"4. 7: port 7 does not exist, dropped", "result: 2 packet(s) sent"} {
		if !strings.Contains(out, want) {
			t.Errorf("trace lacks %q", want)
		}
	}

	// A miss names the nearest flows and what differs.
	tr, err = r.d.Trace(2, frame)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Flow != nil || !strings.Contains(tr.Miss, "no flow matches") || len(tr.Near) != 2 {
		t.Fatalf("miss trace %+v", tr)
	}
	out = tr.String()
	t.Log("\n" + out)
	if tr.Near[0].Want != "eth_type(0x86dd)" || tr.Near[0].Have != "eth_type(0x0800)" {
		t.Errorf("nearest %+v", tr.Near[0])
	}
	if tr.Near[1].Want != "in_port(1)" || tr.Near[1].Have != "in_port(2)" {
		t.Errorf("second nearest %+v", tr.Near[1])
	}
	tr, err = r.d.Trace(9, frame)
	if err != nil || !strings.Contains(tr.Miss, "port 9 does not exist") {
		t.Errorf("trace on a missing port: %+v, %v", tr, err)
	}
	// A runt frame still traces: its key stops at the last valid layer.
	if tr, err := r.d.Trace(1, frame[:20]); err != nil || tr.Flow != nil {
		t.Errorf("runt: %+v, %v", tr, err)
	}
}

// TestTracePacketTypes traces a flow that meters and takes the Ethernet
// header off and puts another on: the meter passes the packet without
// counting, and the key after each step is the packet's of its new type.
func TestTracePacketTypes(t *testing.T) {
	r := newRig(t, Config{}, 2)
	if err := r.d.MeterSet(1, MeterConfig{Flags: MeterFlagPktps, Bands: []MeterBand{{Type: MeterBandDrop, Rate: 1, BurstSize: 1}}}); err != nil {
		t.Fatal(err)
	}
	r.put(t, "in_port(1),eth_type(0x0800),ipv4(proto=17,frag=no),udp()",
		"meter(1),pop_eth,set(ipv4(ttl=9)),push_eth(src=00:00:00:00:00:0a,dst=00:00:00:00:00:0b),2")
	frame := testpkt.UDP(testpkt.Frame{Payload: make([]byte, 30)})
	for range 2 {
		tr, err := r.d.Trace(1, frame)
		if err != nil {
			t.Fatal(err)
		}
		if len(tr.Steps) != 5 {
			t.Fatalf("steps %+v", tr.Steps)
		}
		if s := tr.Steps[1]; !bytes.Equal(s.Packet, frame[14:]) || !strings.Contains(s.After, "packet_type(ns=1,id=0x800)") {
			t.Errorf("pop_eth step %+v", s)
		}
		if s := tr.Steps[2]; s.Before != "ipv4(ttl=64)" || s.After != "ipv4(ttl=9)" {
			t.Errorf("set step %+v", s)
		}
		out := tr.Steps[4].Outputs
		if len(out) != 1 || len(out[0].Packet) != len(frame) || out[0].Packet[5] != 0x0b || out[0].Packet[11] != 0x0a || out[0].Packet[14+8] != 9 {
			t.Errorf("output %+v", out)
		}
	}
	if st, _ := r.d.MeterGet(1); st.Packets != 0 {
		t.Errorf("trace ran the meter: %+v", st)
	}
}

// TestTraceFollows checks that a trace follows a recirculation and a
// decapsulation into the flows that then match, shows a tnl_push's
// result and an upcall, and stops at a drop.
func TestTraceFollows(t *testing.T) {
	r := newRig(t, Config{}, 2)
	if _, err := r.d.AddPortConfig(4789, nil, PortConfig{Type: PortVXLAN}); err != nil {
		t.Fatal(err)
	}
	r.put(t, "in_port(1),eth(),eth_type(0x0800),ipv4(dst=10.0.0.2,frag=no)", "set(skb_mark(0x3)),recirc(4)")
	f2 := r.put(t, "recirc_id(4),skb_mark(0x3),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", tnlPushVXLAN+",userspace(pid=9,userdata(01)),2")
	r.put(t, "in_port(2),eth(),eth_type(0x0800),ipv4(proto=17,frag=no),udp(dst=4789)", "tnl_pop(4789)")
	f4 := r.put(t, "tunnel(tun_id=0x7b,src=1.1.2.88,dst=1.1.2.92,ttl=64,tp_dst=4789,flags(-df-csum+key)),in_port(4789),eth(),eth_type(0x0800),ipv4(frag=no)", "set(ipv4(ttl=9)),1")

	frame := testpkt.UDP(testpkt.Frame{IPDst: "10.0.0.2", SrcPort: 1, DstPort: 2})
	tr, err := r.d.Trace(1, frame)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Steps) != 2 || tr.Steps[1].Then == nil {
		t.Fatalf("steps %+v", tr.Steps)
	}
	then := tr.Steps[1].Then
	if then.Flow != f2 || len(then.Steps) != 3 {
		t.Fatalf("after the recirculation: flow %v, steps %+v", then.Flow, then.Steps)
	}
	push, up, out := then.Steps[0], then.Steps[1], then.Steps[2]
	if len(push.Packet) != len(frame)+50 || push.Drop != "" || !strings.Contains(push.After, "udp(") {
		t.Errorf("tnl_push step: %d bytes, drop %q, after %q", len(push.Packet), push.Drop, push.After)
	}
	if len(up.Upcalls) != 1 || !strings.Contains(up.Upcalls[0], "pid 9") {
		t.Errorf("userspace step: %+v", up.Upcalls)
	}
	if len(out.Outputs) != 1 || out.Outputs[0].Port != 2 || !bytes.Equal(out.Outputs[0].Packet, push.Packet) {
		t.Fatalf("output step: %+v", out.Outputs)
	}
	// Nothing was sent or counted.
	if got := drain(r.far[2]); len(got) != 0 {
		t.Errorf("the trace sent %d packets", len(got))
	}
	if st := r.d.Stats(); st.Hit != 0 || st.Missed != 0 {
		t.Errorf("the trace counted: %+v", st)
	}

	// The encapsulated packet, traced as if it came back on port 2, is
	// decapsulated and then matches on its tunnel key from the tunnel port.
	tr, err = r.d.Trace(2, out.Outputs[0].Packet)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Steps) != 1 || tr.Steps[0].Then == nil {
		t.Fatalf("steps %+v", tr.Steps)
	}
	inner := tr.Steps[0].Then
	if inner.Flow != f4 || inner.InPort != 4789 || inner.Key.TunID != 0x7b || len(inner.Steps) != 2 {
		t.Fatalf("after tnl_pop: flow %v, in_port %d, tun_id %#x, steps %+v", inner.Flow, inner.InPort, inner.Key.TunID, inner.Steps)
	}
	if o := inner.Steps[1].Outputs; len(o) != 1 || o[0].Port != 1 || len(o[0].Packet) != len(frame) {
		t.Errorf("decapsulated output %+v", o)
	}

	// A packet that is not VXLAN: tnl_pop drops it, with the reason.
	bad := append([]byte(nil), out.Outputs[0].Packet...)
	bad[14+20+8] = 0 // VXLAN flags without the VNI bit
	tr, err = r.d.Trace(2, bad)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Steps) != 1 || tr.Steps[0].Then != nil || tr.Steps[0].Drop == "" {
		t.Errorf("malformed VXLAN: steps %+v", tr.Steps)
	}
}

func TestTraceFollowsString(t *testing.T) {
	r := newRig(t, Config{}, 2)
	r.put(t, "in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", "set(skb_mark(0x3)),userspace(pid=9,userdata(01)),recirc(4)")
	r.put(t, "recirc_id(4),skb_mark(0x3),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", "2")
	tr, err := r.d.Trace(1, testpkt.UDP(testpkt.Frame{SrcPort: 1, DstPort: 2}))
	if err != nil {
		t.Fatal(err)
	}
	s := tr.String()
	t.Log(s)
	for _, want := range []string{"action upcall to pid 9", "    flow: skb_mark(0x3),recirc_id(0x4),in_port(1)", "    1. 2: sent", "result: 1 packet(s) sent"} {
		if !strings.Contains(s, want) {
			t.Errorf("trace lacks %q", want)
		}
	}
}

// TestTraceStopsAtDrop checks that a trace ends where the datapath stops
// executing: a tnl_push through a port that is not a tunnel, dec_ttl at
// TTL 1 (its nested actions replace the rest of the list), drop.
func TestTraceStopsAtDrop(t *testing.T) {
	r := newRig(t, Config{}, 2)
	r.put(t, "in_port(1),eth(),eth_type(0x0800),ipv4(dst=10.0.0.2,frag=no)", strings.Replace(tnlPushVXLAN, "tnl_port(4789)", "tnl_port(2)", 1)+",2")
	r.put(t, "in_port(1),eth(),eth_type(0x0800),ipv4(dst=10.0.0.3,frag=no)", "dec_ttl(le_1(1)),2")
	r.put(t, "in_port(1),eth(),eth_type(0x0800),ipv4(dst=10.0.0.4,frag=no)", "drop")
	for _, tc := range []struct {
		dst   string
		ttl   uint8
		steps int
		drop  string
	}{
		{"10.0.0.2", 64, 1, "tunnel push error"},
		{"10.0.0.3", 1, 1, "goes no further"},
		{"10.0.0.3", 9, 2, ""},
		{"10.0.0.4", 64, 1, ""},
	} {
		tr, err := r.d.Trace(1, testpkt.UDP(testpkt.Frame{IPDst: tc.dst, TTL: tc.ttl, SrcPort: 1, DstPort: 2}))
		if err != nil {
			t.Fatal(err)
		}
		if len(tr.Steps) != tc.steps || (tc.drop == "") != (tr.Steps[0].Drop == "") || !strings.Contains(tr.Steps[0].Drop, tc.drop) {
			t.Errorf("%s ttl %d: steps %+v", tc.dst, tc.ttl, tr.Steps)
			continue
		}
		if tc.ttl == 1 && (len(tr.Steps[0].Outputs) != 1 || tr.Steps[0].Outputs[0].Port != 1) {
			t.Errorf("dec_ttl at TTL 1: outputs %+v, want port 1 from le_1", tr.Steps[0].Outputs)
		}
		if s := tr.String(); tc.steps == 1 && strings.Contains(s, "packet(s) sent") && tc.ttl != 1 {
			t.Errorf("%s: trace says something is sent:\n%s", tc.dst, s)
		}
	}
}
