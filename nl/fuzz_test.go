package nl

import (
	"bytes"
	"encoding/binary"
	"testing"
)

type rawAttr struct {
	typ  uint16
	data []byte
}

// touch exercises the decoder on arbitrary attributes: every getter that
// fits the payload size, and a recursive walk as if each were a nest.
func touch(b []byte, depth int) {
	ad := NewAttributeDecoder(b)
	for ad.Next() {
		switch ad.Len() {
		case 0:
			ad.Flag()
		case 1:
			ad.Uint8()
		case 2:
			ad.Uint16()
			ad.Be16()
		case 4:
			ad.Uint32()
			ad.Be32()
		case 8:
			ad.Uint64()
			ad.Be64()
		}
		_ = ad.String()
		if depth < 4 {
			touch(ad.Bytes(), depth+1)
		}
	}
	// Sticky errors: wrong-size getters and Nested on whatever is there.
	ad.Reset(b)
	for ad.Next() {
		ad.Nested(func(nad *AttributeDecoder) error {
			for nad.Next() {
				nad.Uint32()
			}
			return nil
		})
	}
	_ = ad.Err()
}

// canonical returns the attribute stream b with its padding zeroed and
// completed, which is what re-encoding its attributes must produce. b must
// have decoded without error.
func canonical(b []byte) []byte {
	c := append(append([]byte{}, b...), make([]byte, AttrAlign(len(b))-len(b))...)
	for off := 0; off < len(b); {
		l := int(binary.NativeEndian.Uint16(c[off:]))
		clear(c[off+l : off+AttrAlign(l)])
		off += AttrAlign(l)
	}
	return c
}

func decodeAttrs(t *testing.T, b []byte) ([]rawAttr, error) {
	var attrs []rawAttr
	ad := NewAttributeDecoder(b)
	for ad.Next() {
		if len(ad.Bytes()) != ad.Len() || cap(ad.Bytes()) != ad.Len() {
			t.Fatalf("payload length %d, capacity %d", ad.Len(), cap(ad.Bytes()))
		}
		attrs = append(attrs, rawAttr{ad.RawType(), ad.Bytes()})
	}
	return attrs, ad.Err()
}

func FuzzAttributeDecoder(f *testing.F) {
	ae := NewAttributeEncoder(nil)
	encodeAll(ae)
	all, _ := ae.Encode()
	f.Add(all)
	f.Add(getFamilyOVS[HeaderLen+GenlHeaderLen:])
	f.Add([]byte{5, 0, 1, 0, 7})             // unpadded last attribute
	f.Add([]byte{8, 0, 1, 0, 4, 0, 2, 0, 9}) // trailing byte
	f.Add([]byte{0, 0, 0, 0})                // nla_len 0
	f.Fuzz(func(t *testing.T, b []byte) {
		touch(b, 0)
		attrs, err := decodeAttrs(t, b)
		if err != nil {
			return
		}
		ae := NewAttributeEncoder(nil)
		for _, a := range attrs {
			ae.Bytes(a.typ, a.data)
		}
		enc, err := ae.Encode()
		if err != nil {
			t.Fatalf("re-encoding: %v", err)
		}
		if want := canonical(b); !bytes.Equal(enc, want) {
			t.Fatalf("re-encoded\n% x\nwant\n% x", enc, want)
		}
		again, err := decodeAttrs(t, enc)
		if err != nil || len(again) != len(attrs) {
			t.Fatalf("decoding the re-encoding: %d attributes, %v", len(again), err)
		}
		for i := range attrs {
			if again[i].typ != attrs[i].typ || !bytes.Equal(again[i].data, attrs[i].data) {
				t.Fatalf("attribute %d differs", i)
			}
		}
	})
}

func FuzzMessageDecoder(f *testing.F) {
	f.Add(getFamilyOVS)
	f.Add(append(append([]byte{}, getFamilyOVS...), getFamilyOVS...))
	e := Error{Errno: -2, Header: Header{Len: 40, Type: GenlIDCtrl, Seq: 1}, Msg: "no such"}
	f.Add(e.AppendTo(nil))
	f.Add(append(Header{Len: 21, Type: MsgDone, Flags: FlagMulti | FlagAckTLVs}.AppendTo(nil), 0xfe, 0xff, 0xff, 0xff, 0))
	f.Add(Header{Len: 15}.AppendTo(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		md := NewMessageDecoder(b)
		var out []byte
		off := 0
		for md.Next() {
			h, p := md.Header(), md.Payload()
			if int(h.Len) != HeaderLen+len(p) || off+int(h.Len) > len(b) {
				t.Fatalf("message at %d: nlmsg_len %d, payload %d", off, h.Len, len(p))
			}
			start := len(out)
			out = append(h.AppendTo(out), p...)
			if !bytes.Equal(out[start:], b[off:off+int(h.Len)]) {
				t.Fatalf("message at %d does not re-encode identically", off)
			}
			var err error
			if out, err = FinishMessage(out, start); err != nil {
				t.Fatal(err)
			}
			off += Align(int(h.Len))

			switch h.Type {
			case MsgError, MsgDone:
				e, err := ParseError(h, p)
				if err != nil || h.Type != MsgError || len(e.Msg) >= maxAttrPayload {
					break
				}
				e2, err := ParseError(parseHeader(e.AppendTo(nil)), e.AppendTo(nil)[HeaderLen:])
				if err != nil || e2 != e {
					t.Fatalf("error round trip: %+v -> %+v, %v", e, e2, err)
				}
			default:
				if _, attrs, err := ParseGenlHeader(p); err == nil {
					touch(attrs, 0)
				}
			}
		}
		if md.Err() != nil {
			return
		}
		// The whole buffer re-encodes identically up to padding.
		if len(out) != Align(len(b)) {
			t.Fatalf("re-encoded %d bytes from %d", len(out), len(b))
		}
		md2 := NewMessageDecoder(out)
		md.Reset(b)
		for md.Next() {
			if !md2.Next() || md2.Header() != md.Header() || !bytes.Equal(md2.Payload(), md.Payload()) {
				t.Fatal("re-encoded buffer decodes differently")
			}
		}
		if md2.Next() || md2.Err() != nil {
			t.Fatalf("re-encoded buffer has extra data: %v", md2.Err())
		}
	})
}
