package dp_test

import (
	"fmt"
	"strings"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/dp"
	"github.com/b7cafead/datapath/flow"
	"github.com/b7cafead/datapath/internal/testpkt"
	dpio "github.com/b7cafead/datapath/io"
)

// Embed a datapath: two in-memory ports, one flow, one packet through it.
func Example() {
	d := dp.New(dp.Config{})
	defer d.Close()

	// Port 1 and port 2; the test holds the far ends of both pairs.
	p1, host1 := dpio.NewMemPair(dpio.MemConfig{Name: "p1"}, dpio.MemConfig{})
	p2, host2 := dpio.NewMemPair(dpio.MemConfig{Name: "p2"}, dpio.MemConfig{})
	d.AddPort(1, p1)
	d.AddPort(2, p2)

	// Install a flow exactly as ovs-dpctl add-flow takes it.
	m, _ := flow.Parse("in_port(1),eth_type(0x0800),ipv4(dst=10.0.0.2,frag=no)")
	acts, _ := actions.Parse("set(ipv4(ttl=63)),2")
	d.PutFlow(m, acts, dp.PutCreate)

	// Host 1 sends a packet; the datapath polls its ports.
	d.Start()
	pkt := dpio.NewBatch(1)
	pkt[0].SetBytes(testpkt.UDP(testpkt.Frame{IPDst: "10.0.0.2", DstPort: 53}))
	host1.Write(pkt)

	// Host 2 receives it with the TTL decremented.
	n, _ := host2.Read(pkt)
	fmt.Println("received", n, "packet, ttl", pkt[0].Bytes()[22])
	for _, f := range d.Flows() {
		fmt.Println(f.Match().String(), f.Actions())
	}
	// Output:
	// received 1 packet, ttl 63
	// recirc_id(0),in_port(1),eth_type(0x0800),ipv4(dst=10.0.0.2,frag=no) set(ipv4(ttl=63)),2
}

// Rate-limit a flow with a meter: 2 packets per second with a burst of 2.
// The clock is fixed, so the bucket does not refill while the test sends.
func ExampleDatapath_MeterSet() {
	now := int64(1e9)
	d := dp.New(dp.Config{Clock: func() int64 { return now }})
	defer d.Close()
	p1, _ := dpio.NewMemPair(dpio.MemConfig{Name: "p1"}, dpio.MemConfig{})
	p2, host2 := dpio.NewMemPair(dpio.MemConfig{Name: "p2", QueueLen: 64}, dpio.MemConfig{QueueLen: 64})
	d.AddPort(1, p1)
	d.AddPort(2, p2)

	err := d.MeterSet(1, dp.MeterConfig{Flags: dp.MeterFlagPktps | dp.MeterFlagBurst,
		Bands: []dp.MeterBand{{Type: dp.MeterBandDrop, Rate: 2, BurstSize: 2}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	m, _ := flow.Parse("in_port(1),eth_type(0x0800),ipv4(frag=no)")
	acts, _ := actions.Parse("meter(1),2")
	d.PutFlow(m, acts, dp.PutCreate)

	// Five packets in one batch: the bucket holds two.
	batch := dpio.NewBatch(5)
	for _, p := range batch {
		p.SetBytes(testpkt.UDP(testpkt.Frame{DstPort: 53}))
	}
	d.Process(1, batch)

	out := dpio.NewBatch(8)
	n, _ := host2.TryRead(out)
	st, _ := d.MeterGet(1)
	fmt.Println("sent", n, "of 5; meter saw", st.Packets, "and its band dropped", st.Bands[0].Packets)
	fmt.Println("datapath meter drops:", d.Stats().Drops.Meter)
	// Output:
	// sent 2 of 5; meter saw 5 and its band dropped 3
	// datapath meter drops: 3
}

// Trace a packet: which flow it matches and what each action does,
// following a recirculation, without sending or counting anything.
func ExampleDatapath_Trace() {
	d := dp.New(dp.Config{})
	defer d.Close()
	p1, _ := dpio.NewMemPair(dpio.MemConfig{Name: "p1"}, dpio.MemConfig{})
	p2, _ := dpio.NewMemPair(dpio.MemConfig{Name: "p2"}, dpio.MemConfig{})
	d.AddPort(1, p1)
	d.AddPort(2, p2)
	for _, f := range [][2]string{
		{"in_port(1),eth_type(0x0800),ipv4(frag=no)", "set(skb_mark(0x7)),recirc(1)"},
		{"recirc_id(1),skb_mark(0x7),in_port(1),eth_type(0x0800),ipv4(ttl=64,frag=no)", "set(ipv4(ttl=63)),2"},
	} {
		m, _ := flow.Parse(f[0])
		acts, _ := actions.Parse(f[1])
		if _, err := d.PutFlow(m, acts, dp.PutCreate); err != nil {
			fmt.Println(err)
		}
	}
	tr, _ := d.Trace(1, testpkt.UDP(testpkt.Frame{DstPort: 53}))
	fmt.Println("flow:", tr.Flow.Match())
	for _, s := range tr.Steps {
		fmt.Println(strings.TrimSpace(s.Action + " " + s.Before + " " + s.After))
	}
	then := tr.Steps[1].Then
	fmt.Println("then flow:", then.Flow.Match())
	for _, s := range then.Steps {
		fmt.Println(strings.Join(strings.Fields(s.Action+" "+s.Before+" "+s.After), " "), len(s.Outputs), "output(s)")
	}
	// Output:
	// flow: recirc_id(0),in_port(1),eth_type(0x0800),ipv4(frag=no)
	// set(skb_mark(0x7)) skb_mark(0) skb_mark(0x7)
	// recirc(0x1)
	// then flow: skb_mark(0x7),recirc_id(0x1),in_port(1),eth_type(0x0800),ipv4(ttl=64,frag=no)
	// set(ipv4(ttl=63)) ipv4(ttl=64) ipv4(ttl=63) 0 output(s)
	// 2 1 output(s)
}
