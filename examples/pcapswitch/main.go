// Command pcapswitch runs the datapath offline: it installs flows, feeds
// packets from pcap or pcapng files into datapath ports in timestamp
// order, writes what each port is sent to a pcap file, and prints the
// final flow table and counters.
//
// Usage:
//
//	pcapswitch -flows FILE [-in N=FILE.pcap ...] [-out N=FILE.pcap ...] [-tunnel N=TYPE[:UDPPORT] ...] [-dump-flows=false]
//
// The flow file has one flow per line, "FLOW ACTIONS" exactly as
// ovs-dpctl add-flow takes them, or a line as ovs-appctl dpctl/dump-flows
// prints it; blank lines and lines starting with # are ignored. Port
// numbers in flows are datapath port numbers. A port that a flow names but
// no -in or -out gives counts what it is sent and drops it. Packets that
// match no flow are counted as misses and dropped. -tunnel makes port N a
// tunnel port of TYPE vxlan, geneve or gre (a UDP port may follow the
// type of the first two), for the flows' tnl_push and tnl_pop.
//
// With no arguments pcapswitch runs a small embedded demo.
package main

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/dp"
	"github.com/b7cafead/datapath/internal/flowfile"
	dpio "github.com/b7cafead/datapath/io"
	"github.com/b7cafead/datapath/io/pcapfile"
)

//go:embed demo
var demoFS embed.FS

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// portFiles is a repeated "N=FILE" flag.
type portFiles map[uint32]string

// String implements flag.Value.
func (p portFiles) String() string { return fmt.Sprint(map[uint32]string(p)) }

// Set implements flag.Value: it adds one "N=FILE".
func (p portFiles) Set(s string) error {
	n, file, ok := strings.Cut(s, "=")
	if !ok || file == "" {
		return fmt.Errorf("want N=FILE, got %q", s)
	}
	no, err := strconv.ParseUint(n, 10, 32)
	if err != nil {
		return fmt.Errorf("bad port number %q", n)
	}
	if _, dup := p[uint32(no)]; dup {
		return fmt.Errorf("port %d given twice", no)
	}
	p[uint32(no)] = file
	return nil
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		if err := demo(stdout); err != nil {
			fmt.Fprintln(stderr, "pcapswitch:", err)
			return 1
		}
		return 0
	}
	fs := flag.NewFlagSet("pcapswitch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config{in: portFiles{}, out: portFiles{}, tunnels: tunnelPorts{}}
	fs.StringVar(&cfg.flows, "flows", "", "`FILE` of flows, one \"FLOW ACTIONS\" per line")
	fs.Var(cfg.in, "in", "`N=FILE` feeds the packets of pcap FILE into datapath port N (repeatable)")
	fs.Var(cfg.out, "out", "`N=FILE` writes what datapath port N is sent to pcap FILE (repeatable)")
	fs.Var(cfg.tunnels, "tunnel", "`N=TYPE[:UDPPORT]` makes datapath port N a vxlan, geneve or gre tunnel port (repeatable)")
	fs.BoolVar(&cfg.dumpFlows, "dump-flows", true, "print the final flow table")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pcapswitch: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	res, err := cfg.run()
	if err != nil {
		fmt.Fprintln(stderr, "pcapswitch:", err)
		return 1
	}
	res.print(stdout, cfg.dumpFlows)
	return 0
}

// tunnelPorts is a repeated "N=TYPE[:UDPPORT]" flag.
type tunnelPorts map[uint32]dp.PortConfig

// String implements flag.Value.
func (p tunnelPorts) String() string { return fmt.Sprint(map[uint32]dp.PortConfig(p)) }

// Set implements flag.Value: it adds one "N=TYPE[:UDPPORT]".
func (p tunnelPorts) Set(s string) error {
	n, typ, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("want N=TYPE[:UDPPORT], got %q", s)
	}
	no, err := strconv.ParseUint(n, 10, 32)
	if err != nil {
		return fmt.Errorf("bad port number %q", n)
	}
	if _, dup := p[uint32(no)]; dup {
		return fmt.Errorf("port %d given twice", no)
	}
	var cfg dp.PortConfig
	typ, udp, hasUDP := strings.Cut(typ, ":")
	switch typ {
	case "vxlan":
		cfg.Type = dp.PortVXLAN
	case "geneve":
		cfg.Type = dp.PortGeneve
	case "gre":
		cfg.Type = dp.PortGRE
	default:
		return fmt.Errorf("tunnel type %q is not vxlan, geneve or gre", typ)
	}
	if hasUDP {
		v, err := strconv.ParseUint(udp, 10, 16)
		if err != nil || v == 0 || cfg.Type == dp.PortGRE {
			return fmt.Errorf("bad UDP port %q for %s", udp, typ)
		}
		cfg.TunnelDstPort = uint16(v)
	}
	p[uint32(no)] = cfg
	return nil
}

