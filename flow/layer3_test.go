package flow

import (
	"bytes"
	"testing"

	"github.com/b7cafead/datapath/internal/testpkt"
)

// layer3Like checks that extracting b as a packet of type pt gives what
// extracting it behind an Ethernet header of that EtherType gives, less
// the Ethernet fields and with every offset 14 bytes earlier, as OVS's
// miniflow_extract treats the two; and that the Layout invariant holds
// (End set exactly when L3 holds a valid IP header).
func layer3Like(t *testing.T, b []byte, pt uint32) {
	t.Helper()
	orig := append([]byte(nil), b...)
	var k, ke Key
	var l, le Layout
	ExtractLayoutType(b, 3, pt, &k, &l)
	if !bytes.Equal(b, orig) {
		t.Fatal("extraction modified the packet")
	}
	eth := append([]byte{0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, byte(pt >> 8), byte(pt)}, b...)
	ExtractLayout(eth, 3, &ke, &le)
	if t := uint16(pt); t < 0x600 || t == EthTypeVLAN || t == EthTypeQinQ {
		// Behind an Ethernet header it would be an 802.3 length or a
		// VLAN tag; without one, nothing follows from the type.
		ke = Key{InPort: 3, EthType: uint16(pt)}
		le = Layout{}
	}
	ke.PacketType = pt
	ke.EthSrc, ke.EthDst = [6]byte{}, [6]byte{}
	ke.EthType = uint16(pt)
	if ke != k {
		t.Fatalf("packet type %#x:%s", pt, keyDiff(k, ke))
	}
	sub := func(n int) int {
		if n == 0 {
			return 0
		}
		return n - 14
	}
	want := Layout{L3: sub(le.L3), L4: sub(le.L4), End: sub(le.End)}
	if l != want {
		t.Fatalf("packet type %#x: layout %+v, want %+v", pt, l, want)
	}
	if (l.End != 0) != ((k.EthType == EthTypeIPv4 || k.EthType == EthTypeIPv6) && le.L3 != 0) {
		t.Fatalf("End %d does not tell whether the IP header is valid", l.End)
	}
	// The worker's variant writes the same packet fields.
	var kp Key
	var lp Layout
	kp.TunID = 7
	ExtractPacketFieldsType(b, 3, pt, &kp, &lp)
	kp.TunID = 0
	if kp != k || lp != l {
		t.Fatalf("ExtractPacketFieldsType differs:%s", keyDiff(kp, k))
	}
}

func TestExtractLayer3(t *testing.T) {
	udp4 := testpkt.UDP(testpkt.Frame{SrcPort: 1, DstPort: 2, TOS: 4})
	tcp6 := testpkt.TCP(testpkt.Frame{IPSrc: "2001:db8::1", IPDst: "2001:db8::2", SrcPort: 3, DstPort: 4, TCPFlags: "SA"})
	icmp := testpkt.ICMPEcho(testpkt.Frame{})
	arp := testpkt.ARPRequest(testpkt.Frame{})
	for _, tc := range []struct {
		b  []byte
		pt uint32
	}{
		{udp4[14:], PacketTypeIPv4},
		{append(udp4[14:], 0, 0, 0), PacketTypeIPv4}, // trailing bytes: End excludes them
		{udp4[14:30], PacketTypeIPv4},                // truncated
		{tcp6[14:], PacketTypeIPv6},
		{icmp[14:], PacketTypeIPv4},
		{arp[14:], PacketTypeOf(EthTypeARP)},
		{[]byte{0, 1, 1, 0x40, 0x45, 0}, PacketTypeMPLS},
		{udp4[14:], PacketTypeIPv6}, // not what its type says
		{nil, PacketTypeIPv4},
		{[]byte{1, 2, 3}, PacketTypeOf(0x88cc)},
	} {
		layer3Like(t, tc.b, tc.pt)
	}
	var k Key
	var l Layout
	ExtractLayoutType(udp4[14:], 9, PacketTypeIPv4, &k, &l)
	if k.PacketType != PacketTypeIPv4 || k.EthType != EthTypeIPv4 || k.NwProto != IPProtoUDP || k.TpDst != 2 ||
		l != (Layout{L3: 0, L4: 20, End: 28}) {
		t.Errorf("key %s layout %+v", FormatKey(&k, &k), l)
	}
	// Type 0 is Ethernet.
	var k0 Key
	ExtractLayoutType(udp4, 9, PacketTypeEthernet, &k0, &l)
	Extract(udp4, 9, &k)
	if k0 != k {
		t.Errorf("packet type 0 is not Ethernet")
	}
}

// FuzzExtractLayer3 extracts arbitrary bytes as IPv4, IPv6, ARP and MPLS
// packets without an Ethernet header.
func FuzzExtractLayer3(f *testing.F) {
	f.Add(testpkt.UDP(testpkt.Frame{})[14:], uint16(EthTypeIPv4))
	f.Add(testpkt.TCP(testpkt.Frame{IPSrc: "::1", IPDst: "::2"})[14:], uint16(EthTypeIPv6))
	f.Add(testpkt.ARPRequest(testpkt.Frame{})[14:], uint16(EthTypeARP))
	f.Add([]byte{0, 1, 1, 0x40}, uint16(EthTypeMPLS))
	f.Fuzz(func(t *testing.T, b []byte, et uint16) {
		if et < 0x600 {
			et = EthTypeIPv4
		}
		layer3Like(t, b, PacketTypeOf(et))
	})
}
