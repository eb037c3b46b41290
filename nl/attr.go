package nl

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// AttrAlign rounds n up to a multiple of AttrAlignTo, the alignment of
// attributes.
//
//	#define NLA_ALIGN(len)		(((len) + NLA_ALIGNTO - 1) & ~(NLA_ALIGNTO - 1))
func AttrAlign(n int) int { return (n + AttrAlignTo - 1) &^ (AttrAlignTo - 1) }

// AttributeEncoder appends netlink attributes (struct nlattr) to a
// caller-owned buffer. Each attribute is a 4-byte header, nla_len and
// nla_type in host byte order, then its payload, then zero padding to
// AttrAlignTo; nla_len counts the header and payload but not the padding,
// as in the kernel.
//
// Errors are sticky: the first one (an attribute too long for nla_len, or
// an error returned by a Nested function) turns later calls into no-ops
// and is returned by Encode. The attribute type is written as given, so a
// caller can OR in AttrNested or AttrNetByteOrder itself.
//
// An AttributeEncoder can be reused with Reset; with a buffer of enough
// capacity it then does not allocate.
type AttributeEncoder struct {
	b   []byte
	err error
}

// NewAttributeEncoder returns an encoder that appends to dst.
func NewAttributeEncoder(dst []byte) *AttributeEncoder { return &AttributeEncoder{b: dst} }

// Reset makes e append to dst, clearing any error.
func (e *AttributeEncoder) Reset(dst []byte) { *e = AttributeEncoder{b: dst} }

// Encode returns the buffer with the attributes appended, or the first
// error.
func (e *AttributeEncoder) Encode() ([]byte, error) {
	if e.err != nil {
		return nil, e.err
	}
	return e.b, nil
}

// put appends an attribute header for n payload bytes, the payload
// zeroed, and the padding; it returns the payload slice to fill, or nil
// after an error.
func (e *AttributeEncoder) put(typ uint16, n int) []byte {
	if e.err != nil {
		return nil
	}
	if n > maxAttrPayload {
		e.err = fmt.Errorf("nl: attribute %d: payload of %d bytes exceeds the maximum of %d", typ, n, maxAttrPayload)
		return nil
	}
	start, l := len(e.b), AttrHeaderLen+n
	e.b = append(e.b, make([]byte, AttrAlign(l))...)
	binary.NativeEndian.PutUint16(e.b[start:], uint16(l))
	binary.NativeEndian.PutUint16(e.b[start+2:], typ)
	return e.b[start+AttrHeaderLen : start+l]
}

// Uint8 appends a one-byte attribute (NLA_U8).
func (e *AttributeEncoder) Uint8(typ uint16, v uint8) {
	if p := e.put(typ, 1); p != nil {
		p[0] = v
	}
}

// Uint16 appends a 2-byte attribute in host byte order (NLA_U16).
func (e *AttributeEncoder) Uint16(typ uint16, v uint16) {
	if p := e.put(typ, 2); p != nil {
		binary.NativeEndian.PutUint16(p, v)
	}
}

// Uint32 appends a 4-byte attribute in host byte order (NLA_U32).
func (e *AttributeEncoder) Uint32(typ uint16, v uint32) {
	if p := e.put(typ, 4); p != nil {
		binary.NativeEndian.PutUint32(p, v)
	}
}

// Uint64 appends an 8-byte attribute in host byte order (NLA_U64).
func (e *AttributeEncoder) Uint64(typ uint16, v uint64) {
	if p := e.put(typ, 8); p != nil {
		binary.NativeEndian.PutUint64(p, v)
	}
}

// Be16 appends a 2-byte attribute in network byte order (__be16), as in
// OVS flow keys. It does not set AttrNetByteOrder.
func (e *AttributeEncoder) Be16(typ uint16, v uint16) {
	if p := e.put(typ, 2); p != nil {
		binary.BigEndian.PutUint16(p, v)
	}
}

// Be32 appends a 4-byte attribute in network byte order (__be32).
func (e *AttributeEncoder) Be32(typ uint16, v uint32) {
	if p := e.put(typ, 4); p != nil {
		binary.BigEndian.PutUint32(p, v)
	}
}

// Be64 appends an 8-byte attribute in network byte order (__be64).
func (e *AttributeEncoder) Be64(typ uint16, v uint64) {
	if p := e.put(typ, 8); p != nil {
		binary.BigEndian.PutUint64(p, v)
	}
}

// Bytes appends an attribute whose payload is a copy of b (NLA_BINARY,
// NLA_UNSPEC).
func (e *AttributeEncoder) Bytes(typ uint16, b []byte) {
	if p := e.put(typ, len(b)); p != nil {
		copy(p, b)
	}
}

