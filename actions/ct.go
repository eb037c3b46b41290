package actions

import (
	"net/netip"
	"strconv"
	"strings"
)

// CT is the argument of the ct (connection tracking) action.
type CT struct {
	// Commit commits the connection; ForceCommit also replaces a
	// connection in the opposite direction. At most one is set.
	Commit, ForceCommit bool
	// Zone is the conntrack zone.
	Zone uint16
	// Mark and MarkMask set the connection's mark bits selected by the
	// mask; a zero MarkMask leaves the mark alone.
	Mark, MarkMask uint32
	// Label and LabelMask do the same for the 128-bit label, most
	// significant byte first.
	Label, LabelMask [16]byte
	// Helper names an application layer gateway ("ftp", "tftp"), at most
	// 15 bytes.
	Helper string
	// Timeout names a timeout policy, at most 31 bytes.
	Timeout string
	// NAT, when not nil, applies network address translation.
	NAT *NAT
}

// NAT is the nat(...) option of the ct action. With neither Src nor Dst it
// is the bare "nat": the connection's existing translation applies.
type NAT struct {
	// Src or Dst selects source or destination translation.
	Src, Dst bool
	// Min and Max are the address range; Max is invalid (the zero Addr)
	// for a single address, Min for no address at all.
	Min, Max netip.Addr
	// MinPort and MaxPort are the port range; 0 means none.
	MinPort, MaxPort uint16
	// Persistent, Hash and Random are the range options, which OVS keeps
	// only when an address is given.
	Persistent, Hash, Random bool
}

// ct parses ct or ct(...) at the cursor, as OVS's parse_conntrack_action.
func (p *scanner) ct(start int) (Action, error) {
	p.lit("ct")
	c := &CT{}
	if p.lit("(") {
		var markMask uint32
		var label, labelMask [16]byte
		labelGiven := false
		for !p.lit(")") {
			// Like OVS, no delimiter may come right before the ")".
			p.skip(delimiters)
			if p.eof() || p.peek() == ')' {
				return Action{}, p.errAt(p.i, "ct: expected an option")
			}
			opt := p.i
			switch {
			case p.lit("commit"):
				c.Commit = true
			case p.lit("force_commit"):
				c.ForceCommit = true
			case p.lit("zone="):
				v, err := p.dec(16, "ct zone")
				if err != nil {
					return Action{}, err
				}
				c.Zone = uint16(v)
			case p.lit("mark="):
				v, err := p.hex(32, "ct mark")
				if err != nil {
					return Action{}, err
				}
				c.Mark, markMask = uint32(v), ^uint32(0)
				if p.lit("/") {
					if v, err = p.hex(32, "ct mark mask"); err != nil {
						return Action{}, err
					}
					markMask = uint32(v)
				}
			case p.lit("label="):
				if err := p.wideInt(label[:], "ct label"); err != nil {
					return Action{}, err
				}
				labelMask = fullMask(AttrCtLabels).CtLabel
				if p.lit("/") {
					if err := p.wideInt(labelMask[:], "ct label mask"); err != nil {
						return Action{}, err
					}
				}
				labelGiven = true
			case p.lit("helper="):
				n := p.token()
				if n == "" || len(n) > 15 {
					return Action{}, p.errAt(opt, "ct: helper name must be 1 to 15 bytes")
				}
				c.Helper = n
			case p.lit("timeout="):
				n := p.token()
				if n == "" || len(n) > 31 {
					return Action{}, p.errAt(opt, "ct: timeout policy name must be 1 to 31 bytes")
				}
				c.Timeout = n
			case p.lit("nat"):
				nat, err := p.nat()
				if err != nil {
					return Action{}, err
				}
				c.NAT = nat
			default:
				return Action{}, p.errAt(opt, "ct: unknown option %q", p.word())
			}
		}
		if markMask != 0 {
			c.MarkMask = markMask
		} else {
			c.Mark = 0
		}
		if labelGiven && labelMask != ([16]byte{}) {
			c.Label, c.LabelMask = label, labelMask
		}
	}
	if c.Commit && c.ForceCommit {
		return Action{}, p.errAt(start, "ct: commit and force_commit are exclusive")
	}
	return Action{Type: TypeCT, CT: c}, nil
}

