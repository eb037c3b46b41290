// Command vswitch is a live learning switch: it attaches network
// interfaces to a datapath as ports and forwards frames between them.
//
// Usage:
//
//	vswitch -port BACKEND:IFACE [-port BACKEND:IFACE ...] [-flows FILE]
//	        [-max-idle DURATION] [-mac-age DURATION]
//
// Each -port attaches one interface; ports are numbered 1, 2, ... in the
// order the flags give them. BACKEND is afpacket (io/afpacket, works on
// any interface) or afxdp (io/afxdp, generic XDP mode on queue 0).
//
// The slow path is a MAC-learning switch: a packet that matches no flow
// teaches it that its source address (on its VLAN) lives behind its input
// port. If its destination is known, a flow matching in_port, the VLAN and
// both Ethernet addresses that outputs to the learned port is installed;
// otherwise (unknown, broadcast or multicast destination) the packet is
// flooded to every other port and nothing is installed. When an address
// moves to another port, the flows it learned to and from that address
// are deleted so that none keeps sending to the old port.
//
// Learned state ages as in OVS: a learned flow idle for -max-idle (10 s)
// is removed, and an address not seen for -mac-age (300 s) is forgotten,
// with the flows to it. A hit on a learned flow counts as its source
// address being seen. Flows from -flows never age.
//
// -flows FILE installs flows before forwarding starts, one per line in
// the format pcapswitch reads ("FLOW ACTIONS" as ovs-dpctl add-flow takes
// them, or a dpctl/dump-flows line). Port numbers are the -port numbers.
//
// vswitch logs port events to standard error and prints "ready" there
// once it forwards. On SIGINT or SIGTERM it closes the datapath, prints
// the datapath's and every port's counters to standard output and exits 0.
//
// Example, switching between two veths with AF_PACKET and AF_XDP:
//
//	vswitch -port afpacket:veth1 -port afxdp:veth2
//
// The hosts behind the interfaces should turn off transmit checksum
// offload (ethtool -K IFACE tx off); see io/afpacket's documentation.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/b7cafead/datapath/dp"
	"github.com/b7cafead/datapath/internal/flowfile"
	dpio "github.com/b7cafead/datapath/io"
	"github.com/b7cafead/datapath/io/afpacket"
	"github.com/b7cafead/datapath/io/afxdp"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// portSpec is one -port BACKEND:IFACE.
type portSpec struct{ backend, iface string }

// portList is the repeated -port flag.
type portList []portSpec

// String implements flag.Value.
func (p *portList) String() string {
	var s []string
	for _, x := range *p {
		s = append(s, x.backend+":"+x.iface)
	}
	return strings.Join(s, " ")
}

// Set implements flag.Value: it adds one BACKEND:IFACE.
func (p *portList) Set(s string) error {
	b, i, ok := strings.Cut(s, ":")
	if !ok || b == "" || i == "" {
		return fmt.Errorf("want BACKEND:IFACE, got %q", s)
	}
	*p = append(*p, portSpec{b, i})
	return nil
}

// run runs the switch until SIGINT or SIGTERM.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runContext(ctx, args, stdout, stderr)
}

// runContext runs the switch until ctx is done.
func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vswitch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var ports portList
	var flowsFile string
	var maxIdle, macAge time.Duration
	fs.Var(&ports, "port", "`BACKEND:IFACE` attaches an interface as the next port; BACKEND is afpacket or afxdp (repeatable)")
	fs.StringVar(&flowsFile, "flows", "", "`FILE` of flows to install first, one \"FLOW ACTIONS\" per line")
	fs.DurationVar(&maxIdle, "max-idle", defaultMaxIdle, "remove a learned flow idle for `DURATION`")
	fs.DurationVar(&macAge, "mac-age", defaultMACAge, "forget a learned address not seen for `DURATION`")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if maxIdle <= 0 || macAge <= 0 {
		fmt.Fprintln(stderr, "vswitch: -max-idle and -mac-age must be positive")
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "vswitch: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if len(ports) == 0 {
		fmt.Fprintln(stderr, "vswitch: no ports: give at least one -port BACKEND:IFACE")
		return 2
	}
	for _, p := range ports {
		if p.backend != "afpacket" && p.backend != "afxdp" {
			fmt.Fprintf(stderr, "vswitch: unknown backend %q in -port %s:%s (want afpacket or afxdp)\n", p.backend, p.backend, p.iface)
			return 1
		}
	}
	if err := serve(ctx, ports, flowsFile, maxIdle, macAge, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "vswitch:", err)
		return 1
	}
	return 0
}

