package actions_test

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/flow"
	"github.com/b7cafead/datapath/internal/testpkt"
	dpio "github.com/b7cafead/datapath/io"
)

// tunSink is a Sink with tunnel ports: it records outputs, decapsulated
// packets (with their keys) and drops.
type tunSink struct {
	recSink
	ports  map[uint32]*actions.TunnelPort
	recirc []recirced
	drops  []actions.TunnelDrop
}

type recirced struct {
	data []byte
	key  flow.Key
}

func newTunSink() *tunSink {
	return &tunSink{ports: map[uint32]*actions.TunnelPort{
		4789: {Type: actions.TunnelVXLAN},
		6081: {Type: actions.TunnelGeneve},
		3:    {Type: actions.TunnelGRE},
	}}
}

func (s *tunSink) TunnelReceive(p *dpio.Packet, k *flow.Key) {
	s.recirc = append(s.recirc, recirced{append([]byte(nil), p.Bytes()...), *k})
}

func (s *tunSink) TunnelPort(port uint32) *actions.TunnelPort { return s.ports[port] }

func (s *tunSink) TunnelDrop(r actions.TunnelDrop) { s.drops = append(s.drops, r) }

// Headers as OVS's tunnel-push-pop.at has them.
const (
	pushVXLAN  = "tnl_push(tnl_port(4789),header(size=50,type=4,eth(dst=f8:bc:12:44:34:b6,src=aa:55:aa:55:00:00,dl_type=0x0800),ipv4(src=1.1.2.88,dst=1.1.2.92,proto=17,tos=0,ttl=64,frag=0x4000),udp(src=0,dst=4789,csum=0x0),vxlan(flags=0x8000000,vni=0x7b)),out_port(100))"
	pushVXLANc = "tnl_push(tnl_port(4789),header(size=50,type=4,eth(dst=f8:bc:12:44:34:b7,src=aa:55:aa:55:00:00,dl_type=0x0800),ipv4(src=1.1.2.88,dst=1.1.2.93,proto=17,tos=0x4,ttl=64,frag=0x4000),udp(src=0,dst=4789,csum=0xffff),vxlan(flags=0x8000000,vni=0x7c)),out_port(100))"
	pushGeneve = "tnl_push(tnl_port(6081),header(size=58,type=5,eth(dst=f8:bc:12:44:34:b6,src=aa:55:aa:55:00:00,dl_type=0x0800),ipv4(src=1.1.2.88,dst=1.1.2.92,proto=17,tos=0,ttl=64,frag=0x4000),udp(src=0,dst=6081,csum=0x0),geneve(crit,vni=0x7b,options({class=0xffff,type=0x80,len=4,0xa}))),out_port(100))"
	pushGRE    = "tnl_push(tnl_port(3),header(size=50,type=3,eth(dst=f8:bc:12:44:34:b6,src=aa:55:aa:55:00:00,dl_type=0x0800),ipv4(src=1.1.2.88,dst=1.1.2.92,proto=47,tos=0,ttl=64,frag=0x4000),gre((flags=0xb000,proto=0x6558),csum=0x0,key=0x1c8,seq=0x0)),out_port(100))"
	pushVXLAN6 = "tnl_push(tnl_port(4789),header(size=70,type=4,eth(dst=f8:bc:12:44:34:b6,src=aa:55:aa:55:00:00,dl_type=0x86dd),ipv6(src=2001:cafe::88,dst=2001:cafe::92,label=0,proto=17,tclass=0x0,hlimit=64),udp(src=0,dst=4789,csum=0xffff),vxlan(flags=0x8000000,vni=0x7b)),out_port(100))"
	pushGRE6   = "tnl_push(tnl_port(3),header(size=62,type=109,eth(dst=f8:bc:12:44:34:b6,src=aa:55:aa:55:00:00,dl_type=0x86dd),ipv6(src=2001:cafe::88,dst=2001:cafe::92,label=0,proto=47,tclass=0x0,hlimit=64),gre((flags=0x2000,proto=0x6558),key=0x1c8)),out_port(100))"
)

func innerFrame() []byte {
	return testpkt.UDP(testpkt.Frame{IPSrc: "10.0.0.1", IPDst: "10.0.0.2", SrcPort: 1234, DstPort: 80, Payload: []byte("tunnelled payload")})
}