// token returns the text up to the next delimiter or parenthesis.
func (p *scanner) token() string {
	j := p.i
	for j < len(p.s) && strings.IndexByte(delimiters+")", p.s[j]) < 0 {
		j++
	}
	t := p.s[p.i:j]
	p.i = j
	return t
}

// nat parses the rest of a nat option (after "nat"), as OVS's scan_ct_nat.
func (p *scanner) nat() (*NAT, error) {
	n := &NAT{}
	if !p.lit("(") {
		return n, nil
	}
	start := p.i
	for {
		p.skip(delimiters)
		if p.lit(")") {
			break
		}
		switch {
		case p.lit("src"):
			n.Src = true
			if err := p.natRange(n); err != nil {
				return nil, err
			}
		case p.lit("dst"):
			n.Dst = true
			if err := p.natRange(n); err != nil {
				return nil, err
			}
		case p.lit("persistent"):
			n.Persistent = true
		case p.lit("hash"):
			n.Hash = true
		case p.lit("random"):
			n.Random = true
		default:
			if p.eof() {
				return nil, p.errAt(p.i, "nat: expected )")
			}
			return nil, p.errAt(p.i, "nat: unknown option %q", p.word())
		}
	}
	switch {
	case n.Src && n.Dst:
		return nil, p.errAt(start, "nat: src and dst are exclusive")
	case n.Hash && n.Random:
		return nil, p.errAt(start, "nat: hash and random are exclusive")
	case n.Min.IsValid() && n.Max.IsValid() && n.Max.Compare(n.Min) < 0 && !n.Max.IsUnspecified():
		return nil, p.errAt(start, "nat: address range ends before it starts")
	case n.MaxPort != 0 && n.MaxPort < n.MinPort:
		return nil, p.errAt(start, "nat: port range ends before it starts")
	}
	// What OVS keeps: the maximum only above the minimum, ports and
	// options only with an address, type flags only with src or dst.
	if !n.Src && !n.Dst {
		return &NAT{}, nil
	}
	if !n.Min.IsValid() {
		return &NAT{Src: n.Src, Dst: n.Dst}, nil
	}
	if n.Max.IsValid() && n.Max.Compare(n.Min) <= 0 {
		n.Max = netip.Addr{}
	}
	if n.MinPort == 0 || n.MaxPort <= n.MinPort {
		n.MaxPort = 0
	}
	return n, nil
}

// natRange parses "=ADDR[-ADDR][:PORT[-PORT]]" after src or dst, if
// present. IPv6 addresses may be bracketed, and must be when a port
// follows.
func (p *scanner) natRange(n *NAT) error {
	if !p.lit("=") {
		return nil
	}
	addr := func() (netip.Addr, error) {
		at := p.i
		if p.lit("[") {
			j := strings.IndexByte(p.rest(), ']')
			if j < 0 {
				return netip.Addr{}, p.errAt(at, "nat: expected ]")
			}
			a, err := netip.ParseAddr(p.rest()[:j])
			if err != nil || !a.Is6() || a.Zone() != "" {
				return netip.Addr{}, p.errAt(at, "nat: bad IPv6 address")
			}
			p.i += j + 1
			return a, nil
		}
		// An IPv4 address first, as OVS tries it: dotted decimal, which
		// stops before a port's colon.
		j := p.i
		for j < len(p.s) && (p.s[j] >= '0' && p.s[j] <= '9' || p.s[j] == '.') {
			j++
		}
		if a, err := netip.ParseAddr(p.s[p.i:j]); err == nil && a.Is4() {
			p.i = j
			return a, nil
		}
		// Otherwise OVS takes every hex digit, colon and dot as an IPv6
		// address, so an unbracketed one cannot carry a port.
		j = p.i
		for j < len(p.s) && (digitVal(p.s[j]) < 16 || p.s[j] == ':' || p.s[j] == '.') {
			j++
		}
		a, err := netip.ParseAddr(p.s[p.i:j])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return netip.Addr{}, p.errAt(at, "nat: bad address %q", p.s[p.i:j])
		}
		p.i = j
		return a, nil
	}
	var err error
	if n.Min, err = addr(); err != nil {
		return err
	}
	if p.lit("-") {
		if n.Max, err = addr(); err != nil {
			return err
		}
		if n.Max.Is4() != n.Min.Is4() {
			return p.errAt(p.i, "nat: address family mismatch")
		}
	}
	if p.lit(":") {
		v, err := p.dec(16, "nat port")
		if err != nil {
			return err
		}
		n.MinPort = uint16(v)
		if p.lit("-") {
			if v, err = p.dec(16, "nat port"); err != nil {
				return err
			}
			n.MaxPort = uint16(v)
		}
	}
	return nil
}

