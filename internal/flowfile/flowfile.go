// Package flowfile reads the flow files of the example commands: one
// datapath flow per line, in the text syntax of ovs-dpctl and ovs-appctl
// dpctl/dump-flows.
package flowfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/flow"
)

// ReadFile reads the flow file name (see Read).
func ReadFile(name string) ([]Line, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(name, f)
}

// Line is a parsed line of a flow file.
type Line struct {
	File    string       // the file's name, as given to Read
	Text    string       // the line, blanks trimmed
	No      int          // the line number, from 1
	UFID    flow.UFID    // zero: derived from the key
	Match   flow.Match   // the flow
	Actions actions.List // its actions
}

// SplitUFID splits a leading "ufid:UUID" (followed by a comma or blanks,
// as dpctl add-flow takes it and dump-flows -m prints it) off a flow line.
func SplitUFID(s string) (flow.UFID, string, error) {
	if !strings.HasPrefix(s, "ufid:") {
		return flow.UFID{}, s, nil
	}
	end := strings.IndexAny(s, ", \t")
	if end < 0 {
		end = len(s)
	}
	u, err := flow.ParseUFID(s[:end])
	if err != nil {
		return u, s, err
	}
	return u, strings.TrimLeft(s[end:], ", \t"), nil
}

// SplitLine separates a flow file line into its flow and action text.
// It accepts "FLOW ACTIONS" (the two ovs-dpctl add-flow arguments) and the
// dpctl/dump-flows form "FLOW, packets:N, ..., actions:ACTIONS"; a leading
// UFID has been split off (SplitUFID).
func SplitLine(s string) (flowText, actText string, err error) {
	if i := strings.Index(s, "actions:"); i >= 0 {
		head := strings.TrimSpace(s[:i])
		actText = strings.TrimSpace(s[i+len("actions:"):])
		// Drop the statistics: everything from the first ", name:" at
		// the top level (flow attributes are "name(" and never "name:").
		depth := 0
		for j := 0; j < len(head); j++ {
			switch head[j] {
			case '(':
				depth++
			case ')':
				depth--
			case ',':
				if depth == 0 && isStat(head[j+1:]) {
					return strings.TrimSpace(head[:j]), actText, nil
				}
			}
		}
		return strings.TrimSuffix(head, ","), actText, nil
	}
	// "FLOW ACTIONS": the flow ends at the first blank outside parentheses.
	depth := 0
	for j := 0; j < len(s); j++ {
		switch s[j] {
		case '(':
			depth++
		case ')':
			depth--
		case ' ', '\t':
			if depth == 0 {
				return s[:j], strings.TrimSpace(s[j:]), nil
			}
		}
	}
	if depth != 0 {
		return "", "", errors.New("unbalanced parentheses in the flow")
	}
	return "", "", errors.New("want \"FLOW ACTIONS\"; found no actions")
}

// isStat reports whether s starts with " name:", a statistics field of a
// dump-flows line.
func isStat(s string) bool {
	s = strings.TrimLeft(s, " ")
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ':' {
			return i > 0
		}
		if !(c >= 'a' && c <= 'z' || c == '_') {
			return false
		}
	}
	return false
}

// Read parses the flow file r, named name in error messages: one flow per
// line, "FLOW ACTIONS" as ovs-dpctl add-flow takes them or a line as
// ovs-appctl dpctl/dump-flows prints it, optionally led by "ufid:UUID";
// blank lines and lines starting with # are skipped. An error names the
// file and line.
func Read(name string, r io.Reader) ([]Line, error) {
	var out []Line
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		fail := func(err error) error {
			return fmt.Errorf("%s:%d: %v: %s", name, n, err, text)
		}
		ufid, rest, err := SplitUFID(text)
		if err != nil {
			return nil, fail(err)
		}
		ft, at, err := SplitLine(rest)
		if err != nil {
			return nil, fail(err)
		}
		m, err := flow.Parse(ft)
		if err != nil {
			return nil, fail(err)
		}
		acts, err := actions.Parse(at)
		if err != nil {
			return nil, fail(err)
		}
		out = append(out, Line{File: name, Text: text, No: n, UFID: ufid, Match: m, Actions: acts})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return out, nil
}
