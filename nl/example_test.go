package nl_test

import (
	"errors"
	"fmt"
	"log"
	"syscall"

	"github.com/b7cafead/datapath/nl"
)

// Attribute types of a made-up generic netlink family.
const (
	attrName    = 1 // string
	attrPort    = 2 // u32
	attrOptions = 3 // nested
	optDstPort  = 1 // be16
	optCsum     = 2 // flag
)

// Example encodes a generic netlink request with a nested attribute into
// a reusable buffer, then decodes it back.
func Example() {
	buf := make([]byte, 0, 256)

	// Encode: headers, attributes, then fill in nlmsg_len.
	b := nl.Header{Type: 0x1c, Flags: nl.FlagRequest | nl.FlagAck, Seq: 7}.AppendTo(buf)
	b = nl.GenlHeader{Cmd: 1, Version: 1}.AppendTo(b)
	ae := nl.NewAttributeEncoder(b)
	ae.String(attrName, "vxlan0")
	ae.Uint32(attrPort, 4)
	ae.Nested(attrOptions, func(ae *nl.AttributeEncoder) error {
		ae.Be16(optDstPort, 4789)
		ae.Flag(optCsum)
		return nil
	})
	b, err := ae.Encode()
	if err != nil {
		log.Fatal(err)
	}
	if b, err = nl.FinishMessage(b, 0); err != nil {
		log.Fatal(err)
	}
	fmt.Println("encoded", len(b), "bytes")

	// Decode.
	md := nl.NewMessageDecoder(b)
	for md.Next() {
		h := md.Header()
		g, attrs, err := nl.ParseGenlHeader(md.Payload())
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("type %#x flags %#x seq %d len %d cmd %d version %d\n", h.Type, h.Flags, h.Seq, h.Len, g.Cmd, g.Version)
		ad := nl.NewAttributeDecoder(attrs)
		for ad.Next() {
			switch ad.Type() {
			case attrName:
				fmt.Printf("name %q\n", ad.String())
			case attrPort:
				fmt.Println("port", ad.Uint32())
			case attrOptions:
				ad.Nested(func(ad *nl.AttributeDecoder) error {
					for ad.Next() {
						switch ad.Type() {
						case optDstPort:
							fmt.Println("  dst_port", ad.Be16())
						case optCsum:
							fmt.Println("  csum", ad.Flag())
						}
					}
					return nil
				})
			}
		}
		if err := ad.Err(); err != nil {
			log.Fatal(err)
		}
	}
	if err := md.Err(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// encoded 56 bytes
	// type 0x1c flags 0x5 seq 7 len 56 cmd 1 version 1
	// name "vxlan0"
	// port 4
	//   dst_port 4789
	//   csum true
}

// ExampleParseError turns an NLMSG_ERROR reply into a Go error.
func ExampleParseError() {
	req := nl.Header{Len: 36, Type: 0x1c, Flags: nl.FlagRequest | nl.FlagAck, Seq: 7, PID: 1234}
	// A userspace implementation of a family answers like the kernel.
	// Errno numbers are Linux ones: -22 is -EINVAL.
	reply := (&nl.Error{Errno: -22, Header: req, Msg: "missing port"}).AppendTo(nil)

	md := nl.NewMessageDecoder(reply)
	for md.Next() {
		if md.Header().Type != nl.MsgError {
			continue
		}
		e, err := nl.ParseError(md.Header(), md.Payload())
		if err != nil {
			log.Fatal(err)
		}
		if e.Errno == 0 {
			fmt.Println("ack for seq", e.Header.Seq)
			continue
		}
		// On Linux, errors.Is(&e, syscall.EINVAL) holds as well.
		var errno syscall.Errno
		fmt.Println("seq", e.Header.Seq, "errno", errors.As(&e, &errno), int(errno), e.Msg)
	}
	// Output:
	// seq 7 errno true 22 missing port
}

// ExampleAttributeDecoder_errors shows a wrong-sized attribute being
// reported instead of misread.
func ExampleAttributeDecoder_errors() {
	ae := nl.NewAttributeEncoder(nil)
	ae.Uint16(attrPort, 4) // the reader expects a u32
	b, _ := ae.Encode()

	ad := nl.NewAttributeDecoder(b)
	for ad.Next() {
		if ad.Type() == attrPort {
			_ = ad.Uint32()
		}
	}
	fmt.Println(ad.Err())
	// Output:
	// nl: attribute 2: want 4 bytes, have 2
}
