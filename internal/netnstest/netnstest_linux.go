package netnstest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// Require skips t unless it runs as root with the ip command available.
func Require(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("netnstest: skipping, needs root to create network namespaces and veth pairs")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("netnstest: skipping, the ip command (iproute2) is not on PATH")
	}
}

// RequireCommand skips t unless the named program is on PATH.
func RequireCommand(t testing.TB, prog, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(prog); err != nil {
		t.Skipf("netnstest: skipping, %s not found on PATH (install %s)", prog, pkg)
	}
}

// NS is a network namespace made for a test.
type NS struct {
	// Name is the namespace's name, as `ip netns` knows it.
	Name string
	t    testing.TB
	h    netns.NsHandle
}

var seq atomic.Int32

// New creates a network namespace that is deleted when the test ends.
func New(t testing.TB) *NS {
	t.Helper()
	Require(t)
	name := fmt.Sprintf("dpt%d-%d", os.Getpid(), seq.Add(1))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	ns := &NS{Name: name, t: t}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	h, err := netns.GetFromName(name)
	if err != nil {
		t.Fatalf("open namespace %s: %v", name, err)
	}
	ns.h = h
	t.Cleanup(func() { h.Close() })
	ns.Exec("sh", "-c", "for f in all default lo; do "+
		"p=/proc/sys/net/ipv6/conf/$f/disable_ipv6; [ -e $p ] && echo 1 > $p; done; true")
	ns.IP("link", "set", "lo", "up")
	return ns
}

// IP runs `ip -n NAME args...` and fails the test if it fails.
func (ns *NS) IP(args ...string) string {
	ns.t.Helper()
	out, err := ns.TryIP(args...)
	if err != nil {
		ns.t.Fatal(err)
	}
	return out
}

// TryIP runs `ip -n NAME args...` and returns its output and error.
func (ns *NS) TryIP(args ...string) (string, error) {
	a := append([]string{"-n", ns.Name}, args...)
	out, err := exec.Command("ip", a...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ip %s: %v: %s", strings.Join(a, " "), err, out)
	}
	return string(out), nil
}

// Exec runs a command in the namespace (`ip netns exec`) and fails the test
// if it fails or runs longer than a minute.
func (ns *NS) Exec(args ...string) string {
	ns.t.Helper()
	out, err := ns.TryExec(time.Minute, args...)
	if err != nil {
		ns.t.Fatal(err)
	}
	return out
}

// TryExec runs a command in the namespace, killing it after timeout, and
// returns its combined output and error.
func (ns *NS) TryExec(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	a := append([]string{"netns", "exec", ns.Name}, args...)
	out, err := exec.CommandContext(ctx, "ip", a...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ip %s: %v: %s", strings.Join(a, " "), err, out)
	}
	return string(out), nil
}

// Start starts a command in the namespace in the background. It is killed
// by its PID when the test ends (before the namespace is deleted) if it is
// still running. `ip netns exec` replaces itself with the command, so the
// PID is the command's.
func (ns *NS) Start(args ...string) *exec.Cmd {
	ns.t.Helper()
	a := append([]string{"netns", "exec", ns.Name}, args...)
	cmd := exec.Command("ip", a...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		ns.t.Fatalf("start %v: %v", args, err)
	}
	pid := cmd.Process.Pid
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	ns.t.Cleanup(func() {
		select {
		case <-done:
		default:
			if p, err := os.FindProcess(pid); err == nil {
				p.Kill()
			}
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				ns.t.Errorf("process %d (%v) did not exit after SIGKILL", pid, args)
			}
		}
		if ns.t.Failed() {
			ns.t.Logf("output of %v:\n%s", args, out.String())
		}
	})
	return cmd
}

// Do runs f on a new OS thread that has entered the namespace, and returns
// f's error. Sockets f opens stay in the namespace whatever goroutine uses
// them later. The thread is discarded afterwards rather than switched back.
func (ns *NS) Do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		// The thread is never unlocked: it exits with the goroutine,
		// so no other goroutine ever runs in the namespace.
		runtime.LockOSThread()
		if err := netns.Set(ns.h); err != nil {
			errc <- fmt.Errorf("enter namespace %s: %w", ns.Name, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// Veth creates a veth pair, end aName in namespace a and end bName in
// namespace b, sets both up and waits until both can carry frames (see
// WaitUp). The pair goes away with the namespaces.
func Veth(t testing.TB, a *NS, aName string, b *NS, bName string) {
	t.Helper()
	a.IP("link", "add", "name", aName, "type", "veth", "peer", "name", bName, "netns", b.Name)
	a.IP("link", "set", aName, "up")
	b.IP("link", "set", bName, "up")
	a.WaitUp(aName)
	b.WaitUp(bName)
}

// WaitUp waits until the interface's operational state is up, failing the
// test after 10 seconds.
//
// An interface that gains its carrier after it was set up (a veth end
// whose peer comes up later) drops what is sent through it until the
// kernel's link watch has seen the carrier and activated its transmit
// queue, which it does right after it sets the operational state; WaitUp
// waits for that state and a little longer.
func (ns *NS) WaitUp(ifname string) {
	ns.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := ns.TryIP("-o", "link", "show", "dev", ifname)
		if err == nil && strings.Contains(out, " state UP ") {
			time.Sleep(20 * time.Millisecond)
			return
		}
		if time.Now().After(deadline) {
			ns.t.Fatalf("%s in %s not up after 10s: %v %s", ifname, ns.Name, err, out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
