//go:build linux

package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/dp"
	"github.com/b7cafead/datapath/flow"
	"github.com/b7cafead/datapath/internal/ovsdummy"
	dpio "github.com/b7cafead/datapath/io"
)

// TestPutSemanticsAgainstOVS applies the same sequence of flow puts to OVS
// 3.1's userspace datapath (dpctl/add-flow and dpctl/mod-flow) and to
// ours, and requires the same successes, the same refusals and the same
// flow table. OVS looks up a new flow's key, as written, as if it were a
// packet: a flow that would catch it counts as existing (an overlap).
func TestPutSemanticsAgainstOVS(t *testing.T) {
	o := ovsdummy.Start(t, 2)
	d := dp.New(dp.Config{})
	defer d.Close()
	for no := uint32(1); no <= 2; no++ {
		p, _ := dpio.NewMemPair(dpio.MemConfig{Name: "p" + string(rune('0'+no))}, dpio.MemConfig{})
		if _, err := d.AddPort(no, p); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		cmd, flow, acts string
	}{
		{"add", "in_port(1),eth_type(0x0800),ipv4(frag=no)", "2"},
		// Caught by the flow above: exists.
		{"add", "in_port(1),eth_type(0x0800),ipv4(proto=17,frag=no),udp()", "2"},
		{"add", "in_port(1),eth_type(0x0800),ipv4(dst=10.0.0.0/255.0.0.0,frag=no)", "2"},
		{"add", "in_port(2),eth_type(0x0800),ipv4(dst=10.0.0.0/255.0.0.0,frag=no)", "1"},
		{"add", "in_port(2),eth_type(0x0800),ipv4(dst=10.0.0.0/254.0.0.0,frag=no)", "1"},
		{"add", "in_port(2),eth_type(0x0800),ipv4(dst=10.0.0.0/255.255.0.0,frag=no)", "1"},
		{"add", "in_port(2),eth_type(0x0800),ipv4(dst=11.0.0.0/255.255.0.0,frag=no)", "1"},
		// The key is looked up as written, bits outside the mask too:
		// 12.1.0.0 is caught by 12.1.0.0/16 although 12.1.0.0/8 is wider.
		{"add", "in_port(2),eth_type(0x0800),ipv4(dst=12.1.0.0/255.255.0.0,frag=no)", "1"},
		{"add", "in_port(2),eth_type(0x0800),ipv4(dst=12.1.0.0/255.0.0.0,frag=no)", "1"},
		{"add", "in_port(2),eth_type(0x0800),ipv4(dst=13.0.0.0/255.0.0.0,frag=no)", "1"},
		{"add", "in_port(2),eth_type(0x0800),ipv4(dst=13.1.0.0/255.255.0.0,frag=no)", "1"},
		// A broader flow added after narrower ones is not caught by them.
		{"add", "in_port(2),eth_type(0x0800),ipv4(frag=no)", "1"},
		{"add", "in_port(2),eth_type(0x86dd),ipv6(frag=no)", "1"},
		// Modifying through an overlapping key changes the flow that
		// catches it.
		{"mod", "in_port(1),eth_type(0x0800),ipv4(proto=6,frag=no),tcp()", "drop"},
		{"mod", "in_port(1),eth_type(0x0806),arp()", "2"},
		{"mod", "in_port(2),eth_type(0x86dd),ipv6(frag=no)", "1,1"},
	}
	for _, s := range steps {
		var oerr error
		if s.cmd == "mod" {
			_, oerr = o.Appctl("dpctl/mod-flow", s.flow, s.acts)
		} else {
			oerr = o.AddFlow(s.flow, s.acts)
		}
		m, err := flow.Parse(s.flow)
		if err != nil {
			t.Fatal(err)
		}
		acts, err := actions.Parse(s.acts)
		if err != nil {
			t.Fatal(err)
		}
		flags := dp.PutCreate
		if s.cmd == "mod" {
			flags = dp.PutModify
		}
		_, ourErr := d.PutFlow(m, acts, flags)
		switch {
		case (oerr == nil) != (ourErr == nil):
			t.Errorf("%s %s: OVS %v, ours %v", s.cmd, s.flow, oerr, ourErr)
		case oerr != nil && strings.Contains(oerr.Error(), "File exists") != errors.Is(ourErr, dp.ErrExist):
			t.Errorf("%s %s: OVS %v, ours %v", s.cmd, s.flow, oerr, ourErr)
		case oerr != nil && strings.Contains(oerr.Error(), "No such file") != errors.Is(ourErr, dp.ErrNotExist):
			t.Errorf("%s %s: OVS %v, ours %v", s.cmd, s.flow, oerr, ourErr)
		}
	}
	want, err := o.DumpFlows()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range d.Flows() {
		got = append(got, f.String())
	}
	w, g := normalizeDump(want), normalizeDump(got)
	if strings.Join(w, "\n") != strings.Join(g, "\n") {
		t.Errorf("flow tables differ:\nOVS:\n%s\nours:\n%s", strings.Join(w, "\n"), strings.Join(g, "\n"))
	}
}
