package afpacket_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/b7cafead/datapath/internal/testpkt"
	dpio "github.com/b7cafead/datapath/io"
	"github.com/b7cafead/datapath/io/afpacket"
)

const wait = 5 * time.Second // longest a test waits for a frame

func TestOpenErrors(t *testing.T) {
	_, err := afpacket.Open("dpt-no-such0", afpacket.Config{})
	if err == nil || !strings.Contains(err.Error(), `"dpt-no-such0"`) {
		t.Errorf("Open of a missing interface: %v, want an error naming it", err)
	}
	_, err = afpacket.Open("lo", afpacket.Config{BlockSize: 1000})
	if err == nil || !strings.Contains(err.Error(), "page size") {
		t.Errorf("Open with BlockSize 1000: %v, want a page size error", err)
	}
	_, err = afpacket.Open("lo", afpacket.Config{NumBlocks: -1})
	if err == nil {
		t.Errorf("Open with NumBlocks -1 succeeded")
	}
}

// Frames sent by a peer are read byte for byte, from a 14-byte header to
// a 9000-byte jumbo frame, with their receive time.
func TestReceive(t *testing.T) {
	p := newPair(t, afpacket.Config{})
	p.ns.IP("link", "set", "va", "mtu", "9000")
	p.ns.IP("link", "set", "vb", "mtu", "9000")
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int{14, 60, 64, 100, 1514, 4000, 9014}
	var sent [][]byte
	for i, n := range sizes {
		sent = append(sent, frame(rng, n, uint32(i)))
	}
	// One frame read directly: its receive time and headroom.
	before := time.Now().UnixNano()
	first := frame(rng, 60, 99)
	p.peer.send(first)
	batch := dpio.NewBatch(1)
	if n, err := p.port.Read(batch); n != 1 || err != nil || !equal(batch[0].Bytes(), first) {
		t.Fatalf("Read = %d, %v", n, err)
	}
	if ts := batch[0].Timestamp; ts < before || ts > time.Now().UnixNano() {
		t.Errorf("Timestamp %d is not the receive time (after %d)", ts, before)
	}
	if h := batch[0].Headroom(); h != dpio.DefaultHeadroom {
		t.Errorf("headroom %d, want %d", h, dpio.DefaultHeadroom)
	}

	c := pump(t, p.port)
	p.peer.send(sent...)
	bytes := uint64(len(first))
	for i, want := range sent {
		got := next(t, c, wait, "frame")
		if !equal(got, want) {
			t.Fatalf("frame %d (%d bytes) read differs: %s", i, len(want), hexDiff(got, want))
		}
		bytes += uint64(len(want))
	}
	quiet(t, c, 50*time.Millisecond, "after the frames sent")
	s := p.port.Stats()
	if s.RxPackets != uint64(len(sent)+1) || s.RxBytes != bytes || s.RxErrors != 0 || s.RxDropped != 0 {
		t.Errorf("stats %+v, want %d packets, %d bytes, no errors or drops", s, len(sent)+1, bytes)
	}
}

func equal(a, b []byte) bool { return bytes.Equal(a, b) }

// A Write of more frames than one sendmmsg batch sends them all in order,
// byte for byte; an empty and an oversized frame are counted as errors and
// the rest still go.
func TestSend(t *testing.T) {
	p := newPair(t, afpacket.Config{BatchSize: 16})
	rng := rand.New(rand.NewPCG(3, 4))
	var want [][]byte
	batch := dpio.NewBatch(42)
	for i, pk := range batch {
		var f []byte
		switch i {
		case 7: // empty
		case 20: // larger than the MTU allows
			f = frame(rng, 2000, uint32(i))
		default:
			f = frame(rng, 60+rng.IntN(1455), uint32(i))
			want = append(want, f)
		}
		pk.SetBytes(f)
	}
	n, err := p.port.Write(batch)
	if n != len(batch) || err != nil {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(batch))
	}
	var bytes uint64
	for i, w := range want {
		got := p.peer.recv(wait)
		if !equal(got, w) {
			t.Fatalf("frame %d received differs: %s", i, hexDiff(got, w))
		}
		bytes += uint64(len(w))
	}
	if extra := p.peer.recv(50 * time.Millisecond); extra != nil {
		t.Errorf("peer received an extra frame of %d bytes", len(extra))
	}
	s := p.port.Stats()
	if s.TxPackets != uint64(len(want)) || s.TxBytes != bytes || s.TxErrors != 2 || s.TxDropped != 0 {
		t.Errorf("stats %+v, want %d packets, %d bytes, 2 errors", s, len(want), bytes)
	}
}

