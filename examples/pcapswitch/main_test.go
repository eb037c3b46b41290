package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/b7cafead/datapath/internal/testpkt"
	dpio "github.com/b7cafead/datapath/io"
	"github.com/b7cafead/datapath/io/pcapfile"
)

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func runCmd(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func readFrames(t *testing.T, path string) [][]byte {
	t.Helper()
	r, err := pcapfile.Open(path, pcapfile.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out [][]byte
	b := dpio.NewBatch(16)
	for {
		n, err := r.Read(b)
		for _, p := range b[:n] {
			out = append(out, append([]byte(nil), p.Bytes()...))
		}
		if err != nil {
			return out
		}
	}
}

func TestDemo(t *testing.T) {
	code, out, errOut := runCmd()
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"4 flows installed", "fed 9 packets", "8 packets hit a flow, 1 matched no flow",
		"port 2 sent 4 packets", "port 3 sent 2 packets", "actions:set(ipv4(ttl=63)),2"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}

func TestFlowsOnly(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "flows", `# comment
in_port(1),eth_type(0x0800),ipv4(frag=no) 2

recirc_id(0),in_port(2),packet_type(ns=0,id=0),eth_type(0x0806),arp(op=1/0xff), packets:7, bytes:420, used:1.234s, actions:1,3
ufid:0b4e6b26-0000-0000-0000-000000000000, recirc_id(0),in_port(3),eth(),eth_type(0x1234), packets:0, bytes:0, used:never, actions:drop
`)
	code, out, errOut := runCmd("-flows", f)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := []string{
		"recirc_id(0),in_port(1),eth_type(0x0800),ipv4(frag=no), packets:0, bytes:0, used:never, actions:2",
		// As OVS does, a key given without eth() gets the non-Ethernet
		// packet type of its eth_type, even if it said packet_type(ns=0,id=0).
		"recirc_id(0),in_port(2),packet_type(ns=1,id=0x806),eth_type(0x0806),arp(op=1), packets:0, bytes:0, used:never, actions:1,3",
		"recirc_id(0),in_port(3),eth(),eth_type(0x1234), packets:0, bytes:0, used:never, actions:drop",
	}
	lines := strings.Split(out, "\n")
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d:\n got %s\nwant %s", i+1, lines[i], w)
		}
	}
	for _, p := range []string{"port 1: p1", "port 2: p2", "port 3: p3", "misses: 0"} {
		if !strings.Contains(out, p) {
			t.Errorf("output lacks %q", p)
		}
	}
	code, out, _ = runCmd("-flows", f, "-dump-flows=false")
	if code != 0 || strings.Contains(out, "actions:") {
		t.Errorf("-dump-flows=false printed flows: %s", out)
	}
}

func TestBadFlowLine(t *testing.T) {
	dir := t.TempDir()
	const ok = "in_port(1),eth_type(0x0800),ipv4(frag=no) 2"
	for _, c := range []struct{ body, want string }{
		{ok + "\nin_port(1),eth_type(0x0800),ipv4(bogus=1) 2\n", ":2: "},
		{ok + "\n\n# x\nin_port(1),eth_type(0x0800),ipv4(frag=no) frobnicate\n", ":4: "},
		{"in_port(1),eth_type(0x1234)\n", ":1: "},
		{"in_port(1),eth_type(0x0800),ipv4(frag=no),udp(dst=53) 2\n", ":1: "},
		{"in_port(1),eth_type(0x0800) 2\n", ":1: "},
		{"in_port(1) 2\n", ":1: "},
		{"eth_type(0x0800),ipv4(frag=no) 2\n", ":1: dp: invalid argument: in_port is not an exact match"},
		{ok + "\n" + ok + "\n", ":2: flow already exists"},
		{"in_port(1),eth_type(0x1234) ct(commit),2\n", ":1: dp: invalid argument: actions: ct is not implemented"},
		{"ufid:1234 " + ok + "\n", ":1: flow: invalid UFID"},
		{"ufid:11111111-2222-4333-8444-555555555555 " + ok + "\nufid:11111111-2222-4333-8444-555555555555 in_port(2),eth_type(0x0800),ipv4(frag=no) 1\n", ":2: dp: already exists: another flow has UFID 11111111-2222-4333-8444-555555555555 (File exists)"},
	} {
		f := writeFile(t, dir, "flows", c.body)
		code, out, errOut := runCmd("-flows", f)
		if code == 0 {
			t.Errorf("%q: exit 0, output %s", c.body, out)
			continue
		}
		if !strings.Contains(errOut, c.want) || strings.Contains(errOut, "panic") {
			t.Errorf("%q: stderr %q lacks %q", c.body, errOut, c.want)
		}
	}
	if code, _, errOut := runCmd("-flows", filepath.Join(dir, "missing")); code == 0 || !strings.Contains(errOut, "missing") {
		t.Errorf("missing file: exit %d, %q", code, errOut)
	}
	if code, _, _ := runCmd("-in", "x"); code != 2 {
		t.Errorf("bad -in: exit %d, want 2", code)
	}
}

