package dp

import (
	"bytes"
	"errors"
	"sync"
	"testing"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/flow"
	"github.com/b7cafead/datapath/internal/testpkt"
	dpio "github.com/b7cafead/datapath/io"
)

func TestTunnelPorts(t *testing.T) {
	d := New(Config{})
	defer d.Close()
	for _, tc := range []struct {
		no      uint32
		cfg     PortConfig
		name    string
		dstPort uint16
	}{
		{4789, PortConfig{Type: PortVXLAN}, "vxlan_sys_4789", 4789},
		{6081, PortConfig{Type: PortGeneve}, "genev_sys_6081", 6081},
		{4790, PortConfig{Type: PortVXLAN, TunnelDstPort: 4790}, "vxlan_sys_4790", 4790},
		{3, PortConfig{Type: PortGRE}, "gre_sys", 0},
	} {
		v, err := d.AddPortConfig(tc.no, nil, tc.cfg)
		if err != nil {
			t.Fatalf("%v: %v", tc.cfg, err)
		}
		if v.Name() != tc.name || v.TunnelDstPort() != tc.dstPort || v.Type() != tc.cfg.Type {
			t.Errorf("%v: port %s, dst port %d, type %v", tc.cfg, v.Name(), v.TunnelDstPort(), v.Type())
		}
	}
	for _, cfg := range []PortConfig{
		{Type: PortGRE, TunnelDstPort: 1},
		{Type: PortLISP},
		{Type: PortERSPAN},
		{Type: PortNetdev},
	} {
		if _, err := d.AddPortConfig(9, nil, cfg); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", cfg, err)
		}
	}
	// A second GRE port needs its own device name.
	if _, err := d.AddPortConfig(10, nil, PortConfig{Type: PortGRE}); !errors.Is(err, ErrExist) {
		t.Errorf("second gre_sys: %v", err)
	}
	if _, err := d.AddPortConfig(10, dpio.NewDiscard("gre2"), PortConfig{Type: PortGRE}); err != nil {
		t.Errorf("GRE port with its own device: %v", err)
	}
	d.Start() // tunnel ports are not polled: Close must not wait on them
}

const (
	tnlPushVXLAN = "tnl_push(tnl_port(4789),header(size=50,type=4,eth(dst=f8:bc:12:44:34:b6,src=aa:55:aa:55:00:00,dl_type=0x0800),ipv4(src=1.1.2.88,dst=1.1.2.92,proto=17,tos=0,ttl=64,frag=0x4000),udp(src=0,dst=4789,csum=0x0),vxlan(flags=0x8000000,vni=0x7b)),out_port(100))"
	tnlPushGRE   = "tnl_push(tnl_port(3),header(size=42,type=3,eth(dst=f8:bc:12:44:34:b6,src=aa:55:aa:55:00:00,dl_type=0x0800),ipv4(src=1.1.2.88,dst=1.1.2.92,proto=47,tos=0,ttl=64,frag=0x4000),gre((flags=0x2000,proto=0x6558),key=0x1c8)),out_port(100))"
)

