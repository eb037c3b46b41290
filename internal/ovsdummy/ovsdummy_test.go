//go:build linux

package ovsdummy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const udpFlow = "in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800)," +
	"ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=1000,dst=2000)"

// udpFrame builds 00:00:00:00:00:01 > 00:00:00:00:00:02, 10.0.0.1:sport >
// 10.0.0.2:2000, TTL 64, with the given payload.
func udpFrame(sport uint16, payload string) []byte {
	udp := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(udp[0:], sport)
	binary.BigEndian.PutUint16(udp[2:], 2000)
	binary.BigEndian.PutUint16(udp[4:], uint16(8+len(payload)))
	udp = append(udp, payload...)

	ip := []byte{0x45, 0, 0, 0, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2}
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)+len(udp)))
	var sum uint32
	for i := 0; i < len(ip); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))

	eth := []byte{0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x08, 0x00}
	return append(append(eth, ip...), udp...)
}

func TestUDPFlow(t *testing.T) {
	o := Start(t, 3)
	if err := o.AddFlow(udpFlow, "2"); err != nil {
		t.Fatal(err)
	}
	want := [][]byte{udpFrame(1000, "one"), udpFrame(1000, "two"), udpFrame(1000, "three")}
	miss := udpFrame(999, "miss")
	for i, f := range [][]byte{want[0], want[1], miss, want[2]} {
		if err := o.Inject(1, f); err != nil {
			t.Fatalf("inject %d: %v", i, err)
		}
	}

	got, err := o.TxPackets(2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("p2 transmitted %d frames, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("p2 frame %d = %x, want %x", i, got[i], want[i])
		}
	}
	for _, port := range []int{1, 3} {
		if got, err := o.TxPackets(port); err != nil || len(got) != 0 {
			t.Errorf("p%d transmitted %d frames (err %v), want none", port, len(got), err)
		}
	}

	flows, err := o.DumpFlows()
	if err != nil {
		t.Fatal(err)
	}
	bytesTotal := len(want[0]) + len(want[1]) + len(want[2])
	re := regexp.MustCompile(`^` + regexp.QuoteMeta("recirc_id(0),"+udpFlow+", packets:3, bytes:") +
		`(\d+)` + regexp.QuoteMeta(", used:") + `\d+\.\d{3}s` + regexp.QuoteMeta(", actions:2") + `$`)
	if len(flows) != 1 || !re.MatchString(flows[0]) {
		t.Fatalf("dump-flows = %q, want one line matching %s", flows, re)
	}
	if m := re.FindStringSubmatch(flows[0]); m[1] != strconv.Itoa(bytesTotal) {
		t.Errorf("bytes:%s, want %d", m[1], bytesTotal)
	}

	st, err := o.Stats()
	if err != nil {
		t.Fatal(err)
	}
	// The miss fails its upcall on purpose (flow limit 0): "lost", not "missed".
	if st.Hit != 3 || st.Missed != 0 || st.Lost != 1 || st.Flows != 1 {
		t.Errorf("lookups hit:%d missed:%d lost:%d flows:%d, want 3 0 1 1", st.Hit, st.Missed, st.Lost, st.Flows)
	}
	if p := st.Ports[1]; p.RxPackets != 4 || p.TxPackets != 0 {
		t.Errorf("port 1 = %+v, want 4 packets received", p)
	}
	if p := st.Ports[2]; p.TxPackets != 3 || p.TxBytes != uint64(bytesTotal) {
		t.Errorf("port 2 = %+v, want 3 packets, %d bytes sent", p, bytesTotal)
	}
	show, err := o.Show()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(show, DatapathName+":\n  lookups: hit:3 missed:0 lost:1\n  flows: 1\n  port 0: ovs-dummy (dummy-internal)\n  port 1: p1 (dummy)\n") {
		t.Errorf("dpctl/show = %q", show)
	}
}

func TestAddFlowErrors(t *testing.T) {
	o := Start(t, 2)
	for _, c := range []struct{ flow, actions, want string }{
		{"in_port(1),ipv4(src=10.0.0.1,frag=no)", "2", "ovs-vswitchd: updating flow table (Invalid argument)"},
		{"in_port(1),eth(),eth_type(0x0800),ipv4(frag=no),udp(src=1000,dst=2000)", "2", "ovs-vswitchd: updating flow table (Invalid argument)"},
		{"in_port(1),bogus(1)", "2", "ovs-vswitchd: parsing flow key (syntax error at bogus(1)) (Invalid argument)"},
		{"in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", "bogus", "ovs-vswitchd: parsing actions (Invalid argument)"},
		{"eth(),eth_type(0x0800),ipv4(frag=no)", "2", "ovs-vswitchd: updating flow table (Invalid argument)"},
	} {
		err := o.AddFlow(c.flow, c.actions)
		var ae *AppctlError
		if !errors.As(err, &ae) || ae.Error() != c.want || ae.Text != c.want+"\n" {
			t.Errorf("AddFlow(%q, %q) = %v, want %q", c.flow, c.actions, err, c.want)
		}
	}
	if err := o.AddFlow("in_port(2),eth(),eth_type(0x0800),ipv4(frag=no)", ""); err != nil {
		t.Fatal(err)
	}
	err := o.AddFlow("in_port(2),eth(),eth_type(0x0800),ipv4(frag=no)", "1")
	if err == nil || err.Error() != "ovs-vswitchd: updating flow table (File exists)" {
		t.Errorf("duplicate AddFlow = %v", err)
	}
	flows, err := o.DumpFlows()
	if err != nil {
		t.Fatal(err)
	}
	want := "recirc_id(0),in_port(2),eth(),eth_type(0x0800),ipv4(frag=no), packets:0, bytes:0, used:never, actions:drop"
	if len(flows) != 1 || flows[0] != want {
		t.Errorf("dump-flows = %q, want %q", flows, want)
	}
	if err := o.Inject(7, udpFrame(1, "x")); err == nil {
		t.Error("Inject on a missing port succeeded")
	}
	if err := o.Inject(1, []byte{1, 2, 3}); err == nil {
		t.Error("Inject of a 3-byte frame succeeded")
	}
}

