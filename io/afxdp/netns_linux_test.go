package afxdp

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// requireRoot skips the test unless it can create network namespaces and
// attach XDP programs.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the test creates network namespaces and veth pairs and attaches XDP programs")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs the ip command (iproute2) to create network namespaces and veth pairs")
	}
	fd, err := unix.Socket(unix.AF_XDP, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Skipf("the kernel refuses AF_XDP sockets: %v", err)
	}
	unix.Close(fd)
}

var nameSeq atomic.Int32

// uniq returns a short name unique to this process and call, for
// interfaces (at most 15 bytes) and namespaces.
func uniq(prefix string) string {
	return fmt.Sprintf("%s%d-%d", prefix, os.Getpid()%100000, nameSeq.Add(1))
}

func run(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// newNetns creates a network namespace, deleted when the test ends.
func newNetns(t *testing.T) string {
	t.Helper()
	ns := uniq("afxdp")
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	run(t, "ip", "netns", "add", ns)
	return ns
}

// newVeth creates a veth pair with one end (returned first) in this
// namespace and the other in ns, both up, with IPv6 off so that the
// kernel sends nothing of its own. The links are deleted when the test
// ends.
func newVeth(t *testing.T, ns string) (host, peer string) {
	t.Helper()
	host, peer = uniq("xh"), uniq("xp")
	t.Cleanup(func() { exec.Command("ip", "link", "del", host).Run() })
	// One queue each way, so that every frame arrives on the queue the
	// port is bound to.
	run(t, "ip", "link", "add", host, "numtxqueues", "1", "numrxqueues", "1", "type", "veth",
		"peer", "name", peer, "numtxqueues", "1", "numrxqueues", "1", "netns", ns)
	os.WriteFile("/proc/sys/net/ipv6/conf/"+host+"/disable_ipv6", []byte("1"), 0)
	run(t, "ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf."+peer+".disable_ipv6=1")
	run(t, "ip", "link", "set", host, "up")
	run(t, "ip", "-n", ns, "link", "set", peer, "up")
	run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	return host, peer
}

// inNetns runs f on an OS thread that has entered namespace ns.
func inNetns(t *testing.T, ns string, f func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is left locked (and so discarded when the
		// goroutine ends) unless it returns to its namespace.
		self, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer self.Close()
		target, err := os.Open("/var/run/netns/" + ns)
		if err != nil {
			errc <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		err = f()
		if unix.Setns(int(self.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	if err := <-errc; err != nil {
		t.Fatalf("in namespace %s: %v", ns, err)
	}
}

// packetSocket is a raw AF_PACKET socket bound to an interface inside a
// namespace.
type packetSocket struct {
	fd  int
	mac net.HardwareAddr
}

const testEtherType = 0x88b5 // IEEE 802 local experimental

func openPacketSocket(t *testing.T, ns, ifname string) *packetSocket {
	t.Helper()
	s := &packetSocket{fd: -1}
	inNetns(t, ns, func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		s.mac = ifi.HardwareAddr
		proto := int(htons(testEtherType))
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			return err
		}
		s.fd = fd
		// Room for every frame a test writes before reading them.
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 4<<20); err != nil {
			return err
		}
		tv := unix.Timeval{Usec: 100000}
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(testEtherType), Ifindex: ifi.Index})
	})
	t.Cleanup(func() { unix.Close(s.fd) })
	return s
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func (s *packetSocket) send(t *testing.T, frame []byte) {
	t.Helper()
	if _, err := unix.Write(s.fd, frame); err != nil {
		t.Fatalf("AF_PACKET send: %v", err)
	}
}

// recv returns the next frame of the test ether type, or nil if none
// arrives before the deadline.
func (s *packetSocket) recv(deadline time.Time) []byte {
	buf := make([]byte, 9216)
	for time.Now().Before(deadline) {
		n, from, err := unix.Recvfrom(s.fd, buf, 0)
		if err != nil {
			continue
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		if n >= 14 && buf[12] == testEtherType>>8 && buf[13] == testEtherType&0xff {
			return append([]byte(nil), buf[:n]...)
		}
	}
	return nil
}

// testFrame returns an Ethernet frame of the test ether type from src to
// dst carrying seq and n bytes of a pattern.
func testFrame(dst, src net.HardwareAddr, seq, n int) []byte {
	f := make([]byte, 14+n)
	copy(f, dst)
	copy(f[6:], src)
	f[12], f[13] = testEtherType>>8, testEtherType&0xff
	for i := range n {
		f[14+i] = byte(seq*7 + i)
	}
	if n >= 2 {
		f[14], f[15] = byte(seq>>8), byte(seq)
	}
	return f
}

func isTestFrame(b []byte) bool {
	return len(b) >= 14 && b[12] == testEtherType>>8 && b[13] == testEtherType&0xff
}

func containsFrame(list [][]byte, f []byte) bool {
	for _, g := range list {
		if bytes.Equal(g, f) {
			return true
		}
	}
	return false
}
