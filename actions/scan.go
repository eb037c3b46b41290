package actions

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/b7cafead/datapath/flow"
)

// delimiters separate actions, as in OVS's odp-util.c.
const delimiters = ", \t\r\n"

// maxNesting bounds the depth of nested action lists and attributes, as
// OVS's MAX_ODP_NESTED does.
const maxNesting = 32

// scanner is a cursor over action text. Its methods follow the pieces of
// OVS's scanf-style parser: lit matches literal text, num a C-style
// unsigned integer.
type scanner struct {
	s     string
	i     int
	depth int
}

// errAt returns a syntax error at byte offset off.
func (p *scanner) errAt(off int, format string, a ...any) error {
	msg := format
	if len(a) > 0 {
		msg = fmt.Sprintf(format, a...)
	}
	if off > len(p.s) {
		off = len(p.s)
	}
	return &flow.SyntaxError{Text: p.s, Offset: off, Msg: "actions: " + msg}
}

// rest returns the unparsed text.
func (p *scanner) rest() string { return p.s[p.i:] }

// eof reports whether the whole text has been consumed.
func (p *scanner) eof() bool { return p.i >= len(p.s) }

// peek returns the next byte, or 0 at the end.
func (p *scanner) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// lit consumes x if the text continues with it.
func (p *scanner) lit(x string) bool {
	if strings.HasPrefix(p.s[p.i:], x) {
		p.i += len(x)
		return true
	}
	return false
}

// expect consumes x or fails naming what was expected.
func (p *scanner) expect(x string) error {
	if !p.lit(x) {
		return p.errAt(p.i, "expected %q", x)
	}
	return nil
}

// skip consumes any of the bytes in set.
func (p *scanner) skip(set string) {
	for p.i < len(p.s) && strings.IndexByte(set, p.s[p.i]) >= 0 {
		p.i++
	}
}

// spaces skips the white space a scanf conversion skips.
func (p *scanner) spaces() { p.skip(" \t\r\n\v\f") }

// num parses an unsigned integer of at most bits bits as a scanf
// conversion does after skipping white space: base 0 accepts decimal,
// 0x-prefixed hexadecimal and 0-prefixed octal; base 16 accepts an
// optional 0x prefix. Unlike OVS, which keeps the low bits of a value that
// does not fit, a value out of range is an error, and so is a sign.
func (p *scanner) num(bits, base int, what string) (uint64, error) {
	p.spaces()
	start := p.i
	s := p.s[p.i:]
	j := 0
	if (base == 0 || base == 16) && len(s) > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		base, j = 16, 2
	} else if base == 0 {
		base = 10
		if len(s) > 0 && s[0] == '0' {
			base = 8
		}
	}
	k := j
	for k < len(s) && digitVal(s[k]) < base {
		k++
	}
	if k == j {
		if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
			return 0, p.errAt(start, "%s: signed numbers are not accepted", what)
		}
		return 0, p.errAt(start, "%s: expected a number", what)
	}
	v, err := strconv.ParseUint(s[j:k], base, bits)
	if err != nil {
		return 0, p.errAt(start, "%s: %s out of range (%d bits)", what, s[:k], bits)
	}
	p.i += k
	return v, nil
}

func digitVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return 99
}

// u32 and friends parse "%i" conversions of the given width.
func (p *scanner) u32(what string) (uint32, error) {
	v, err := p.num(32, 0, what)
	return uint32(v), err
}

func (p *scanner) u16(what string) (uint16, error) {
	v, err := p.num(16, 0, what)
	return uint16(v), err
}

func (p *scanner) u8(what string) (uint8, error) {
	v, err := p.num(8, 0, what)
	return uint8(v), err
}

// dec parses a "%u" conversion: decimal only.
func (p *scanner) dec(bits int, what string) (uint64, error) { return p.num(bits, 10, what) }

// hex parses a "%x" conversion: hexadecimal with an optional 0x prefix.
func (p *scanner) hex(bits int, what string) (uint64, error) { return p.num(bits, 16, what) }

// hexAfter0x parses "0x%x": the prefix is required.
func (p *scanner) hexAfter0x(bits int, what string) (uint64, error) {
	if !strings.HasPrefix(p.rest(), "0x") {
		return 0, p.errAt(p.i, "%s: expected a 0x-prefixed hexadecimal number", what)
	}
	return p.num(bits, 16, what)
}