func execTun(t *testing.T, s *tunSink, frame []byte, acts string) *dpio.Packet {
	t.Helper()
	var x actions.Executor
	pkt := newPkt(frame)
	run(&x, pkt, mustParse(t, acts), s)
	if err := x.Err(); err != nil {
		t.Fatalf("%s: %v", acts, err)
	}
	return pkt
}

// checkOuter verifies the outer IP header of an encapsulated frame
// against the header h it was built from: same bytes but the lengths and
// checksums, which must be right.
func checkOuter(t *testing.T, name string, out, h, inner []byte) {
	t.Helper()
	if len(out) != len(h)+len(inner) || !bytes.Equal(out[len(h):], inner) {
		t.Fatalf("%s: frame %x is not header + inner frame", name, out)
	}
	if be.Uint16(out[12:]) == 0x0800 {
		ip := out[14:34]
		if got := int(be.Uint16(ip[2:])); got != len(out)-14 {
			t.Errorf("%s: IPv4 total length %d, want %d", name, got, len(out)-14)
		}
		if c := inetChecksum(ip); c != 0 {
			t.Errorf("%s: IPv4 header checksum does not verify (%#x)", name, c)
		}
		if !bytes.Equal(ip[4:10], h[18:24]) || !bytes.Equal(ip[12:20], h[26:34]) {
			t.Errorf("%s: IPv4 header %x, from %x", name, ip, h[14:34])
		}
	} else {
		ip := out[14:54]
		if got := int(be.Uint16(ip[4:])); got != len(out)-54 {
			t.Errorf("%s: IPv6 payload length %d, want %d", name, got, len(out)-54)
		}
	}
	if !bytes.Equal(out[:14], h[:14]) {
		t.Errorf("%s: Ethernet header %x, want %x", name, out[:14], h[:14])
	}
}

// pseudo returns the pseudo-header of the outer IP header of frame b for
// a layer 4 of length n.
func outerPseudo(b []byte, proto byte, n int) []byte {
	var p []byte
	if be.Uint16(b[12:]) == 0x0800 {
		p = append(p, b[26:34]...)
	} else {
		p = append(p, b[22:54]...)
	}
	return append(p, 0, proto, byte(n>>8), byte(n))
}

func TestTunnelPushUDP(t *testing.T) {
	inner := innerFrame()
	for _, tc := range []struct {
		acts string
		csum bool
	}{{pushVXLAN, false}, {pushVXLANc, true}, {pushGeneve, false}, {pushVXLAN6, true}} {
		s := newTunSink()
		execTun(t, s, inner, tc.acts+",1")
		if len(s.outs) != 1 || s.outs[0].port != 1 {
			t.Fatalf("%s: outputs %v", tc.acts, s.outs)
		}
		h := mustParse(t, tc.acts)[0].TunnelPush.Header
		out := s.outs[0].data
		checkOuter(t, tc.acts, out, h, inner)
		l4 := 14 + 20
		if be.Uint16(out[12:]) == 0x86dd {
			l4 = 14 + 40
		}
		udp := out[l4:]
		if sp := be.Uint16(udp[0:]); sp < 32768 || sp >= 61000 {
			t.Errorf("%s: source port %d out of OVS's range", tc.acts, sp)
		}
		if !bytes.Equal(udp[2:4], h[l4+2:l4+4]) || !bytes.Equal(udp[8:len(h)-l4], h[l4+8:]) {
			t.Errorf("%s: UDP and tunnel header %x, from %x", tc.acts, udp[:len(h)-l4], h[l4:])
		}
		if n := int(be.Uint16(udp[4:])); n != len(udp) {
			t.Errorf("%s: UDP length %d, want %d", tc.acts, n, len(udp))
		}
		switch c := be.Uint16(udp[6:]); {
		case !tc.csum && c != 0:
			t.Errorf("%s: UDP checksum %#x, want none", tc.acts, c)
		case tc.csum && (c == 0 || inetChecksum(outerPseudo(out, 17, len(udp)), udp) != 0):
			t.Errorf("%s: UDP checksum %#x does not verify", tc.acts, c)
		}
	}
}

