package nl

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
)

// littleEndian reports whether the host is little-endian; the hand-written
// golden bytes below assume it.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

func skipBigEndian(t *testing.T) {
	t.Helper()
	if !littleEndian {
		t.Skip("golden bytes are written for little-endian hosts")
	}
}

// getFamilyOVS is a CTRL_CMD_GETFAMILY request for "ovs_datapath", laid
// out by hand from struct nlmsghdr, struct genlmsghdr and struct nlattr.
var getFamilyOVS = []byte{
	// struct nlmsghdr
	0x28, 0x00, 0x00, 0x00, // nlmsg_len = 16 + 4 + 20 = 40
	0x10, 0x00, // nlmsg_type = GENL_ID_CTRL
	0x05, 0x00, // nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK
	0x01, 0x00, 0x00, 0x00, // nlmsg_seq = 1
	0x00, 0x00, 0x00, 0x00, // nlmsg_pid = 0
	// struct genlmsghdr
	0x03,       // cmd = CTRL_CMD_GETFAMILY
	0x01,       // version = 1
	0x00, 0x00, // reserved
	// struct nlattr CTRL_ATTR_FAMILY_NAME
	0x11, 0x00, // nla_len = 4 + 13 = 17, excluding padding
	0x02, 0x00, // nla_type = CTRL_ATTR_FAMILY_NAME
	'o', 'v', 's', '_', 'd', 'a', 't', 'a', 'p', 'a', 't', 'h', 0x00, // NUL-terminated
	0x00, 0x00, 0x00, // NLA_ALIGN padding
}

