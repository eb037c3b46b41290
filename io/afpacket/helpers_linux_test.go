package afpacket_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/b7cafead/datapath/internal/netnstest"
	dpio "github.com/b7cafead/datapath/io"
	"github.com/b7cafead/datapath/io/afpacket"
)

// pair is a namespace with a veth pair va <-> vb: the port under test on
// va, a plain packet socket on vb to send and receive with.
type pair struct {
	ns   *netnstest.NS
	port *afpacket.Port
	peer *rawSock
}

func newPair(t *testing.T, cfg afpacket.Config) *pair {
	t.Helper()
	ns := netnstest.New(t)
	netnstest.Veth(t, ns, "va", ns, "vb")
	return &pair{ns: ns, port: openPort(t, ns, "va", cfg), peer: openRaw(t, ns, "vb")}
}

// openPort opens a port on ifname inside ns, closed when the test ends.
func openPort(t *testing.T, ns *netnstest.NS, ifname string, cfg afpacket.Config) *afpacket.Port {
	t.Helper()
	var p *afpacket.Port
	err := ns.Do(func() (err error) {
		p, err = afpacket.Open(ifname, cfg)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// rawSock is a plain AF_PACKET socket bound to one interface, without a
// ring: the independent party the tests send with and receive on.
type rawSock struct {
	t  *testing.T
	fd int
}

func openRaw(t *testing.T, ns *netnstest.NS, ifname string) *rawSock {
	t.Helper()
	var fd int
	err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
		if err != nil {
			return err
		}
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 4<<20)
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 4<<20)
		proto := binary.NativeEndian.Uint16(binary.BigEndian.AppendUint16(nil, unix.ETH_P_ALL))
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: ifi.Index})
	})
	if err != nil {
		t.Fatalf("raw socket on %s: %v", ifname, err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return &rawSock{t: t, fd: fd}
}

// send transmits frames, waiting for room when the socket has none.
func (r *rawSock) send(frames ...[]byte) {
	r.t.Helper()
	for _, f := range frames {
		for stale := 0; ; {
			_, err := unix.Write(r.fd, f)
			if err == unix.EAGAIN || err == unix.ENOBUFS {
				time.Sleep(time.Millisecond)
				continue
			}
			if err == unix.ENETDOWN && stale == 0 {
				// An error left pending on the socket when an
				// interface went down earlier; reporting it cleared it.
				stale++
				continue
			}
			if err != nil {
				r.t.Fatalf("raw send of %d bytes: %v", len(f), err)
			}
			break
		}
	}
}

// recv returns the next frame that arrived on the interface (frames the
// socket sees leaving are skipped), or nil after timeout.
func (r *rawSock) recv(timeout time.Duration) []byte {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 65536)
	for {
		n, from, err := unix.Recvfrom(r.fd, buf, 0)
		if err == nil {
			if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
				continue
			}
			return append([]byte(nil), buf[:n]...)
		}
		if err != unix.EAGAIN && err != unix.EINTR {
			r.t.Fatalf("raw recv: %v", err)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil
		}
		fds := []unix.PollFd{{Fd: int32(r.fd), Events: unix.POLLIN}}
		unix.Poll(fds, int(left/time.Millisecond)+1)
	}
}

// recvAux is recv for a socket with PACKET_AUXDATA on (see auxdata): the
// VLAN tag the kernel removed from the frame is put back from the
// auxiliary data, so the frame is returned as it was on the wire. tagged
// says whether the kernel had removed a tag.
func (r *rawSock) recvAux(timeout time.Duration) (f []byte, tagged bool) {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 65536)
	oob := make([]byte, 256)
	for {
		n, oobn, _, from, err := unix.Recvmsg(r.fd, buf, oob, 0)
		if err == nil {
			if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
				continue
			}
			f = append([]byte(nil), buf[:n]...)
			msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
			if err != nil {
				r.t.Fatalf("control messages: %v", err)
			}
			for _, m := range msgs {
				if m.Header.Level != unix.SOL_PACKET || m.Header.Type != unix.PACKET_AUXDATA || len(m.Data) < int(unsafe.Sizeof(unix.TpacketAuxdata{})) {
					continue
				}
				aux := (*unix.TpacketAuxdata)(unsafe.Pointer(&m.Data[0]))
				if aux.Status&unix.TP_STATUS_VLAN_VALID == 0 || len(f) < 12 {
					continue
				}
				tpid := uint16(0x8100)
				if aux.Status&unix.TP_STATUS_VLAN_TPID_VALID != 0 {
					tpid = aux.Vlan_tpid
				}
				tag := binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, tpid), aux.Vlan_tci)
				f = append(f[:12:12], append(tag, f[12:]...)...)
				tagged = true
			}
			return f, tagged
		}
		if err != unix.EAGAIN && err != unix.EINTR {
			r.t.Fatalf("raw recv: %v", err)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, false
		}
		fds := []unix.PollFd{{Fd: int32(r.fd), Events: unix.POLLIN}}
		unix.Poll(fds, int(left/time.Millisecond)+1)
	}
}

// auxdata turns PACKET_AUXDATA on, for recvAux.
func (r *rawSock) auxdata() *rawSock {
	if err := unix.SetsockoptInt(r.fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1); err != nil {
		r.t.Fatalf("PACKET_AUXDATA: %v", err)
	}
	return r
}

// frame returns an Ethernet frame of n bytes (at least 14) with a local
// experimental EtherType, the sequence number seq after the header and
// random bytes after that.
func frame(rng *rand.Rand, n int, seq uint32) []byte {
	f := make([]byte, n)
	copy(f, []byte{0x02, 0, 0, 0, 0, 0xbb, 0x02, 0, 0, 0, 0, 0xaa, 0x88, 0xb5})
	for i := 14; i < n; i++ {
		f[i] = byte(rng.Uint32())
	}
	if n >= 18 {
		binary.BigEndian.PutUint32(f[14:], seq)
	}
	return f
}

// pump reads the port on its own goroutine until it is closed and delivers
// a copy of every frame read.
func pump(t *testing.T, p *afpacket.Port) <-chan []byte {
	c := make(chan []byte, 4096)
	batch := dpio.NewBatch(p.BatchSize())
	go func() {
		defer close(c)
		for {
			n, err := p.Read(batch)
			for _, pk := range batch[:n] {
				c <- append([]byte(nil), pk.Bytes()...)
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				t.Errorf("Read: %v", err)
				return
			}
		}
	}()
	return c
}

// next returns the next frame from c, or fails the test after timeout.
func next(t *testing.T, c <-chan []byte, timeout time.Duration, what string) []byte {
	t.Helper()
	select {
	case f, ok := <-c:
		if !ok {
			t.Fatalf("%s: port closed", what)
		}
		return f
	case <-time.After(timeout):
		t.Fatalf("%s: nothing read in %v", what, timeout)
	}
	return nil
}

// quiet fails the test if c delivers a frame within d.
func quiet(t *testing.T, c <-chan []byte, d time.Duration, what string) {
	t.Helper()
	select {
	case f := <-c:
		t.Fatalf("%s: read an unexpected frame of %d bytes: % x", what, len(f), f[:min(len(f), 32)])
	case <-time.After(d):
	}
}

// eventually polls cond every 10 ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not so after %v", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func hexDiff(got, want []byte) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("lengths %d and %d, first difference at byte %d: got % x want % x",
				len(got), len(want), i, got[i:min(i+8, len(got))], want[i:min(i+8, len(want))])
		}
	}
	return fmt.Sprintf("lengths %d and %d", len(got), len(want))
}