// TestTunnelPushSourcePort checks that the UDP source port follows the
// inner flow: the same 5-tuple gives the same port, and different ones
// spread.
func TestTunnelPushSourcePort(t *testing.T) {
	seen := map[uint16]bool{}
	for i := 0; i < 64; i++ {
		f := testpkt.UDP(testpkt.Frame{IPSrc: "10.0.0.1", IPDst: "10.0.0.2", SrcPort: uint16(1000 + i), DstPort: 80})
		var ports [2]uint16
		for j := range ports {
			s := newTunSink()
			execTun(t, s, f, pushVXLAN+",1")
			ports[j] = be.Uint16(s.outs[0].data[34:])
		}
		if ports[0] != ports[1] {
			t.Fatalf("same flow, source ports %d and %d", ports[0], ports[1])
		}
		seen[ports[0]] = true
	}
	if len(seen) < 56 {
		t.Errorf("64 flows gave only %d source ports", len(seen))
	}
}

func TestTunnelPushGRE(t *testing.T) {
	inner := innerFrame()
	s := newTunSink()
	h := mustParse(t, pushGRE)[0].TunnelPush.Header
	for seq := uint32(0); seq < 3; seq++ {
		s.outs = nil
		execTun(t, s, inner, pushGRE+",1")
		out := s.outs[0].data
		checkOuter(t, "gre", out, h, inner)
		// OVS writes the sequence number after the checksum, which
		// therefore covers a zero sequence number (and is wrong after
		// the first packet).
		g := append([]byte(nil), out[34:]...)
		be.PutUint32(g[12:], 0)
		if inetChecksum(g) != 0 {
			t.Errorf("GRE checksum %#x does not verify", be.Uint16(g[4:]))
		}
		if be.Uint32(out[34+8:]) != 0x1c8 || be.Uint32(out[34+12:]) != seq {
			t.Errorf("GRE key %#x seq %d, want 0x1c8 and %d", be.Uint32(out[34+8:]), be.Uint32(out[34+12:]), seq)
		}
	}
	// The sequence is the port's: another port counts on its own.
	s.ports[3], s.outs = &actions.TunnelPort{Type: actions.TunnelGRE}, nil
	execTun(t, s, inner, pushGRE+",1")
	if seq := be.Uint32(s.outs[0].data[34+12:]); seq != 0 {
		t.Errorf("new port's first sequence number %d", seq)
	}
	s.outs = nil
	execTun(t, s, inner, pushGRE6+",1")
	checkOuter(t, "gre6", s.outs[0].data, mustParse(t, pushGRE6)[0].TunnelPush.Header, inner)
}