func encodeGetFamily(t testing.TB, dst []byte, name string) []byte {
	b := Header{Type: GenlIDCtrl, Flags: FlagRequest | FlagAck, Seq: 1}.AppendTo(dst)
	b = GenlHeader{Cmd: CtrlCmdGetFamily, Version: 1}.AppendTo(b)
	ae := NewAttributeEncoder(b)
	ae.String(CtrlAttrFamilyName, name)
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if b, err = FinishMessage(b, len(dst)); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGoldenGetFamily(t *testing.T) {
	skipBigEndian(t)
	got := encodeGetFamily(t, nil, "ovs_datapath")
	if !bytes.Equal(got, getFamilyOVS) {
		t.Fatalf("encoded\n% x\nwant\n% x", got, getFamilyOVS)
	}

	md := NewMessageDecoder(getFamilyOVS)
	if !md.Next() {
		t.Fatalf("no message: %v", md.Err())
	}
	if want := (Header{Len: 40, Type: GenlIDCtrl, Flags: FlagRequest | FlagAck, Seq: 1}); md.Header() != want {
		t.Errorf("header %+v, want %+v", md.Header(), want)
	}
	g, attrs, err := ParseGenlHeader(md.Payload())
	if err != nil || g != (GenlHeader{Cmd: CtrlCmdGetFamily, Version: 1}) {
		t.Fatalf("genl header %+v, %v", g, err)
	}
	ad := NewAttributeDecoder(attrs)
	if !ad.Next() || ad.Type() != CtrlAttrFamilyName || ad.Len() != 13 || ad.String() != "ovs_datapath" {
		t.Fatalf("attribute %d %q, err %v", ad.Type(), ad.Bytes(), ad.Err())
	}
	if ad.Next() || ad.Err() != nil || md.Next() || md.Err() != nil {
		t.Fatalf("trailing data: %v %v", ad.Err(), md.Err())
	}
}

func TestAlign(t *testing.T) {
	for _, c := range []struct{ in, want int }{{0, 0}, {1, 4}, {3, 4}, {4, 4}, {5, 8}, {17, 20}, {65535, 65536}} {
		if got := Align(c.in); got != c.want {
			t.Errorf("Align(%d) = %d, want %d", c.in, got, c.want)
		}
		if got := AttrAlign(c.in); got != c.want {
			t.Errorf("AttrAlign(%d) = %d, want %d", c.in, got, c.want)
		}
	}
	if Align(HeaderLen) != HeaderLen || AttrAlign(AttrHeaderLen) != AttrHeaderLen || Align(GenlHeaderLen) != GenlHeaderLen {
		t.Error("header lengths are not aligned")
	}
	if AttrTypeMask != ^uint16(AttrNested|AttrNetByteOrder) || FlagDump != 0x300 {
		t.Error("derived constants disagree with the kernel macros")
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	h := Header{Len: 20, Type: 0x1234, Flags: FlagMulti | FlagDumpIntr, Seq: 0xdeadbeef, PID: 0x01020304}
	b := append(h.AppendTo([]byte{0xff}), 1, 2, 3, 4, 9, 9)
	if len(b) != 1+HeaderLen+6 {
		t.Fatalf("len %d", len(b))
	}
	got, payload, err := ParseHeader(b[1:])
	if err != nil || got != h || !bytes.Equal(payload, []byte{1, 2, 3, 4}) {
		t.Fatalf("ParseHeader = %+v, % x, %v", got, payload, err)
	}
	if cap(payload) != 4 {
		t.Errorf("payload capacity %d reaches past nlmsg_len", cap(payload))
	}

	g := GenlHeader{Cmd: 7, Version: 2, Reserved: 0xabcd}
	gb := g.AppendTo(nil)
	gb = append(gb, 0xaa)
	g2, rest, err := ParseGenlHeader(gb)
	if err != nil || g2 != g || !bytes.Equal(rest, []byte{0xaa}) {
		t.Fatalf("ParseGenlHeader = %+v, % x, %v", g2, rest, err)
	}
}

func TestParseHeaderErrors(t *testing.T) {
	h := func(l uint32) []byte { return Header{Len: l}.AppendTo(nil) }
	for _, c := range []struct {
		b    []byte
		want string
	}{
		{nil, "have 0 bytes"},
		{make([]byte, 15), "have 15 bytes"},
		{h(15), "nlmsg_len 15 is less than"},
		{h(17), "nlmsg_len 17 exceeds the 16 bytes"},
		{h(0xffffffff), "nlmsg_len 4294967295 exceeds"},
	} {
		if _, _, err := ParseHeader(c.b); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseHeader(% x) error %v, want %q", c.b, err, c.want)
		}
	}
	if _, _, err := ParseGenlHeader([]byte{1, 2, 3}); err == nil {
		t.Error("ParseGenlHeader accepted 3 bytes")
	}
}

func TestFinishMessage(t *testing.T) {
	prefix := []byte{0xee, 0xee, 0xee, 0xee}
	b := Header{Type: 0x20}.AppendTo(prefix)
	b = append(b, 1, 2, 3) // unaligned raw payload
	b, err := FinishMessage(b, len(prefix))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != len(prefix)+20 || !bytes.Equal(b[len(b)-4:], []byte{1, 2, 3, 0}) {
		t.Fatalf("padded message % x", b)
	}
	h, p, err := ParseHeader(b[len(prefix):])
	if err != nil || h.Len != 19 || len(p) != 3 {
		t.Fatalf("nlmsg_len %d payload % x err %v", h.Len, p, err)
	}
	for _, start := range []int{-1, 9, 25, 100} {
		if _, err := FinishMessage(b[:len(prefix)+20], start); err == nil {
			t.Errorf("FinishMessage(start %d) accepted", start)
		}
	}
}

func TestMessageDecoder(t *testing.T) {
	var b []byte
	want := []Header{
		{Type: 0x20, Flags: FlagMulti, Seq: 1},
		{Type: MsgNoop, Seq: 2},
		{Type: MsgDone, Flags: FlagMulti, Seq: 3},
	}
	payloads := [][]byte{{1, 2, 3, 4, 5}, nil, {0, 0, 0, 0}}
	for i, h := range want {
		start := len(b)
		b = append(h.AppendTo(b), payloads[i]...)
		var err error
		if b, err = FinishMessage(b, start); err != nil {
			t.Fatal(err)
		}
		want[i].Len = uint32(HeaderLen + len(payloads[i]))
	}
	check := func(buf []byte) {
		t.Helper()
		md := NewMessageDecoder(buf)
		for i := range want {
			if !md.Next() {
				t.Fatalf("message %d missing: %v", i, md.Err())
			}
			if md.Header() != want[i] || !bytes.Equal(md.Payload(), payloads[i]) {
				t.Errorf("message %d = %+v % x", i, md.Header(), md.Payload())
			}
		}
		if md.Next() || md.Err() != nil {
			t.Fatalf("extra message or error %v", md.Err())
		}
	}
	check(b)
	// The last message may come without its padding; the first with a
	// non-aligned length is padded before the second.
	short := Header{Len: 17, Type: 0x30}.AppendTo(nil)
	short = append(short, 9)
	mixed := append(append([]byte{}, short...), 0, 0, 0)
	mixed = append(mixed, short...)
	md := NewMessageDecoder(mixed)
	n := 0
	for md.Next() {
		if !bytes.Equal(md.Payload(), []byte{9}) {
			t.Errorf("payload % x", md.Payload())
		}
		n++
	}
	if n != 2 || md.Err() != nil {
		t.Errorf("decoded %d messages, err %v", n, md.Err())
	}

	// Malformed: a truncated second message.
	md.Reset(append(append([]byte{}, b...), 1, 2, 3))
	n = 0
	for md.Next() {
		n++
	}
	if err := md.Err(); n != 3 || err == nil || !strings.Contains(err.Error(), "message at offset 60") {
		t.Errorf("decoded %d then %v", n, err)
	}
	if md.Header() != (Header{}) || md.Payload() != nil {
		t.Error("state left after error")
	}
	md.Reset(nil)
	if md.Next() || md.Err() != nil {
		t.Error("empty buffer")
	}
}

// encodeAll appends one attribute of every kind.
func encodeAll(ae *AttributeEncoder) {
	ae.Uint8(1, 0xab)
	ae.Uint16(2, 0xbeef)
	ae.Uint32(3, 0xdeadbeef)
	ae.Uint64(4, 0x0102030405060708)
	ae.Be16(5, 0x0800)
	ae.Be32(6, 0x0a000001)
	ae.Be64(7, 0x1122334455667788)
	ae.Bytes(8, []byte{1, 2, 3, 4, 5})
	ae.String(9, "br0")
	ae.Flag(10)
	ae.Nested(11, func(ae *AttributeEncoder) error {
		ae.Uint32(1, 42)
		ae.Nested(2, func(ae *AttributeEncoder) error {
			ae.String(1, "deep")
			return nil
		})
		return nil
	})
	ae.NestedFlagged(12, func(ae *AttributeEncoder) error {
		ae.Be16(1, 80)
		return nil
	})
	ae.Nested(13, func(*AttributeEncoder) error { return nil }) // empty nest
	ae.Bytes(14|AttrNetByteOrder, []byte{0xff})
}

func TestAttributeRoundTrip(t *testing.T) {
	ae := NewAttributeEncoder([]byte{0xaa})
	encodeAll(ae)
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != 0xaa || (len(b)-1)%AttrAlignTo != 0 {
		t.Fatalf("prefix lost or unaligned: %d bytes", len(b))
	}
	b = b[1:]

	ad := NewAttributeDecoder(b)
	var seen []uint16
	for ad.Next() {
		seen = append(seen, ad.Type())
		switch ad.Type() {
		case 1:
			expect(t, ad.Uint8(), uint8(0xab))
		case 2:
			expect(t, ad.Uint16(), uint16(0xbeef))
		case 3:
			expect(t, ad.Uint32(), uint32(0xdeadbeef))
		case 4:
			expect(t, ad.Uint64(), uint64(0x0102030405060708))
		case 5:
			expect(t, ad.Be16(), uint16(0x0800))
			expect(t, ad.Bytes()[0], byte(0x08)) // network order on the wire
		case 6:
			expect(t, ad.Be32(), uint32(0x0a000001))
		case 7:
			expect(t, ad.Be64(), uint64(0x1122334455667788))
		case 8:
			expect(t, string(ad.Bytes()), "\x01\x02\x03\x04\x05")
		case 9:
			expect(t, ad.String(), "br0")
			expect(t, ad.Len(), 4)
		case 10:
			expect(t, ad.Flag(), true)
		case 11:
			expect(t, ad.RawType(), uint16(11)) // OVS style: no NLA_F_NESTED
			var inner []string
			ad.Nested(func(nad *AttributeDecoder) error {
				for nad.Next() {
					switch nad.Type() {
					case 1:
						inner = append(inner, fmt.Sprint(nad.Uint32()))
					case 2:
						nad.Nested(func(nad *AttributeDecoder) error {
							for nad.Next() {
								inner = append(inner, nad.String())
							}
							return nil
						})
					}
				}
				return nil
			})
			expect(t, strings.Join(inner, ","), "42,deep")
		case 12:
			expect(t, ad.RawType(), uint16(12|AttrNested))
			ad.Nested(func(nad *AttributeDecoder) error {
				if !nad.Next() {
					return errors.New("empty")
				}
				expect(t, nad.Be16(), uint16(80))
				return nil
			})
		case 13:
			expect(t, ad.Len(), 0)
			ad.Nested(func(nad *AttributeDecoder) error {
				if nad.Next() {
					return errors.New("not empty")
				}
				return nil
			})
		case 14:
			expect(t, ad.RawType(), uint16(14|AttrNetByteOrder))
		}
	}
	if err := ad.Err(); err != nil {
		t.Fatal(err)
	}
	expect(t, fmt.Sprint(seen), "[1 2 3 4 5 6 7 8 9 10 11 12 13 14]")
}

func expect[T comparable](t *testing.T, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestAttributePadding(t *testing.T) {
	skipBigEndian(t)
	ae := NewAttributeEncoder(nil)
	ae.Uint8(1, 0xab)
	ae.Uint16(2, 0x0102)
	ae.Flag(3)
	ae.String(4, "")
	ae.Be16(5, 0x0102)
	ae.Nested(6, func(ae *AttributeEncoder) error {
		ae.Uint8(1, 7)
		return nil
	})
	b, _ := ae.Encode()
	want := []byte{
		5, 0, 1, 0, 0xab, 0, 0, 0, // nla_len 5, padded to 8
		6, 0, 2, 0, 0x02, 0x01, 0, 0, // host order
		4, 0, 3, 0, // flag: header only
		5, 0, 4, 0, 0, 0, 0, 0, // empty string: just the NUL
		6, 0, 5, 0, 0x01, 0x02, 0, 0, // network order
		12, 0, 6, 0, 5, 0, 1, 0, 7, 0, 0, 0, // nest length includes inner padding
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("got\n% x\nwant\n% x", b, want)
	}
}

func TestAttributeDecoderErrors(t *testing.T) {
	u16 := func(v ...uint16) []byte {
		var b []byte
		for _, x := range v {
			b = binary.NativeEndian.AppendUint16(b, x)
		}
		return b
	}
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"trailing bytes", append(u16(4, 1), 0, 0), "nl: malformed attribute at offset 4: 2 trailing bytes"},
		{"short nla_len", u16(3, 1), "nla_len 3 is less than NLA_HDRLEN"},
		{"zero nla_len", u16(0, 1, 0, 0), "nla_len 0 is less than"},
		{"long nla_len", u16(9, 1, 0, 0), "nla_len 9 exceeds the 8 bytes left"},
	} {
		ad := NewAttributeDecoder(c.b)
		for ad.Next() {
		}
		if err := ad.Err(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}

	ae := NewAttributeEncoder(nil)
	ae.Uint16(3, 1)
	ae.Uint32(4, 2)
	ae.Nested(5, func(ae *AttributeEncoder) error {
		ae.Uint8(6, 1)
		ae.Nested(7, func(ae *AttributeEncoder) error { ae.Uint8(8, 1); return nil })
		return nil
	})
	b, _ := ae.Encode()

	// A getter of the wrong size records the error and stops iteration.
	ad := NewAttributeDecoder(b)
	ad.Next()
	if v := ad.Uint32(); v != 0 || ad.Next() {
		t.Error("iteration continued after a wrong-size getter")
	}
	expect(t, fmt.Sprint(ad.Err()), "nl: attribute 3: want 4 bytes, have 2")
	if ad.Uint16() != 0 || ad.Flag() {
		t.Error("getter after error returned a value")
	}

	// Errors inside nests carry the attribute path.
	for _, c := range []struct {
		fn   func(*AttributeDecoder) error
		want string
	}{
		{func(nad *AttributeDecoder) error { nad.Next(); nad.Uint64(); return nil }, "nl: attribute 5/6: want 8 bytes, have 1"},
		{func(nad *AttributeDecoder) error {
			nad.Next()
			nad.Next()
			nad.Nested(func(nad *AttributeDecoder) error { nad.Next(); nad.Flag(); return nad.Err() })
			return nil
		}, "nl: attribute 5/7/8: want 0 bytes, have 1"},
		{func(*AttributeDecoder) error { return errors.New("missing port") }, "nl: attribute 5: missing port"},
	} {
		ad.Reset(b)
		for ad.Next() {
			if ad.Type() == 5 {
				ad.Nested(c.fn)
			}
		}
		expect(t, fmt.Sprint(ad.Err()), c.want)
	}

	// Nested framing errors, and errors.Is through a Nested function.
	ae.Reset(nil)
	ae.Bytes(2, u16(9, 1))
	b, _ = ae.Encode()
	ad.Reset(b)
	ad.Next()
	ad.Nested(func(nad *AttributeDecoder) error {
		for nad.Next() {
		}
		return nil
	})
	expect(t, fmt.Sprint(ad.Err()), "nl: attribute 2: malformed attribute at offset 0: nla_len 9 exceeds the 4 bytes left")
	ad.Reset(b)
	ad.Next()
	ad.Nested(func(*AttributeDecoder) error { return syscall.EINVAL })
	if !errors.Is(ad.Err(), syscall.EINVAL) {
		t.Errorf("%v does not wrap EINVAL", ad.Err())
	}

	// Getters without a current attribute are harmless.
	ad.Reset(nil)
	if ad.Next() || ad.Uint32() != 0 || ad.Bytes() != nil || ad.String() != "" || ad.Err() != nil {
		t.Error("empty decoder misbehaved")
	}
	ad.Nested(func(*AttributeDecoder) error { t.Error("Nested without attribute"); return nil })
}

func TestAttributeEncoderErrors(t *testing.T) {
	big := make([]byte, maxAttrPayload+1)
	ae := NewAttributeEncoder(nil)
	ae.Bytes(1, big[:maxAttrPayload]) // largest that fits
	b, err := ae.Encode()
	if err != nil || binary.NativeEndian.Uint16(b) != 0xffff {
		t.Fatalf("max attribute: %v", err)
	}

	ae.Reset(nil)
	ae.Bytes(1, big)
	ae.Uint32(2, 1) // no-op after the error
	if b, err := ae.Encode(); b != nil || err == nil || !strings.Contains(err.Error(), "attribute 1: payload of 65532 bytes") {
		t.Errorf("oversized attribute: %v", err)
	}
	ae.Reset(nil)
	ae.String(1, string(big[:maxAttrPayload]))
	if _, err := ae.Encode(); err == nil {
		t.Error("oversized string accepted")
	}

	ae.Reset(nil)
	ae.Nested(3, func(ae *AttributeEncoder) error {
		ae.Bytes(1, big[:40000])
		ae.Bytes(2, big[:40000])
		return nil
	})
	if _, err := ae.Encode(); err == nil || !strings.Contains(err.Error(), "nested attribute 3: payload of 80008 bytes") {
		t.Errorf("oversized nest: %v", err)
	}

	ae.Reset(nil)
	ae.NestedFlagged(4, func(*AttributeEncoder) error { return syscall.ENOSPC })
	ae.Nested(5, func(*AttributeEncoder) error { t.Error("called after error"); return nil })
	if _, err := ae.Encode(); !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "nested attribute 4:") {
		t.Errorf("nested function error: %v", err)
	}
}