// float parses a "%lf" conversion as OVS's scanner does: an optional
// sign, digits, an optional fraction and an optional exponent (no
// hexadecimal, infinities or NaNs).
func (p *scanner) float(what string) (float64, error) {
	p.spaces()
	s := p.s[p.i:]
	k := 0
	if k < len(s) && (s[k] == '+' || s[k] == '-') {
		k++
	}
	k = skipDigits(s, k)
	if k < len(s) && s[k] == '.' {
		k = skipDigits(s, k+1)
	}
	if k < len(s) && (s[k] == 'e' || s[k] == 'E') {
		k++
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		k = skipDigits(s, k)
	}
	v, err := strconv.ParseFloat(s[:k], 64)
	if err != nil {
		return 0, p.errAt(p.i, "%s: expected a number", what)
	}
	p.i += k
	return v, nil
}

func skipDigits(s string, k int) int {
	for k < len(s) && s[k] >= '0' && s[k] <= '9' {
		k++
	}
	return k
}

// mac parses a MAC address (six colon-separated hex bytes).
func (p *scanner) mac(what string) ([6]byte, error) {
	j := p.i
	for j < len(p.s) && (digitVal(p.s[j]) < 16 || p.s[j] == ':') {
		j++
	}
	a, err := flow.ParseMAC(p.s[p.i:j])
	if err != nil {
		return a, p.errAt(p.i, "%s: %q is not a MAC address", what, p.s[p.i:j])
	}
	p.i = j
	return a, nil
}

// hexBytes parses pairs of hex digits, skipping " .\t\r\n" between pairs,
// as OVS's ofpbuf_put_hex does. A lone trailing digit is not consumed.
func (p *scanner) hexBytes(dst []byte) []byte {
	for {
		p.skip(" .\t\r\n")
		if p.i+1 < len(p.s) && digitVal(p.s[p.i]) < 16 && digitVal(p.s[p.i+1]) < 16 {
			dst = append(dst, byte(digitVal(p.s[p.i])<<4|digitVal(p.s[p.i+1])))
			p.i += 2
			continue
		}
		return dst
	}
}

// wideInt parses a number into a big-endian buffer of len(dst) bytes as
// OVS's parse_int_string does: 0x-prefixed hexadecimal of any length that
// fits (white space may separate the digits), or a decimal or octal number
// of at most 64 bits.
func (p *scanner) wideInt(dst []byte, what string) error {
	clear(dst)
	start := p.i
	if p.lit("0x") || p.lit("0X") {
		var digits []byte
		for {
			p.skip(" \t\r\n")
			if p.eof() || digitVal(p.peek()) >= 16 {
				break
			}
			d := byte(digitVal(p.peek()))
			if d != 0 || len(digits) > 0 {
				digits = append(digits, d)
			}
			p.i++
		}
		if (len(digits)+1)/2 > len(dst) {
			return p.errAt(start, "%s: value does not fit in %d bytes", what, len(dst))
		}
		for i, k := len(digits)-1, len(dst)-1; i >= 0; i, k = i-2, k-1 {
			dst[k] = digits[i]
			if i > 0 {
				dst[k] |= digits[i-1] << 4
			}
		}
		return nil
	}
	v, err := p.num(64, 0, what)
	if err != nil {
		return err
	}
	for k := len(dst) - 1; k >= 0; k-- {
		dst[k] = byte(v)
		v >>= 8
	}
	if v != 0 {
		return p.errAt(start, "%s: value does not fit in %d bytes", what, len(dst))
	}
	return nil
}

// word returns the run of letters, digits and underscores at the cursor,
// without consuming it; error messages name actions with it.
func (p *scanner) word() string {
	j := p.i
	for j < len(p.s) && (p.s[j] == '_' || p.s[j] >= 'a' && p.s[j] <= 'z' || p.s[j] >= 'A' && p.s[j] <= 'Z' || p.s[j] >= '0' && p.s[j] <= '9') {
		j++
	}
	if j == p.i && j < len(p.s) {
		j++
	}
	return p.s[p.i:j]
}
