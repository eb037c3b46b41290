//go:build linux

// Package ovsdummy runs a private Open vSwitch 3.1 userspace datapath with
// dummy ports, for use as a differential oracle in tests.
//
// Start launches an ovsdb-server and an "ovs-vswitchd --enable-dummy
// --disable-system" whose every file (database, sockets, pid files, logs,
// pcaps) lives in a private temporary directory, so it never touches the
// system's Open vSwitch and several instances can run in parallel. The
// instance has one bridge, br0, with datapath_type=dummy and
// fail-mode=secure, and dummy ports p1..pN. The userspace datapath
// (dpif-netdev, named DatapathName) numbers a dummy port named pN as datapath
// port N; the bridge's own internal ports are datapath ports 0 (ovs-dummy)
// and 100 (br0).
//
// To turn the bridge's datapath into a plain datapath driven only by
// "dpctl/*" commands, Start pauses the ofproto revalidator threads
// ("revalidator/pause"), so flows added with AddFlow are never deleted or
// modified behind the test's back, and sets the ofproto flow limit to 0
// (other_config:flow-limit=0 and "upcall/set-flow-limit 0"), so a packet
// that misses every flow is dropped (the empty OpenFlow table of a secure
// bridge translates to drop) without any flow being installed. Such a miss
// is counted as "lost", not "missed", in the "lookups:" line of dpctl/show,
// because the upcall fails with ENOSPC.
//
// Packets enter with Inject (netdev-dummy/receive) and everything a port
// transmits is written by OVS to that port's tx pcap file, which OVS flushes
// after every packet; TxPackets reads it back. The datapath's main thread
// polls the dummy ports asynchronously, so WaitProcessed waits until every
// injected packet has been handled (TxPackets does so itself).
//
// Control commands go straight to the ovs-vswitchd unixctl socket
// (JSON-RPC, the protocol ovs-appctl speaks), so Appctl returns exactly what
// "ovs-appctl CMD ARGS..." prints on stdout, and on failure an *AppctlError
// whose Text is what ovs-appctl prints on stderr before its own "server
// returned an error" line.
//
// See FINDINGS.md in this directory for how OVS 3.1 formats flows and
// statistics.
package ovsdummy

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"
)

// DatapathName is the name of the userspace datapath that backs the bridge;
// dpctl commands without a datapath argument act on it.
const DatapathName = "dummy@ovs-dummy"

// SchemaPath is the OVS database schema the private database is created
// from.
const SchemaPath = "/usr/share/openvswitch/vswitch.ovsschema"

// MaxPorts is the largest number of dummy ports Start accepts. Datapath port
// 100 is taken by the bridge's internal port br0.
const MaxPorts = 99

// RxQueueLimit is how many injected packets a dummy port queues before the
// datapath polls them (NETDEV_DUMMY_MAX_QUEUE in OVS); netdev-dummy/receive
// silently discards packets beyond it. Inject never exceeds it.
const RxQueueLimit = 100

// Timeouts; every step of the package is bounded by one of them.
const (
	// StartTimeout bounds Start.
	StartTimeout = 20 * time.Second
	// CallTimeout bounds one unixctl command.
	CallTimeout = 10 * time.Second
	// DefaultWaitTimeout bounds the waits inside InjectMany, TxPackets
	// and Reset.
	DefaultWaitTimeout = 10 * time.Second
)

// maxHexPerCall bounds the hex text sent in one netdev-dummy/receive call.
const maxHexPerCall = 512 << 10

// OVS is a running private Open vSwitch instance. Its methods may be called
// from several goroutines.
type OVS struct {
	t      testing.TB
	dir    string
	nports int
	env    []string

	dbCmd, vsCmd   *exec.Cmd
	dbDone, vsDone chan struct{}

	rpcMu sync.Mutex
	rpc   *rpcConn

	mu       sync.Mutex
	injected map[int]uint64 // port -> RX counter value expected once all injected packets are polled
	rxSeen   map[int]uint64 // port -> RX counter value last read
	txMark   map[int]int    // port -> number of leading tx pcap records TxPackets skips

	closeOnce sync.Once
}

