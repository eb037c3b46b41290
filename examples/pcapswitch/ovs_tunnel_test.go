//go:build linux

package main

import (
	"encoding/binary"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/b7cafead/datapath/dp"
	"github.com/b7cafead/datapath/flow"
	"github.com/b7cafead/datapath/internal/flowfile"
	"github.com/b7cafead/datapath/internal/ovsdummy"
	"github.com/b7cafead/datapath/internal/testpkt"
	dpio "github.com/b7cafead/datapath/io"
)

// tunnelCase is a tunnel port of OVS's second bridge and the inner
// destination address whose packets its OpenFlow flow sends into it.
type tunnelCase struct {
	name, opts string // the interface and its ovs-vsctl settings
	dst        string // inner IPv4 destination routed into it
	of         string // extra OpenFlow actions before the output
}

var tunnelCases = []tunnelCase{
	{"t1", "type=vxlan options:remote_ip=1.1.2.92 options:key=123", "10.0.0.1", ""},
	{"t2", "type=gre options:remote_ip=1.1.2.92 options:key=456 options:csum=true options:seq=true", "10.0.0.2", ""},
	{"t3", "type=geneve options:remote_ip=1.1.2.92 options:key=789", "10.0.0.3", "set_field:0xa->tun_metadata0,"},
	{"t4", "type=vxlan options:remote_ip=1.1.2.93 options:key=124 options:csum=true options:dst_port=4790", "10.0.0.4", ""},
	{"t5", "type=vxlan options:remote_ip=2001:cafe::92 options:key=125", "10.0.0.5", ""},
	{"t6", "type=gre options:remote_ip=2001:cafe::92 options:key=126", "10.0.0.6", ""},
	{"t7", "type=gre options:remote_ip=1.1.2.93", "10.0.0.7", ""},
	{"t8", "type=geneve options:remote_ip=1.1.2.93 options:key=127 options:csum=true options:tos=0x10 options:ttl=9", "10.0.0.8", ""},
}

