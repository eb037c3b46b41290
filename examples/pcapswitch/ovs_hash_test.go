//go:build linux

package main

import (
	"fmt"
	"testing"

	"github.com/b7cafead/datapath/internal/ovsdummy"
	"github.com/b7cafead/datapath/internal/testpkt"
)

// TestHashAgainstOVS checks the hash action's dp_hash against OVS 3.1.
// OVS 3.1 cannot parse hash(...) in dpctl/add-flow, so its side is
// OpenFlow: a select group with selection_method=dp_hash, which OVS
// translates to hash(l4(BASIS)),recirc(N) and then picks the bucket by
// the low bits of dp_hash (OpenFlow may not match dp_hash itself).
// pcapswitch runs the datapath flows that do the same. The same packets must leave by the
// same ports.
func TestHashAgainstOVS(t *testing.T) {
	o := ovsdummy.Start(t, 3)
	// With equal weights OVS maps hash value h to bucket h mod n (its
	// Webster distribution over 16 values), so the buckets pick by the
	// low bits of dp_hash. Output to the input port takes in_port.
	for _, g := range []string{
		"group_id=1,type=select,selection_method=dp_hash,bucket=bucket_id=0,actions=output:p2,bucket=bucket_id=1,actions=output:p3",
		"group_id=2,type=select,selection_method=dp_hash,selection_method_param=12345," +
			"bucket=bucket_id=0,actions=in_port,bucket=bucket_id=1,actions=output:p2," +
			"bucket=bucket_id=2,actions=output:p3,bucket=bucket_id=3,actions=mod_nw_ttl:1,output:p3",
		// selection_method_param's upper 32 bits are the algorithm:
		// 1 is sym_l4.
		"group_id=3,type=select,selection_method=dp_hash,selection_method_param=0x100000000,bucket=bucket_id=0,actions=output:p2,bucket=bucket_id=1,actions=output:p3",
		"group_id=4,type=select,selection_method=dp_hash,selection_method_param=0x100000007,bucket=bucket_id=0,actions=output:p2,bucket=bucket_id=1,actions=output:p3",
	} {
		if err := o.OFCtl("add-group", g); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{
		"table=0,in_port=p1,udp,nw_dst=10.1.5.1,actions=group:1",
		"table=0,in_port=p1,tcp,nw_dst=10.1.5.2,actions=group:2",
		"table=0,in_port=p1,ip,nw_dst=10.1.5.3,actions=mod_nw_src:10.0.0.99,group:3",
		"table=0,in_port=p1,arp,actions=group:4",
	} {
		if err := o.OFCtl("add-flow", f); err != nil {
			t.Fatal(err)
		}
	}
	ours := []string{
		"in_port(1),eth_type(0x0800),ipv4(dst=10.1.5.1,proto=17,frag=no),udp() hash(l4(0)),recirc(3)",
		"recirc_id(0x3),dp_hash(0/0x1),in_port(1),eth_type(0x0800),ipv4(dst=10.1.5.1,frag=no) 2",
		"recirc_id(0x3),dp_hash(0x1/0x1),in_port(1),eth_type(0x0800),ipv4(dst=10.1.5.1,frag=no) 3",
		"in_port(1),eth_type(0x0800),ipv4(dst=10.1.5.2,proto=6,frag=no),tcp() hash(l4(12345)),recirc(4)",
		"recirc_id(0x4),dp_hash(0/0x3),in_port(1),eth_type(0x0800),ipv4(dst=10.1.5.2,frag=no) 1",
		"recirc_id(0x4),dp_hash(0x1/0x3),in_port(1),eth_type(0x0800),ipv4(dst=10.1.5.2,frag=no) 2",
		"recirc_id(0x4),dp_hash(0x2/0x3),in_port(1),eth_type(0x0800),ipv4(dst=10.1.5.2,frag=no) 3",
		"recirc_id(0x4),dp_hash(0x3/0x3),in_port(1),eth_type(0x0800),ipv4(dst=10.1.5.2,frag=no) set(ipv4(ttl=1)),3",
		"in_port(1),eth_type(0x0800),ipv4(dst=10.1.5.3,frag=no) set(ipv4(src=10.0.0.99)),hash(sym_l4(0)),recirc(5)",
		"recirc_id(0x5),dp_hash(0/0x1),in_port(1),eth_type(0x0800),ipv4(dst=10.1.5.3,frag=no) 2",
		"recirc_id(0x5),dp_hash(0x1/0x1),in_port(1),eth_type(0x0800),ipv4(dst=10.1.5.3,frag=no) 3",
		"in_port(1),eth_type(0x0806),arp() hash(sym_l4(7)),recirc(6)",
		"recirc_id(0x6),dp_hash(0/0x1),in_port(1),eth_type(0x0806),arp() 2",
		"recirc_id(0x6),dp_hash(0x1/0x1),in_port(1),eth_type(0x0806),arp() 3",
	}
	var pkts [][]byte
	for i := range 32 {
		pkts = append(pkts, testpkt.UDP(testpkt.Frame{IPDst: "10.1.5.1", SrcPort: uint16(1000 + 7*i), DstPort: 53}))
		pkts = append(pkts, testpkt.TCP(testpkt.Frame{IPDst: "10.1.5.2", SrcPort: uint16(2000 + 13*i), DstPort: 80, TCPFlags: "S"}))
	}
	for i := range 16 {
		pkts = append(pkts, testpkt.TCP(testpkt.Frame{IPDst: "10.1.5.3", SrcPort: uint16(3000 + 11*i), DstPort: 80, TCPFlags: "S"}))
		pkts = append(pkts, testpkt.UDP(testpkt.Frame{IPSrc: fmt.Sprintf("10.0.0.%d", i+1), IPDst: "10.1.5.3", SrcPort: uint16(3000 + 11*i), DstPort: 80}))
		pkts = append(pkts, testpkt.ARPRequest(testpkt.Frame{Src: fmt.Sprintf("00:00:00:00:01:%02x", i), IPDst: "10.1.5.9"}))
	}
	compared, _ := sameOutput(t, o, ours, onPort1(pkts))
	if compared != len(pkts) {
		t.Errorf("OVS sent %d packets of %d", compared, len(pkts))
	}
}
