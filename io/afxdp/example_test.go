package afxdp_test

import (
	"errors"
	"fmt"
	"log"

	dpio "github.com/b7cafead/datapath/io"
	"github.com/b7cafead/datapath/io/afxdp"
)

// Receive the frames arriving on queue 0 of eth0 and send them back out
// of the same interface. Without root, or off Linux, Open says why AF_XDP
// cannot be used.
func Example() {
	p, err := afxdp.Open("eth0", afxdp.Config{Queue: 0})
	if errors.Is(err, afxdp.ErrUnavailable) {
		fmt.Println("no AF_XDP here:", err)
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	batch := dpio.NewBatch(p.BatchSize())
	for range 10 {
		n, err := p.Read(batch) // blocks; Close from elsewhere ends it
		if err != nil {
			break
		}
		if _, err := p.Write(batch[:n]); err != nil {
			break
		}
	}
	fmt.Printf("%+v\n", p.Stats())
}
