package io_test

import (
	"fmt"

	dpio "github.com/b7cafead/datapath/io"
)

func ExampleNewMemPair() {
	a, b := dpio.NewMemPair(dpio.MemConfig{Name: "a"}, dpio.MemConfig{Name: "b"})
	defer a.Close() // closes both ends

	out := dpio.NewBatch(1)
	out[0].SetBytes([]byte("hello, datapath"))
	out[0].Timestamp = 42
	if _, err := a.Write(out); err != nil {
		fmt.Println(err)
		return
	}

	in := dpio.NewBatch(b.BatchSize())
	n, err := b.Read(in)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range in[:n] {
		fmt.Printf("%s received %q at %d\n", b.Info().Name, p.Bytes(), p.Timestamp)
	}
	fmt.Println("a sent", a.Stats().TxPackets, "b received", b.Stats().RxPackets)
	// Output:
	// b received "hello, datapath" at 42
	// a sent 1 b received 1
}
