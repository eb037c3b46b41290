package actions_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/flow"
	"github.com/b7cafead/datapath/internal/actioncases"
)

// roundTrip parses in, checks that it formats as want, and that want
// parses back to the same list and formats as itself.
func roundTrip(t *testing.T, in, want string) actions.List {
	t.Helper()
	l, err := actions.Parse(in)
	if err != nil {
		t.Errorf("Parse(%.200q): %v", in, err)
		return nil
	}
	if got := l.String(); got != want {
		t.Errorf("Parse(%.200q).String()\n got %.300s\nwant %.300s", in, got, want)
		return l
	}
	l2, err := actions.Parse(want)
	if err != nil {
		t.Errorf("reparse of %.200q: %v", want, err)
		return l
	}
	if got := l2.String(); got != want {
		t.Errorf("reparse of %.200q formats as %.200q", want, got)
	}
	return l
}

// refused checks that in does not parse, with a well-formed syntax error.
func refused(t *testing.T, in string) {
	t.Helper()
	l, err := actions.Parse(in)
	if err == nil {
		t.Errorf("Parse(%.200q) = %.200s, want an error", in, l)
		return
	}
	var se *flow.SyntaxError
	if !errors.As(err, &se) {
		t.Errorf("Parse(%.200q): %v is not a *flow.SyntaxError", in, err)
	} else if se.Offset < 0 || se.Offset > len(in) || se.Text != in {
		t.Errorf("Parse(%.200q): bad SyntaxError offset %d", in, se.Offset)
	}
	if l != nil {
		t.Errorf("Parse(%.200q) returned a list with its error", in)
	}
}

// TestODPValidForms runs the valid forms of OVS's tests/odp.at: each
// parses and formats back identically.
func TestODPValidForms(t *testing.T) {
	for _, in := range actioncases.ODPValid {
		l := roundTrip(t, in, in)
		if l == nil {
			continue
		}
		l2, _ := actions.Parse(l.String())
		if !reflect.DeepEqual(l, l2) {
			t.Errorf("%s: reparse gives a different list", in)
		}
	}
	for _, p := range actioncases.ODPPending {
		if l, err := actions.Parse(p.Line); err == nil && l.String() == p.Line {
			t.Errorf("pending line %s now round-trips: move it to ODPValid", p.Line)
		}
	}
}

// TestODPInvalidForms runs OVS's invalid forms and its netlink size limits.
func TestODPInvalidForms(t *testing.T) {
	for _, in := range actioncases.ODPInvalid {
		refused(t, in)
	}
	valid, invalid := actioncases.Long()
	for _, in := range valid {
		roundTrip(t, in, in)
	}
	for _, in := range invalid {
		refused(t, in)
	}
}

// TestOVSDumps checks the forms OVS 3.1 prints for the texts it accepts.
// Some of them OVS cannot parse back, or reads back as a different value
// (see unparseable and lossy); for those only the first step is checked.
func TestOVSDumps(t *testing.T) {
	for _, d := range actioncases.Dumps {
		l, err := actions.Parse(d.In)
		if err != nil {
			t.Errorf("Parse(%q): %v", d.In, err)
			continue
		}
		if unparseable(l) || lossy(l) {
			if got := l.String(); got != d.Out {
				t.Errorf("Parse(%q).String()\n got %s\nwant %s", d.In, got, d.Out)
			}
			continue
		}
		roundTrip(t, d.In, d.Out)
	}
}

// TestOVSRefusals checks that what OVS 3.1 refuses is refused.
func TestOVSRefusals(t *testing.T) {
	for _, in := range actioncases.Refused {
		refused(t, in)
	}
}

// TestDivergences checks this package's side of its known differences
// from OVS 3.1.
func TestDivergences(t *testing.T) {
	for _, d := range actioncases.Divergences {
		if d.OVS == d.Ours {
			t.Errorf("%s: recorded as a divergence but both give %q", d.In, d.Ours)
		}
		if d.Why == "" {
			t.Errorf("%s: divergence without a reason", d.In)
		}
		if d.Ours == "" {
			refused(t, d.In)
			continue
		}
		roundTrip(t, d.In, d.Ours)
	}
}

// TestEveryActionType checks that the tables exercise every action type.
func TestEveryActionType(t *testing.T) {
	seen := map[actions.Type]bool{}
	var walk func(l actions.List)
	walk = func(l actions.List) {
		for _, a := range l {
			seen[a.Type] = true
			walk(a.Actions)
			walk(a.Greater)
			walk(a.LessEqual)
		}
	}
	texts := append([]string(nil), actioncases.ODPValid...)
	for _, d := range actioncases.Dumps {
		texts = append(texts, d.In)
	}
	for _, d := range actioncases.Divergences {
		if d.Ours != "" {
			texts = append(texts, d.In)
		}
	}
	texts = append(texts, "drop")
	for _, s := range texts {
		l, _ := actions.Parse(s)
		walk(l)
	}
	for typ := actions.Type(1); typ <= 30; typ++ {
		if typ.String() == "action("+itoa(int(typ))+")" {
			continue
		}
		if !seen[typ] {
			t.Errorf("no test case has a %s action", typ)
		}
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