// TestTunnelPushCases checks what surrounds the push: the pending trunc
// applies before it, a push last in its list is skipped (the packet is
// dropped, as OVS does), a tunnel port that is not one drops the packet,
// an earlier output is not changed, later actions see the new packet,
// and a buffer without headroom still takes the header.
func TestTunnelPushCases(t *testing.T) {
	inner := innerFrame()
	hlen := 50
	s := newTunSink()
	execTun(t, s, inner, "trunc(30),"+pushVXLAN+",1")
	if len(s.outs) != 1 || len(s.outs[0].data) != hlen+30 || be.Uint16(s.outs[0].data[16:]) != uint16(30+hlen-14) {
		t.Errorf("trunc then push: %v", s.outs)
	}
	s = newTunSink()
	execTun(t, s, inner, "1,"+pushVXLAN)
	if len(s.outs) != 1 || !bytes.Equal(s.outs[0].data, inner) || len(s.drops) != 0 {
		t.Errorf("push last: outputs %v drops %v", s.outs, s.drops)
	}
	s = newTunSink()
	execTun(t, s, inner, "clone("+pushVXLAN+"),2")
	if len(s.outs) != 1 || s.outs[0].port != 2 || !bytes.Equal(s.outs[0].data, inner) {
		t.Errorf("push last in clone: outputs %v", s.outs)
	}
	s = newTunSink()
	delete(s.ports, 4789)
	execTun(t, s, inner, pushVXLAN+",1")
	if len(s.outs) != 0 || len(s.drops) != 1 || s.drops[0] != actions.DropTunnelPush {
		t.Errorf("no tunnel port: outputs %v drops %v", s.outs, s.drops)
	}
	s = newTunSink()
	execTun(t, s, inner, "1,"+pushVXLAN+",set(ipv4(ttl=9)),2,clone("+pushGRE+",3),4")
	if len(s.outs) != 4 {
		t.Fatalf("outputs %v", s.outs)
	}
	if !bytes.Equal(s.outs[0].data, inner) {
		t.Errorf("output before the push changed: %x", s.outs[0].data)
	}
	vx := s.outs[1].data
	if vx[14+8] != 9 || inetChecksum(vx[14:34]) != 0 || !bytes.Equal(vx[50:], inner) {
		t.Errorf("set after push did not change the outer header: %x", vx)
	}
	if len(s.outs[2].data) != len(vx)+50 || !bytes.Equal(s.outs[2].data[50:], vx) || !bytes.Equal(s.outs[3].data, vx) {
		t.Errorf("GRE over VXLAN in a clone: %x / %x", s.outs[2].data, s.outs[3].data)
	}

	// No headroom: the frame moves within the buffer.
	pkt := dpio.NewPacket(0, len(inner)+hlen)
	pkt.SetBytes(inner)
	var x actions.Executor
	s = newTunSink()
	run(&x, pkt, mustParse(t, pushVXLAN+",1"), s)
	if len(s.outs) != 1 || !bytes.Equal(s.outs[0].data[hlen:], inner) {
		t.Errorf("no headroom: %v", s.outs)
	}
	pkt = dpio.NewPacket(0, len(inner)+hlen-1)
	pkt.SetBytes(inner)
	s = newTunSink()
	run(&x, pkt, mustParse(t, pushVXLAN+",1"), s)
	if len(s.outs) != 0 || len(s.drops) != 1 {
		t.Errorf("no room at all: outputs %v drops %v", s.outs, s.drops)
	}
}

// TestTunnelPushPop encapsulates and decapsulates through each tunnel
// type and checks the inner frame and the tunnel key that come out.
func TestTunnelPushPop(t *testing.T) {
	inner := innerFrame()
	for _, tc := range []struct {
		push string
		port uint32
		want string // the tunnel key, as flow.Format prints it
	}{
		{pushVXLAN, 4789, "tunnel(tun_id=0x7b,src=1.1.2.88,dst=1.1.2.92,ttl=64,tp_src=SP,tp_dst=4789,flags(key))"},
		{pushVXLANc, 4789, "tunnel(tun_id=0x7c,src=1.1.2.88,dst=1.1.2.93,tos=0x4,ttl=64,tp_src=SP,tp_dst=4789,flags(csum|key))"},
		{pushGeneve, 6081, "tunnel(tun_id=0x7b,src=1.1.2.88,dst=1.1.2.92,ttl=64,tp_src=SP,tp_dst=6081,geneve({class=0xffff,type=0x80,len=4,0xa}),flags(key))"},
		{pushGRE, 3, "tunnel(tun_id=0x1c8,src=1.1.2.88,dst=1.1.2.92,ttl=64,flags(csum|key))"},
		{pushVXLAN6, 4789, "tunnel(tun_id=0x7b,ipv6_src=2001:cafe::88,ipv6_dst=2001:cafe::92,ttl=64,tp_src=SP,tp_dst=4789,flags(csum|key))"},
		{pushGRE6, 3, "tunnel(tun_id=0x1c8,ipv6_src=2001:cafe::88,ipv6_dst=2001:cafe::92,ttl=64,flags(key))"},
	} {
		s := newTunSink()
		execTun(t, s, inner, tc.push+",1")
		enc := s.outs[0].data
		s = newTunSink()
		execTun(t, s, enc, "set(skb_mark(7)),tnl_pop("+itoa(int(tc.port))+")")
		if len(s.recirc) != 1 || len(s.drops) != 0 {
			t.Fatalf("%s: recirculated %d, drops %v", tc.push, len(s.recirc), s.drops)
		}
		r := s.recirc[0]
		if !bytes.Equal(r.data, inner) {
			t.Errorf("%s: inner frame %x, want %x", tc.push, r.data, inner)
		}
		if r.key.InPort != tc.port || r.key.SkbMark != 7 {
			t.Errorf("%s: in_port %d skb_mark %d", tc.push, r.key.InPort, r.key.SkbMark)
		}
		want := tc.want
		if i := bytes.Index([]byte(want), []byte("SP")); i >= 0 {
			l4 := 34
			if be.Uint16(enc[12:]) == 0x86dd {
				l4 = 54
			}
			want = want[:i] + itoa(int(be.Uint16(enc[l4:]))) + want[i+2:]
		}
		got := tunnelText(&r.key)
		if got != want {
			t.Errorf("%s:\n got %s\nwant %s", tc.push, got, want)
		}
	}
}

