package actions_test

import (
	"bytes"
	"testing"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/flow"
	"github.com/b7cafead/datapath/internal/testpkt"
)

// FuzzExecuteMore runs the set actions of IPv6, ICMP, SCTP, ARP, ND and
// tunnel, the MPLS actions (add_mpls too), push_eth, hash and the nested
// actions on arbitrary frames: they
// must not panic, must keep the frame's length (but for MPLS), and a
// push_mpls followed by a pop_mpls back to the EtherType gives the frame
// back.
func FuzzExecuteMore(f *testing.F) {
	for _, s := range [][]byte{
		testpkt.UDP(testpkt.Frame{SrcPort: 1, DstPort: 2, Payload: []byte("x")}),
		testpkt.TCP(testpkt.Frame{IPSrc: "2001:db8::1", IPDst: "2001:db8::2", SrcPort: 1, DstPort: 2}),
		testpkt.ICMPEcho(testpkt.Frame{}), testpkt.ARPRequest(testpkt.Frame{}), {}, make([]byte, 13), make([]byte, 17),
	} {
		f.Add(s)
	}
	lists := []actions.List{
		actions.MustParse("set(ipv6(src=::1,dst=::2,label=0x12345,tclass=0x4,hlimit=3)),set(icmpv6(type=1,code=2)),set(nd(target=::3,sll=00:00:00:00:00:01,tll=00:00:00:00:00:02)),1"),
		actions.MustParse("set(icmp(type=3,code=1)),set(sctp(src=1,dst=2)),set(arp(sip=1.2.3.4,tip=5.6.7.8,op=2,sha=00:00:00:00:00:01,tha=00:00:00:00:00:02)),1"),
		actions.MustParse("hash(l4(1)),hash(sym_l4(2)),set(skb_mark(1)),ct_clear,clone(set(ipv4(ttl=1)),2),sample(sample=100.0%,actions(trunc(20),3)),check_pkt_len(size=40,gt(1),le(1))"),
		actions.MustParse("set(tunnel(tun_id=0x5,dst=1.1.1.1,ttl=64)),clone(add_mpls(label=5,tc=0,ttl=9,bos=1,eth_type=0x8847),set(ipv4(ttl=2)),push_eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),3),1"),
	}
	var x actions.Executor
	f.Fuzz(func(t *testing.T, frame []byte) {
		for _, l := range lists {
			x.Reset()
			var sink recSink
			pkt := newPkt(frame)
			run(&x, pkt, l, &sink)
			if err := x.Err(); err != nil {
				t.Fatalf("%v: %v", l, err)
			}
			for _, o := range sink.outs {
				if o.port == 1 && len(o.data) != len(frame) {
					t.Fatalf("%v changed the length of %x", l, frame)
				}
			}
		}
		if len(frame) < 14 {
			return
		}
		var k flow.Key
		var lay flow.Layout
		flow.ExtractLayout(frame, 1, &k, &lay)
		off, et := 14, uint16(frame[12])<<8|uint16(frame[13])
		for i := 0; i < 2 && (et == 0x8100 || et == 0x88a8) && off+4 <= len(frame); i++ {
			et = uint16(frame[off+2])<<8 | uint16(frame[off+3])
			off += 4
		}
		if (lay.L3 != 0 && lay.L3 != off) || et == 0x8847 || et == 0x8848 {
			return
		}
		l := actions.List{
			{Type: actions.TypePushMPLS, MPLS: actions.MPLS{LSE: 0x12345140, EthType: 0x8847}},
			{Type: actions.TypePopMPLS, MPLS: actions.MPLS{EthType: et}},
			actions.Output(1),
		}
		x.Reset()
		var sink recSink
		run(&x, newPkt(frame), l, &sink)
		if len(sink.outs) != 1 || !bytes.Equal(sink.outs[0].data, frame) {
			t.Fatalf("push_mpls, pop_mpls: %x -> %v", frame, sink.outs)
		}
	})
}
