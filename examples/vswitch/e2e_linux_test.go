package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/b7cafead/datapath/internal/netnstest"
)

// lockedBuffer is an output buffer the child process and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildOut  []byte
)

// build builds the vswitch binary once per test run.
func build(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vswitch-test-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "vswitch")
		buildOut, buildErr = exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, buildOut)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// Two hosts, each in its own namespace, with a veth to a third namespace
// where vswitch runs as a process with the switch ends as its ports:
//
//	ns1 eth0 (10.232.0.1) -- sw1 [port 1]  vswitch  [port 2] sw2 -- ns2 eth0 (10.232.0.2)
//
// Ping and a TCP transfer (iperf3) must work between the hosts through the
// learning switch, and SIGINT must make vswitch print counters that show
// the packets and exit 0.
func TestSwitchEndToEnd(t *testing.T) {
	for _, backend := range []string{"afpacket", "afxdp"} {
		t.Run(backend, func(t *testing.T) { testSwitch(t, backend, "") })
	}
	// A flow file's flows are installed first and take precedence: here
	// ARP crosses by a fixed flow, the rest by learned flows.
	t.Run("afpacket-flows", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "flows.txt")
		err := os.WriteFile(file, []byte("# ARP both ways\n"+
			"in_port(1),eth(),eth_type(0x0806),arp() 2\n"+
			"in_port(2),eth(),eth_type(0x0806),arp() 1\n"), 0o644)
		if err != nil {
			t.Fatal(err)
		}
		sum := testSwitch(t, "afpacket", file)
		// The two ARP flows and the two learned ones.
		if !strings.Contains(sum, "flows: 4\n") {
			t.Errorf("summary does not show 4 flows (2 from the file, 2 learned)")
		}
	})
}

// testSwitch runs vswitch between two hosts, pings, stops it and returns
// its summary.
func testSwitch(t *testing.T, backend, flowsFile string) string {
	netnstest.Require(t)
	netnstest.RequireCommand(t, "ping", "iputils-ping")
	bin := build(t)
	sw, ns1, ns2 := netnstest.New(t), netnstest.New(t), netnstest.New(t)
	netnstest.Veth(t, ns1, "eth0", sw, "sw1")
	netnstest.Veth(t, ns2, "eth0", sw, "sw2")
	_, ethtoolErr := exec.LookPath("ethtool")
	for i, ns := range []*netnstest.NS{ns1, ns2} {
		ns.IP("addr", "add", "10.232.0."+strconv.Itoa(i+1)+"/24", "dev", "eth0")
		if ethtoolErr == nil {
			// Frames cross a userspace switch: they must carry their
			// checksums (see io/afpacket's documentation).
			ns.Exec("ethtool", "-K", "eth0", "tx", "off", "tso", "off", "gso", "off")
		}
	}

	args := []string{"netns", "exec", sw.Name, bin, "-port", backend + ":sw1", "-port", backend + ":sw2"}
	if flowsFile != "" {
		args = append(args, "-flows", flowsFile)
	}
	cmd := exec.Command("ip", args...)
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// `ip netns exec` replaces itself with vswitch: the PID is vswitch's.
	pid := cmd.Process.Pid
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	exited := false
	t.Cleanup(func() {
		if !exited {
			syscall.Kill(pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("vswitch stderr:\n%s\nvswitch stdout:\n%s", stderr.String(), stdout.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), "vswitch: ready") {
		select {
		case err := <-done:
			exited = true
			t.Fatalf("vswitch exited before it was ready: %v\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("vswitch not ready after 10s:\n%s", stderr.String())
		}
	}

	out, err := ns1.TryExec(30*time.Second, "ping", "-c", "3", "-i", "0.2", "-W", "5", "10.232.0.2")
	if err != nil {
		t.Fatalf("ping from ns1 to ns2 through vswitch failed: %v", err)
	}
	t.Logf("ping: %s", lastLine(out))
	t.Run("iperf3", func(t *testing.T) {
		if ethtoolErr != nil {
			t.Skip("skipping: ethtool not found on PATH (install ethtool) to turn off the hosts' checksum offload")
		}
		got := netnstest.Iperf3(t, ns2, ns1, "10.232.0.2", 2)
		t.Logf("iperf3 through vswitch on %s: %.1f MB received in 2 s, %.0f Mbit/s", backend, got.Bytes/1e6, got.BitsPerSecond/1e6)
	})

	if err := syscall.Kill(pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	select {
	case err := <-done:
		exited = true
		if err != nil {
			t.Fatalf("vswitch after SIGINT: %v", err)
		}
		if el := time.Since(sent); el > time.Second {
			t.Errorf("vswitch took %v to exit after SIGINT, want at most a second", el.Round(time.Millisecond))
		} else {
			t.Logf("exited %v after SIGINT", el.Round(time.Millisecond))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("vswitch did not exit within 5s of SIGINT")
	}
	sum := stdout.String()
	t.Logf("summary:\n%s", sum)
	for _, want := range []string{"port-added port 1 (sw1)", "port-added port 2 (sw2)", "vswitch: ready"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	// Every port received the echo requests or replies and sent the
	// other side's; the learned hosts have flows.
	re := regexp.MustCompile(`(?m)^    (RX|TX) packets:(\d+)`)
	counts := re.FindAllStringSubmatch(sum, -1)
	if len(counts) != 4 {
		t.Fatalf("summary has %d packet counters, want 4 (RX and TX of 2 ports)", len(counts))
	}
	for _, c := range counts {
		if n, _ := strconv.Atoi(c[2]); n < 3 {
			t.Errorf("summary: %s packets:%d, want at least 3", c[1], n)
		}
	}
	if !regexp.MustCompile(`lookups: hit:\d+ missed:[1-9]`).MatchString(sum) {
		t.Errorf("summary shows no misses (the learning slow path saw nothing)")
	}
	if !regexp.MustCompile(`installed: [1-9]`).MatchString(sum) {
		t.Errorf("summary shows no installed flows")
	}
	return sum
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