// tunnelText formats the tunnel part of k as a flow with every tunnel
// field matched.
func tunnelText(k *flow.Key) string {
	var m flow.Key
	m.TunID = ^uint64(0)
	m.TunSrc, m.TunDst = [4]byte{255, 255, 255, 255}, [4]byte{255, 255, 255, 255}
	for i := range m.TunIPv6Src {
		m.TunIPv6Src[i], m.TunIPv6Dst[i] = 0xff, 0xff
	}
	m.TunTOS, m.TunTTL, m.TunTpSrc, m.TunTpDst, m.TunFlags = 0xff, 0xff, 0xffff, 0xffff, flow.TunFlagMask|flow.TunFlagGeneve
	if k.TunFlags&flow.TunFlagGeneve != 0 && k.TunGeneveLen > 0 {
		m.TunGeneveLen = 0xff
		for i := 0; i < int(k.TunGeneveLen); i++ {
			m.TunGeneve[i] = 0xff
		}
	}
	s := flow.Match{Key: *k, Mask: m}.String()
	i := bytes.Index([]byte(s), []byte("tunnel("))
	if i < 0 {
		return s
	}
	s = s[i:]
	depth := 0
	for j := 0; j < len(s); j++ {
		switch s[j] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return s[:j+1]
			}
		}
	}
	return s
}

