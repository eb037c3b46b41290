//go:build linux

package actioncases_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/internal/actioncases"
	"github.com/b7cafead/datapath/internal/ovsdummy"
)

// The differential test: every action text of the tables goes to OVS 3.1
// (dpctl/add-flow on a dummy datapath, then dpctl/dump-flows) and to
// actions.Parse and List.String. The two must print the same actions or
// refuse alike, except for the recorded divergences, where each side must
// behave as recorded. It needs root and openvswitch-switch; ovsdummy.Start
// skips it otherwise.

// key is the flow every case is installed with.
const key = "in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)"

// ovsActions installs a flow with acts and returns the actions OVS dumps,
// or ok false if OVS refuses to parse them.
func ovsActions(t *testing.T, o *ovsdummy.OVS, acts string) (string, bool) {
	t.Helper()
	if err := o.DelFlows(); err != nil {
		t.Fatal(err)
	}
	if err := o.AddFlow(key, acts); err != nil {
		var ae *ovsdummy.AppctlError
		if !errors.As(err, &ae) || !strings.Contains(ae.Text, "parsing actions") {
			t.Fatalf("dpctl/add-flow %.200q: unexpected error %v", acts, err)
		}
		return "", false
	}
	flows, err := o.DumpFlows()
	if err != nil {
		t.Fatal(err)
	}
	if len(flows) != 1 {
		t.Fatalf("dpctl/dump-flows after adding %.200q: %d flows", acts, len(flows))
	}
	_, a, ok := strings.Cut(flows[0], ", actions:")
	if !ok {
		t.Fatalf("no actions in %q", flows[0])
	}
	return a, true
}

// ours returns what this package prints for acts, or ok false if it
// refuses them.
func ours(acts string) (string, bool) {
	l, err := actions.Parse(acts)
	if err != nil {
		return "", false
	}
	return l.String(), true
}

func TestAgainstOVS(t *testing.T) {
	o := ovsdummy.Start(t, 3)
	same := func(in string) {
		t.Helper()
		theirs, okT := ovsActions(t, o, in)
		mine, okM := ours(in)
		switch {
		case okT != okM:
			t.Errorf("%.200s: OVS accepts: %v, we accept: %v", in, okT, okM)
		case theirs != mine:
			t.Errorf("%.200s:\n ovs  %.300s\n ours %.300s", in, theirs, mine)
		}
	}
	for _, in := range actioncases.ODPValid {
		same(in)
	}
	for _, d := range actioncases.Dumps {
		same(d.In)
		if got, _ := ovsActions(t, o, d.In); got != d.Out {
			t.Errorf("%s: OVS prints %s, recorded %s", d.In, got, d.Out)
		}
	}
	for _, in := range actioncases.Refused {
		same(in)
	}
	for _, in := range actioncases.ODPInvalid {
		same(in)
	}
	valid, invalid := actioncases.Long()
	for _, in := range append(valid, invalid...) {
		same(in)
	}
	for _, p := range actioncases.ODPPending {
		if got, ok := ovsActions(t, o, p.Line); !ok || got != p.Line {
			t.Errorf("pending %s: OVS prints %q (accepted: %v)", p.Line, got, ok)
		}
	}
	for _, d := range actioncases.Divergences {
		theirs, ok := ovsActions(t, o, d.In)
		if !ok {
			theirs = ""
		}
		if theirs != d.OVS {
			t.Errorf("divergence %s: OVS prints %q, recorded %q", d.In, theirs, d.OVS)
		}
		if mine, _ := ours(d.In); mine != d.Ours {
			t.Errorf("divergence %s: we print %q, recorded %q", d.In, mine, d.Ours)
		}
	}
}
