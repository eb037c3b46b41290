package dp_test

import (
	"fmt"

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