func TestReplayOrderAndOutputs(t *testing.T) {
	dir := t.TempDir()
	flows := writeFile(t, dir, "flows", "in_port(1),eth_type(0x0800),ipv4(frag=no) 3\nin_port(2),eth_type(0x0800),ipv4(frag=no) 3\n")
	var a, b [][]byte
	for i := 0; i < 5; i++ {
		a = append(a, testpkt.UDP(testpkt.Frame{SrcPort: uint16(100 + i)}))
		b = append(b, testpkt.UDP(testpkt.Frame{SrcPort: uint16(200 + i)}))
	}
	in1 := filepath.Join(dir, "in1.pcap")
	in2 := filepath.Join(dir, "in2.pcap")
	os.WriteFile(in1, writeCapture(t, a, testTime(0), 2*captureStep), 0o644)             // t = 0, 2, 4, 6, 8 ms
	os.WriteFile(in2, writeCapture(t, b, testTime(1*captureStep), 2*captureStep), 0o644) // t = 1, 3, 5, 7, 9 ms
	out := filepath.Join(dir, "out.pcap")
	code, stdout, errOut := runCmd("-flows", flows, "-in", "1="+in1, "-in", "2="+in2, "-out", "3="+out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	got := readFrames(t, out)
	if len(got) != 10 {
		t.Fatalf("%d frames out, want 10\n%s", len(got), stdout)
	}
	for i, f := range got {
		want := a[i/2]
		if i%2 == 1 {
			want = b[i/2]
		}
		if !bytes.Equal(f, want) {
			t.Errorf("frame %d out of order", i)
		}
	}
}

func TestBadCapture(t *testing.T) {
	dir := t.TempDir()
	flows := writeFile(t, dir, "flows", "in_port(1),eth_type(0x0800),ipv4(frag=no) 2\n")
	bad := writeFile(t, dir, "bad.pcap", "\xd4\xc3\xb2\xa1\x02\x00\x04\x00garbage")
	code, _, errOut := runCmd("-flows", flows, "-in", "1="+bad)
	if code == 0 || !strings.Contains(errOut, "bad.pcap") || !strings.Contains(errOut, "offset") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

// TestNestedOutputPort checks that a port named only by an output inside a
// nested action list is a port of the run, its packets counted.
func TestNestedOutputPort(t *testing.T) {
	dir := t.TempDir()
	flows := writeFile(t, dir, "flows", "in_port(1),eth_type(0x0800),ipv4(frag=no) dec_ttl(le_1(5)),2\n")
	f := testpkt.UDP(testpkt.Frame{SrcPort: 1, DstPort: 2})
	f[14+8] = 1 // TTL 1: dec_ttl runs its nested actions
	in1 := filepath.Join(dir, "in1.pcap")
	os.WriteFile(in1, writeCapture(t, [][]byte{f}, testTime(0), captureStep), 0o644)
	code, stdout, errOut := runCmd("-flows", flows, "-in", "1="+in1)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	i := strings.Index(stdout, "port 5: p5")
	if i < 0 || !strings.Contains(stdout[i:], "TX packets:1 ") {
		t.Errorf("port 5 missing or without its packet:\n%s", stdout)
	}
}