// Frames that are waiting are read in batches: all of them by one Read
// when the batch is large enough, in order across Reads when it is not.
func TestBatchRead(t *testing.T) {
	p := newPair(t, afpacket.Config{})
	rng := rand.New(rand.NewPCG(5, 6))
	var sent [][]byte
	for i := range 20 {
		sent = append(sent, frame(rng, 64+i*50, uint32(i)))
	}
	p.peer.send(sent...)
	time.Sleep(100 * time.Millisecond) // many block timeouts: all handed over
	batch := dpio.NewBatch(32)
	n, err := p.port.Read(batch)
	if err != nil || n != len(sent) {
		t.Fatalf("Read = %d, %v; want all %d frames in one batch", n, err, len(sent))
	}
	for i := range n {
		if !equal(batch[i].Bytes(), sent[i]) {
			t.Fatalf("frame %d differs: %s", i, hexDiff(batch[i].Bytes(), sent[i]))
		}
	}

	p.peer.send(sent...)
	time.Sleep(100 * time.Millisecond)
	small := dpio.NewBatch(8)
	var sizes []int
	k := 0
	for k < len(sent) {
		n, err := p.port.Read(small)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, n)
		for i := range n {
			if !equal(small[i].Bytes(), sent[k]) {
				t.Fatalf("frame %d differs: %s", k, hexDiff(small[i].Bytes(), sent[k]))
			}
			k++
		}
	}
	if len(sizes) != 3 || sizes[0] != 8 || sizes[1] != 8 || sizes[2] != 4 {
		t.Errorf("batches of 8 read %v frames, want [8 8 4]", sizes)
	}
}

// What the port sends is not read back by it (PACKET_IGNORE_OUTGOING).
func TestIgnoreOutgoing(t *testing.T) {
	p := newPair(t, afpacket.Config{})
	c := pump(t, p.port)
	rng := rand.New(rand.NewPCG(7, 8))
	batch := dpio.NewBatch(10)
	for i, pk := range batch {
		pk.SetBytes(frame(rng, 100, uint32(i)))
	}
	if _, err := p.port.Write(batch); err != nil {
		t.Fatal(err)
	}
	for i := range batch {
		if p.peer.recv(wait) == nil {
			t.Fatalf("the peer did not receive frame %d", i)
		}
	}
	marker := frame(rng, 80, 1000)
	p.peer.send(marker)
	got := next(t, c, wait, "marker")
	if !equal(got, marker) {
		t.Fatalf("first frame read is not the peer's marker but %d bytes: % x", len(got), got[:min(len(got), 18)])
	}
	quiet(t, c, 100*time.Millisecond, "after the marker")
}

// The kernel removes the outer VLAN tag of a received frame into the
// ring's metadata; Read puts it back with its TPID and its priority bits.
func TestVLANTagReinserted(t *testing.T) {
	p := newPair(t, afpacket.Config{Headroom: 64})
	if _, err := exec.LookPath("ethtool"); err == nil {
		p.ns.TryExec(wait, "ethtool", "-K", "va", "rxvlan", "on")
	}
	// A plain packet socket on va sees what the kernel hands over.
	plain := openRaw(t, p.ns, "va").auxdata()
	c := pump(t, p.port)

	base := testpkt.UDP(testpkt.Frame{IPSrc: "10.77.0.1", IPDst: "10.77.0.2", SrcPort: 1, DstPort: 2, Payload: []byte("tagged")})
	tag := func(f []byte, tpid, tci uint16) []byte {
		out := append([]byte(nil), f[:12]...)
		out = binary.BigEndian.AppendUint16(out, tpid)
		out = binary.BigEndian.AppendUint16(out, tci)
		return append(out, f[12:]...)
	}
	cases := []struct {
		name  string
		frame []byte
	}{
		{"802.1Q vid 100 pcp 5", tag(base, 0x8100, 5<<13|100)},
		{"802.1Q priority tag (vid 0, pcp 3)", tag(base, 0x8100, 3<<13)},
		{"802.1ad over 802.1Q (QinQ)", tag(tag(base, 0x8100, 200), 0x88a8, 7<<13|1<<12|4000)},
		{"untagged", base},
	}
	for _, tc := range cases {
		p.peer.send(tc.frame)
		got := next(t, c, wait, tc.name)
		if !equal(got, tc.frame) {
			t.Errorf("%s: read differs from what was sent: %s\n got % x\nwant % x", tc.name, hexDiff(got, tc.frame), got[:20], tc.frame[:20])
		}
		// The premise: the kernel hands the frame over without its
		// outer tag.
		seen, stripped := plain.recvAux(wait)
		if stripped != (tc.name != "untagged") || !equal(seen, tc.frame) {
			t.Errorf("%s: a plain packet socket saw the tag removed: %v; frame with the tag from its auxiliary data: %s",
				tc.name, stripped, hexDiff(seen, tc.frame))
		}
	}

	// Headroom: a re-tagged frame starts at the configured headroom too.
	batch := dpio.NewBatch(1)
	c2 := newPair(t, afpacket.Config{Headroom: 64})
	c2.peer.send(cases[0].frame)
	if n, err := c2.port.Read(batch); n != 1 || err != nil {
		t.Fatal(n, err)
	}
	if h := batch[0].Headroom(); h != 64 || c2.port.Info().Headroom != 64 {
		t.Errorf("tagged frame read with headroom %d (Info says %d), want 64", h, c2.port.Info().Headroom)
	}
	if !equal(batch[0].Bytes(), cases[0].frame) {
		t.Errorf("tagged frame differs: %s", hexDiff(batch[0].Bytes(), cases[0].frame))
	}
	// A buffer too small for the frame with its tag: an error, not a
	// truncated frame.
	tiny := dpio.NewBatchSize(2, 64, len(cases[0].frame)-2)
	c2.peer.send(cases[0].frame, base)
	n, err := c2.port.Read(tiny)
	if err != nil || n != 1 || !equal(tiny[0].Bytes(), base) {
		t.Errorf("Read into small buffers = %d, %v; want only the untagged frame", n, err)
	}
	if s := c2.port.Stats(); s.RxErrors != 1 {
		t.Errorf("RxErrors %d, want 1 for the frame that did not fit", s.RxErrors)
	}
}