// TestTunnelPopMalformed checks that each way a packet can be wrong for
// its tunnel port drops it with its reason, leaving it and the key alone.
func TestTunnelPopMalformed(t *testing.T) {
	inner := innerFrame()
	enc := func(push string) []byte {
		s := newTunSink()
		execTun(t, s, inner, push+",1")
		return s.outs[0].data
	}
	vx, vxc, gnv, gre := enc(pushVXLAN), enc(pushVXLANc), enc(pushGeneve), enc(pushGRE)
	mod := func(b []byte, f func(b []byte)) []byte {
		c := append([]byte(nil), b...)
		f(c)
		return c
	}
	// fixIP recomputes the outer IPv4 header checksum.
	fixIP := func(b []byte) {
		be.PutUint16(b[24:], 0)
		be.PutUint16(b[24:], inetChecksum(b[14:14+int(b[14]&0xf)*4]))
	}
	for _, tc := range []struct {
		name  string
		frame []byte
		port  uint32
		want  actions.TunnelDrop
	}{
		{"arp", testpkt.ARPRequest(testpkt.Frame{}), 4789, actions.DropPopNotIP},
		{"short vxlan", vx[:14+20+8+7], 4789, actions.DropPopNotIP},
		{"vxlan truncated ip", mod(vx[:60], fixIP), 4789, actions.DropPopNotIP},
		{"ip checksum", mod(vx, func(b []byte) { b[24] ^= 1 }), 4789, actions.DropPopIPChecksum},
		{"ip options", mod(vx, func(b []byte) { b[14] = 0x46; fixIP(b) }), 4789, actions.DropPopIPOptions},
		{"udp checksum", mod(vxc, func(b []byte) { b[len(b)-1] ^= 1 }), 4789, actions.DropPopL4Checksum},
		{"vxlan flags", mod(vx, func(b []byte) { b[42] = 0x88 }), 4789, actions.DropPopHeader},
		{"vxlan reserved", mod(vx, func(b []byte) { b[49] = 1 }), 4789, actions.DropPopHeader},
		{"vxlan gpe oam", mod(vx, func(b []byte) { b[42], b[45] = 0x0d, 3 }), 4789, actions.DropPopHeader},
		{"vxlan gpe nsh", mod(vx, func(b []byte) { b[42], b[45] = 0x0c, 4 }), 4789, actions.DropPopUnsupported},
		{"vxlan gpe bad proto", mod(vx, func(b []byte) { b[42], b[45] = 0x0c, 9 }), 4789, actions.DropPopHeader},
		{"geneve version", mod(gnv, func(b []byte) { b[42] |= 0x40 }), 6081, actions.DropPopHeader},
		{"geneve proto", mod(gnv, func(b []byte) { b[45] = 0 }), 6081, actions.DropPopHeader},
		{"geneve options", mod(gnv, func(b []byte) { b[42] = 63 }), 6081, actions.DropPopTruncated},
		{"gre flags", mod(gre, func(b []byte) { b[34] |= 0x40 }), 3, actions.DropPopHeader},
		{"gre version", mod(gre, func(b []byte) { b[35] = 1 }), 3, actions.DropPopHeader},
		{"gre checksum", mod(gre, func(b []byte) { b[len(b)-1] ^= 1 }), 3, actions.DropPopL4Checksum},
		{"gre proto", mod(gre, func(b []byte) {
			b[36], b[37] = 0, 1
			be.PutUint16(b[38:], 0)
			be.PutUint16(b[38:], inetChecksum(b[34:]))
		}), 3, actions.DropPopHeader},
		{"gre short", gre[:14+20+3], 3, actions.DropPopTruncated},
		{"vxlan as gre", vx, 3, actions.DropPopHeader},
		{"ip version", mod(vx, func(b []byte) { b[14] = 0x55; fixIP(b) }), 4789, actions.DropPopIPVersion},
	} {
		s := newTunSink()
		pkt := execTun(t, s, tc.frame, "tnl_pop("+itoa(int(tc.port))+")")
		if len(s.recirc) != 0 || len(s.drops) != 1 || s.drops[0] != tc.want {
			t.Errorf("%s: recirculated %d, drops %v, want %v", tc.name, len(s.recirc), s.drops, tc.want)
		}
		if !bytes.Equal(pkt.Bytes(), tc.frame) {
			t.Errorf("%s: the dropped packet changed", tc.name)
		}
	}
	// Layer 3 payloads, as OVS: GRE with another protocol than
	// transparent Ethernet bridging gives a packet of type (1, protocol),
	// VXLAN-GPE with IPv4 or IPv6 a packet of that type. (The payloads
	// here are the test's Ethernet frames: the pop does not look at them.)
	for _, tc := range []struct {
		name  string
		frame []byte
		port  uint32
		pt    uint32
	}{
		{"vxlan gpe ipv4", mod(vx, func(b []byte) { b[42], b[45] = 0x0c, 1 }), 4789, flow.PacketTypeIPv4},
		{"vxlan gpe ipv6", mod(vx, func(b []byte) { b[42], b[45] = 0x0c, 2 }), 4789, flow.PacketTypeIPv6},
		{"vxlan gpe ethernet", mod(vx, func(b []byte) { b[42], b[45] = 0x0c, 3 }), 4789, flow.PacketTypeEthernet},
		{"gre ipv4", mod(gre, func(b []byte) {
			b[36], b[37] = 0x08, 0
			be.PutUint16(b[38:], 0)
			be.PutUint16(b[38:], inetChecksum(b[34:]))
		}), 3, flow.PacketTypeIPv4},
		{"gre mpls", mod(gre, func(b []byte) {
			b[36], b[37] = 0x88, 0x47
			be.PutUint16(b[38:], 0)
			be.PutUint16(b[38:], inetChecksum(b[34:]))
		}), 3, flow.PacketTypeMPLS},
	} {
		s := newTunSink()
		execTun(t, s, tc.frame, "tnl_pop("+itoa(int(tc.port))+")")
		if len(s.recirc) != 1 || len(s.drops) != 0 {
			t.Errorf("%s: recirculated %d, drops %v", tc.name, len(s.recirc), s.drops)
			continue
		}
		r := s.recirc[0]
		if r.key.PacketType != tc.pt || r.key.InPort != tc.port || r.key.TunDst == ([4]byte{}) {
			t.Errorf("%s: key packet type %#x, in_port %d, tunnel dst %v", tc.name, r.key.PacketType, r.key.InPort, r.key.TunDst)
		}
		if n := len(r.data); n == 0 || n >= len(tc.frame) || !bytes.Equal(r.data, tc.frame[len(tc.frame)-n:]) {
			t.Errorf("%s: decapsulated %x", tc.name, r.data)
		}
	}
	// Not a tunnel port: dropped when last, ignored otherwise.
	s := newTunSink()
	execTun(t, s, vx, "tnl_pop(5)")
	if len(s.drops) != 1 || s.drops[0] != actions.DropInvalidTunnelPort {
		t.Errorf("tnl_pop(5): drops %v", s.drops)
	}
	s = newTunSink()
	execTun(t, s, vx, "tnl_pop(5),1")
	if len(s.drops) != 0 || len(s.outs) != 1 || !bytes.Equal(s.outs[0].data, vx) {
		t.Errorf("tnl_pop(5),1: drops %v outputs %v", s.drops, s.outs)
	}
	// Not last: the packet itself goes on unchanged.
	s = newTunSink()
	execTun(t, s, vx, "tnl_pop(4789),1")
	if len(s.recirc) != 1 || len(s.outs) != 1 || !bytes.Equal(s.outs[0].data, vx) || !bytes.Equal(s.recirc[0].data, inner) {
		t.Errorf("tnl_pop(4789),1: recirculated %d outputs %v", len(s.recirc), s.outs)
	}
}