// AppctlError is the error a unixctl command returned.
type AppctlError struct {
	// Command is the command and its arguments.
	Command []string
	// Text is the error text exactly as OVS sent it (ovs-appctl prints it
	// on stderr); it usually ends in a newline.
	Text string
}

// Error returns Text without its trailing newline.
func (e *AppctlError) Error() string {
	return strings.TrimRight(e.Text, "\n")
}

// Start runs a private OVS instance with dummy ports 1..nports and registers
// a t.Cleanup that stops it. It skips the test when not running as root or
// when the OVS programs are not installed, and fails it when OVS does not
// come up within StartTimeout.
func Start(t testing.TB, nports int) *OVS {
	t.Helper()
	if nports < 1 || nports > MaxPorts {
		t.Fatalf("ovsdummy: nports %d out of range 1..%d", nports, MaxPorts)
	}
	if os.Geteuid() != 0 {
		t.Skip("ovsdummy: skipping, running OVS (ovs-vswitchd, ovsdb-server) needs root")
	}
	for _, prog := range []string{"ovs-vswitchd", "ovsdb-server", "ovsdb-tool", "ovs-vsctl"} {
		if _, err := exec.LookPath(prog); err != nil {
			t.Skipf("ovsdummy: skipping, %s not found on PATH (install openvswitch-switch)", prog)
		}
	}
	if _, err := os.Stat(SchemaPath); err != nil {
		t.Skipf("ovsdummy: skipping, OVS schema missing: %v", err)
	}

	dir := t.TempDir()
	// Unix socket paths are limited to 108 bytes.
	if len(dir) > 80 {
		short, err := os.MkdirTemp("", "ovsdummy")
		if err != nil {
			t.Fatalf("ovsdummy: %v", err)
		}
		t.Cleanup(func() { os.RemoveAll(short) })
		dir = short
	}
	o := &OVS{
		t:        t,
		dir:      dir,
		nports:   nports,
		injected: make(map[int]uint64),
		rxSeen:   make(map[int]uint64),
		txMark:   make(map[int]int),
	}
	o.env = append(os.Environ(),
		"OVS_RUNDIR="+dir, "OVS_LOGDIR="+dir, "OVS_DBDIR="+dir, "OVS_SYSCONFDIR="+dir)
	t.Cleanup(func() {
		if t.Failed() {
			o.logTail()
		}
		o.Close()
	})
	if err := o.start(time.Now().Add(StartTimeout)); err != nil {
		o.logTail()
		t.Fatalf("ovsdummy: starting OVS in %s: %v", dir, err)
	}
	return o
}

func (o *OVS) path(name string) string { return filepath.Join(o.dir, name) }

func (o *OVS) start(deadline time.Time) error {
	if out, err := o.run(deadline, "ovsdb-tool", "create", o.path("conf.db"), SchemaPath); err != nil {
		return fmt.Errorf("ovsdb-tool create: %v: %s", err, out)
	}
	var err error
	o.dbCmd, o.dbDone, err = o.daemon("ovsdb-server",
		"--no-chdir",
		"--pidfile="+o.path("ovsdb-server.pid"),
		"--log-file="+o.path("ovsdb-server.log"),
		"--remote=punix:"+o.path("db.sock"),
		"--unixctl="+o.path("ovsdb-server.ctl"),
		o.path("conf.db"))
	if err != nil {
		return err
	}
	if err := waitSocket(o.path("db.sock"), o.dbDone, deadline); err != nil {
		return fmt.Errorf("ovsdb-server: %v", err)
	}
	db := "--db=unix:" + o.path("db.sock")
	if out, err := o.run(deadline, "ovs-vsctl", db, "--no-wait", "init",
		"--", "set", "Open_vSwitch", ".", "other_config:flow-limit=0"); err != nil {
		return fmt.Errorf("ovs-vsctl init: %v: %s", err, out)
	}
	o.vsCmd, o.vsDone, err = o.daemon("ovs-vswitchd",
		"--enable-dummy", "--disable-system",
		"--no-chdir",
		"--pidfile="+o.path("ovs-vswitchd.pid"),
		"--log-file="+o.path("ovs-vswitchd.log"),
		"--unixctl="+o.path("ovs-vswitchd.ctl"),
		"unix:"+o.path("db.sock"))
	if err != nil {
		return err
	}
	if err := waitSocket(o.path("ovs-vswitchd.ctl"), o.vsDone, deadline); err != nil {
		return fmt.Errorf("ovs-vswitchd: %v", err)
	}

	// One transaction; without --no-wait ovs-vsctl returns once
	// ovs-vswitchd has applied it, so the ports exist afterwards.
	args := []string{db, "--timeout=" + strconv.Itoa(int(time.Until(deadline).Seconds())+1),
		"add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy", "fail-mode=secure"}
	for i := 1; i <= o.nports; i++ {
		args = append(args,
			"--", "add-port", "br0", portName(i),
			"--", "set", "interface", portName(i), "type=dummy", "options:tx_pcap="+o.PcapPath(i))
	}
	if out, err := o.run(deadline, "ovs-vsctl", args...); err != nil {
		return fmt.Errorf("ovs-vsctl add-br: %v: %s", err, out)
	}

	st, err := o.Stats()
	if err != nil {
		return err
	}
	for i := 1; i <= o.nports; i++ {
		p, ok := st.Ports[i]
		if !ok || p.Name != portName(i) || p.Type != "dummy" {
			return fmt.Errorf("datapath port %d is %+v, want %s (dummy)", i, p, portName(i))
		}
		o.injected[i] = p.RxPackets
		o.rxSeen[i] = p.RxPackets
	}
	for _, cmd := range [][]string{
		{"revalidator/pause"},
		{"upcall/set-flow-limit", "0"},
		{"dpctl/del-flows"},
	} {
		if _, err := o.Appctl(cmd...); err != nil {
			return err
		}
	}
	return nil
}

