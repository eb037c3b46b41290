package flow

import (
	"encoding/binary"
	"testing"
)

func mplsTestFrame(lses ...uint32) []byte {
	f := []byte{0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x88, 0x47}
	for _, l := range lses {
		f = binary.BigEndian.AppendUint32(f, l)
	}
	// An IPv4 header follows the stack; it must not be parsed.
	return append(f, 0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2)
}

func TestExtractMPLS(t *testing.T) {
	lse := func(label, tc, bos, ttl uint32) uint32 { return label<<12 | tc<<9 | bos<<8 | ttl }
	for _, c := range []struct {
		name string
		in   []uint32
		want [MaxMPLSLabels]uint32
	}{
		{"one", []uint32{lse(100, 3, 1, 64)}, [3]uint32{lse(100, 3, 1, 64)}},
		{"two", []uint32{lse(1, 0, 0, 9), lse(2, 0, 1, 8)}, [3]uint32{lse(1, 0, 0, 9), lse(2, 0, 1, 8)}},
		{"four, first three kept", []uint32{lse(1, 0, 0, 1), lse(2, 0, 0, 1), lse(3, 0, 0, 1), lse(4, 0, 1, 1)},
			[3]uint32{lse(1, 0, 0, 1), lse(2, 0, 0, 1), lse(3, 0, 0, 1)}},
	} {
		var k Key
		var l Layout
		ExtractLayout(mplsTestFrame(c.in...), 1, &k, &l)
		if k.EthType != EthTypeMPLS || k.MplsLSE != c.want {
			t.Errorf("%s: eth_type %#x, lse %#x, want %#x", c.name, k.EthType, k.MplsLSE, c.want)
		}
		if k.NwProto != 0 || k.NwSrc != ([4]byte{}) || l.L3 != 0 {
			t.Errorf("%s: parsed beyond the label stack", c.name)
		}
	}
	// A stack cut short keeps the entries that are there.
	f := mplsTestFrame(lse(7, 0, 0, 1))[:14+4+2]
	var k Key
	Extract(f, 1, &k)
	if k.MplsLSE[0] != lse(7, 0, 0, 1) || k.MplsLSE[1] != 0 {
		t.Errorf("truncated stack: %#x", k.MplsLSE)
	}
}

func TestMPLSText(t *testing.T) {
	for _, s := range []string{
		"in_port(1),eth(),eth_type(0x8847),mpls(label=100,tc=3,ttl=64,bos=1)",
		"in_port(1),eth(),eth_type(0x8848),mpls(label=100/0xff,tc=3/7,ttl=64/0xff,bos=1/1)",
		"in_port(1),eth(),eth_type(0x8847),mpls(label=1,tc=0,ttl=9,bos=0,label=2,tc=0,ttl=8,bos=1)",
	} {
		m, err := Parse(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if got := m.String(); got != s {
			t.Errorf("\n got %s\nwant %s", got, s)
		}
	}
	pk := Key{InPort: 1, EthType: EthTypeMPLS, MplsLSE: [3]uint32{100<<12 | 3<<9 | 1<<8 | 64}}
	m := MustParse("in_port(1),eth(),eth_type(0x8847),mpls(label=100,tc=3,ttl=64,bos=1)")
	mk := m.Key.Masked(&m.Mask)
	if !mk.Matches(&pk, &m.Mask) {
		t.Error("the flow does not match its packet")
	}
	for _, bad := range []string{
		"in_port(1),eth(),eth_type(0x8847)",
		"in_port(1),eth(),eth_type(0x8847),mpls(label=100)",
		"in_port(1),eth(),eth_type(0x8847),mpls(label=1,bos=0)",
		"in_port(1),eth(),eth_type(0x0800),mpls(label=1,bos=1)",
		"in_port(1),eth(),eth_type(0x8847),mpls(label=1048576,bos=1)",
		"in_port(1),eth(),eth_type(0x8847),mpls(label=1,bos=0,label=2,bos=0,label=3,bos=0,label=4,bos=1)",
		"in_port(1),eth(),eth_type(0x8847),mpls()",
	} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}