func openPort(p portSpec) (dpio.Port, error) {
	switch p.backend {
	case "afpacket":
		return afpacket.Open(p.iface, afpacket.Config{})
	case "afxdp":
		return afxdp.Open(p.iface, afxdp.Config{})
	}
	return nil, fmt.Errorf("unknown backend %q", p.backend)
}

func serve(ctx context.Context, specs portList, flowsFile string, maxIdle, macAge time.Duration, stdout, stderr io.Writer) (err error) {
	var lines []flowfile.Line
	if flowsFile != "" {
		var err error
		if lines, err = flowfile.ReadFile(flowsFile); err != nil {
			return err
		}
	}

	l := newLearner(nil, maxIdle, macAge)
	d := dp.New(dp.Config{Name: "vswitch", Upcall: l.upcall})
	closed := false
	defer func() {
		if !closed {
			d.Close()
		}
	}()
	sub := d.Subscribe(64)
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		for e := range sub.C {
			fmt.Fprintf(stderr, "vswitch: %v\n", e)
		}
	}()

	for i, s := range specs {
		no := uint32(i + 1)
		dev, err := openPort(s)
		if err != nil {
			return fmt.Errorf("port %d (%s:%s): %w", no, s.backend, s.iface, err)
		}
		if _, err := d.AddPort(no, dev); err != nil {
			dev.Close()
			return fmt.Errorf("port %d (%s:%s): %w", no, s.backend, s.iface, err)
		}
		l.ports = append(l.ports, no)
	}
	for _, fl := range lines {
		if _, err := d.PutFlowUFID(fl.UFID, fl.Match, fl.Actions, dp.PutCreate); err != nil {
			if errors.Is(err, dp.ErrExist) {
				err = fmt.Errorf("%v (File exists)", err)
			}
			return fmt.Errorf("%s:%d: %v: %s", fl.File, fl.No, err, fl.Text)
		}
	}
	d.Start()
	stopAge := make(chan struct{})
	aged := make(chan struct{})
	go func() {
		defer close(aged)
		l.age(d, time.Second, stopAge)
	}()
	fmt.Fprintf(stderr, "vswitch: ready: %d ports, %d flows from the flow file\n", len(specs), len(lines))

	<-ctx.Done()
	close(stopAge)
	<-aged
	// Take the counters after the pollers have stopped: Close stops them
	// and the counters stay readable.
	closed = true
	cerr := d.Close()
	<-logged
	printSummary(stdout, d, specs, l)
	return cerr
}

// printSummary writes the counters in the shape of ovs-dpctl show -s.
func printSummary(w io.Writer, d *dp.Datapath, specs portList, l *learner) {
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	st := d.Stats()
	fmt.Fprintf(bw, "%s:\n", d.Name())
	fmt.Fprintf(bw, "  lookups: hit:%d missed:%d lost:%d\n", st.Hit, st.Missed, st.Lost)
	fmt.Fprintf(bw, "  flows: %d\n", st.Flows)
	hitPkt := 0.0
	if n := st.Hit - st.EMCHit; n > 0 {
		hitPkt = float64(st.MaskHits) / float64(n)
	}
	fmt.Fprintf(bw, "  masks: hit:%d total:%d hit/pkt:%.2f\n", st.MaskHits, st.Masks, hitPkt)
	for _, v := range d.Ports() {
		desc := ""
		if i := int(v.No()) - 1; i >= 0 && i < len(specs) {
			desc = " (" + specs[i].backend + ":" + specs[i].iface + ")"
		}
		s := v.Stats()
		fmt.Fprintf(bw, "  port %d: %s%s\n", v.No(), v.Name(), desc)
		fmt.Fprintf(bw, "    RX packets:%d errors:%d dropped:%d\n", s.RxPackets, s.RxErrors, s.RxDropped)
		fmt.Fprintf(bw, "    TX packets:%d errors:%d dropped:%d\n", s.TxPackets, s.TxErrors, s.TxDropped)
		fmt.Fprintf(bw, "    RX bytes:%d  TX bytes:%d\n", s.RxBytes, s.TxBytes)
	}
	l.mu.Lock()
	fmt.Fprintf(bw, "learned: %d addresses, flooded: %d, installed: %d, moves: %d, aged: %d addresses, %d flows\n",
		len(l.macs), l.flooded, l.installed, l.moves, l.aged, l.expired)
	l.mu.Unlock()
}
