package actions_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/flow"
	"github.com/b7cafead/datapath/internal/actioncases"
	"github.com/b7cafead/datapath/internal/testpkt"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "drop", "2", "2,3", "2 3", "0x10", "set(ipv4(ttl=63)),2",
		"set(ipv4(src=10.1.2.3,dst=10.4.5.6,proto=17,tos=0x10,ttl=9,frag=no))",
		"set(ipv4(src=10.1.2.3,dst=10.4.5.6,proto=6,tos=0,ttl=9,frag=later))",
		"set(eth(src=00:11:22:33:44:55,dst=66:77:88:99:aa:bb))",
		"set(eth(dst=66:77:88:99:aa:bb/ff:ff:ff:00:00:00))",
		"set(tcp(dst=8080))", "set(tcp(src=1,dst=2))", "set(udp(src=1/0xff00))",
		"set(ipv4(src=1.2.3.0/255.255.255.0)) 3", "set(arp(sip=1.2.3.4))",
		"2,drop", "set(ipv4(ttl=63)", "4294967296", "set( ipv4( ttl=63 ) ) 2",
		"set(tunnel(tun_id=0x1,dst=1.1.1.1,ttl=64))", "set(vlan(vid=5/0x3)),3",
		"set(mpls(label=1))", "set(ct_state(+trk))", "set(packet_type(ns=1,id=0x800))",
		"userspace(pid=1,controller(reason=1,dont_send=0,continuation=0,recirc_id=1,rule_cookie=0,controller_id=0,max_len=0))",
		"push_nsh(mdtype=2,np=3,spi=0x1,si=255,md2=0x1234)", "pop_nsh(),pop_eth,push_eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02)",
		"hash(sym_l4(5)),recirc(0x1),meter(1),lb_output(2)", "push_mpls(label=10,tc=0,ttl=64,bos=1,eth_type=0x8847),pop_mpls(eth_type=0x800)",
		"dec_ttl(le_1(clone(1),sample(sample=9.7%,actions(drop))))",
	} {
		f.Add(s)
	}
	for _, s := range actioncases.ODPValid {
		f.Add(s)
	}
	for _, d := range actioncases.Dumps {
		f.Add(d.In)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := actions.Parse(s)
		if err != nil {
			if l != nil {
				t.Fatalf("Parse(%q) returned a list and error %v", s, err)
			}
			var se *flow.SyntaxError
			if !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(s) || se.Text != s {
				t.Fatalf("Parse(%q): bad error %v", s, err)
			}
			_ = err.Error()
			return
		}
		_ = l.Validate()
		text := l.String()
		l2, err := actions.Parse(text)
		if err != nil {
			if !unparseable(l) {
				t.Fatalf("Parse(%q).String() = %q, which does not parse: %v", s, text, err)
			}
			return
		}
		// Bits a zero mask hides are not printed, so the first reparse
		// may differ from l; from then on the text is a fixed point.
		text2 := l2.String()
		if text2 != text && !lossy(l) {
			t.Fatalf("String not a fixed point: %q -> %q -> %q", s, text, text2)
		}
		l3, err := actions.Parse(text2)
		if err != nil || !reflect.DeepEqual(canon(l2), canon(l3)) {
			t.Fatalf("reparse of %q is not stable (%v)", text2, err)
		}
	})
}

// lossy reports whether l holds a form whose text OVS prints without
// enough information to read the same value back: MD type 2 metadata
// whose first byte is below 0x10, which OVS prints as a number without
// its leading zeros (and reads back two hex digits per byte).
func lossy(l actions.List) bool {
	for _, a := range l {
		if a.Type == actions.TypePushNSH && len(a.NSH.MD2) > 0 && a.NSH.MD2[0] < 0x10 {
			return true
		}
		if lossy(a.Actions) || lossy(a.Greater) || lossy(a.LessEqual) {
			return true
		}
	}
	return false
}

// unparseable reports whether l holds one of the forms OVS prints that
// cannot be parsed back: a masked tunnel set whose key exceeds 40 bytes,
// a masked set of ct_zone, ct_mark or ct_label with an empty mask, or
// slow_path reason bits without a name.
func unparseable(l actions.List) bool {
	for _, a := range l {
		switch {
		case a.Type == actions.TypeSetMasked && a.Attr == actions.AttrTunnel:
			return true
		case a.Type == actions.TypeSetMasked && (a.Attr == actions.AttrCtZone && a.Set.Mask.CtZone == 0 ||
			a.Attr == actions.AttrCtMark && a.Set.Mask.CtMark == 0 || a.Attr == actions.AttrCtLabels && a.Set.Mask.CtLabel == [16]byte{}):
			return true // ct_zone(), ct_mark(), ct_label()
		case a.Type == actions.TypeUserspace && strings.Contains(a.String(), "slow_path(") && strings.Contains(a.String(), "0x"):
			return true
		case unparseable(a.Actions) || unparseable(a.Greater) || unparseable(a.LessEqual):
			return true
		}
	}
	return false
}

