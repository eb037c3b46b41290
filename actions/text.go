package actions

import (
	"strconv"
	"strings"

	"github.com/b7cafead/datapath/flow"
)

// Parse parses an action list in the syntax of ovs-dpctl add-flow, for
// example "set(ipv4(ttl=63)),2". Actions are separated by commas or
// spaces; "drop" alone, or nothing, is the list that drops. A set action
// whose argument names every field of its attribute is an unmasked set
// (TypeSet); otherwise it is a masked set (TypeSetMasked) of the fields
// given, as OVS parses it.
func Parse(s string) (List, error) {
	t := strings.TrimSpace(s)
	if strings.EqualFold(t, "drop") {
		return List{{Type: TypeDrop}}, nil
	}
	var l List
	i := 0
	for {
		for i < len(s) && strings.IndexByte(", \t\r\n", s[i]) >= 0 {
			i++
		}
		if i == len(s) {
			break
		}
		a, n, err := parseOne(s, i)
		if err != nil {
			return nil, err
		}
		l = append(l, a)
		i = n
	}
	if err := l.Validate(); err != nil {
		return nil, err
	}
	return l, nil
}

func syntaxErr(s string, off int, msg string) error {
	return &flow.SyntaxError{Text: s, Offset: off, Msg: "actions: " + msg}
}

func parseOne(s string, i int) (Action, int, error) {
	rest := s[i:]
	switch {
	case rest[0] >= '0' && rest[0] <= '9':
		j := i
		for j < len(s) && strings.IndexByte(", \t\r\n)", s[j]) < 0 {
			j++
		}
		port, err := flow.ParseCUint(s[i:j], 32)
		if err != nil {
			return Action{}, 0, syntaxErr(s, i, "bad output port "+strconv.Quote(s[i:j]))
		}
		return Output(uint32(port)), j, nil
	case strings.HasPrefix(rest, "set("):
		name, m, n, err := flow.ParseAttr(rest[4:])
		if err != nil {
			if se, ok := err.(*flow.SyntaxError); ok {
				return Action{}, 0, syntaxErr(s, i+4+se.Offset, "set: "+strings.TrimPrefix(se.Msg, "flow: "))
			}
			return Action{}, 0, err
		}
		end := i + 4 + n
		for end < len(s) && s[end] == ' ' {
			end++
		}
		if end >= len(s) || s[end] != ')' {
			return Action{}, 0, syntaxErr(s, end, "expected ) to close set(")
		}
		var attr Attr
		for a, an := range attrNames {
			if an == name {
				attr = a
			}
		}
		if attr == 0 {
			return Action{}, 0, syntaxErr(s, i+4, "set of "+name+" is not supported")
		}
		a := Action{Type: TypeSetMasked, Attr: attr, Key: m.Key, Mask: m.Mask}
		if full := fullMask(attr); a.Mask == full {
			a.Type = TypeSet
		}
		return a, end + 1, nil
	}
	j := i
	for j < len(s) && (s[j] >= 'a' && s[j] <= 'z' || s[j] == '_') {
		j++
	}
	name := s[i:j]
	if name == "" {
		name = s[i : i+1]
	}
	return Action{}, 0, syntaxErr(s, i, "unknown or unsupported action "+strconv.Quote(name))
}

// String formats the list as OVS does: "drop" for the empty list,
// otherwise the actions separated by commas.
func (l List) String() string { return string(l.Append(nil)) }

// Append appends the list's text to dst and returns the extended buffer.
func (l List) Append(dst []byte) []byte {
	if len(l) == 0 {
		return append(dst, "drop"...)
	}
	for i := range l {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = l[i].Append(dst)
	}
	return dst
}

// String formats one action as OVS does.
func (a *Action) String() string { return string(a.Append(nil)) }

// Append appends the action's text to dst and returns the extended buffer.
func (a *Action) Append(dst []byte) []byte {
	switch a.Type {
	case TypeOutput:
		return strconv.AppendUint(dst, uint64(a.Port), 10)
	case TypeDrop:
		return append(dst, "drop"...)
	case TypeSet, TypeSetMasked:
		dst = append(dst, "set("...)
		mask := a.Mask
		if a.Type == TypeSet {
			mask = fullMask(a.Attr)
		}
		dst, _ = flow.AppendAttr(dst, a.Attr.String(), &a.Key, &mask)
		return append(dst, ')')
	}
	return append(dst, a.Type.String()...)
}