// TestManyPackets pushes more frames than a dummy port's receive queue holds
// and checks that none is lost, then that Reset starts a clean case.
func TestManyPackets(t *testing.T) {
	o := Start(t, 2)
	if err := o.AddFlow("in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", "set(ipv4(ttl=63)),2"); err != nil {
		t.Fatal(err)
	}
	const n = 350
	frames := make([][]byte, n)
	for i := range frames {
		frames[i] = udpFrame(uint16(i), "many")
	}
	start := time.Now()
	if err := o.InjectMany(1, frames); err != nil {
		t.Fatal(err)
	}
	got, err := o.TxPackets(2)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d frames through OVS in %v", n, time.Since(start))
	if len(got) != n {
		t.Fatalf("p2 transmitted %d frames, want %d", len(got), n)
	}
	for i, f := range got {
		// Same frame with TTL 63 and a valid IPv4 header checksum.
		w := append([]byte(nil), frames[i]...)
		w[22] = 63
		w[24], w[25] = 0, 0
		var sum uint32
		for j := 14; j < 34; j += 2 {
			sum += uint32(binary.BigEndian.Uint16(w[j:]))
		}
		for sum > 0xffff {
			sum = sum>>16 + sum&0xffff
		}
		binary.BigEndian.PutUint16(w[24:], ^uint16(sum))
		if !bytes.Equal(f, w) {
			t.Fatalf("frame %d = %x, want %x", i, f, w)
		}
	}

	if err := o.Reset(); err != nil {
		t.Fatal(err)
	}
	if flows, err := o.DumpFlows(); err != nil || len(flows) != 0 {
		t.Fatalf("after Reset dump-flows = %q, %v", flows, err)
	}
	if err := o.Inject(1, udpFrame(1, "after")); err != nil {
		t.Fatal(err)
	}
	if got, err := o.TxPackets(2); err != nil || len(got) != 0 {
		t.Fatalf("after Reset p2 transmitted %d frames (err %v), want none", len(got), err)
	}
	st, err := o.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Hit != 0 || st.Lost != 1 || st.Flows != 0 {
		t.Errorf("after Reset lookups %+v, want hit:0 lost:1 flows:0", st)
	}
}

func TestParseStats(t *testing.T) {
	out := `dummy@ovs-dummy:
  lookups: hit:3 missed:0 lost:1
  flows: 1
  port 0: ovs-dummy (dummy-internal)
    RX packets:0 errors:? dropped:? overruns:? frame:?
    TX packets:0 errors:? dropped:? aborted:? carrier:?
    collisions:?
    RX bytes:0  TX bytes:0
  port 1: p1 (dummy)
    RX packets:114 errors:? dropped:? overruns:? frame:?
    TX packets:0 errors:? dropped:? aborted:? carrier:?
    collisions:?
    RX bytes:5449 (5.3 KiB)  TX bytes:0
  port 2: q2 (dummy-pmd: configured_rx_queues=1, configured_tx_queues=1, requested_rx_queues=1, requested_tx_queues=1)
    RX packets:0 errors:? dropped:? overruns:? frame:?
    TX packets:3 errors:? dropped:? aborted:? carrier:?
    collisions:?
    RX bytes:0  TX bytes:144
`
	st, err := parseStats(out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Hit != 3 || st.Missed != 0 || st.Lost != 1 || st.Flows != 1 {
		t.Errorf("lookups %+v", st)
	}
	want := map[int]PortStats{
		0: {Name: "ovs-dummy", Type: "dummy-internal"},
		1: {Name: "p1", Type: "dummy", RxPackets: 114, RxBytes: 5449},
		2: {Name: "q2", Type: "dummy-pmd", TxPackets: 3, TxBytes: 144},
	}
	for n, w := range want {
		if st.Ports[n] != w {
			t.Errorf("port %d = %+v, want %+v", n, st.Ports[n], w)
		}
	}
}
