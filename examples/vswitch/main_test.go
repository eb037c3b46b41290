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