// String appends s followed by a NUL byte, the form the kernel expects for
// NLA_NUL_STRING and accepts for NLA_STRING attributes (for example
// OVS_VPORT_ATTR_NAME or CtrlAttrFamilyName). s should not contain NUL.
func (e *AttributeEncoder) String(typ uint16, s string) {
	if p := e.put(typ, len(s)+1); p != nil {
		copy(p, s) // the trailing NUL is already zero
	}
}

// Flag appends a zero-length attribute (NLA_FLAG), whose presence is its
// value.
func (e *AttributeEncoder) Flag(typ uint16) { e.put(typ, 0) }

// Nested appends an attribute whose payload is the attributes fn encodes
// into the encoder it is passed (which is e). Following Open vSwitch, it
// does not set AttrNested in nla_type; see NestedFlagged. An error
// returned by fn becomes e's sticky error.
func (e *AttributeEncoder) Nested(typ uint16, fn func(*AttributeEncoder) error) {
	e.nested(typ, fn)
}

// NestedFlagged is Nested with AttrNested set in nla_type, as families
// validated with the kernel's strict policies (and nla_nest_start) expect.
func (e *AttributeEncoder) NestedFlagged(typ uint16, fn func(*AttributeEncoder) error) {
	e.nested(typ|AttrNested, fn)
}

func (e *AttributeEncoder) nested(typ uint16, fn func(*AttributeEncoder) error) {
	start := len(e.b)
	if e.put(typ, 0) == nil {
		return
	}
	if err := fn(e); err != nil && e.err == nil {
		e.err = fmt.Errorf("nl: nested attribute %d: %w", typ&AttrTypeMask, err)
	}
	if e.err != nil {
		return
	}
	n := len(e.b) - start // inner attributes are padded, so n is aligned
	if n > 0xffff {
		e.err = fmt.Errorf("nl: nested attribute %d: payload of %d bytes exceeds the maximum of %d", typ&AttrTypeMask, n-AttrHeaderLen, maxAttrPayload)
		return
	}
	binary.NativeEndian.PutUint16(e.b[start:], uint16(n))
}

// AttributeDecoder iterates over the netlink attributes in a buffer
// without copying:
//
//	ad := nl.NewAttributeDecoder(b)
//	for ad.Next() {
//		switch ad.Type() {
//		case attrPort:
//			port = ad.Uint32()
//		case attrName:
//			name = ad.String()
//		}
//	}
//	if err := ad.Err(); err != nil { ... }
//
// Malformed framing (nla_len below AttrHeaderLen or past the end of the
// buffer, or trailing bytes too short for a header) stops Next, as does a
// typed getter called on an attribute of the wrong size, for example
// "nl: attribute 3: want 4 bytes, have 2". The getters then return zero
// values; Err reports the first error. No input makes the decoder panic.
//
// Unknown attribute types are simply skipped by not asking for them.
// Reset lets a decoder be reused; a reused decoder does not allocate (a
// fresh one used with Nested is itself one allocation, since the function
// passed to Nested could keep it).
type AttributeDecoder struct {
	b    []byte
	off  int
	typ  uint16
	data []byte
	err  error
}

// NewAttributeDecoder returns a decoder for the attributes in b.
func NewAttributeDecoder(b []byte) *AttributeDecoder { return &AttributeDecoder{b: b} }

// Reset makes d decode the attributes in b, clearing any error.
func (d *AttributeDecoder) Reset(b []byte) { *d = AttributeDecoder{b: b} }

// Next advances to the next attribute and reports whether there is one.
// The last attribute need not be followed by its padding, as in the
// kernel's nla_for_each_attr.
func (d *AttributeDecoder) Next() bool {
	d.typ, d.data = 0, nil
	if d.err != nil || d.off >= len(d.b) {
		return false
	}
	rest := d.b[d.off:]
	switch {
	case len(rest) < AttrHeaderLen:
		return d.fail(nil, "malformed attribute at offset %d: %d trailing bytes, want at least NLA_HDRLEN (%d)", d.off, len(rest), AttrHeaderLen)
	case binary.NativeEndian.Uint16(rest) < AttrHeaderLen:
		return d.fail(nil, "malformed attribute at offset %d: nla_len %d is less than NLA_HDRLEN (%d)", d.off, binary.NativeEndian.Uint16(rest), AttrHeaderLen)
	case int(binary.NativeEndian.Uint16(rest)) > len(rest):
		return d.fail(nil, "malformed attribute at offset %d: nla_len %d exceeds the %d bytes left", d.off, binary.NativeEndian.Uint16(rest), len(rest))
	}
	l := int(binary.NativeEndian.Uint16(rest))
	d.typ = binary.NativeEndian.Uint16(rest[2:])
	d.data = rest[AttrHeaderLen:l:l]
	d.off += min(AttrAlign(l), len(rest))
	return true
}

// Type returns the type of the current attribute, without the AttrNested
// and AttrNetByteOrder flags.
func (d *AttributeDecoder) Type() uint16 { return d.typ & AttrTypeMask }

// RawType returns nla_type of the current attribute, flags included.
func (d *AttributeDecoder) RawType() uint16 { return d.typ }