// Close from another goroutine makes a blocked Read return net.ErrClosed
// promptly; Read, Write after Close return it too.
func TestCloseUnblocksRead(t *testing.T) {
	p := newPair(t, afpacket.Config{})
	errc := make(chan error, 1)
	go func() {
		_, err := p.port.Read(dpio.NewBatch(4))
		errc <- err
	}()
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-errc:
		t.Fatalf("Read returned before Close: %v", err)
	default:
	}
	start := time.Now()
	if err := p.port.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("blocked Read returned %v, want net.ErrClosed", err)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("Read returned %v after Close", d)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Read still blocked 2s after Close")
	}
	if _, err := p.port.Read(dpio.NewBatch(1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after Close: %v", err)
	}
	if _, err := p.port.Write(dpio.NewBatch(1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
	if err := p.port.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if p.port.Info().LinkUp {
		t.Error("Info after Close says the link is up")
	}
	_ = p.port.Stats()
}

// Two ports in one fanout group share the frames of their interface, each
// frame read by exactly one of them.
func TestFanout(t *testing.T) {
	for _, mode := range []afpacket.FanoutMode{afpacket.FanoutLB, afpacket.FanoutHash} {
		t.Run(mode.String(), func(t *testing.T) {
			p := newPair(t, afpacket.Config{Fanout: &afpacket.Fanout{Group: 7, Mode: mode}})
			q := openPort(t, p.ns, "va", afpacket.Config{Fanout: &afpacket.Fanout{Group: 7, Mode: mode}})
			const total = 200
			var sent [][]byte
			for i := range total {
				// Distinct UDP flows, so that the hash spreads them.
				f := testpkt.UDP(testpkt.Frame{IPSrc: "10.78.0.1", IPDst: "10.78.0.2",
					SrcPort: uint16(10000 + i), DstPort: 7, Payload: []byte{byte(i >> 8), byte(i)}})
				sent = append(sent, f)
			}
			var mu sync.Mutex
			seen := map[string]int{}
			counts := [2]int{}
			var wg sync.WaitGroup
			for i, port := range []*afpacket.Port{p.port, q} {
				c := pump(t, port)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for f := range c {
						mu.Lock()
						seen[string(f)]++
						counts[i]++
						mu.Unlock()
					}
				}()
			}
			p.peer.send(sent...)
			eventually(t, wait, "all frames read", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return counts[0]+counts[1] >= total
			})
			time.Sleep(50 * time.Millisecond)
			p.port.Close()
			q.Close()
			wg.Wait()
			t.Logf("%v: port 1 read %d frames, port 2 read %d", mode, counts[0], counts[1])
			if counts[0]+counts[1] != total {
				t.Errorf("read %d frames in all, want %d", counts[0]+counts[1], total)
			}
			for _, f := range sent {
				if seen[string(f)] != 1 {
					t.Fatalf("a frame was read %d times, want once", seen[string(f)])
				}
			}
			if mode == afpacket.FanoutLB && (counts[0] != total/2 || counts[1] != total/2) {
				t.Errorf("round robin split %v, want %d each", counts, total/2)
			}
			if counts[0] == 0 || counts[1] == 0 {
				t.Errorf("split %v: one port read nothing", counts)
			}
		})
	}
}