// TestTunnelEndToEnd encapsulates a packet on one side, then
// decapsulates it on the other, where it enters again from the tunnel
// port and hits a flow on its tunnel key.
func TestTunnelEndToEnd(t *testing.T) {
	r := newRig(t, Config{}, 2)
	for _, p := range []struct {
		no  uint32
		typ PortType
	}{{4789, PortVXLAN}, {3, PortGRE}} {
		if _, err := r.d.AddPortConfig(p.no, nil, PortConfig{Type: p.typ}); err != nil {
			t.Fatal(err)
		}
	}
	inner := testpkt.UDP(testpkt.Frame{IPSrc: "10.0.0.1", IPDst: "10.0.0.2", SrcPort: 1234, DstPort: 80, Payload: []byte("inner")})
	r.put(t, "in_port(1),eth(),eth_type(0x0800),ipv4(dst=10.0.0.2,frag=no)", tnlPushVXLAN+",2")
	r.put(t, "in_port(1),eth(),eth_type(0x0800),ipv4(dst=10.0.0.3,frag=no)", tnlPushGRE+",2")
	r.d.Process(1, batchOf(inner))
	enc := drain(r.far[2])
	if len(enc) != 1 || len(enc[0]) != len(inner)+50 || !bytes.Equal(enc[0][50:], inner) {
		t.Fatalf("port 2 got %x", enc)
	}

	r.put(t, "in_port(2),eth(),eth_type(0x0800),ipv4(proto=17,frag=no),udp(dst=4789)", "tnl_pop(4789)")
	r.put(t, "in_port(2),eth(),eth_type(0x0800),ipv4(proto=47,frag=no)", "tnl_pop(3)")
	r.put(t, "tunnel(tun_id=0x7b,src=1.1.2.88,dst=1.1.2.92,ttl=64,tp_dst=4789,flags(-df-csum+key)),in_port(4789),eth(),eth_type(0x0800),ipv4(frag=no)", "1")
	r.put(t, "tunnel(tun_id=0x1c8,src=1.1.2.88,dst=1.1.2.92,ttl=64,flags(-df-csum+key)),in_port(3),eth(),eth_type(0x0800),ipv4(frag=no)", "set(ipv4(ttl=9)),1")
	r.d.Process(2, batchOf(enc[0]))
	if got := drain(r.far[1]); len(got) != 1 || !bytes.Equal(got[0], inner) {
		t.Fatalf("VXLAN: port 1 got %x, want %x", got, inner)
	}

	inner3 := testpkt.UDP(testpkt.Frame{IPSrc: "10.0.0.1", IPDst: "10.0.0.3", SrcPort: 1234, DstPort: 80, Payload: []byte("inner")})
	r.d.Process(1, batchOf(inner3))
	gre := drain(r.far[2])
	if len(gre) != 1 {
		t.Fatalf("GRE: port 2 got %x", gre)
	}
	r.d.Process(2, batchOf(gre[0]))
	if got := drain(r.far[1]); len(got) != 1 || got[0][14+8] != 9 || !bytes.Equal(got[0][:14+8], inner3[:14+8]) {
		t.Fatalf("GRE: port 1 got %x", got)
	}

	// A VXLAN packet with a bad IP checksum, one with a bad VXLAN header
	// and a GRE packet sent to the VXLAN port are dropped and counted.
	bad := append([]byte(nil), enc[0]...)
	bad[24] ^= 0xff
	badHdr := append([]byte(nil), enc[0]...)
	badHdr[49] = 1
	r.d.Process(2, batchOf(bad, badHdr))
	st := r.d.Stats()
	if st.Drops.TunnelPop != 2 || st.Drops.TunnelPopReasons[actions.DropPopIPChecksum] != 1 || st.Drops.TunnelPopReasons[actions.DropPopHeader] != 1 || st.Drops.Action != 0 {
		t.Errorf("drops %+v", st.Drops)
	}
	// Every packet is accounted for: 2 from port 1 and 4 from port 2 hit,
	// and the 2 decapsulated ones hit again.
	if st.Hit != 8 || st.Missed != 0 {
		t.Errorf("hit %d missed %d", st.Hit, st.Missed)
	}

	// tnl_pop to a port that is not a tunnel, tnl_push through one.
	r.put(t, "in_port(2),eth(),eth_type(0x0806),arp()", "tnl_pop(1)")
	r.put(t, "in_port(1),eth(),eth_type(0x0806),arp()", "tnl_push(tnl_port(1),header(size=50,type=4,eth(dst=f8:bc:12:44:34:b6,src=aa:55:aa:55:00:00,dl_type=0x0800),ipv4(src=1.1.2.88,dst=1.1.2.92,proto=17,tos=0,ttl=64,frag=0x4000),udp(src=0,dst=4789,csum=0x0),vxlan(flags=0x8000000,vni=0x7b)),out_port(100)),2")
	arp := testpkt.ARPRequest(testpkt.Frame{})
	r.d.Process(2, batchOf(arp))
	r.d.Process(1, batchOf(arp))
	st = r.d.Stats()
	if st.Drops.InvalidTunnelPort != 1 || st.Drops.TunnelPush != 1 || len(drain(r.far[2])) != 0 {
		t.Errorf("drops %+v", st.Drops)
	}

	// Steady state allocates nothing, both ways.
	b1, b2, rb := batchOf(inner), batchOf(enc[0]), dpio.NewBatch(8)
	if n := testing.AllocsPerRun(50, func() {
		b1[0].Reset(dpio.DefaultHeadroom)
		b1[0].SetBytes(inner)
		r.d.Process(1, b1)
		b2[0].Reset(dpio.DefaultHeadroom)
		b2[0].SetBytes(enc[0])
		r.d.Process(2, b2)
		if n, _ := r.far[1].TryRead(rb); n != 1 {
			t.Fatalf("port 1 got %d packets", n)
		}
		if n, _ := r.far[2].TryRead(rb); n != 1 {
			t.Fatalf("port 2 got %d packets", n)
		}
	}); n > 0 {
		t.Errorf("%v allocations per round trip", n)
	}
}

