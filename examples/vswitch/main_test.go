package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRunErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 2, "no ports"},
		{[]string{"-bogus"}, 2, "flag provided but not defined"},
		{[]string{"-port", "eth0"}, 2, "want BACKEND:IFACE"},
		{[]string{"-port", "afpacket:lo", "extra"}, 2, "unexpected argument"},
		{[]string{"-port", "tap:eth0"}, 1, `unknown backend "tap"`},
		{[]string{"-port", "afpacket:no-such-if0"}, 1, "port 1 (afpacket:no-such-if0)"},
		{[]string{"-port", "afxdp:no-such-if0"}, 1, "port 1 (afxdp:no-such-if0)"},
		{[]string{"-port", "afpacket:lo", "-flows", "/nonexistent/flows.txt"}, 1, "/nonexistent/flows.txt"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(tc.args, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.msg) {
			t.Errorf("vswitch %q: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr.String(), tc.code, tc.msg)
		}
	}
}

func TestReadFlows(t *testing.T) {
	in := "# comment\n\nin_port(1),eth(),eth_type(0x0800),ipv4() 2\n" +
		"in_port(2),eth(),eth_type(0x0806),arp(), packets:3, bytes:180, used:0.5s, actions:1\n"
	lines, err := readFlows("f", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || lines[0].line != 3 || lines[1].line != 4 {
		t.Fatalf("got %+v", lines)
	}
	if _, err := readFlows("f", strings.NewReader("in_port(1)\n")); err == nil || !strings.Contains(err.Error(), "f:1:") {
		t.Errorf("a line without actions: got %v, want an error naming f:1", err)
	}
}