// Info follows the interface: carrier lost and regained through the peer,
// the interface itself set down and up, MTU and address changes. After
// an administrative down and up the port still receives.
func TestLinkState(t *testing.T) {
	p := newPair(t, afpacket.Config{})
	link := func() string { return p.ns.IP("-br", "link", "show", "va") }
	info := p.port.Info()
	if info.Name != "va" || info.MTU != 1500 || !info.LinkUp || info.Headroom != dpio.DefaultHeadroom {
		t.Errorf("Info %+v, want va, MTU 1500, link up", info)
	}
	if !strings.Contains(link(), info.MAC.String()) {
		t.Errorf("Info MAC %v is not in %q", info.MAC, link())
	}
	up := func(want bool, what string) {
		t.Helper()
		eventually(t, wait, what, func() bool { return p.port.Info().LinkUp == want })
	}
	p.ns.IP("link", "set", "vb", "down")
	up(false, "link down after the peer went down")
	p.ns.IP("link", "set", "vb", "up")
	up(true, "link up after the peer came up")
	p.ns.WaitUp("vb")

	p.ns.IP("link", "set", "va", "mtu", "1400")
	p.ns.IP("link", "set", "va", "address", "02:00:00:00:12:34")
	info = p.port.Info()
	if info.MTU != 1400 || info.MAC.String() != "02:00:00:00:12:34" {
		t.Errorf("after changes Info says MTU %d, MAC %v", info.MTU, info.MAC)
	}

	c := pump(t, p.port)
	p.ns.IP("link", "set", "va", "down")
	up(false, "link down after the interface went down")
	// While the interface is down the port sends nothing.
	batch := dpio.NewBatch(1)
	batch[0].SetBytes(frame(rand.New(rand.NewPCG(1, 1)), 60, 1))
	if n, err := p.port.Write(batch); n != 1 || err != nil {
		t.Errorf("Write while down = %d, %v", n, err)
	}
	if s := p.port.Stats(); s.TxErrors != 1 {
		t.Errorf("Write while down: TxErrors %d, want 1", s.TxErrors)
	}
	p.ns.IP("link", "set", "va", "up")
	up(true, "link up after the interface came up")
	p.ns.WaitUp("vb")
	// The first frames after the carrier returns may be lost on the way
	// (the peer's transmit queue is activated asynchronously): send
	// until one is read.
	f := frame(rand.New(rand.NewPCG(9, 9)), 70, 5)
	for try := 0; ; try++ {
		p.peer.send(f)
		select {
		case got := <-c:
			if !equal(got, f) {
				t.Errorf("frame after down and up differs: %s", hexDiff(got, f))
			}
			return
		case <-time.After(100 * time.Millisecond):
			if try == 50 {
				t.Fatal("nothing read in 5s after the interface went down and up")
			}
		}
	}
}

// Frames the kernel had no ring room for are counted in RxDropped, and
// with the frames read they account for every frame sent.
func TestKernelDrops(t *testing.T) {
	p := newPair(t, afpacket.Config{BlockSize: 4096, NumBlocks: 2})
	rng := rand.New(rand.NewPCG(11, 12))
	const total = 300
	for i := range total {
		p.peer.send(frame(rng, 1000, uint32(i)))
	}
	time.Sleep(100 * time.Millisecond)
	dropped := p.port.Stats().RxDropped
	if dropped == 0 {
		t.Fatalf("no drops counted after %d frames into a 2-block ring", total)
	}
	c := pump(t, p.port)
	read := 0
	for read+int(dropped) < total {
		next(t, c, wait, "the frames the ring kept")
		read++
	}
	quiet(t, c, 100*time.Millisecond, "after the frames the ring kept")
	s := p.port.Stats()
	t.Logf("%d frames read, %d dropped by the kernel", read, s.RxDropped)
	if s.RxDropped+uint64(read) != total || s.RxPackets != uint64(read) {
		t.Errorf("stats %+v with %d read: read + dropped != %d", s, read, total)
	}
}

// Reading and writing batches allocates nothing.
func TestNoAllocs(t *testing.T) {
	p := newPair(t, afpacket.Config{})
	rng := rand.New(rand.NewPCG(13, 14))
	batch := dpio.NewBatch(32)
	for i, pk := range batch {
		pk.SetBytes(frame(rng, 64, uint32(i)))
	}
	if n := testing.AllocsPerRun(100, func() { p.port.Write(batch) }); n != 0 {
		t.Errorf("Write allocates %.1f times a batch", n)
	}
	const runs = 50
	for range (runs + 1) * len(batch) {
		p.peer.send(batch[0].Bytes())
	}
	time.Sleep(100 * time.Millisecond)
	in := dpio.NewBatch(32)
	if n := testing.AllocsPerRun(runs, func() { p.port.Read(in) }); n != 0 {
		t.Errorf("Read allocates %.1f times a batch", n)
	}
}