// Len returns the payload length of the current attribute.
func (d *AttributeDecoder) Len() int { return len(d.data) }

// Err returns the first error met by the decoder, or nil.
func (d *AttributeDecoder) Err() error { return d.err }

// fixed returns the current payload if it is n bytes long, and otherwise
// records an error.
func (d *AttributeDecoder) fixed(n int) ([]byte, bool) {
	if d.err != nil || d.data == nil {
		return nil, false
	}
	if len(d.data) != n {
		d.fail([]uint16{d.Type()}, "want %d bytes, have %d", n, len(d.data))
		return nil, false
	}
	return d.data, true
}

// Uint8 returns the payload of a one-byte attribute.
func (d *AttributeDecoder) Uint8() uint8 {
	if p, ok := d.fixed(1); ok {
		return p[0]
	}
	return 0
}

// Uint16 returns the payload of a 2-byte attribute in host byte order.
func (d *AttributeDecoder) Uint16() uint16 {
	if p, ok := d.fixed(2); ok {
		return binary.NativeEndian.Uint16(p)
	}
	return 0
}

// Uint32 returns the payload of a 4-byte attribute in host byte order.
func (d *AttributeDecoder) Uint32() uint32 {
	if p, ok := d.fixed(4); ok {
		return binary.NativeEndian.Uint32(p)
	}
	return 0
}

// Uint64 returns the payload of an 8-byte attribute in host byte order.
func (d *AttributeDecoder) Uint64() uint64 {
	if p, ok := d.fixed(8); ok {
		return binary.NativeEndian.Uint64(p)
	}
	return 0
}

// Be16 returns the payload of a 2-byte attribute in network byte order.
func (d *AttributeDecoder) Be16() uint16 {
	if p, ok := d.fixed(2); ok {
		return binary.BigEndian.Uint16(p)
	}
	return 0
}

// Be32 returns the payload of a 4-byte attribute in network byte order.
func (d *AttributeDecoder) Be32() uint32 {
	if p, ok := d.fixed(4); ok {
		return binary.BigEndian.Uint32(p)
	}
	return 0
}

// Be64 returns the payload of an 8-byte attribute in network byte order.
func (d *AttributeDecoder) Be64() uint64 {
	if p, ok := d.fixed(8); ok {
		return binary.BigEndian.Uint64(p)
	}
	return 0
}

// Flag reports whether the current attribute is a valid flag, that is
// has an empty payload; a non-empty one is an error.
func (d *AttributeDecoder) Flag() bool {
	_, ok := d.fixed(0)
	return ok
}

// Bytes returns the payload of the current attribute. The slice aliases
// the decoded buffer (its capacity ends with the payload, so appending to
// it copies): copy it to keep it beyond the buffer's lifetime.
func (d *AttributeDecoder) Bytes() []byte { return d.data }

// String returns the payload of the current attribute as a string, less
// one trailing NUL byte if present. Unlike the other getters it
// allocates, as string conversions do.
func (d *AttributeDecoder) String() string {
	b := d.data
	if len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return string(b)
}

// Nested decodes the payload of the current attribute as attributes: it
// calls fn with a decoder positioned before the first of them, then
// resumes the outer iteration. The decoder passed to fn is d itself,
// temporarily reset, so no decoder is allocated. An error recorded while
// decoding the nested attributes, or returned by fn, becomes d's sticky
// error, named after the attribute path ("nl: attribute 5/3: ...").
func (d *AttributeDecoder) Nested(fn func(*AttributeDecoder) error) {
	if d.err != nil || d.data == nil {
		return
	}
	saved, typ := *d, d.Type()
	*d = AttributeDecoder{b: d.data}
	err := fn(d)
	if d.err != nil {
		err = d.err
	}
	*d = saved
	if err != nil {
		if ae, ok := err.(*attrError); ok {
			d.err = &attrError{path: append([]uint16{typ}, ae.path...), msg: ae.msg, err: ae.err}
		} else {
			d.err = &attrError{path: []uint16{typ}, err: err}
		}
	}
}

// fail records an attribute error and returns false.
func (d *AttributeDecoder) fail(path []uint16, format string, args ...any) bool {
	d.err = &attrError{path: path, msg: fmt.Sprintf(format, args...)}
	return false
}

// attrError is an AttributeDecoder error, located by the path of
// attribute types from the outermost nesting level.
type attrError struct {
	path []uint16
	msg  string
	err  error // error returned by a Nested function, if msg is empty
}

func (e *attrError) Error() string {
	s := "nl: "
	if len(e.path) > 0 {
		s += "attribute "
		for i, t := range e.path {
			if i > 0 {
				s += "/"
			}
			s += strconv.Itoa(int(t))
		}
		s += ": "
	}
	if e.err != nil {
		return s + e.err.Error()
	}
	return s + e.msg
}

func (e *attrError) Unwrap() error { return e.err }