type config struct {
	flows     string
	in, out   portFiles
	tunnels   tunnelPorts
	dumpFlows bool
}

// result is what a run produced.
type result struct {
	d        *dp.Datapath
	packets  int
	in, out  portFiles
	finished time.Time
}

func (c *config) run() (*result, error) {
	var lines []flowfile.Line
	if c.flows != "" {
		var err error
		if lines, err = flowfile.ReadFile(c.flows); err != nil {
			return nil, err
		}
	} else if len(c.in) == 0 && len(c.out) == 0 {
		return nil, errors.New("nothing to do: give -flows and/or -in/-out (or no arguments for the demo)")
	}
	return execute(lines, c.in, c.out, c.tunnels, func(name string) (*pcapfile.Reader, error) {
		return pcapfile.Open(name, pcapfile.ReaderOptions{})
	}, func(name string) (*pcapfile.Writer, error) {
		return pcapfile.Create(name, pcapfile.WriterOptions{})
	})
}

// execute builds the datapath, installs the flows, replays the inputs and
// closes everything.
func execute(lines []flowfile.Line, in, out portFiles, tunnels tunnelPorts,
	open func(string) (*pcapfile.Reader, error),
	create func(string) (*pcapfile.Writer, error)) (res *result, err error) {

	d := dp.New(dp.Config{Name: "pcapswitch"})
	defer func() {
		if cerr := d.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()

	// Every port number that an input, an output or a flow names.
	nums := map[uint32]bool{}
	for n := range in {
		nums[n] = true
	}
	for n := range out {
		nums[n] = true
	}
	for n := range tunnels {
		nums[n] = true
	}
	for _, l := range lines {
		if l.Match.Mask.InPort != 0 {
			nums[l.Match.Key.InPort] = true
		}
		outputPorts(l.Actions, nums)
	}
	readers := map[uint32]*pcapfile.Reader{}
	for _, n := range sortedPorts(nums) {
		if cfg, ok := tunnels[n]; ok {
			if in[n] != "" || out[n] != "" {
				return nil, fmt.Errorf("port %d: a tunnel port has no capture", n)
			}
			if _, err := d.AddPortConfig(n, nil, cfg); err != nil {
				return nil, err
			}
			continue
		}
		name := "p" + strconv.FormatUint(uint64(n), 10)
		p := &filePort{name: name, sink: dpio.NewDiscard(name)}
		if f, ok := in[n]; ok {
			if p.r, err = open(f); err != nil {
				return nil, err
			}
			readers[n] = p.r
		}
		if f, ok := out[n]; ok {
			if p.w, err = create(f); err != nil {
				p.Close()
				return nil, err
			}
		}
		if _, err := d.AddPort(n, p); err != nil {
			p.Close()
			return nil, err
		}
	}
	for _, l := range lines {
		if _, err := d.PutFlowUFID(l.UFID, l.Match, l.Actions, dp.PutCreate); err != nil {
			return nil, fmt.Errorf("%s:%d: %v: %s", l.File, l.No, describePutError(err), l.Text)
		}
	}

	res = &result{d: d, in: in, out: out}
	if res.packets, err = replay(d, readers); err != nil {
		return nil, err
	}
	res.finished = time.Now()
	// Close the ports now so that output files are complete; the deferred
	// Close then has nothing left to do. Counters stay readable.
	for _, v := range d.Ports() {
		if cerr := v.Device().Close(); cerr != nil {
			return nil, cerr
		}
	}
	return res, nil
}

func describePutError(err error) error {
	if err == dp.ErrExist {
		return errors.New("flow already exists (File exists)")
	}
	if errors.Is(err, dp.ErrExist) {
		return fmt.Errorf("%v (File exists)", err)
	}
	return err
}

func sortedPorts(m map[uint32]bool) []uint32 {
	out := make([]uint32, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// replay feeds every input's packets into the datapath in timestamp order
// across inputs (ties go to the lower port number), in batches of
// consecutive packets from the same port.
func replay(d *dp.Datapath, readers map[uint32]*pcapfile.Reader) (int, error) {
	batch := dpio.NewBatch(dpio.DefaultBatchSize)
	ports := make([]uint32, 0, len(readers))
	for n := range readers {
		ports = append(ports, n)
	}
	sort.Slice(ports, func(i, j int) bool { return ports[i] < ports[j] })
	total := 0
	w := d.NewWorker()
	for {
		// Find the input whose next packet is earliest, and the earliest
		// time among the others.
		best, bestT, nextT := -1, int64(0), int64(1<<63-1)
		for i, n := range ports {
			t, err := readers[n].PeekTime()
			if err == io.EOF {
				continue
			}
			if err != nil {
				return total, err
			}
			if best < 0 || t < bestT {
				if best >= 0 {
					nextT = min(nextT, bestT)
				}
				best, bestT = i, t
			} else {
				nextT = min(nextT, t)
			}
		}
		if best < 0 {
			return total, nil
		}
		n := ports[best]
		r := readers[n]
		cnt := 0
		for cnt < len(batch) {
			t, err := r.PeekTime()
			if err == io.EOF || (err == nil && t > nextT) || (err == nil && t == nextT && cnt > 0 && !lowestTie(ports, best, readers, t)) {
				break
			}
			if err != nil {
				return total, err
			}
			k, err := r.Read(batch[cnt : cnt+1])
			if err != nil && err != io.EOF {
				return total, err
			}
			cnt += k
			if k == 0 {
				break
			}
		}
		if cnt > 0 {
			w.Process(n, batch[:cnt])
			total += cnt
		}
	}
}

// lowestTie reports whether no input before index best has a packet at
// time t, so that best may keep its turn on a timestamp tie.
func lowestTie(ports []uint32, best int, readers map[uint32]*pcapfile.Reader, t int64) bool {
	for _, n := range ports[:best] {
		if u, err := readers[n].PeekTime(); err == nil && u == t {
			return false
		}
	}
	return true
}

// filePort joins an optional capture reader and an optional capture writer
// into one datapath port; without a writer, what it is sent is counted and
// dropped.
type filePort struct {
	name string
	r    *pcapfile.Reader
	w    *pcapfile.Writer
	sink *dpio.DiscardPort // counts and drops what is sent when w is nil
	done bool
}

// Read implements dpio.Port: the capture's packets, then io.EOF.
func (p *filePort) Read(pkts []*dpio.Packet) (int, error) {
	if p.r == nil {
		return 0, io.EOF
	}
	return p.r.Read(pkts)
}

// Write implements dpio.Port: to the output capture, or counted and dropped.
func (p *filePort) Write(pkts []*dpio.Packet) (int, error) {
	if p.w != nil {
		return p.w.Write(pkts)
	}
	return p.sink.Write(pkts)
}

// BatchSize implements dpio.Port.
func (p *filePort) BatchSize() int { return dpio.DefaultBatchSize }

// Info implements dpio.Port.
func (p *filePort) Info() dpio.PortInfo {
	return dpio.PortInfo{Name: p.name, MTU: 65535, LinkUp: true, Headroom: dpio.DefaultHeadroom}
}

// Stats implements dpio.Port.
func (p *filePort) Stats() dpio.PortStats {
	s := p.sink.Stats()
	if p.r != nil {
		rs := p.r.Stats()
		s.RxPackets, s.RxBytes, s.RxErrors, s.RxDropped = rs.RxPackets, rs.RxBytes, rs.RxErrors, rs.RxDropped
	}
	if p.w != nil {
		ws := p.w.Stats()
		s.TxPackets, s.TxBytes, s.TxErrors, s.TxDropped = ws.TxPackets, ws.TxBytes, ws.TxErrors, ws.TxDropped
	}
	return s
}

// Close implements dpio.Port: it closes both captures.
func (p *filePort) Close() error {
	if p.done {
		return nil
	}
	p.done = true
	err := p.sink.Close()
	if p.r != nil {
		if rerr := p.r.Close(); rerr != nil {
			err = rerr
		}
	}
	if p.w != nil {
		if werr := p.w.Close(); werr != nil && err == nil {
			err = werr
		}
	}
	return err
}

// print writes the flow table (as dpctl/dump-flows does) and the counters
// (in the shape of ovs-dpctl show -s).
func (r *result) print(w io.Writer, dumpFlows bool) {
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	if dumpFlows {
		var buf []byte
		for _, f := range r.d.Flows() {
			buf = f.AppendDump(buf[:0], r.finished)
			buf = append(buf, '\n')
			bw.Write(buf)
		}
	}
	st := r.d.Stats()
	fmt.Fprintf(bw, "%s:\n", r.d.Name())
	fmt.Fprintf(bw, "  lookups: hit:%d missed:%d lost:%d\n", st.Hit, st.Missed, st.Lost)
	fmt.Fprintf(bw, "  flows: %d\n", st.Flows)
	hitPkt := 0.0
	if n := st.Hit - st.EMCHit; n > 0 {
		hitPkt = float64(st.MaskHits) / float64(n)
	}
	fmt.Fprintf(bw, "  masks: hit:%d total:%d hit/pkt:%.2f\n", st.MaskHits, st.Masks, hitPkt)
	for _, v := range r.d.Ports() {
		desc := ""
		if f, ok := r.in[v.No()]; ok {
			desc += " in=" + f
		}
		if f, ok := r.out[v.No()]; ok {
			desc += " out=" + f
		}
		if desc != "" {
			desc = " (" + strings.TrimSpace(desc) + ")"
		}
		s := v.Stats()
		fmt.Fprintf(bw, "  port %d: %s%s\n", v.No(), v.Name(), desc)
		fmt.Fprintf(bw, "    RX packets:%d errors:%d dropped:%d\n", s.RxPackets, s.RxErrors, s.RxDropped)
		fmt.Fprintf(bw, "    TX packets:%d errors:%d dropped:%d\n", s.TxPackets, s.TxErrors, s.TxDropped)
		fmt.Fprintf(bw, "    RX bytes:%d  TX bytes:%d\n", s.RxBytes, s.TxBytes)
	}
	fmt.Fprintf(bw, "misses: %d\n", st.Missed)
}

// demo runs the embedded example: flows and captures shipped with the
// command, outputs written to a temporary directory.
func demo(w io.Writer) error {
	flows, err := demoFS.ReadFile("demo/flows.txt")
	if err != nil {
		return err
	}
	lines, err := flowfile.Read("demo/flows.txt", bytes.NewReader(flows))
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "pcapswitch-demo-")
	if err != nil {
		return err
	}
	in := portFiles{1: "demo/port1.pcap", 2: "demo/port2.pcap"}
	out := portFiles{2: filepath.Join(dir, "port2-out.pcap"), 3: filepath.Join(dir, "port3-out.pcap")}
	res, err := execute(lines, in, out, nil, func(name string) (*pcapfile.Reader, error) {
		f, err := demoFS.Open(name)
		if err != nil {
			return nil, err
		}
		return pcapfile.NewReader(f, pcapfile.ReaderOptions{Name: name})
	}, func(name string) (*pcapfile.Writer, error) {
		return pcapfile.Create(name, pcapfile.WriterOptions{})
	})
	if err != nil {
		return err
	}
	st := res.d.Stats()
	fmt.Fprintf(w, "pcapswitch demo: %d flows installed from demo/flows.txt\n", len(lines))
	fmt.Fprintf(w, "fed %d packets from demo/port1.pcap (port 1) and demo/port2.pcap (port 2) in timestamp order\n", res.packets)
	fmt.Fprintf(w, "%d packets hit a flow, %d matched no flow and were dropped\n", st.Hit, st.Missed)
	for _, n := range []uint32{2, 3} {
		v := res.d.Port(n)
		fmt.Fprintf(w, "port %d sent %d packets -> %s\n", n, v.Stats().TxPackets, out[n])
	}
	fmt.Fprintln(w, "final flow table (as ovs-appctl dpctl/dump-flows prints it):")
	var buf []byte
	for _, f := range res.d.Flows() {
		buf = append(f.AppendDump(buf[:0], res.finished), '\n')
		w.Write(buf)
	}
	fmt.Fprintf(w, "run it on your own files: pcapswitch -flows FILE -in 1=IN.pcap -out 2=OUT.pcap\n")
	return nil
}

// outputPorts adds to nums the ports that output actions of l name,
// nested lists (dec_ttl, clone, sample, check_pkt_len) included.
func outputPorts(l actions.List, nums map[uint32]bool) {
	for i := range l {
		a := &l[i]
		if a.Type == actions.TypeOutput {
			nums[a.Port] = true
		}
		outputPorts(a.Actions, nums)
		outputPorts(a.Greater, nums)
		outputPorts(a.LessEqual, nums)
	}
}
