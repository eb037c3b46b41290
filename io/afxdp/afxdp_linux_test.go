package afxdp

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	dpio "github.com/b7cafead/datapath/io"
)

var _ dpio.Port = (*Port)(nil)

func TestOpenRefusesBadConfig(t *testing.T) {
	for _, c := range []Config{
		{RingSize: 1000},
		{RingSize: -1},
		{FrameSize: 1500},
		{Queue: -1},
		{Mode: 7},
	} {
		if p, err := Open("lo", c); err == nil {
			p.Close()
			t.Errorf("Open(%+v) succeeded", c)
		}
	}
	if _, err := Open("no-such-if0", Config{}); err == nil {
		t.Error("Open of a missing interface succeeded")
	}
}

// Without privileges Open says that AF_XDP is unavailable and why.
func TestOpenUnprivileged(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("runs only as an unprivileged user")
	}
	_, err := Open("lo", Config{})
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("Open as uid %d = %v, want ErrUnavailable", os.Geteuid(), err)
	}
	t.Log(err)
}

// openTest makes a namespace, a veth pair into it and an afxdp port on
// the host end; the socket is a raw AF_PACKET socket on the namespace
// end.
func openTest(t *testing.T, cfg Config) (*Port, *packetSocket, net.HardwareAddr) {
	t.Helper()
	requireRoot(t)
	ns := newNetns(t)
	host, peer := newVeth(t, ns)
	p, err := Open(host, cfg)
	if err != nil {
		t.Fatalf("Open(%s): %v", host, err)
	}
	t.Cleanup(func() { p.Close() })
	s := openPacketSocket(t, ns, peer)
	return p, s, p.Info().MAC
}

// readFrames reads through p until want frames of the test ether type
// have arrived or the time is up, returning them and the sizes of the
// batches that held them.
func readFrames(t *testing.T, p *Port, want int, limit time.Duration) ([][]byte, []int) {
	t.Helper()
	return readMatching(t, p, want, limit, isTestFrame)
}