func TestError(t *testing.T) {
	skipBigEndian(t)
	// The kernel's reply to getFamilyOVS on a host without openvswitch:
	// -ENOENT, the request echoed (no NLM_F_CAPPED), then an extended ACK.
	reply := []byte{
		0x50, 0x00, 0x00, 0x00, // nlmsg_len = 16 + 4 + 40 + 20 = 80
		0x02, 0x00, // NLMSG_ERROR
		0x00, 0x02, // NLM_F_ACK_TLVS
		0x01, 0x00, 0x00, 0x00, // seq 1
		0x00, 0x00, 0x00, 0x00, // pid 0
		0xfe, 0xff, 0xff, 0xff, // error = -2
	}
	reply = append(reply, getFamilyOVS...)
	reply = append(reply,
		0x0b, 0x00, 0x01, 0x00, 'n', 'o', ' ', 's', 'u', 'c', 'h', 0x00, // NLMSGERR_ATTR_MSG
		0x08, 0x00, 0x02, 0x00, 0x14, 0x00, 0x00, 0x00, // NLMSGERR_ATTR_OFFS = 20
	)
	md := NewMessageDecoder(reply)
	if !md.Next() {
		t.Fatal(md.Err())
	}
	e, err := ParseError(md.Header(), md.Payload())
	if err != nil {
		t.Fatal(err)
	}
	want := Error{Errno: -2, Header: Header{Len: 40, Type: GenlIDCtrl, Flags: FlagRequest | FlagAck, Seq: 1}, Msg: "no such"}
	if e != want {
		t.Fatalf("ParseError = %+v, want %+v", e, want)
	}
	var err2 error = &e
	if !errors.Is(err2, syscall.Errno(2)) || !strings.HasSuffix(err2.Error(), ": no such") {
		t.Errorf("error %q does not unwrap to errno 2", err2)
	}

	// Round trip through AppendTo, which caps the request.
	b := e.AppendTo([]byte{1, 2, 3, 4})
	md.Reset(b[4:])
	if !md.Next() || md.Header().Flags != FlagCapped|FlagAckTLVs || md.Header().Seq != 1 || md.Header().Len != uint32(len(b)-4) {
		t.Fatalf("AppendTo header %+v", md.Header())
	}
	if e2, err := ParseError(md.Header(), md.Payload()); err != nil || e2 != e {
		t.Fatalf("round trip %+v %v", e2, err)
	}

	// An ACK: Errno 0, no Unwrap.
	ack := Error{Header: Header{Seq: 9, PID: 77}}
	b = ack.AppendTo(nil)
	h, p, _ := ParseHeader(b)
	if h.Flags != FlagCapped || h.PID != 77 || len(b) != 36 {
		t.Errorf("ack header %+v, %d bytes", h, len(b))
	}
	if e, err := ParseError(h, p); err != nil || e != ack || e.Unwrap() != nil || e.Error() != "nl: netlink ack" {
		t.Errorf("ack %+v %v", e, err)
	}
	if pos := (&Error{Errno: 17}); pos.Unwrap() != syscall.Errno(17) {
		t.Error("positive errno")
	}

	// NLMSG_DONE carries the error of a failed dump.
	e, err = ParseError(Header{Type: MsgDone}, []byte{0xf9, 0xff, 0xff, 0xff})
	if err != nil || e.Errno != -7 {
		t.Errorf("done: %+v %v", e, err)
	}
	if e, err := ParseError(Header{Type: MsgDone}, nil); err != nil || e.Errno != 0 {
		t.Errorf("empty done: %+v %v", e, err)
	}

	// Malformed.
	for _, c := range []struct {
		h Header
		p []byte
	}{
		{Header{Type: 0x20}, make([]byte, 20)},
		{Header{Type: MsgError}, make([]byte, 19)},
		{Header{Type: MsgError, Flags: FlagAckTLVs}, reply[16:40]}, // echoed request overruns
		{Header{Type: MsgError, Flags: FlagAckTLVs | FlagCapped}, append(make([]byte, 20), 3, 0, 1, 0)},
	} {
		if _, err := ParseError(c.h, c.p); err == nil {
			t.Errorf("ParseError(%+v, % x) accepted", c.h, c.p)
		}
	}
}

