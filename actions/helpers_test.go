package actions_test

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/flow"
	dpio "github.com/b7cafead/datapath/io"
)

var be = binary.BigEndian

// sum16 is the RFC 1071 one's complement sum of b as 16-bit big-endian
// words (an odd trailing byte is padded with zero), not yet folded.
func sum16(b []byte) uint64 {
	var s uint64
	for i := 0; i+1 < len(b); i += 2 {
		s += uint64(b[i])<<8 | uint64(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint64(b[len(b)-1]) << 8
	}
	return s
}

func fold(s uint64) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// inetChecksum computes the Internet checksum over the concatenation of
// chunks, from scratch. All chunks but the last must have even length.
func inetChecksum(chunks ...[]byte) uint16 {
	var s uint64
	for _, c := range chunks {
		s += sum16(c)
	}
	return ^fold(s)
}

// hdrs locates the headers of an Ethernet (optionally VLAN-tagged)
// IPv4 frame independently of package flow. ok is false if the frame is
// not a complete IPv4 packet.
type hdrs struct {
	l3, l4, end int
	proto       uint8
	later       bool // IPv4 fragment with nonzero offset
	frag        bool // any fragment
}

func locate(b []byte) (h hdrs, ok bool) {
	off := 12
	for off+2 <= len(b) {
		t := be.Uint16(b[off:])
		if t != 0x8100 && t != 0x88a8 {
			break
		}
		off += 4
	}
	if off+2 > len(b) || be.Uint16(b[off:]) != 0x0800 {
		return h, false
	}
	h.l3 = off + 2
	if h.l3+20 > len(b) {
		return h, false
	}
	ihl := int(b[h.l3]&0xf) * 4
	tot := int(be.Uint16(b[h.l3+2:]))
	if ihl < 20 || ihl > tot || h.l3+tot > len(b) {
		return h, false
	}
	h.l4, h.end, h.proto = h.l3+ihl, h.l3+tot, b[h.l3+9]
	fo := be.Uint16(b[h.l3+6:])
	h.frag = fo&0x3fff != 0
	h.later = fo&0x1fff != 0
	return h, true
}

func pseudo(b []byte, h hdrs) []byte {
	var ph [12]byte
	copy(ph[0:8], b[h.l3+12:h.l3+20])
	ph[9] = h.proto
	be.PutUint16(ph[10:], uint16(h.end-h.l4))
	return ph[:]
}

// l4CsumOff returns the offset of the TCP or UDP checksum field, or -1.
func l4CsumOff(h hdrs) int {
	if h.frag {
		return -1
	}
	switch h.proto {
	case flow.IPProtoTCP:
		if h.end-h.l4 >= 20 {
			return h.l4 + 16
		}
	case flow.IPProtoUDP:
		if h.end-h.l4 >= 8 {
			return h.l4 + 6
		}
	}
	return -1
}

// fixSums rewrites, in place, the IPv4 header checksum and the TCP or UDP
// checksum of frame b, computed from scratch. A zero UDP checksum stays
// zero; a computed UDP checksum of zero is sent as 0xffff.
func fixSums(b []byte) {
	h, ok := locate(b)
	if !ok {
		return
	}
	be.PutUint16(b[h.l3+10:], 0)
	be.PutUint16(b[h.l3+10:], inetChecksum(b[h.l3:h.l4]))
	c := l4CsumOff(h)
	if c < 0 {
		return
	}
	if h.proto == flow.IPProtoUDP && be.Uint16(b[c:]) == 0 {
		return
	}
	be.PutUint16(b[c:], 0)
	v := inetChecksum(pseudo(b, h), b[h.l4:h.end])
	if v == 0 && h.proto == flow.IPProtoUDP {
		v = 0xffff
	}
	be.PutUint16(b[c:], v)
}

// sumsValid reports whether the IPv4 header checksum and the TCP/UDP
// checksum of b verify (a zero UDP checksum counts as valid). ipOK and
// l4OK are true when the respective header is absent.
func sumsValid(b []byte) (ipOK, l4OK bool) {
	h, ok := locate(b)
	if !ok {
		return true, true
	}
	ipOK = fold(sum16(b[h.l3:h.l4])) == 0xffff
	c := l4CsumOff(h)
	if c < 0 || h.proto == flow.IPProtoUDP && be.Uint16(b[c:]) == 0 {
		return ipOK, true
	}
	return ipOK, fold(sum16(pseudo(b, h))+sum16(b[h.l4:h.end])) == 0xffff
}

// output is one packet handed to a sink.
type output struct {
	port uint32
	pkt  *dpio.Packet
	data []byte // the frame as it was when output
}

// recSink records outputs with a snapshot of their bytes.
type recSink struct{ outs []output }

func (s *recSink) Output(port uint32, p *dpio.Packet) {
	s.outs = append(s.outs, output{port, p, append([]byte(nil), p.Bytes()...)})
}

// countSink records outputs without allocating once warmed up.
type countSink struct {
	ports []uint32
	pkts  []*dpio.Packet
}

func (s *countSink) Output(port uint32, p *dpio.Packet) {
	s.ports = append(s.ports, port)
	s.pkts = append(s.pkts, p)
}

func (s *countSink) reset() {
	s.ports = s.ports[:0]
	s.pkts = s.pkts[:0]
}

func mustParse(t testing.TB, s string) actions.List {
	t.Helper()
	l, err := actions.Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return l
}

// newPkt returns a packet holding a copy of frame with default headroom.
func newPkt(frame []byte) *dpio.Packet {
	p := dpio.NewPacket(dpio.DefaultHeadroom, max(len(frame), 64))
	if !p.SetBytes(frame) {
		panic("frame does not fit")
	}
	return p
}

// run extracts pkt's key and layout and executes l on it.
func run(x *actions.Executor, pkt *dpio.Packet, l actions.List, sink actions.Sink) {
	var k flow.Key
	var lay flow.Layout
	flow.ExtractLayout(pkt.Bytes(), 1, &k, &lay)
	x.Execute(pkt, &k, &lay, l, sink)
}

func diff(got, want []byte) string {
	if len(got) != len(want) {
		return fmt.Sprintf("length %d, want %d", len(got), len(want))
	}
	s := ""
	for i := range got {
		if got[i] != want[i] {
			s += fmt.Sprintf(" [%d]=%#02x want %#02x", i, got[i], want[i])
		}
	}
	return s
}