// TestTunnelSourcePortAfterRecirc checks that the UDP source port of a
// packet pushed after a recirculation comes from the packet as it was
// received, as OVS keeps its RSS hash, not from headers an earlier pass
// changed; and that a decapsulated packet gets the hash of its inner
// headers.
func TestTunnelSourcePortAfterRecirc(t *testing.T) {
	r := newRig(t, Config{}, 3)
	if _, err := r.d.AddPortConfig(4789, nil, PortConfig{Type: PortVXLAN}); err != nil {
		t.Fatal(err)
	}
	r.put(t, "in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", tnlPushVXLAN+",3")
	r.put(t, "in_port(2),eth(),eth_type(0x0800),ipv4(frag=no)", "set(ipv4(src=10.5.5.5)),recirc(1)")
	r.put(t, "recirc_id(1),in_port(2),eth(),eth_type(0x0800),ipv4(frag=no)", tnlPushVXLAN+",3")
	// Decapsulated on port 3, pushed again.
	r.put(t, "in_port(3),eth(),eth_type(0x0800),ipv4(proto=17,frag=no),udp(dst=4789)", "tnl_pop(4789)")
	r.put(t, "tunnel(tun_id=0x7b,src=1.1.2.88,dst=1.1.2.92,ttl=64,flags(-df-csum+key)),in_port(4789),eth(),eth_type(0x0800),ipv4(frag=no)", tnlPushVXLAN+",1")
	srcPort := func(in uint32, f []byte, out uint32) uint16 {
		t.Helper()
		r.d.Process(in, batchOf(f))
		got := drain(r.far[out])
		if len(got) != 1 {
			t.Fatalf("port %d got %d packets", out, len(got))
		}
		return be16(got[0][34:])
	}
	p := testpkt.UDP(testpkt.Frame{IPSrc: "10.0.0.1", IPDst: "10.0.0.2", SrcPort: 1234, DstPort: 80})
	q := testpkt.UDP(testpkt.Frame{IPSrc: "10.5.5.5", IPDst: "10.0.0.2", SrcPort: 1234, DstPort: 80})
	direct, viaRecirc, changed := srcPort(1, p, 3), srcPort(2, p, 3), srcPort(1, q, 3)
	if direct != viaRecirc || direct == changed {
		t.Errorf("source ports: %d directly, %d after set and recirc, %d for the changed packet", direct, viaRecirc, changed)
	}
	// p encapsulated, then decapsulated and encapsulated again: the
	// second push hashes the inner packet, p, again.
	r.d.Process(1, batchOf(p))
	enc := drain(r.far[3])[0]
	if again := srcPort(3, enc, 1); again != direct {
		t.Errorf("source port after decapsulation %d, want %d", again, direct)
	}
}

func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }

// TestEgressTunnelKey checks the egress tunnel key of action upcalls: a
// userspace() action naming a tunnel port gets the packet's tunnel key
// (here from set(tunnel)), to the Go handler and to a pid's queue; one
// naming no port, or a port that is not a tunnel port, gets none.
func TestEgressTunnelKey(t *testing.T) {
	const setTun = "set(tunnel(tun_id=0x2a,src=10.1.1.1,dst=10.2.2.2,ttl=64,tp_dst=4789))"
	want := func(t *testing.T, k *flow.Key) {
		t.Helper()
		if k == nil {
			t.Fatal("no egress tunnel key")
		}
		var w flow.Key
		w.TunID, w.TunSrc, w.TunDst, w.TunTTL, w.TunTpDst, w.TunFlags = 0x2a, [4]byte{10, 1, 1, 1}, [4]byte{10, 2, 2, 2}, 64, 4789, flow.TunFlagKey
		if *k != w {
			t.Errorf("egress tunnel key %+v", k)
		}
	}
	f := testpkt.UDP(testpkt.Frame{SrcPort: 1, DstPort: 2})

	var got []*flow.Key
	r := newRig(t, Config{Upcall: func(u *Upcall) {
		if u.Type == UpcallAction {
			got = append(got, u.EgressTunnel)
		}
	}}, 2)
	if _, err := r.d.AddPortConfig(4789, nil, PortConfig{Type: PortVXLAN}); err != nil {
		t.Fatal(err)
	}
	r.put(t, "in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)",
		setTun+",userspace(pid=1,userdata(01),tunnel_out_port=4789),userspace(pid=1,userdata(02)),userspace(pid=1,userdata(03),tunnel_out_port=2),2")
	r.put(t, "in_port(2),eth(),eth_type(0x0800),ipv4(frag=no)", "userspace(pid=1,userdata(04),tunnel_out_port=4789)")
	r.d.Process(1, batchOf(f))
	r.d.Process(2, batchOf(f))
	if len(got) != 4 {
		t.Fatalf("%d action upcalls, want 4", len(got))
	}
	want(t, got[0])
	for i, k := range got[1:] {
		if k != nil {
			t.Errorf("upcall %d: egress tunnel key %+v, want none", i+2, k)
		}
	}

	// The same through a pid's queue.
	r2 := newRig(t, Config{}, 2)
	if _, err := r2.d.AddPortConfig(4789, nil, PortConfig{Type: PortVXLAN}); err != nil {
		t.Fatal(err)
	}
	q, err := r2.d.OpenUpcallQueue(7, 4)
	if err != nil {
		t.Fatal(err)
	}
	r2.put(t, "in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", setTun+",userspace(pid=7,userdata(01),tunnel_out_port=4789),userspace(pid=7,userdata(02))")
	r2.d.Process(1, batchOf(f))
	want(t, recvQueued(t, q).EgressTunnel)
	if u := recvQueued(t, q); u.EgressTunnel != nil || u.Key.TunID != 0x2a {
		t.Errorf("second upcall: egress %v, key tun_id %#x; want none and 0x2a", u.EgressTunnel, u.Key.TunID)
	}
}