// appendCT formats a ct action as OVS's format_odp_conntrack_action.
func appendCT(dst []byte, c *CT) []byte {
	dst = append(dst, "ct"...)
	if c == nil {
		return dst
	}
	hasLabel := c.LabelMask != ([16]byte{})
	if !c.Commit && !c.ForceCommit && c.Zone == 0 && c.MarkMask == 0 && !hasLabel &&
		c.Helper == "" && c.Timeout == "" && c.NAT == nil {
		return dst
	}
	dst = append(dst, '(')
	start := len(dst)
	sep := func() {
		if len(dst) > start {
			dst = append(dst, ',')
		}
	}
	if c.Commit {
		dst = append(dst, "commit"...)
	}
	if c.ForceCommit {
		sep()
		dst = append(dst, "force_commit"...)
	}
	if c.Zone != 0 {
		sep()
		dst = append(dst, "zone="...)
		dst = strconv.AppendUint(dst, uint64(c.Zone), 10)
	}
	if c.MarkMask != 0 {
		sep()
		dst = append(dst, "mark="...)
		dst = appendHexC(dst, uint64(c.Mark))
		dst = appendHexC(append(dst, '/'), uint64(c.MarkMask))
	}
	if hasLabel {
		sep()
		dst = append(dst, "label="...)
		dst = appendHexBytes(dst, c.Label[:])
		if c.LabelMask != fullMask(AttrCtLabels).CtLabel {
			dst = appendHexBytes(append(dst, '/'), c.LabelMask[:])
		}
	}
	if c.Helper != "" {
		sep()
		dst = append(dst, "helper="...)
		dst = append(dst, c.Helper...)
	}
	if c.Timeout != "" {
		sep()
		dst = append(dst, "timeout="...)
		dst = append(dst, c.Timeout...)
	}
	if c.NAT != nil {
		sep()
		dst = appendNAT(dst, c.NAT)
	}
	return append(dst, ')')
}

// appendNAT formats the nat option as OVS's format_odp_ct_nat.
func appendNAT(dst []byte, n *NAT) []byte {
	dst = append(dst, "nat"...)
	if !n.Src && !n.Dst {
		return dst
	}
	if n.Src {
		dst = append(dst, "(src"...)
	} else {
		dst = append(dst, "(dst"...)
	}
	if n.Min.IsValid() {
		dst = append(dst, '=')
		bracket := n.Min.Is6() && n.MinPort != 0
		addr := func(a netip.Addr) {
			if a.Is4() {
				dst = appendIPv4(dst, a.As4())
				return
			}
			if bracket {
				dst = append(dst, '[')
			}
			dst = appendIPv6(dst, a.As16())
			if bracket {
				dst = append(dst, ']')
			}
		}
		addr(n.Min)
		if n.Max.IsValid() && !n.Max.IsUnspecified() && n.Max != n.Min {
			dst = append(dst, '-')
			addr(n.Max)
		}
		if n.MinPort != 0 {
			dst = append(dst, ':')
			dst = strconv.AppendUint(dst, uint64(n.MinPort), 10)
			if n.MaxPort != 0 && n.MaxPort != n.MinPort {
				dst = append(dst, '-')
				dst = strconv.AppendUint(dst, uint64(n.MaxPort), 10)
			}
		}
		if n.Persistent {
			dst = append(dst, ",persistent"...)
		}
		if n.Hash {
			dst = append(dst, ",hash"...)
		}
		if n.Random {
			dst = append(dst, ",random"...)
		}
	}
	return append(dst, ')')
}