// run runs a short OVS utility in the private environment.
func (o *OVS) run(deadline time.Time, prog string, args ...string) ([]byte, error) {
	cmd := exec.Command(prog, args...)
	cmd.Env = o.env
	cmd.Dir = o.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.Bytes(), err
	case <-time.After(time.Until(deadline)):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return out.Bytes(), fmt.Errorf("%s timed out", prog)
	}
}

// daemon starts a long-running OVS program in the foreground (no --detach,
// so it stays our child and can be waited for) in its own process group,
// killed by the kernel should the test binary die first (e.g. on a go test
// timeout, when no cleanup runs). Pdeathsig fires when the forking OS thread
// exits; the Go runtime keeps its threads unless a goroutine exits while
// locked to one, which nothing here does.
func (o *OVS) daemon(prog string, args ...string) (*exec.Cmd, chan struct{}, error) {
	stderr, err := os.Create(o.path(prog + ".stderr"))
	if err != nil {
		return nil, nil, err
	}
	defer stderr.Close()
	cmd := exec.Command(prog, args...)
	cmd.Env = o.env
	cmd.Dir = o.dir
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("starting %s: %v", prog, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	return cmd, done, nil
}

func waitSocket(path string, exited <-chan struct{}, deadline time.Time) error {
	for {
		c, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			return errors.New("exited during startup")
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("socket %s not up: %v", path, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Close stops the instance: it kills ovs-vswitchd and ovsdb-server (and
// anything in their process groups) by PID, SIGTERM first and SIGKILL after
// a few seconds, and waits for them. It is idempotent and is called by the
// cleanup Start registers; the temporary directory is removed by the
// testing package's TempDir cleanup afterwards.
func (o *OVS) Close() {
	o.closeOnce.Do(func() {
		o.rpcMu.Lock()
		if o.rpc != nil {
			o.rpc.conn.Close()
			o.rpc = nil
		}
		o.rpcMu.Unlock()
		stop(o.vsCmd, o.vsDone)
		stop(o.dbCmd, o.dbDone)
	})
}

func stop(cmd *exec.Cmd, done chan struct{}) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	pid := cmd.Process.Pid
	syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		syscall.Kill(-pid, syscall.SIGKILL)
		<-done
	}
	// Anything left in the group (there should be nothing).
	syscall.Kill(-pid, syscall.SIGKILL)
}

// logTail logs the end of the ovs-vswitchd log, for failed tests.
func (o *OVS) logTail() {
	data, err := os.ReadFile(o.path("ovs-vswitchd.log"))
	if err != nil {
		return
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	o.t.Logf("ovsdummy: tail of %s:\n%s", o.path("ovs-vswitchd.log"), strings.Join(lines, "\n"))
}

// Dir returns the private directory holding the database, sockets, logs
// (ovs-vswitchd.log, ovsdb-server.log) and tx pcaps.
func (o *OVS) Dir() string { return o.dir }

// MissKeys returns the flow keys of the miss upcalls ovs-vswitchd has
// logged so far, in order, as its userspace datapath prints them (the
// line after each "|dpif_netdev|DBG|ovs-dummy: miss upcall:"; the
// instance logs dpif_netdev at debug level).
func (o *OVS) MissKeys() ([]string, error) {
	log, err := os.ReadFile(filepath.Join(o.dir, "ovs-vswitchd.log"))
	if err != nil {
		return nil, err
	}
	var keys []string
	lines := strings.Split(string(log), "\n")
	for i, l := range lines {
		if strings.HasSuffix(l, "|dpif_netdev|DBG|ovs-dummy: miss upcall:") && i+1 < len(lines) {
			keys = append(keys, lines[i+1])
		}
	}
	return keys, nil
}

// NumPorts returns the number of dummy ports, numbered 1..NumPorts().
func (o *OVS) NumPorts() int { return o.nports }

// PcapPath returns the tx pcap file of dummy port 'port'.
func (o *OVS) PcapPath(port int) string { return o.path(portName(port) + ".pcap") }

func portName(port int) string { return "p" + strconv.Itoa(port) }

func (o *OVS) checkPort(port int) error {
	if port < 1 || port > o.nports {
		return fmt.Errorf("ovsdummy: no port %d (ports are 1..%d)", port, o.nports)
	}
	return nil
}

// rpcConn is a JSON-RPC 1.0 connection to a unixctl server.
type rpcConn struct {
	conn net.Conn
	dec  *json.Decoder
	id   int
}

type rpcReply struct {
	ID     int             `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
}

// Appctl runs a unixctl command on ovs-vswitchd, like "ovs-appctl
// -t .../ovs-vswitchd.ctl args...", and returns what ovs-appctl would print
// on stdout. A command OVS rejects yields an *AppctlError.
func (o *OVS) Appctl(args ...string) (string, error) {
	if len(args) == 0 {
		return "", errors.New("ovsdummy: Appctl needs a command")
	}
	o.rpcMu.Lock()
	defer o.rpcMu.Unlock()
	if o.rpc == nil {
		c, err := net.DialTimeout("unix", o.path("ovs-vswitchd.ctl"), CallTimeout)
		if err != nil {
			return "", fmt.Errorf("ovsdummy: connecting to ovs-vswitchd: %v", err)
		}
		o.rpc = &rpcConn{conn: c, dec: json.NewDecoder(bufio.NewReader(c))}
	}
	out, err := o.rpc.call(args)
	var ae *AppctlError
	if err != nil && !errors.As(err, &ae) {
		// Transport trouble: drop the connection; a later call redials.
		o.rpc.conn.Close()
		o.rpc = nil
		return "", fmt.Errorf("ovsdummy: %s: %v", args[0], err)
	}
	return out, err
}

func (c *rpcConn) call(args []string) (string, error) {
	c.id++
	params := args[1:]
	if params == nil {
		params = []string{}
	}
	req, err := json.Marshal(map[string]any{"method": args[0], "params": params, "id": c.id})
	if err != nil {
		return "", err
	}
	c.conn.SetDeadline(time.Now().Add(CallTimeout))
	defer c.conn.SetDeadline(time.Time{})
	if _, err := c.conn.Write(req); err != nil {
		return "", err
	}
	for {
		var r rpcReply
		if err := c.dec.Decode(&r); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		if r.ID != c.id {
			continue
		}
		if len(r.Error) > 0 && string(r.Error) != "null" {
			var text string
			if json.Unmarshal(r.Error, &text) != nil {
				text = string(r.Error)
			}
			return "", &AppctlError{Command: append([]string(nil), args...), Text: text}
		}
		var out string
		if len(r.Result) > 0 && string(r.Result) != "null" {
			if err := json.Unmarshal(r.Result, &out); err != nil {
				return "", fmt.Errorf("bad result %s: %v", r.Result, err)
			}
		}
		return out, nil
	}
}

// AddFlow installs a datapath flow with "dpctl/add-flow FLOW ACTIONS", both
// in OVS's datapath flow syntax, e.g. AddFlow("in_port(1),eth(),
// eth_type(0x0800),ipv4(frag=no)", "2"). It returns OVS's error text on
// failure, e.g. "ovs-vswitchd: updating flow table (Invalid argument)".
func (o *OVS) AddFlow(flow, actions string) error {
	_, err := o.Appctl("dpctl/add-flow", flow, actions)
	return err
}

// DelFlows deletes every datapath flow ("dpctl/del-flows").
func (o *OVS) DelFlows() error {
	_, err := o.Appctl("dpctl/del-flows")
	return err
}

// DumpFlows returns the lines of "dpctl/dump-flows", in OVS's order, without
// the "flow-dump from the main thread:" header.
func (o *OVS) DumpFlows() ([]string, error) {
	out, err := o.Appctl("dpctl/dump-flows")
	if err != nil {
		return nil, err
	}
	var flows []string
	for _, line := range strings.Split(out, "\n") {
		if line == "" || strings.HasPrefix(line, "flow-dump from ") {
			continue
		}
		flows = append(flows, line)
	}
	return flows, nil
}

// Show returns the output of "dpctl/show".
func (o *OVS) Show() (string, error) { return o.Appctl("dpctl/show") }

// ShowStats returns the output of "dpctl/show -s", which adds per-port
// counters to Show.
func (o *OVS) ShowStats() (string, error) { return o.Appctl("dpctl/show", "-s") }

// Stats is "dpctl/show -s" parsed.
type Stats struct {
	// Hit, Missed and Lost are the "lookups:" counters; Flows is "flows:".
	Hit, Missed, Lost, Flows uint64
	// Ports maps datapath port numbers to their lines.
	Ports map[int]PortStats
}

// PortStats is one port of "dpctl/show -s".
type PortStats struct {
	// Name is the port name, e.g. "p1".
	Name string
	// Type is the netdev type without its configuration, e.g. "dummy".
	Type string
	// RxPackets and TxPackets are the "RX packets:" and "TX packets:"
	// counters.
	RxPackets, TxPackets uint64
	// RxBytes and TxBytes are the "RX bytes:" and "TX bytes:" counters.
	RxBytes, TxBytes uint64
}

// Stats runs and parses "dpctl/show -s".
func (o *OVS) Stats() (*Stats, error) {
	out, err := o.ShowStats()
	if err != nil {
		return nil, err
	}
	return parseStats(out)
}

func parseStats(out string) (*Stats, error) {
	st := &Stats{Ports: make(map[int]PortStats)}
	cur := -1
	bad := func(line string) (*Stats, error) {
		return nil, fmt.Errorf("ovsdummy: cannot parse dpctl/show line %q", line)
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case f[0] == "lookups:" && len(f) == 4:
			var err error
			for i, p := range []*uint64{&st.Hit, &st.Missed, &st.Lost} {
				_, v, _ := strings.Cut(f[i+1], ":")
				if *p, err = strconv.ParseUint(v, 10, 64); err != nil {
					return bad(line)
				}
			}
		case f[0] == "flows:" && len(f) == 2:
			v, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				return bad(line)
			}
			st.Flows = v
		case f[0] == "port" && len(f) >= 3:
			n, err := strconv.Atoi(strings.TrimSuffix(f[1], ":"))
			if err != nil {
				return bad(line)
			}
			p := PortStats{Name: f[2]}
			if len(f) > 3 {
				p.Type = strings.TrimRight(strings.TrimPrefix(f[3], "("), "):")
			}
			st.Ports[n] = p
			cur = n
		case cur >= 0 && (f[0] == "RX" || f[0] == "TX"):
			p := st.Ports[cur]
			for i := 0; i+1 < len(f); i++ {
				dir, kind := f[i], f[i+1]
				if dir != "RX" && dir != "TX" {
					continue
				}
				name, v, ok := strings.Cut(kind, ":")
				if !ok || v == "?" {
					continue
				}
				n, err := strconv.ParseUint(v, 10, 64)
				if err != nil {
					return bad(line)
				}
				switch dir + " " + name {
				case "RX packets":
					p.RxPackets = n
				case "TX packets":
					p.TxPackets = n
				case "RX bytes":
					p.RxBytes = n
				case "TX bytes":
					p.TxBytes = n
				}
			}
			st.Ports[cur] = p
		}
	}
	return st, nil
}

// Inject makes dummy port 'port' receive one Ethernet frame (at least 14
// bytes), with "netdev-dummy/receive pN HEX". The datapath processes it
// asynchronously; see WaitProcessed.
func (o *OVS) Inject(port int, frame []byte) error {
	return o.InjectMany(port, [][]byte{frame})
}

// InjectMany makes dummy port 'port' receive the frames in order. It sends
// many frames per netdev-dummy/receive call but never more than the port's
// receive queue holds (RxQueueLimit), waiting for the datapath to drain the
// queue when needed, so no frame is silently dropped.
func (o *OVS) InjectMany(port int, frames [][]byte) error {
	if err := o.checkPort(port); err != nil {
		return err
	}
	for i, f := range frames {
		if len(f) < 14 {
			return fmt.Errorf("ovsdummy: frame %d is %d bytes, shorter than an Ethernet header", i, len(f))
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for len(frames) > 0 {
		// Send at most what the port's receive queue has room for, as
		// far as the last look at its RX counter tells; look again, and
		// wait for the queue to drain, only when that is not enough.
		want := min(len(frames), RxQueueLimit)
		if RxQueueLimit-int(o.injected[port]-o.rxSeen[port]) < want {
			if _, err := o.rxPackets(port); err != nil {
				return err
			}
			if RxQueueLimit-int(o.injected[port]-o.rxSeen[port]) < want {
				if err := o.waitPort(port, time.Now().Add(DefaultWaitTimeout)); err != nil {
					return err
				}
			}
		}
		room := RxQueueLimit - int(o.injected[port]-o.rxSeen[port])
		args := []string{"netdev-dummy/receive", portName(port)}
		size, n := 0, 0
		for n < len(frames) && n < room && (n == 0 || size+2*len(frames[n]) <= maxHexPerCall) {
			args = append(args, hex.EncodeToString(frames[n]))
			size += 2 * len(frames[n])
			n++
		}
		if _, err := o.Appctl(args...); err != nil {
			return err
		}
		o.injected[port] += uint64(n)
		frames = frames[n:]
	}
	return nil
}

// rxPackets reads the RX counter of 'port' and records it in o.rxSeen. The
// caller holds o.mu.
func (o *OVS) rxPackets(port int) (uint64, error) {
	st, err := o.Stats()
	if err != nil {
		return 0, err
	}
	o.noteRx(st)
	return st.Ports[port].RxPackets, nil
}

// noteRx records the RX counters of 'st' in o.rxSeen. The caller holds o.mu.
func (o *OVS) noteRx(st *Stats) {
	for port := 1; port <= o.nports; port++ {
		o.rxSeen[port] = st.Ports[port].RxPackets
	}
}

// waitPort waits until the datapath has polled every packet injected on
// 'port'. The caller holds o.mu.
func (o *OVS) waitPort(port int, deadline time.Time) error {
	for {
		rx, err := o.rxPackets(port)
		if err != nil {
			return err
		}
		if rx >= o.injected[port] {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ovsdummy: port %d: datapath polled %d packets, want %d", port, rx, o.injected[port])
		}
		time.Sleep(time.Millisecond)
	}
}

// WaitProcessed waits, at most 'timeout', until the datapath has handled
// every packet injected so far on every port: their flow lookups, actions
// and transmissions (tx pcap writes included) are complete.
//
// It polls the ports' RX counters in "dpctl/show -s". A dummy port's RX
// counter grows when the datapath's main thread dequeues a batch, and that
// same thread processes the batch to the end before it serves the next
// unixctl command, so once the counter shows a packet, the packet has been
// fully processed.
func (o *OVS) WaitProcessed(timeout time.Duration) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.waitAll(time.Now().Add(timeout))
}

func (o *OVS) waitAll(deadline time.Time) error {
	for {
		st, err := o.Stats()
		if err != nil {
			return err
		}
		o.noteRx(st)
		var lagging []string
		for port := 1; port <= o.nports; port++ {
			if rx := st.Ports[port].RxPackets; rx < o.injected[port] {
				lagging = append(lagging, fmt.Sprintf("port %d polled %d of %d", port, rx, o.injected[port]))
			}
		}
		if len(lagging) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ovsdummy: packets not processed in time: %s", strings.Join(lagging, ", "))
		}
		time.Sleep(time.Millisecond)
	}
}

// TxPackets waits (up to DefaultWaitTimeout) until all injected packets are
// processed, then returns the frames dummy port 'port' transmitted, in
// order, since Start or the last Reset.
func (o *OVS) TxPackets(port int) ([][]byte, error) {
	if err := o.checkPort(port); err != nil {
		return nil, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.waitAll(time.Now().Add(DefaultWaitTimeout)); err != nil {
		return nil, err
	}
	frames, err := readPcap(o.PcapPath(port))
	if err != nil {
		return nil, err
	}
	mark := o.txMark[port]
	if mark > len(frames) {
		mark = len(frames)
	}
	return frames[mark:], nil
}

// Reset prepares the instance for another independent case: it waits for
// pending packets, deletes all flows, zeroes the "lookups:" counters
// ("dpif-netdev/pmd-stats-clear") and makes TxPackets forget the frames
// transmitted so far. Port RX/TX counters in ShowStats keep counting.
func (o *OVS) Reset() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.waitAll(time.Now().Add(DefaultWaitTimeout)); err != nil {
		return err
	}
	for _, cmd := range [][]string{{"dpctl/del-flows"}, {"dpif-netdev/pmd-stats-clear"}} {
		if _, err := o.Appctl(cmd...); err != nil {
			return err
		}
	}
	for port := 1; port <= o.nports; port++ {
		frames, err := readPcap(o.PcapPath(port))
		if err != nil {
			return err
		}
		o.txMark[port] = len(frames)
	}
	return nil
}

// readPcap returns the frames of a pcap file OVS wrote. OVS declares a snap
// length of 1518 but never truncates; pcapgo accepts longer records.
func readPcap(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := pcapgo.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("ovsdummy: %s: %v", path, err)
	}
	var frames [][]byte
	for {
		d, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return frames, nil
		}
		if err != nil {
			return nil, fmt.Errorf("ovsdummy: %s: record %d: %v", path, len(frames), err)
		}
		if ci.CaptureLength != ci.Length {
			return nil, fmt.Errorf("ovsdummy: %s: record %d truncated (%d of %d bytes)", path, len(frames), ci.CaptureLength, ci.Length)
		}
		frames = append(frames, append([]byte(nil), d...))
	}
}

// Vsctl runs ovs-vsctl against the private database, e.g. Vsctl("add-port",
// "br0", "t1", "--", "set", "interface", "t1", "type=vxlan",
// "options:remote_ip=1.1.2.92"), and returns once ovs-vswitchd has applied
// the change. It returns what ovs-vsctl printed.
func (o *OVS) Vsctl(args ...string) (string, error) {
	full := append([]string{"--db=unix:" + o.path("db.sock"), "--timeout=10"}, args...)
	out, err := o.run(time.Now().Add(15*time.Second), "ovs-vsctl", full...)
	if err != nil {
		return string(out), fmt.Errorf("ovs-vsctl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// OFCtl runs ovs-ofctl (OpenFlow 1.5) against the bridge: for example
// OFCtl("add-flow", "ip,actions=output:p2"). The bridge argument is
// supplied after the command.
func (o *OVS) OFCtl(cmd string, args ...string) error {
	return o.OFCtlBridge("br0", cmd, args...)
}

// OFCtlBridge is OFCtl for another bridge, one the test added with Vsctl.
func (o *OVS) OFCtlBridge(bridge, cmd string, args ...string) error {
	full := append([]string{"-O", "OpenFlow15", cmd, "unix:" + o.path(bridge+".mgmt")}, args...)
	out, err := o.run(time.Now().Add(10*time.Second), "ovs-ofctl", full...)
	if err != nil {
		return fmt.Errorf("ovs-ofctl %s: %v: %s", cmd, err, out)
	}
	return nil
}