// TestTunnelPopOVSFrame decapsulates the GRE frame tunnel-push-pop.at
// sends.
func TestTunnelPopOVSFrame(t *testing.T) {
	frame, _ := hex.DecodeString("aa55aa550000001b213cab6408004500007e79464000402fba550101025c0101025820006558000001c8fe71d883724fbeb6f4e1494a080045000054ba200000400184861e0000011e00000200004227e75400030af3195500000000f265010000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637")
	s := newTunSink()
	execTun(t, s, frame, "tnl_pop(3)")
	if len(s.recirc) != 1 {
		t.Fatalf("drops %v", s.drops)
	}
	if !bytes.Equal(s.recirc[0].data, frame[42:]) {
		t.Errorf("inner frame %x", s.recirc[0].data)
	}
	if got, want := tunnelText(&s.recirc[0].key), "tunnel(tun_id=0x1c8,src=1.1.2.92,dst=1.1.2.88,ttl=64,flags(key))"; got != want {
		t.Errorf("key %s, want %s", got, want)
	}
}

func TestTunnelAllocs(t *testing.T) {
	inner := innerFrame()
	var x actions.Executor
	push := mustParse(t, pushVXLAN+",1")
	pop := mustParse(t, "tnl_pop(4789)")
	vx := newTunSink()
	execTun(t, vx, inner, pushVXLAN+",1")
	encVX := vx.outs[0].data
	pkt := dpio.NewPacket(dpio.DefaultHeadroom, 2048)
	var k flow.Key
	var lay flow.Layout
	cs := &countTunSink{ports: newTunSink().ports}
	n := testing.AllocsPerRun(200, func() {
		pkt.Reset(dpio.DefaultHeadroom)
		pkt.SetBytes(inner)
		flow.ExtractLayout(pkt.Bytes(), 1, &k, &lay)
		x.Execute(pkt, &k, &lay, push, cs)
		pkt.Reset(dpio.DefaultHeadroom)
		pkt.SetBytes(encVX)
		flow.ExtractLayout(pkt.Bytes(), 1, &k, &lay)
		x.Execute(pkt, &k, &lay, pop, cs)
		x.Reset()
	})
	if n != 0 {
		t.Errorf("%v allocations per push and pop", n)
	}
	if cs.recirc == 0 || cs.out == 0 {
		t.Errorf("push and pop did nothing: %d outputs, %d recirculations", cs.out, cs.recirc)
	}
}

type countTunSink struct {
	ports       map[uint32]*actions.TunnelPort
	out, recirc int
}

func (s *countTunSink) Output(uint32, *dpio.Packet)             { s.out++ }
func (s *countTunSink) TunnelReceive(*dpio.Packet, *flow.Key)   { s.recirc++ }
func (s *countTunSink) TunnelPort(p uint32) *actions.TunnelPort { return s.ports[p] }
func (s *countTunSink) TunnelDrop(actions.TunnelDrop)           {}
