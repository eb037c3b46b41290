package afpacket_test

import (
	"fmt"
	"log"
	"os"
	"os/signal"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/dp"
	"github.com/b7cafead/datapath/flow"
	dpio "github.com/b7cafead/datapath/io"
	"github.com/b7cafead/datapath/io/afpacket"
)

// Read frames from an interface in batches.
func ExampleOpen() {
	p, err := afpacket.Open("eth1", afpacket.Config{})
	if err != nil {
		log.Fatal(err) // on systems other than Linux: afpacket.ErrNotSupported
	}
	defer p.Close()
	info := p.Info()
	fmt.Println(info.Name, info.MAC, "mtu", info.MTU, "up", info.LinkUp)

	batch := dpio.NewBatch(p.BatchSize())
	n, err := p.Read(batch) // waits for at least one frame
	if err != nil {
		log.Fatal(err)
	}
	for _, pkt := range batch[:n] {
		fmt.Printf("% x\n", pkt.Bytes()[:14]) // Ethernet header, VLAN tag included
	}
}

// Switch two interfaces through a datapath: the slow path installs, for
// each new destination seen on one port, a flow that sends it out of the
// other.
func Example() {
	d := dp.New(dp.Config{Upcall: func(u *dp.Upcall) {
		m := flow.Match{Key: u.Key}
		m.Mask.InPort = ^uint32(0)
		m.Mask.EthDst = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		u.Install(m, actions.List{actions.Output(3 - u.InPort)})
	}})
	defer d.Close()
	for i, name := range []string{"eth1", "eth2"} {
		p, err := afpacket.Open(name, afpacket.Config{})
		if err != nil {
			log.Fatal(err)
		}
		if _, err := d.AddPort(uint32(i+1), p); err != nil {
			log.Fatal(err)
		}
	}
	d.Start()

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt)
	<-stop
	for _, v := range d.Ports() {
		fmt.Printf("%s: %+v\n", v.Name(), v.Device().Stats())
	}
}