// TestUpcallActions checks that an action upcall whose userspace() asks
// for the actions (userspace(...,actions)) carries the list the action is
// in, nested or not, to the Go handler (synchronous and queued) and to a
// pid's queue; without the flag it carries none.
func TestUpcallActions(t *testing.T) {
	const top = "userspace(pid=7,userdata(01),actions),clone(userspace(pid=7,userdata(02),actions),3),userspace(pid=7,userdata(03)),2"
	nested := "userspace(pid=7,userdata(02),actions),3"
	f := testpkt.UDP(testpkt.Frame{SrcPort: 1, DstPort: 2})
	check := func(t *testing.T, got []actions.List) {
		t.Helper()
		if len(got) != 3 {
			t.Fatalf("%d action upcalls, want 3", len(got))
		}
		if got[0].String() != mustActs(t, top).String() || got[1].String() != mustActs(t, nested).String() || got[2] != nil {
			t.Errorf("upcall actions %q, %q, %q; want %q, %q and none", got[0], got[1], got[2], top, nested)
		}
	}
	for _, async := range []bool{false, true} {
		var mu sync.Mutex
		var got []actions.List
		cfg := Config{Upcall: func(u *Upcall) {
			mu.Lock()
			got = append(got, u.Actions)
			mu.Unlock()
		}}
		if async {
			cfg.UpcallQueueLen = 8
		}
		r := newRig(t, cfg, 3)
		r.put(t, "in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", top)
		r.d.Process(1, batchOf(f))
		r.d.WaitUpcalls()
		mu.Lock()
		check(t, got)
		mu.Unlock()
	}
	r := newRig(t, Config{}, 3)
	q, err := r.d.OpenUpcallQueue(7, 4)
	if err != nil {
		t.Fatal(err)
	}
	r.put(t, "in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", top)
	r.d.Process(1, batchOf(f))
	var got []actions.List
	for range 3 {
		got = append(got, recvQueued(t, q).Actions)
	}
	check(t, got)
}