func TestAllocs(t *testing.T) {
	buf := make([]byte, 0, 512)
	ae := NewAttributeEncoder(nil)
	name := []byte("ovs_datapath")
	var msg []byte
	encode := func() {
		b := Header{Type: 0x20, Flags: FlagRequest, Seq: 1}.AppendTo(buf[:0])
		b = GenlHeader{Cmd: 1, Version: 2}.AppendTo(b)
		ae.Reset(b)
		ae.Bytes(CtrlAttrFamilyName, name)
		ae.Uint32(3, 7)
		ae.Nested(4, func(ae *AttributeEncoder) error {
			ae.Be16(1, 0x0800)
			ae.Uint64(2, 1)
			ae.Flag(3)
			return nil
		})
		b, _ = ae.Encode()
		msg, _ = FinishMessage(b, 0)
	}
	if n := testing.AllocsPerRun(100, encode); n != 0 {
		t.Errorf("encoding: %v allocations", n)
	}

	md := NewMessageDecoder(nil)
	ad := NewAttributeDecoder(nil)
	var sum uint64
	decode := func() {
		md.Reset(msg)
		for md.Next() {
			_, attrs, _ := ParseGenlHeader(md.Payload())
			ad.Reset(attrs)
			for ad.Next() {
				switch ad.Type() {
				case CtrlAttrFamilyName:
					sum += uint64(len(ad.Bytes()))
				case 3:
					sum += uint64(ad.Uint32())
				case 4:
					ad.Nested(func(ad *AttributeDecoder) error {
						for ad.Next() {
							switch ad.Type() {
							case 1:
								sum += uint64(ad.Be16())
							case 2:
								sum += ad.Uint64()
							}
						}
						return nil
					})
				}
			}
		}
	}
	if n := testing.AllocsPerRun(100, decode); n != 0 {
		t.Errorf("decoding: %v allocations", n)
	}
	if sum == 0 || ad.Err() != nil || md.Err() != nil {
		t.Errorf("decode failed: %v %v", ad.Err(), md.Err())
	}
}