// readMatching is readFrames for the frames match accepts.
func readMatching(t *testing.T, p *Port, want int, limit time.Duration, match func([]byte) bool) ([][]byte, []int) {
	t.Helper()
	var got [][]byte
	var batches []int
	done := make(chan error, 1)
	go func() {
		batch := dpio.NewBatch(p.BatchSize())
		for len(got) < want {
			n, err := p.Read(batch)
			if err != nil {
				done <- err
				return
			}
			k := 0
			for _, pk := range batch[:n] {
				if pk.Headroom() != dpio.DefaultHeadroom {
					t.Errorf("frame at headroom %d, want %d", pk.Headroom(), dpio.DefaultHeadroom)
				}
				if match(pk.Bytes()) {
					got = append(got, append([]byte(nil), pk.Bytes()...))
					k++
				}
			}
			if k > 0 {
				batches = append(batches, k)
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
	case <-time.After(limit):
		p.Close()
		<-done
		t.Fatalf("read %d of %d frames in %v", len(got), want, limit)
	}
	return got, batches
}

func TestReadFromNamespace(t *testing.T) {
	p, s, mac := openTest(t, Config{})
	var sent [][]byte
	for i := range 8 {
		f := testFrame(mac, s.mac, i, 46+i*100)
		sent = append(sent, f)
		s.send(t, f)
	}
	got, _ := readFrames(t, p, len(sent), 5*time.Second)
	for i, f := range sent {
		if !bytes.Equal(got[i], f) {
			t.Errorf("frame %d: got % x\nwant % x", i, got[i], f)
		}
	}
	st := p.Stats()
	if st.RxPackets < uint64(len(sent)) || st.RxErrors != 0 {
		t.Errorf("stats %+v after %d frames", st, len(sent))
	}
}

// TestReadTagged checks that VLAN-tagged frames (802.1Q, and 802.1ad
// over 802.1Q) reach the port with their tags in place: the XDP program
// sees a frame before the kernel takes its tag out.
func TestReadTagged(t *testing.T) {
	p, s, mac := openTest(t, Config{})
	tag := func(f []byte, tpid, tci uint16) []byte {
		out := append([]byte(nil), f[:12]...)
		out = append(out, byte(tpid>>8), byte(tpid), byte(tci>>8), byte(tci))
		return append(out, f[12:]...)
	}
	sent := [][]byte{
		tag(testFrame(mac, s.mac, 1, 60), 0x8100, 0x2064),
		tag(tag(testFrame(mac, s.mac, 2, 200), 0x8100, 0x0007), 0x88a8, 0x00c8),
	}
	for _, f := range sent {
		s.send(t, f)
	}
	tagged := func(b []byte) bool {
		for len(b) >= 18 && (b[12] == 0x81 && b[13] == 0 || b[12] == 0x88 && b[13] == 0xa8) {
			b = append(b[:12:12], b[16:]...)
			if isTestFrame(b) {
				return true
			}
		}
		return false
	}
	got, _ := readMatching(t, p, len(sent), 5*time.Second, tagged)
	for i, f := range sent {
		if !bytes.Equal(got[i], f) {
			t.Errorf("tagged frame %d: got % x\nwant % x", i, got[i], f)
		}
	}
}

func TestReadBatch(t *testing.T) {
	p, s, mac := openTest(t, Config{})
	const n = 24
	var sent [][]byte
	for i := range n {
		f := testFrame(mac, s.mac, i, 60)
		sent = append(sent, f)
		s.send(t, f)
	}
	time.Sleep(200 * time.Millisecond) // let them all reach the rx ring
	got, batches := readFrames(t, p, n, 5*time.Second)
	for i, f := range sent {
		if !bytes.Equal(got[i], f) {
			t.Errorf("frame %d differs", i)
		}
	}
	max := 0
	for _, b := range batches {
		if b > max {
			max = b
		}
	}
	if max < 2 {
		t.Errorf("frames arrived one per Read (batches %v)", batches)
	}
	t.Logf("batches %v", batches)
}

func TestReadDropsOversizedFrames(t *testing.T) {
	p, s, mac := openTest(t, Config{})
	s.send(t, testFrame(mac, s.mac, 1, 1000))
	small := testFrame(mac, s.mac, 2, 100)
	s.send(t, small)
	time.Sleep(100 * time.Millisecond)
	batch := dpio.NewBatchSize(4, dpio.DefaultHeadroom, 200)
	watchdog := time.AfterFunc(5*time.Second, func() { p.Close() })
	defer watchdog.Stop()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		n, err := p.Read(batch)
		if err != nil {
			t.Fatal(err)
		}
		for _, pk := range batch[:n] {
			if isTestFrame(pk.Bytes()) {
				if !bytes.Equal(pk.Bytes(), small) {
					t.Fatalf("got % x", pk.Bytes())
				}
				if st := p.Stats(); st.RxErrors == 0 {
					t.Errorf("oversized frame not counted: %+v", st)
				}
				return
			}
		}
	}
	t.Fatal("no frame")
}

func TestWriteToNamespace(t *testing.T) {
	p, s, mac := openTest(t, Config{})
	var sent [][]byte
	batch := dpio.NewBatch(40)
	for i := range batch {
		f := testFrame(s.mac, mac, i, 46+i*30)
		sent = append(sent, f)
		batch[i].SetBytes(f)
	}
	// Twice: the second batch reuses frames the first released.
	for round := range 2 {
		n, err := p.Write(batch)
		if err != nil || n != len(batch) {
			t.Fatalf("Write = %d, %v", n, err)
		}
		var got [][]byte
		deadline := time.Now().Add(3 * time.Second)
		for len(got) < len(sent) {
			f := s.recv(deadline)
			if f == nil {
				t.Fatalf("round %d: received %d of %d frames", round, len(got), len(sent))
			}
			got = append(got, f)
		}
		for i, f := range sent {
			if !containsFrame(got, f) {
				t.Errorf("round %d: frame %d not received byte-exact", round, i)
			}
		}
	}
	st := p.Stats()
	if st.TxPackets != uint64(2*len(sent)) || st.TxDropped != 0 || st.TxErrors != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestWriteRefusesOversizedFrame(t *testing.T) {
	p, _, _ := openTest(t, Config{FrameSize: 2048})
	batch := dpio.NewBatch(1)
	batch[0].SetBytes(make([]byte, 3000))
	if n, err := p.Write(batch); n != 1 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if st := p.Stats(); st.TxErrors != 1 || st.TxPackets != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	p, _, _ := openTest(t, Config{})
	done := make(chan error, 1)
	go func() {
		batch := dpio.NewBatch(p.BatchSize())
		for {
			if _, err := p.Read(batch); err != nil {
				done <- err
				return
			}
		}
	}()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Read returned %v, want net.ErrClosed", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("Read returned %v after Close", d)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Read still blocked 2s after Close")
	}
	if _, err := p.Write(dpio.NewBatch(1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	_ = p.Stats()
}

func TestInfo(t *testing.T) {
	requireRoot(t)
	ns := newNetns(t)
	host, peer := newVeth(t, ns)
	p, err := Open(host, Config{BatchSize: 8, Headroom: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	info := p.Info()
	ifi, err := net.InterfaceByName(info.Name)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(info.MAC, ifi.HardwareAddr) || info.MTU != 1500 || !info.LinkUp || info.Headroom != 64 {
		t.Errorf("Info() = %+v", info)
	}
	if p.BatchSize() != 8 {
		t.Errorf("BatchSize() = %d", p.BatchSize())
	}
	// The kernel updates the operational state a moment after the
	// carrier changes.
	waitInfo := func(what string, ok func(dpio.PortInfo) bool) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for !ok(p.Info()) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if info := p.Info(); !ok(info) {
			t.Errorf("Info() %s = %+v", what, info)
		}
	}
	run(t, "ip", "-n", ns, "link", "set", peer, "down")
	waitInfo("with the peer down", func(i dpio.PortInfo) bool { return !i.LinkUp })
	run(t, "ip", "-n", ns, "link", "set", peer, "up")
	waitInfo("with the peer up again", func(i dpio.PortInfo) bool { return i.LinkUp })
	run(t, "ip", "link", "set", host, "mtu", "1400")
	waitInfo("after mtu 1400", func(i dpio.PortInfo) bool { return i.MTU == 1400 })
}

func TestCloseDetaches(t *testing.T) {
	requireRoot(t)
	ns := newNetns(t)
	host, _ := newVeth(t, ns)
	for range 3 {
		p, err := Open(host, Config{})
		if err != nil {
			t.Fatalf("Open after Close: %v", err)
		}
		if !xdpAttached(t, host) {
			t.Fatal("no XDP program attached while the port is open")
		}
		p.Close()
		if xdpAttached(t, host) {
			t.Fatal("XDP program still attached after Close")
		}
	}
}

// Write is safe for concurrent use: the datapath's workers write to one
// port from several goroutines.
func TestConcurrentWrite(t *testing.T) {
	p, s, mac := openTest(t, Config{RingSize: 64})
	const writers, per = 4, 50
	done := make(chan struct{})
	for w := range writers {
		go func() {
			defer func() { done <- struct{}{} }()
			batch := dpio.NewBatch(1)
			for i := range per {
				batch[0].SetBytes(testFrame(s.mac, mac, w*per+i, 60))
				if _, err := p.Write(batch); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for range writers {
		<-done
	}
	got := 0
	deadline := time.Now().Add(3 * time.Second)
	for got < writers*per && s.recv(deadline) != nil {
		got++
	}
	st := p.Stats()
	if st.TxPackets+st.TxDropped != writers*per || uint64(got) != st.TxPackets {
		t.Errorf("received %d, stats %+v", got, st)
	}
}

func xdpAttached(t *testing.T, ifname string) bool {
	t.Helper()
	out, err := exec.Command("ip", "-d", "link", "show", "dev", ifname).CombinedOutput()
	if err != nil {
		t.Fatalf("ip link show: %v\n%s", err, out)
	}
	return bytes.Contains(out, []byte("prog/xdp")) || bytes.Contains(out, []byte("xdpgeneric"))
}

// Frames arriving while nobody reads fill the rx ring; the rest are
// dropped by the kernel and counted in RxDropped.
func TestRxDroppedCounted(t *testing.T) {
	const ring, sent = 64, 100
	p, s, mac := openTest(t, Config{RingSize: ring})
	for i := range sent {
		s.send(t, testFrame(mac, s.mac, i, 60))
	}
	deadline := time.Now().Add(3 * time.Second)
	for p.Stats().RxDropped < sent-ring && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if st := p.Stats(); st.RxDropped < sent-ring {
		t.Fatalf("stats %+v after %d frames into a ring of %d", st, sent, ring)
	}
	got, _ := readFrames(t, p, ring, 3*time.Second)
	for i := range ring {
		if !bytes.Equal(got[i], testFrame(mac, s.mac, i, 60)) {
			t.Errorf("frame %d differs", i)
		}
	}
}

// Driver (native) mode: veth runs XDP programs natively.
func TestDriverMode(t *testing.T) {
	p, s, mac := openTest(t, Config{Mode: ModeDriver})
	in := testFrame(mac, s.mac, 1, 80)
	s.send(t, in)
	got, _ := readFrames(t, p, 1, 3*time.Second)
	if !bytes.Equal(got[0], in) {
		t.Errorf("read % x, want % x", got[0], in)
	}
	out := testFrame(s.mac, mac, 2, 90)
	batch := dpio.NewBatch(1)
	batch[0].SetBytes(out)
	if _, err := p.Write(batch); err != nil {
		t.Fatal(err)
	}
	if f := s.recv(time.Now().Add(3 * time.Second)); !bytes.Equal(f, out) {
		t.Errorf("received % x, want % x", f, out)
	}
}

// Moving frames in steady state allocates nothing.
func TestZeroAllocs(t *testing.T) {
	p, s, mac := openTest(t, Config{})
	const runs = 50
	for i := range runs + 10 {
		s.send(t, testFrame(mac, s.mac, i, 60))
	}
	time.Sleep(200 * time.Millisecond)
	batch := dpio.NewBatch(1)
	watchdog := time.AfterFunc(10*time.Second, func() { p.Close() })
	defer watchdog.Stop()
	if a := testing.AllocsPerRun(runs, func() {
		if _, err := p.Read(batch); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("Read: %v allocations per call", a)
	}
	batch[0].SetBytes(testFrame(s.mac, mac, 0, 60))
	if a := testing.AllocsPerRun(runs, func() {
		if _, err := p.Write(batch); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("Write: %v allocations per call", a)
	}
}

// The largest frame that can be received is FrameSize less the kernel's
// XDP headroom; a larger one is dropped by the kernel and counted.
func TestLargestFrame(t *testing.T) {
	requireRoot(t)
	ns := newNetns(t)
	host, peer := newVeth(t, ns)
	run(t, "ip", "link", "set", host, "mtu", "4000")
	run(t, "ip", "-n", ns, "link", "set", peer, "mtu", "4000")
	p, err := Open(host, Config{FrameSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	s := openPacketSocket(t, ns, peer)
	mac := p.Info().MAC
	const largest = 4096 - 256
	s.send(t, testFrame(mac, s.mac, 1, largest+1-14))
	want := testFrame(mac, s.mac, 2, largest-14)
	s.send(t, want)
	got, _ := readFrames(t, p, 1, 3*time.Second)
	if !bytes.Equal(got[0], want) {
		t.Errorf("got a %d-byte frame, want the %d-byte one", len(got[0]), len(want))
	}
	if st := p.Stats(); st.RxDropped != 1 || st.RxPackets != 1 {
		t.Errorf("stats %+v", st)
	}
}

// veth has no zero-copy support: Open fails, says so, and leaves nothing
// behind.
func TestZeroCopyRefusedCleanly(t *testing.T) {
	requireRoot(t)
	ns := newNetns(t)
	host, _ := newVeth(t, ns)
	p, err := Open(host, Config{ZeroCopy: true})
	if err == nil {
		p.Close()
		t.Skip("this kernel's veth takes zero-copy sockets")
	}
	t.Logf("Open with ZeroCopy: %v", err)
	if xdpAttached(t, host) {
		t.Fatal("XDP program left attached after a failed Open")
	}
	p, err = Open(host, Config{})
	if err != nil {
		t.Fatalf("Open after a failed Open: %v", err)
	}
	p.Close()
}