// fuzzLists are the action lists FuzzExecute chooses from.
var fuzzLists = []string{
	"2",
	"drop",
	"set(ipv4(ttl=63)),2",
	"2,set(ipv4(ttl=1)),3",
	"set(ipv4(src=192.168.1.1,dst=10.0.0.9,tos=0x10))",
	"set(ipv4(src=1.2.3.0/255.255.255.0)),set(ipv4(ttl=0/0xf0))",
	"set(ipv4(src=10.9.8.7,dst=10.6.5.4,proto=17,tos=0,ttl=1,frag=no))",
	"set(tcp(src=1111,dst=2222)),4",
	"set(tcp(dst=0/0xff00))",
	"set(udp(src=5353,dst=53))",
	"set(udp(src=0x1200/0xff00))",
	"set(eth(src=02:00:00:00:00:aa,dst=02:00:00:00:00:bb))",
	"1,set(eth(dst=02:00:00:00:00:bb)),2,set(ipv4(src=192.168.0.1,dst=192.168.0.2,ttl=5)),3,set(udp(src=5353,dst=53)),set(tcp(src=80,dst=8080)),4",
}

// mayChange reports whether the executor may change byte i of an IPv4
// frame laid out as h.
func mayChange(h hdrs, i int) bool {
	switch {
	case i < 12:
		return true // Ethernet addresses
	case i == h.l3+1, i == h.l3+8, i >= h.l3+10 && i < h.l3+20:
		return true // TOS, TTL, checksum, addresses
	case i >= h.l4 && i < h.l4+4 && i < h.end:
		return true // ports
	case h.proto == flow.IPProtoUDP && (i == h.l4+6 || i == h.l4+7) && i < h.end:
		return true
	case h.proto == flow.IPProtoTCP && (i == h.l4+16 || i == h.l4+17) && i < h.end:
		return true
	}
	return false
}

func FuzzExecute(f *testing.F) {
	seeds := [][]byte{
		testpkt.UDP(testpkt.Frame{SrcPort: 1000, DstPort: 2000, Payload: []byte("hello")}),
		testpkt.UDP(testpkt.Frame{VLAN: 10, SrcPort: 1000, DstPort: 2000, Payload: []byte("0123456789abcdefghijklmnopqrstuvwxyz")}),
		testpkt.TCP(testpkt.Frame{SrcPort: 1000, DstPort: 2000, TCPFlags: "S"}),
		testpkt.TCP(testpkt.Frame{VLAN: 20, SrcPort: 1, DstPort: 2, Payload: []byte("data")}),
		testpkt.ICMPEcho(testpkt.Frame{}),
		testpkt.ARPRequest(testpkt.Frame{}),
		testpkt.UDP(testpkt.Frame{IPSrc: "2001:db8::1", IPDst: "2001:db8::2", SrcPort: 1, DstPort: 2}),
		{},
		make([]byte, 13),
	}
	for i, s := range seeds {
		f.Add(s, uint8(i), i%2 == 0)
	}
	lists := make([]actions.List, len(fuzzLists))
	for i, s := range fuzzLists {
		lists[i] = mustParse(f, s)
	}
	var x actions.Executor
	f.Fuzz(func(t *testing.T, frame []byte, sel uint8, fix bool) {
		l := lists[int(sel)%len(lists)]
		if fix {
			frame = bytes.Clone(frame)
			fixSums(frame)
		}
		ipOK, l4OK := sumsValid(frame)
		pkt := newPkt(frame)
		var sink recSink
		x.Reset()
		run(&x, pkt, l, &sink)
		got := pkt.Bytes()
		if len(got) != len(frame) {
			t.Fatalf("%v: frame length %d -> %d", l, len(frame), len(got))
		}
		outputs := 0
		for _, a := range l {
			if a.Type == actions.TypeOutput {
				outputs++
			}
		}
		if len(sink.outs) != outputs {
			t.Fatalf("%v: %d outputs, want %d", l, len(sink.outs), outputs)
		}
		for _, o := range sink.outs {
			if len(o.data) != len(frame) {
				t.Fatalf("%v: output to %d has length %d, want %d", l, o.port, len(o.data), len(frame))
			}
			if o.pkt != pkt && !bytes.Equal(o.pkt.Bytes(), o.data) {
				t.Fatalf("%v: the copy output to %d changed after output", l, o.port)
			}
		}
		h, ok := locate(frame)
		if !ok {
			return
		}
		for i := range got {
			if got[i] != frame[i] && !mayChange(h, i) {
				t.Fatalf("%v: byte %d changed from %#02x to %#02x", l, i, frame[i], got[i])
			}
		}
		// Incremental updates keep valid checksums valid.
		ipOK2, l4OK2 := sumsValid(got)
		if ipOK && !ipOK2 {
			t.Fatalf("%v: IPv4 header checksum no longer valid", l)
		}
		if l4OK && !l4OK2 {
			t.Fatalf("%v: L4 checksum no longer valid", l)
		}
		if c := l4CsumOff(h); c >= 0 && h.proto == flow.IPProtoUDP && (be.Uint16(frame[c:]) == 0) != (be.Uint16(got[c:]) == 0) {
			t.Fatalf("%v: UDP checksum %#04x -> %#04x", l, be.Uint16(frame[c:]), be.Uint16(got[c:]))
		}
		if strings.Contains(l.String(), "ipv4") && ipOK2 != ipOK {
			t.Fatalf("%v: IPv4 header checksum validity changed", l)
		}
	})
}
