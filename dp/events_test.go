package dp

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/b7cafead/datapath/internal/testpkt"
	dpio "github.com/b7cafead/datapath/io"
)

// next returns the next event, failing the test if none arrives soon.
func next(t *testing.T, s *Subscription) Event {
	t.Helper()
	select {
	case e, ok := <-s.C:
		if !ok {
			t.Fatal("subscription closed")
		}
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
	return Event{}
}

func noEvent(t *testing.T, s *Subscription) {
	t.Helper()
	select {
	case e := <-s.C:
		t.Fatalf("unexpected event %v", e)
	default:
	}
}

func TestPortEvents(t *testing.T) {
	d := New(Config{})
	s := d.Subscribe(16)
	near, _ := dpio.NewMemPair(dpio.MemConfig{Name: "eth1"}, dpio.MemConfig{})
	if _, err := d.AddPort(2, near); err != nil {
		t.Fatal(err)
	}
	if e := next(t, s); e.Type != EventPortAdded || e.Port != 2 || e.Seq != 1 || e.Info.Name != "eth1" || !e.Info.LinkUp {
		t.Errorf("add: %+v", e)
	}
	d.CheckPorts()
	noEvent(t, s) // nothing changed

	near.SetLinkUp(false)
	near.SetMTU(9000)
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 9}
	near.SetMAC(mac)
	d.CheckPorts()
	want := []EventType{EventLinkDown, EventMTUChanged, EventMACChanged}
	for i, w := range want {
		e := next(t, s)
		if e.Type != w || e.Port != 2 || e.Seq != uint64(2+i) {
			t.Errorf("event %d: %v, want %v", i, e, w)
		}
		if e.Info.MTU != 9000 || e.Info.LinkUp || e.Info.MAC.String() != mac.String() {
			t.Errorf("event %d info %+v", i, e.Info)
		}
	}
	if got := (Event{Seq: 2, Type: EventLinkDown, Port: 2, Info: dpio.PortInfo{Name: "eth1", MTU: 9000}}).String(); got != "2 link-down port 2 (eth1) mtu 9000" {
		t.Errorf("String = %q", got)
	}
	near.SetLinkUp(true)
	d.CheckPorts()
	if e := next(t, s); e.Type != EventLinkUp || !e.Info.LinkUp {
		t.Errorf("link up: %v", e)
	}
	if err := d.DelPort(2); err != nil {
		t.Fatal(err)
	}
	if e := next(t, s); e.Type != EventPortRemoved || e.Port != 2 || e.Seq != 6 {
		t.Errorf("remove: %v", e)
	}
	if s.Dropped() != 0 {
		t.Errorf("dropped %d", s.Dropped())
	}

	// A second subscriber joining late sees only later events; Close ends
	// a subscription and closes its channel.
	s2 := d.Subscribe(4)
	s.Close()
	s.Close()
	if _, ok := <-s.C; ok {
		t.Error("closed subscription still delivers")
	}
	near2, _ := dpio.NewMemPair(dpio.MemConfig{Name: "eth2"}, dpio.MemConfig{})
	if _, err := d.AddPort(3, near2); err != nil {
		t.Fatal(err)
	}
	if e := next(t, s2); e.Type != EventPortAdded || e.Seq != 7 {
		t.Errorf("late subscriber: %v", e)
	}
	// Closing the datapath removes its ports, then closes subscriptions.
	d.Close()
	if e := next(t, s2); e.Type != EventPortRemoved || e.Port != 3 {
		t.Errorf("close: %v", e)
	}
	if _, ok := <-s2.C; ok {
		t.Error("subscription open after datapath Close")
	}
	if s3 := d.Subscribe(1); func() bool { _, ok := <-s3.C; return ok }() {
		t.Error("subscription to a closed datapath is open")
	}
}

// TestEventOverflow checks that a subscriber that does not read loses
// events, counted, and never holds up the datapath.
func TestEventOverflow(t *testing.T) {
	d := New(Config{})
	defer d.Close()
	s := d.Subscribe(2)
	fast := d.Subscribe(64)
	for i := uint32(1); i <= 5; i++ {
		p, _ := dpio.NewMemPair(dpio.MemConfig{}, dpio.MemConfig{})
		if _, err := d.AddPort(i, p); err != nil {
			t.Fatal(err)
		}
	}
	if s.Dropped() != 3 || fast.Dropped() != 0 {
		t.Errorf("dropped %d and %d, want 3 and 0", s.Dropped(), fast.Dropped())
	}
	if a, b := next(t, s), next(t, s); a.Seq != 1 || b.Seq != 2 {
		t.Errorf("kept %d, %d", a.Seq, b.Seq)
	}
	p, _ := dpio.NewMemPair(dpio.MemConfig{}, dpio.MemConfig{})
	d.AddPort(9, p)
	if e := next(t, s); e.Seq != 6 {
		t.Errorf("after the gap: seq %d, want 6", e.Seq)
	}
	for i := uint64(1); i <= 6; i++ {
		if e := next(t, fast); e.Seq != i {
			t.Fatalf("fast subscriber: seq %d, want %d", e.Seq, i)
		}
	}
}

// TestStartedDatapathReportsLinkChanges checks that a running datapath
// notices a carrier change by itself while it forwards.
func TestStartedDatapathReportsLinkChanges(t *testing.T) {
	r := newRig(t, Config{}, 2)
	r.put(t, "in_port(1),eth_type(0x0800),ipv4(frag=no)", "2")
	s := r.d.Subscribe(8)
	r.d.Start()
	r.far[1].Peer().SetLinkUp(false)
	frame := testpkt.UDP(testpkt.Frame{})
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.far[1].Write(batchOf(frame))
		select {
		case e := <-s.C:
			if e.Type != EventLinkDown || e.Port != 1 {
				t.Fatalf("event %v", e)
			}
			return
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no link-down event within 5s")
		}
	}
}

func TestPortConfig(t *testing.T) {
	d := New(Config{})
	defer d.Close()
	p, _ := dpio.NewMemPair(dpio.MemConfig{Name: "br0"}, dpio.MemConfig{})
	v, err := d.AddPortConfig(0, p, PortConfig{Type: PortInternal, UpcallPIDs: []uint32{7, 8}})
	if err != nil {
		t.Fatal(err)
	}
	if v.Type() != PortInternal || v.Type().String() != "internal" {
		t.Errorf("type %v", v.Type())
	}
	pids := v.UpcallPIDs()
	if len(pids) != 2 || pids[0] != 7 || pids[1] != 8 {
		t.Errorf("pids %v", pids)
	}
	pids[0] = 99 // a copy
	v.SetUpcallPIDs([]uint32{3})
	if got := v.UpcallPIDs(); len(got) != 1 || got[0] != 3 {
		t.Errorf("after set: %v", got)
	}
	q, _ := dpio.NewMemPair(dpio.MemConfig{Name: "vxlan_sys"}, dpio.MemConfig{})
	if _, err := d.AddPortConfig(1, q, PortConfig{Type: PortLISP}); !errors.Is(err, ErrInvalid) {
		t.Errorf("lisp port: %v, want ErrInvalid", err)
	}
	if v, err := d.AddPort(1, q); err != nil || v.Type() != PortNetdev || v.UpcallPIDs() != nil {
		t.Errorf("default port: %v %v", v, err)
	}
	if PortGeneve.String() != "geneve" || PortType(77).String() != "type-77" {
		t.Errorf("names %v %v", PortGeneve, PortType(77))
	}
}