// TestTunnelsAgainstOVS checks tnl_push and tnl_pop against OVS 3.1. OVS
// builds the tunnel headers itself: the test gives it tunnel ports on a
// second bridge, an address, routes and neighbours on br0 (as
// tests/tunnel-push-pop.at does), and asks ofproto/trace for the datapath
// actions of a packet sent into each tunnel. Those actions (and tnl_pop
// for the way back) are then installed as datapath flows in OVS and in
// pcapswitch (with the same tunnel ports, -tunnel), and both must send
// the same packets out of every port and count the same flow hits:
// first inner packets are encapsulated, then what OVS encapsulated,
// and malformed variants, are decapsulated and go out by their tunnel key.
func TestTunnelsAgainstOVS(t *testing.T) {
	o := ovsdummy.Start(t, 3)
	vs := []string{"set", "bridge", "br0", "other-config:hwaddr=aa:55:aa:55:00:00",
		"--", "add-br", "int-br", "--", "set", "bridge", "int-br", "datapath_type=dummy", "fail-mode=secure"}
	for i, c := range tunnelCases {
		vs = append(vs, "--", "add-port", "int-br", c.name, "--", "set", "interface", c.name, fmt.Sprintf("ofport_request=%d", i+1))
		vs = append(vs, strings.Fields(c.opts)...)
	}
	if _, err := o.Vsctl(vs...); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range [][]string{
		{"netdev-dummy/ip4addr", "br0", "1.1.2.88/24"},
		{"netdev-dummy/ip6addr", "br0", "2001:cafe::88/24"},
		{"ovs/route/add", "1.1.2.92/24", "br0"},
		{"ovs/route/add", "2001:cafe::92/24", "br0"},
		{"tnl/neigh/set", "br0", "1.1.2.92", "f8:bc:12:44:34:b6"},
		{"tnl/neigh/set", "br0", "1.1.2.93", "f8:bc:12:44:34:b7"},
		{"tnl/neigh/set", "br0", "2001:cafe::92", "f8:bc:12:44:34:b6"},
	} {
		if _, err := o.Appctl(cmd...); err != nil {
			t.Fatalf("%v: %v", cmd, err)
		}
	}
	if err := o.OFCtlBridge("int-br", "add-tlv-map", "{class=0xffff,type=0x80,len=4}->tun_metadata0"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"in_port=LOCAL,actions=output:p2", "in_port=p2,actions=LOCAL"} {
		if err := o.OFCtl("add-flow", f); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range tunnelCases {
		if err := o.OFCtlBridge("int-br", "add-flow", "ip,nw_dst="+c.dst+",actions="+c.of+"output:"+c.name); err != nil {
			t.Fatal(err)
		}
	}

	// The datapath's tunnel ports: vxlan_sys_4789 is port 4789 and so
	// on; gre_sys takes the first free number.
	st, err := o.Stats()
	if err != nil {
		t.Fatal(err)
	}
	tunnelArgs := []string{}
	gre := -1
	for n, p := range st.Ports {
		typ := ""
		switch {
		case strings.HasPrefix(p.Name, "vxlan_sys_"):
			typ = "vxlan"
		case strings.HasPrefix(p.Name, "genev_sys_"):
			typ = "geneve"
		case p.Name == "gre_sys":
			typ, gre = "gre", n
		default:
			continue
		}
		arg := fmt.Sprintf("%d=%s", n, typ)
		if typ != "gre" {
			arg += fmt.Sprintf(":%d", n)
		}
		tunnelArgs = append(tunnelArgs, "-tunnel", arg)
	}
	if len(tunnelArgs) != 2*4 || gre < 0 {
		t.Fatalf("tunnel ports %v", st.Ports)
	}

	// OVS's own actions for a packet into each tunnel.
	actsRE := regexp.MustCompile(`Datapath actions: (.*)`)
	var pushActs []string
	for _, c := range tunnelCases {
		out, err := o.Appctl("ofproto/trace", "int-br", "in_port=LOCAL,udp,nw_src=10.9.0.1,nw_dst="+c.dst)
		if err != nil {
			t.Fatal(err)
		}
		m := actsRE.FindStringSubmatch(out)
		if m == nil || !strings.HasPrefix(m[1], "tnl_push(") || !strings.HasSuffix(m[1], ",2") {
			t.Fatalf("trace into %s: %s", c.name, out)
		}
		t.Logf("%s: %s", c.name, m[1])
		pushActs = append(pushActs, m[1])
	}
	out, err := o.Appctl("ofproto/trace", "ovs-dummy", "in_port(2),eth(src=f8:bc:12:44:34:b6,dst=aa:55:aa:55:00:00),eth_type(0x0800),ipv4(src=1.1.2.92,dst=1.1.2.88,proto=17,tos=0,ttl=64,frag=no),udp(src=51283,dst=4789)")
	if err != nil {
		t.Fatal(err)
	}
	if m := actsRE.FindStringSubmatch(out); m == nil || m[1] != "tnl_pop(4789)" {
		t.Fatalf("trace of a VXLAN packet to br0: %s", out)
	}

	// Encapsulation.
	var flows []string
	for i, c := range tunnelCases {
		flows = append(flows, fmt.Sprintf("in_port(1),eth(),eth_type(0x0800),ipv4(dst=%s,frag=no) %s", c.dst, pushActs[i]))
	}
	vx := pushActs[0][:len(pushActs[0])-2]
	flows = append(flows,
		// Inner IPv6 and ARP: the source port hashes their addresses.
		"in_port(1),eth(),eth_type(0x86dd),ipv6(frag=no) "+pushActs[4],
		"in_port(1),eth(),eth_type(0x0806),arp() "+pushActs[0],
		// A pending trunc applies before the push; an output before
		// the push sends the packet as it was; actions after it see
		// the new packet.
		"in_port(1),eth(),eth_type(0x0800),ipv4(dst=10.0.1.1,frag=no) 3,trunc(60),"+vx+",set(ipv4(ttl=3)),2",
		// A tnl_push last in its list does nothing (OVS drops the
		// packet); one into a clone works on a copy.
		"in_port(1),eth(),eth_type(0x0800),ipv4(dst=10.0.1.2,frag=no) 3,"+vx,
		"in_port(1),eth(),eth_type(0x0800),ipv4(dst=10.0.1.3,frag=no) clone("+pushActs[0]+"),3",
		// The only flow of port 3 matches only what OVS's "simple
		// match" covers.
		"in_port(3),eth(),eth_type(0x0800),ipv4(frag=no) "+pushActs[0],
		// After a recirculation the source port still comes from the
		// packet as received, before the set.
		"in_port(1),eth(),eth_type(0x0800),ipv4(dst=10.0.1.5,frag=no) set(ipv4(src=10.5.5.5)),recirc(7)",
		"recirc_id(7),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) "+pushActs[0],
		// tnl_push through a port that is not a tunnel drops.
		"in_port(1),eth(),eth_type(0x0800),ipv4(dst=10.0.1.4,frag=no) "+strings.Replace(pushActs[0], "tnl_port(4789)", "tnl_port(3)", 1),
	)
	var pkts []timedFrame
	for i, c := range tunnelCases {
		for j := 0; j < 3; j++ {
			pkts = append(pkts, timedFrame{1, testpkt.UDP(testpkt.Frame{IPSrc: "10.9.0.1", IPDst: c.dst, SrcPort: uint16(1000 + 7*i + j), DstPort: 53, Payload: []byte("inner udp")})})
		}
		pkts = append(pkts, timedFrame{1, testpkt.TCP(testpkt.Frame{IPSrc: "10.9.0.2", IPDst: c.dst, SrcPort: uint16(40000 + i), DstPort: 80, TCPFlags: "S"})})
	}
	pkts = append(pkts,
		timedFrame{1, testpkt.TCP(testpkt.Frame{IPSrc: "2001:db8::1", IPDst: "2001:db8::2", SrcPort: 5555, DstPort: 80, TCPFlags: "S"})},
		timedFrame{1, testpkt.ARPRequest(testpkt.Frame{IPDst: "10.0.0.9"})},
	)
	for i := 0; i < 4; i++ {
		pkts = append(pkts, timedFrame{3, testpkt.UDP(testpkt.Frame{IPSrc: "10.9.3.1", IPDst: "10.9.3.2", SrcPort: uint16(3000 + i), DstPort: 53})})
	}
	for _, d := range []string{"10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.1.4", "10.0.1.5"} {
		pkts = append(pkts, timedFrame{1, testpkt.UDP(testpkt.Frame{IPDst: d, SrcPort: 7, DstPort: 7, Payload: make([]byte, 60)})})
	}
	for _, l := range flows {
		f, a, err := flowfile.SplitLine(l)
		if err != nil {
			t.Fatal(err)
		}
		if err := o.AddFlow(f, a); err != nil {
			t.Fatalf("OVS refused %q: %v", l, err)
		}
	}
	// Port 2: 4 per tunnel, IPv6, ARP, the truncated one, the clone's,
	// 4 from port 3; port 3: the outputs before a push, and after the
	// clone.
	compared, stdout := sameOutput(t, o, flows, pkts, tunnelArgs...)
	if want := 4*len(tunnelCases) + 4 + 3 + 4 + 1; compared != want {
		t.Errorf("OVS transmitted %d packets, want %d", compared, want)
	}
	sameDump(t, o, stdout)
	encapsulated, err := o.TxPackets(2)
	if err != nil {
		t.Fatal(err)
	}

	// Decapsulation, of what OVS encapsulated and of variants.
	if err := o.Reset(); err != nil {
		t.Fatal(err)
	}
	flows = []string{
		"in_port(2),eth(),eth_type(0x0800),ipv4(proto=17,frag=no),udp(dst=4789) tnl_pop(4789)",
		"in_port(2),eth(),eth_type(0x0800),ipv4(proto=17,frag=no),udp(dst=4790) tnl_pop(4790)",
		"in_port(2),eth(),eth_type(0x0800),ipv4(proto=17,frag=no),udp(dst=6081) tnl_pop(6081)",
		fmt.Sprintf("in_port(2),eth(),eth_type(0x0800),ipv4(proto=47,frag=no) tnl_pop(%d)", gre),
		"in_port(2),eth(),eth_type(0x86dd),ipv6(proto=17,frag=no),udp(dst=4789) tnl_pop(4789)",
		fmt.Sprintf("in_port(2),eth(),eth_type(0x86dd),ipv6(proto=47,frag=no) tnl_pop(%d)", gre),
		// A VLAN-tagged outer frame.
		"in_port(2),eth(),eth_type(0x8100),vlan(vid=5,pcp=0),encap(eth_type(0x0800),ipv4(proto=17,frag=no),udp(dst=4789)) tnl_pop(4789)",
		// tnl_pop to a port that is not a tunnel: dropped when last.
		"in_port(2),eth(),eth_type(0x0800),ipv4(proto=17,frag=no),udp(dst=9999) tnl_pop(3)",
	}
	// The decapsulated packets go out of port 3 (1 for those of the
	// IPv6 underlay) by their tunnel key, matched exactly but for the
	// UDP source port.
	tun := func(key string, port int, out int) {
		for _, l3 := range []string{"eth_type(0x0800),ipv4(frag=no)", "eth_type(0x86dd),ipv6(frag=no)", "eth_type(0x0806),arp()"} {
			flows = append(flows, fmt.Sprintf("tunnel(%s),in_port(%d),eth(),%s %d", key, port, l3, out))
		}
	}
	tun("tun_id=0x7b,src=1.1.2.88,dst=1.1.2.92,tos=0,ttl=64,tp_dst=4789,flags(-df-csum+key)", 4789, 3)
	tun("tun_id=0x1c8,src=1.1.2.88,dst=1.1.2.92,tos=0,ttl=64,flags(-df+csum+key)", gre, 3)
	tun("tun_id=0x315,src=1.1.2.88,dst=1.1.2.92,tos=0,ttl=64,tp_dst=6081,geneve({class=0xffff,type=0x80,len=4,0xa}),flags(-df-csum+key)", 6081, 3)
	tun("tun_id=0x7c,src=1.1.2.88,dst=1.1.2.93,tos=0,ttl=64,tp_dst=4790,flags(-df+csum+key)", 4790, 3)
	tun("tun_id=0x7d,ipv6_src=2001:cafe::88,ipv6_dst=2001:cafe::92,tos=0,ttl=64,tp_dst=4789,flags(-df+csum+key)", 4789, 1)
	tun("tun_id=0x7e,ipv6_src=2001:cafe::88,ipv6_dst=2001:cafe::92,tos=0,ttl=64,flags(-df-csum+key)", gre, 1)
	tun("src=1.1.2.88,dst=1.1.2.93,tos=0,ttl=64,flags(-df-csum-key)", gre, 3)
	tun("tun_id=0x7f,src=1.1.2.88,dst=1.1.2.93,tos=0x10,ttl=9,tp_dst=6081,flags(-df+csum+key)", 6081, 3)

	pkts = nil
	for _, f := range encapsulated {
		pkts = append(pkts, timedFrame{2, f})
	}
	first := func(port uint16) []byte { // the first UDP frame to port
		for _, f := range encapsulated {
			if binary.BigEndian.Uint16(f[12:]) == 0x0800 && f[23] == 17 && binary.BigEndian.Uint16(f[36:]) == port {
				return append([]byte(nil), f...)
			}
		}
		t.Fatalf("no frame to UDP port %d", port)
		return nil
	}
	fixIP := func(f []byte) []byte {
		binary.BigEndian.PutUint16(f[24:], 0)
		binary.BigEndian.PutUint16(f[24:], ^fold16(f[14:14+int(f[14]&0xf)*4]))
		return f
	}
	bad := func(f []byte, change func(f []byte)) timedFrame {
		change(f)
		return timedFrame{2, f}
	}
	pkts = append(pkts,
		bad(first(4789), func(f []byte) { f[24] ^= 0xff }),                            // IPv4 header checksum
		bad(first(4790), func(f []byte) { f[len(f)-1] ^= 0xff }),                      // UDP checksum
		bad(first(4789), func(f []byte) { f[42] = 0x88 }),                             // VXLAN flags (GBP bit)
		bad(first(4789), func(f []byte) { f[49] = 1 }),                                // VXLAN reserved byte
		bad(first(4789), func(f []byte) { f[42], f[45] = 0x0c, 3 }),                   // VXLAN-GPE, Ethernet: accepted
		bad(first(4789), func(f []byte) { f[42], f[45] = 0x0d, 3 }),                   // VXLAN-GPE OAM
		bad(first(6081), func(f []byte) { f[43] |= 0x80 }),                            // Geneve OAM: accepted
		bad(first(6081), func(f []byte) { f[42] |= 0x40 }),                            // Geneve version 1
		bad(first(6081), func(f []byte) { f[42] = f[42]&0xc0 | 63 }),                  // Geneve options past the end
		bad(first(4789), func(f []byte) { binary.BigEndian.PutUint16(f[36:], 9999) }), // tnl_pop to a non-tunnel port
		timedFrame{2, append(first(4790), 1, 2, 3, 4, 5, 6, 7, 8)},                    // padding under a UDP checksum
		timedFrame{2, fixIP(withIPOptions(first(4789)))},                              // IPv4 options
		timedFrame{2, vlanTag(first(4789), 5)},                                        // behind a VLAN tag
	)
	for _, l := range flows {
		f, a, err := flowfile.SplitLine(l)
		if err != nil {
			t.Fatal(err)
		}
		if err := o.AddFlow(f, a); err != nil {
			t.Fatalf("OVS refused %q: %v", l, err)
		}
	}
	compared, stdout = sameOutput(t, o, flows, pkts, tunnelArgs...)
	if compared != 39 {
		t.Errorf("decapsulation: OVS transmitted %d packets, want 39", compared)
	}
	sameDump(t, o, stdout)
	// OVS writes a GRE sequence number after computing the checksum
	// that covers it, so of t2's four packets (sequence numbers 0 to 3)
	// only the first has a right checksum and is decapsulated.
	dump, err := o.DumpFlows()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range dump {
		if strings.HasPrefix(l, "tunnel(tun_id=0x1c8,") && strings.Contains(l, "eth_type(0x0800)") && !strings.Contains(l, " packets:1,") {
			t.Errorf("GRE with checksum and sequence numbers: %s", l)
		}
	}
	var frames [][]byte
	for _, p := range pkts {
		frames = append(frames, p.frame)
	}
	missKeys(t, o, flows[:8], tunnelArgs, frames)
}

// missKeys decapsulates frames in OVS and in a datapath with the same
// tunnel ports, with no flow for the decapsulated packets, and compares
// the keys of their miss upcalls: OVS logs them at debug level.
func missKeys(t *testing.T, o *ovsdummy.OVS, popFlows, tunnelArgs []string, frames [][]byte) {
	if err := o.Reset(); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Appctl("vlog/set", "dpif_netdev:file:dbg"); err != nil {
		t.Fatal(err)
	}
	for _, l := range popFlows {
		f, a, err := flowfile.SplitLine(l)
		if err != nil {
			t.Fatal(err)
		}
		if err := o.AddFlow(f, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.InjectMany(2, frames); err != nil {
		t.Fatal(err)
	}
	if err := o.WaitProcessed(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	keys, err := o.MissKeys()
	if err != nil {
		t.Fatal(err)
	}
	// All frames but the three GRE ones with a wrong checksum (see above)
	// and ten of the thirteen variants come out of the tunnels and miss.
	if len(keys) != len(frames)-13 {
		t.Fatalf("OVS logged %d upcalls for %d frames", len(keys), len(frames))
	}

	// The same through a datapath of ours, whose Go slow path sees the
	// keys.
	var ours []flow.Key
	d := dp.New(dp.Config{Upcall: func(u *dp.Upcall) { ours = append(ours, u.Key) }})
	defer d.Close()
	if _, err := d.AddPort(2, dpio.NewDiscard("p2")); err != nil {
		t.Fatal(err)
	}
	tp := tunnelPorts{}
	for i := 1; i < len(tunnelArgs); i += 2 {
		if err := tp.Set(tunnelArgs[i]); err != nil {
			t.Fatal(err)
		}
	}
	for n, cfg := range tp {
		if _, err := d.AddPortConfig(n, nil, cfg); err != nil {
			t.Fatal(err)
		}
	}
	fls, err := flowfile.Read("pop flows", strings.NewReader(strings.Join(popFlows, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range fls {
		if _, err := d.PutFlow(l.Match, l.Actions, dp.PutCreate); err != nil {
			t.Fatal(err)
		}
	}
	b := dpio.NewBatch(1)
	for _, f := range frames {
		b[0].Reset(dpio.DefaultHeadroom)
		b[0].SetBytes(f)
		d.Process(2, b)
	}
	if len(ours) != len(keys) {
		t.Fatalf("our datapath upcalled %d of %d frames, OVS %d", len(ours), len(frames), len(keys))
	}
	for i := range ours {
		a := upcallAttrs(&ours[i])
		if got := flow.FormatKey(&ours[i], &a); got != keys[i] {
			t.Errorf("frame %d:\n ours %s\n ovs  %s", i, got, keys[i])
		}
	}
}

// upcallAttrs says which attributes OVS's userspace datapath puts in the
// key of a packet it upcalls (odp_flow_key_from_flow): the metadata and
// conntrack fields always, the tunnel's fields that are set (ttl and
// flags always, tun_id with the key flag, Geneve options after Geneve),
// and the packet's headers.
func upcallAttrs(k *flow.Key) flow.Key {
	var a flow.Key
	all := ^uint32(0)
	ones16 := [16]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	ones4 := [4]byte{0xff, 0xff, 0xff, 0xff}
	ones6 := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	a.Priority, a.SkbMark, a.RecircID, a.DpHash, a.InPort, a.PacketType = all, all, all, all, all, all
	a.CtState, a.CtZone, a.CtMark, a.CtLabel = 0xff, 0xffff, all, ones16
	if k.TunSrc != ([4]byte{}) {
		a.TunSrc = ones4
	}
	if k.TunDst != ([4]byte{}) {
		a.TunDst = ones4
	}
	if k.TunIPv6Src != ([16]byte{}) {
		a.TunIPv6Src = ones16
	}
	if k.TunIPv6Dst != ([16]byte{}) {
		a.TunIPv6Dst = ones16
	}
	if k.TunTOS != 0 {
		a.TunTOS = 0xff
	}
	a.TunTTL = 0xff
	if k.TunTpSrc != 0 {
		a.TunTpSrc = 0xffff
	}
	if k.TunTpDst != 0 {
		a.TunTpDst = 0xffff
	}
	a.TunFlags = k.TunFlags & flow.TunFlagGeneve
	if k.EthType >= 0x600 {
		a.EthType = 0xffff
	}
	switch k.EthType {
	case flow.EthTypeIPv4, flow.EthTypeIPv6:
		a.NwSrc, a.NwDst, a.IPv6Src, a.IPv6Dst = ones4, ones4, ones16, ones16
		a.IPv6Label, a.NwProto, a.NwTos, a.NwTTL, a.NwFrag = 0xfffff, 0xff, 0xff, 0xff, 0xff
		a.TpSrc, a.TpDst = 0xffff, 0xffff
		if k.NwProto == flow.IPProtoTCP && k.TCPFlags != 0 {
			a.TCPFlags = 0x0fff
		}
		a.NdTarget, a.ArpSHA, a.ArpTHA = ones16, ones6, ones6
	case flow.EthTypeARP, flow.EthTypeRARP:
		a.NwSrc, a.NwDst, a.NwProto, a.ArpSHA, a.ArpTHA = ones4, ones4, 0xff, ones6, ones6
	}
	return a
}

// sameDump requires pcapswitch's final flow table (in its output) to be
// OVS's, statistics included.
func sameDump(t *testing.T, o *ovsdummy.OVS, stdout string) {
	t.Helper()
	ovsFlows, err := o.DumpFlows()
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := normalizeDump(ourDump(stdout)), normalizeDump(ovsFlows)
	if strings.Join(ours, "\n") != strings.Join(theirs, "\n") {
		t.Errorf("flow tables differ:\n--- pcapswitch\n%s\n--- ovs\n%s", strings.Join(ours, "\n"), strings.Join(theirs, "\n"))
	}
	// And the lookups: a decapsulated packet is looked up again. OVS
	// counts as lost the misses its (flow-limited) slow path refuses.
	st, err := o.Stats()
	if err != nil {
		t.Fatal(err)
	}
	m := lookupsRE.FindStringSubmatch(stdout)
	if m == nil || m[1] != fmt.Sprint(st.Hit) || m[2] != fmt.Sprint(st.Missed+st.Lost) {
		t.Errorf("pcapswitch %q, OVS hit:%d missed:%d lost:%d", m, st.Hit, st.Missed, st.Lost)
	}
}

var lookupsRE = regexp.MustCompile(`lookups: hit:(\d+) missed:(\d+)`)

// fold16 is the folded one's complement sum of b.
func fold16(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// withIPOptions inserts 4 bytes of IPv4 options (end of list) into the
// outer header of f.
func withIPOptions(f []byte) []byte {
	out := append(append(append([]byte(nil), f[:34]...), 0, 0, 0, 0), f[34:]...)
	out[14] = 0x46
	binary.BigEndian.PutUint16(out[16:], binary.BigEndian.Uint16(out[16:])+4)
	return out
}

// vlanTag inserts an 802.1Q tag with VLAN id vid after the addresses.
func vlanTag(f []byte, vid uint16) []byte {
	out := append(append([]byte(nil), f[:12]...), 0x81, 0, byte(vid>>8), byte(vid))
	return append(out, f[12:]...)
}