// TestTunnelLayer3 carries an IP packet without its Ethernet header
// through GRE (protocol 0x800, as OVS's layer 3 GRE ports): pop_eth and
// tnl_push on one side; on the other, tnl_pop gives a packet of type
// (1, 0x800), matched as such, and push_eth makes it Ethernet again.
func TestTunnelLayer3(t *testing.T) {
	r := newRig(t, Config{}, 2)
	if _, err := r.d.AddPortConfig(3, nil, PortConfig{Type: PortGRE}); err != nil {
		t.Fatal(err)
	}
	const push = "tnl_push(tnl_port(3),header(size=42,type=3,eth(dst=f8:bc:12:44:34:b6,src=aa:55:aa:55:00:00,dl_type=0x0800),ipv4(src=1.1.2.88,dst=1.1.2.92,proto=47,tos=0,ttl=64,frag=0x4000),gre((flags=0x2000,proto=0x800),key=0x1c8)),out_port(100))"
	r.put(t, "in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", "pop_eth,"+push+",2")
	r.put(t, "in_port(2),eth(),eth_type(0x0800),ipv4(proto=47,frag=no)", "tnl_pop(3)")
	r.put(t, "tunnel(tun_id=0x1c8,src=1.1.2.88,dst=1.1.2.92,ttl=64,flags(-df-csum+key)),in_port(3),packet_type(ns=1,id=0x800),eth_type(0x0800),ipv4(frag=no)",
		"push_eth(src=00:00:00:00:00:0a,dst=00:00:00:00:00:0b),1")

	inner := testpkt.UDP(testpkt.Frame{IPSrc: "10.0.0.1", IPDst: "10.0.0.3", SrcPort: 1234, DstPort: 80, Payload: []byte("layer 3")})
	r.d.Process(1, batchOf(inner))
	enc := drain(r.far[2])
	if len(enc) != 1 || len(enc[0]) != 42+len(inner)-14 || !bytes.Equal(enc[0][42:], inner[14:]) || enc[0][36] != 0x08 || enc[0][37] != 0 {
		t.Fatalf("port 2 got %x", enc)
	}
	r.d.Process(2, batchOf(enc[0]))
	got := drain(r.far[1])
	want := append([]byte{0, 0, 0, 0, 0, 0x0b, 0, 0, 0, 0, 0, 0x0a, 0x08, 0}, inner[14:]...)
	if len(got) != 1 || !bytes.Equal(got[0], want) {
		t.Fatalf("port 1 got %x, want %x", got, want)
	}
	if st := r.d.Stats(); st.Hit != 3 || st.Missed != 0 || st.Drops.TunnelPop != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestUpcallActionsWhole checks that the list an upcall carries is the
// whole list, also when the actions before the userspace action are the
// header sets the executor runs on its own.
func TestUpcallActionsWhole(t *testing.T) {
	const acts = "set(ipv4(ttl=5)),userspace(pid=7,userdata(01),actions),2"
	r := newRig(t, Config{}, 2)
	q, err := r.d.OpenUpcallQueue(7, 4)
	if err != nil {
		t.Fatal(err)
	}
	r.put(t, "in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", acts)
	r.d.Process(1, batchOf(testpkt.UDP(testpkt.Frame{SrcPort: 1, DstPort: 2})))
	if got := recvQueued(t, q).Actions; got.String() != mustActs(t, acts).String() {
		t.Errorf("upcall actions %q, want %q", got, acts)
	}
}

// TestEgressTunnelKeyNotReceived checks that the tunnel key a packet
// arrived with (tnl_pop) is not an egress tunnel key, as in Linux where
// only set(tunnel) makes one.
func TestEgressTunnelKeyNotReceived(t *testing.T) {
	var got []*flow.Key
	r := newRig(t, Config{Upcall: func(u *Upcall) {
		if u.Type == UpcallAction {
			got = append(got, u.EgressTunnel)
		}
	}}, 2)
	if _, err := r.d.AddPortConfig(4789, nil, PortConfig{Type: PortVXLAN}); err != nil {
		t.Fatal(err)
	}
	r.put(t, "in_port(1),eth(),eth_type(0x0800),ipv4(dst=10.0.0.2,frag=no)", tnlPushVXLAN+",2")
	r.put(t, "in_port(2),eth(),eth_type(0x0800),ipv4(proto=17,frag=no),udp(dst=4789)", "tnl_pop(4789)")
	r.put(t, "tunnel(tun_id=0x7b,src=1.1.2.88,dst=1.1.2.92,ttl=64,tp_dst=4789,flags(-df-csum+key)),in_port(4789),eth(),eth_type(0x0800),ipv4(frag=no)",
		"userspace(pid=1,userdata(01),tunnel_out_port=4789),set(tunnel(tun_id=0x9,dst=10.9.9.9,ttl=64,flags(-df))),userspace(pid=1,userdata(02),tunnel_out_port=4789)")
	r.d.Process(1, batchOf(testpkt.UDP(testpkt.Frame{IPDst: "10.0.0.2", SrcPort: 1, DstPort: 2})))
	enc := drain(r.far[2])
	if len(enc) != 1 {
		t.Fatalf("port 2 got %d packets", len(enc))
	}
	r.d.Process(2, batchOf(enc[0]))
	if len(got) != 2 || got[0] != nil || got[1] == nil || got[1].TunID != 9 {
		t.Fatalf("egress tunnel keys %v; want none for the received tunnel, then tun_id 9", got)
	}
}
