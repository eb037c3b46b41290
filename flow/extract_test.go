package flow

import (
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/b7cafead/datapath/internal/testpkt"
)

var extractSeed = flag.Int64("flow.seed", 0, "seed for the random frames of TestExtractDifferentialRandom (0: time-based)")

// ---------------------------------------------------------------------------
// Frame building by hand. The differential tests decode what these build
// with gopacket, so the builders only need to produce the bytes intended.

type vtag struct{ tpid, tci uint16 }

func mac6(b ...byte) [6]byte { var a [6]byte; copy(a[:], b); return a }

var (
	macA = mac6(0x02, 0, 0, 0, 0, 0x0a)
	macB = mac6(0x02, 0, 0, 0, 0, 0x0b)
	ip4A = [4]byte{10, 0, 0, 1}
	ip4B = [4]byte{10, 0, 0, 2}
	ip6A = [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}
	ip6B = [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 2}
)

func ethFrame(dst, src [6]byte, tags []vtag, etype uint16, payload []byte) []byte {
	b := append([]byte{}, dst[:]...)
	b = append(b, src[:]...)
	for _, t := range tags {
		b = be.AppendUint16(b, t.tpid)
		b = be.AppendUint16(b, t.tci)
	}
	b = be.AppendUint16(b, etype)
	return append(b, payload...)
}

type ip4Hdr struct {
	tos, ttl, proto uint8
	id              uint16
	flagsOff        uint16 // flags (DF 0x4000, MF 0x2000) | offset in 8-byte units
	src, dst        [4]byte
	opts            []byte // length must be a multiple of 4
	totLen          int    // 0: computed
}

func (h ip4Hdr) build(payload []byte) []byte {
	hl := 20 + len(h.opts)
	b := make([]byte, hl, hl+len(payload))
	b[0] = 0x40 | byte(hl/4)
	b[1] = h.tos
	tot := hl + len(payload)
	if h.totLen != 0 {
		tot = h.totLen
	}
	be.PutUint16(b[2:], uint16(tot))
	be.PutUint16(b[4:], h.id)
	be.PutUint16(b[6:], h.flagsOff)
	b[8], b[9] = h.ttl, h.proto
	copy(b[12:], h.src[:])
	copy(b[16:], h.dst[:])
	copy(b[20:], h.opts)
	var sum uint32
	for i := 0; i < hl; i += 2 {
		sum += uint32(be.Uint16(b[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	be.PutUint16(b[10:], ^uint16(sum))
	return append(b, payload...)
}

func ip6Packet(tc uint8, label uint32, next, hlim uint8, src, dst [16]byte, payload []byte) []byte {
	b := make([]byte, 40, 40+len(payload))
	be.PutUint32(b, 6<<28|uint32(tc)<<20|label&0xfffff)
	be.PutUint16(b[4:], uint16(len(payload)))
	b[6], b[7] = next, hlim
	copy(b[8:], src[:])
	copy(b[24:], dst[:])
	return append(b, payload...)
}

func tcpSeg(sport, dport, flags uint16, optWords int, payload []byte) []byte {
	hl := 20 + 4*optWords
	b := make([]byte, hl, hl+len(payload))
	be.PutUint16(b, sport)
	be.PutUint16(b[2:], dport)
	be.PutUint32(b[4:], 1)
	b[12] = byte(hl/4)<<4 | byte(flags>>8)&0x0f
	b[13] = byte(flags)
	be.PutUint16(b[14:], 1024)
	for i := 20; i < hl; i++ {
		b[i] = 1 // NOP
	}
	return append(b, payload...)
}

func udpDgram(sport, dport uint16, payload []byte) []byte {
	b := make([]byte, 8, 8+len(payload))
	be.PutUint16(b, sport)
	be.PutUint16(b[2:], dport)
	be.PutUint16(b[4:], uint16(8+len(payload)))
	return append(b, payload...)
}

func icmpMsg(typ, code uint8, payload []byte) []byte {
	b := []byte{typ, code, 0, 0, 0, 1, 0, 1}
	return append(b, payload...)
}

// ndMsg builds an ICMPv6 neighbour solicitation (135) or advertisement
// (136) with the given options (each a type and 6-byte address).
func ndMsg(typ uint8, target [16]byte, opts ...[]byte) []byte {
	b := []byte{typ, 0, 0, 0, 0, 0, 0, 0}
	if typ == 136 {
		b[4] = 0x60
	}
	b = append(b, target[:]...)
	for _, o := range opts {
		b = append(b, o...)
	}
	return b
}

func llOpt(typ uint8, a [6]byte) []byte { return append([]byte{typ, 1}, a[:]...) }

func arpPkt(op uint16, sha [6]byte, spa [4]byte, tha [6]byte, tpa [4]byte) []byte {
	b := []byte{0, 1, 8, 0, 6, 4, byte(op >> 8), byte(op)}
	b = append(b, sha[:]...)
	b = append(b, spa[:]...)
	b = append(b, tha[:]...)
	return append(b, tpa[:]...)
}

// ---------------------------------------------------------------------------
// The oracle: a Key computed from gopacket's decoding, with OVS semantics.

func gopacketKey(t *testing.T, data []byte, inPort uint32) Key {
	t.Helper()
	p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
	k := Key{InPort: inPort}
	defer checkDecoded(t, p, data)
	eth, ok := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if !ok {
		t.Fatalf("no Ethernet layer")
	}
	copy(k.EthSrc[:], eth.SrcMAC)
	copy(k.EthDst[:], eth.DstMAC)
	k.EthType = uint16(eth.EthernetType)
	var nvlan int
	visitLayers(t, &k, &nvlan, p.Layers())
	return k
}

// checkDecoded fails the test if gopacket could not decode p up to its
// layer 4: the frames under test are meant to be well formed. Errors past
// layer 4 (gopacket guesses application protocols from port numbers) and
// for protocol 253 (reserved for experiments, which gopacket has no decoder
// for, and which the random frames use for an IP payload that is not
// parsed) do not matter.
func checkDecoded(t *testing.T, p gopacket.Packet, data []byte) {
	t.Helper()
	el := p.ErrorLayer()
	if el == nil {
		return
	}
	for _, l := range p.Layers() {
		switch l := l.(type) {
		case *layers.TCP, *layers.UDP, *layers.SCTP, *layers.ICMPv4, *layers.ICMPv6:
			return
		case *layers.IPv4:
			if l.Protocol == 253 {
				return
			}
		case *layers.IPv6, *layers.IPv6Destination, *layers.IPv6HopByHop, *layers.IPSecAH, *layers.IPv6Fragment:
			if v := reflect.ValueOf(l).Elem().FieldByName("NextHeader"); v.IsValid() && v.Uint() == 253 {
				return
			}
		}
	}
	t.Fatalf("gopacket cannot decode the frame (a test bug): %v\n%s", el.Error(), hex.Dump(data))
}

func visitLayers(t *testing.T, k *Key, nvlan *int, ls []gopacket.Layer) {
	t.Helper()
	// decodeRest decodes the payload of a first fragment, which gopacket
	// leaves as a Fragment, as the layer it would be.
	decodeRest := func(proto layers.IPProtocol, payload []byte) {
		q := gopacket.NewPacket(payload, proto.LayerType(), gopacket.Default)
		if proto != 253 {
			checkDecoded(t, q, payload)
		}
		visitLayers(t, k, nvlan, q.Layers())
	}
	for _, l := range ls {
		switch l := l.(type) {
		case *layers.Dot1Q:
			// OVS sets the CFI/DEI bit to mean "present", whatever
			// DropEligible is.
			tci := uint16(l.Priority)<<13 | l.VLANIdentifier | VLANCFI
			k.VlanTPID[*nvlan] = k.EthType
			k.VlanTCI[*nvlan] = tci
			k.EthType = uint16(l.Type)
			*nvlan++
		case *layers.IPv4:
			copy(k.NwSrc[:], l.SrcIP.To4())
			copy(k.NwDst[:], l.DstIP.To4())
			k.NwTos, k.NwTTL, k.NwProto = l.TOS, l.TTL, uint8(l.Protocol)
			if l.FragOffset != 0 {
				k.NwFrag = FragAny | FragLater
				return
			}
			if l.Flags&layers.IPv4MoreFragments != 0 {
				k.NwFrag = FragAny
				decodeRest(l.Protocol, l.Payload)
				return
			}
		case *layers.IPv6:
			copy(k.IPv6Src[:], l.SrcIP)
			copy(k.IPv6Dst[:], l.DstIP)
			k.NwTos, k.NwTTL, k.NwProto = l.TrafficClass, l.HopLimit, uint8(l.NextHeader)
			k.IPv6Label = l.FlowLabel
		case *layers.IPv6HopByHop:
			k.NwProto = uint8(l.NextHeader)
		case *layers.IPv6Destination:
			k.NwProto = uint8(l.NextHeader)
		case *layers.IPSecAH:
			k.NwProto = uint8(l.NextHeader)
		case *layers.IPv6Fragment:
			k.NwProto = uint8(l.NextHeader)
			if l.FragmentOffset != 0 {
				k.NwFrag = FragAny | FragLater
				k.NwProto = 44
				return
			}
			if l.MoreFragments || l.Reserved1 != 0 || l.Reserved2 != 0 {
				k.NwFrag = FragAny
			}
			// gopacket leaves what follows any fragment header
			// undecoded, even an atomic one.
			decodeRest(l.NextHeader, l.Payload)
			return
		case *layers.TCP:
			k.TpSrc, k.TpDst = uint16(l.SrcPort), uint16(l.DstPort)
			for i, f := range []bool{l.FIN, l.SYN, l.RST, l.PSH, l.ACK, l.URG, l.ECE, l.CWR, l.NS} {
				if f {
					k.TCPFlags |= 1 << i
				}
			}
		case *layers.UDP:
			k.TpSrc, k.TpDst = uint16(l.SrcPort), uint16(l.DstPort)
		case *layers.SCTP:
			k.TpSrc, k.TpDst = uint16(l.SrcPort), uint16(l.DstPort)
		case *layers.ICMPv4:
			k.TpSrc, k.TpDst = uint16(l.TypeCode.Type()), uint16(l.TypeCode.Code())
		case *layers.ICMPv6:
			k.TpSrc, k.TpDst = uint16(l.TypeCode.Type()), uint16(l.TypeCode.Code())
		case *layers.ICMPv6NeighborSolicitation:
			// The layer starts with the reserved word (for an
			// advertisement, its flags and reserved bits).
			k.NdReserved = be.Uint32(l.Contents)
			copy(k.NdTarget[:], l.TargetAddress)
			ndOpts(k, l.Options)
		case *layers.ICMPv6NeighborAdvertisement:
			k.NdReserved = be.Uint32(l.Contents)
			copy(k.NdTarget[:], l.TargetAddress)
			ndOpts(k, l.Options)
		case *layers.ARP:
			if l.Operation <= 0xff {
				k.NwProto = uint8(l.Operation)
			}
			copy(k.ArpSHA[:], l.SourceHwAddress)
			copy(k.NwSrc[:], l.SourceProtAddress)
			copy(k.ArpTHA[:], l.DstHwAddress)
			copy(k.NwDst[:], l.DstProtAddress)
		}
	}
}

// ndOpts applies the link-layer address options of an ND message with
// OVS's rules: 8-byte options only; the type of the first one is the ND
// options type (kept in TCPFlags); a second address of a type already
// given clears the target and the addresses.
func ndOpts(k *Key, opts layers.ICMPv6Options) {
	for _, o := range opts {
		var addr *[6]byte
		switch {
		case o.Type == layers.ICMPv6OptSourceAddress && len(o.Data) == 6:
			addr = &k.ArpSHA
		case o.Type == layers.ICMPv6OptTargetAddress && len(o.Data) == 6:
			addr = &k.ArpTHA
		default:
			continue
		}
		if *addr != ([6]byte{}) {
			k.NdTarget, k.ArpSHA, k.ArpTHA = [16]byte{}, [6]byte{}, [6]byte{}
			return
		}
		copy(addr[:], o.Data)
		if k.TCPFlags == 0 {
			k.TCPFlags = uint16(o.Type)
		}
	}
}

// keyDiff lists the fields in which got and want differ.
func keyDiff(got, want Key) string {
	var s string
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := 0; i < g.NumField(); i++ {
		if !g.Type().Field(i).IsExported() {
			continue
		}
		if !reflect.DeepEqual(g.Field(i).Interface(), w.Field(i).Interface()) {
			s += fmt.Sprintf("\n\t%s: got %#v, want %#v", g.Type().Field(i).Name, g.Field(i).Interface(), w.Field(i).Interface())
		}
	}
	return s
}

func checkAgainstGopacket(t *testing.T, name string, frame []byte) {
	t.Helper()
	want := gopacketKey(t, frame, 7)
	var got Key
	Extract(frame, 7, &got)
	if got != want {
		t.Errorf("%s: Extract differs from gopacket:%s\n%s", name, keyDiff(got, want), hex.Dump(frame))
	}
}

// ---------------------------------------------------------------------------
// Well-formed frames built with gopacket's serializer.

func serializeLayers(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func gopacketFrames(t testing.TB) map[string][]byte {
	src := []byte{0xfe, 0x80, 15: 1}
	dst := []byte{0xff, 0x02, 11: 1, 12: 0xff, 15: 2}
	eth6 := &layers.Ethernet{SrcMAC: macA[:], DstMAC: macB[:], EthernetType: layers.EthernetTypeIPv6}
	ns := func(opts layers.ICMPv6Options) []byte {
		ip := &layers.IPv6{Version: 6, SrcIP: src, DstIP: dst, HopLimit: 255, NextHeader: layers.IPProtocolICMPv6, TrafficClass: 0xe0, FlowLabel: 0x12345}
		icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(135, 0)}
		if err := icmp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		return serializeLayers(t, eth6, ip, icmp, &layers.ICMPv6NeighborSolicitation{TargetAddress: ip6B[:], Options: opts})
	}
	na := func() []byte {
		ip := &layers.IPv6{Version: 6, SrcIP: ip6B[:], DstIP: ip6A[:], HopLimit: 255, NextHeader: layers.IPProtocolICMPv6}
		icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(136, 0)}
		if err := icmp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		return serializeLayers(t, eth6, ip, icmp, &layers.ICMPv6NeighborAdvertisement{Flags: 0x60, TargetAddress: ip6B[:],
			Options: layers.ICMPv6Options{{Type: layers.ICMPv6OptTargetAddress, Data: macB[:]}}})
	}
	echo6 := func() []byte {
		ip := &layers.IPv6{Version: 6, SrcIP: ip6A[:], DstIP: ip6B[:], HopLimit: 64, NextHeader: layers.IPProtocolICMPv6}
		icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)}
		if err := icmp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		return serializeLayers(t, eth6, ip, icmp, &layers.ICMPv6Echo{Identifier: 1, SeqNumber: 2}, gopacket.Payload("ping"))
	}
	qinq := func() []byte {
		eth := &layers.Ethernet{SrcMAC: macA[:], DstMAC: macB[:], EthernetType: layers.EthernetTypeQinQ}
		outer := &layers.Dot1Q{Priority: 5, VLANIdentifier: 100, Type: layers.EthernetTypeDot1Q}
		inner := &layers.Dot1Q{Priority: 1, DropEligible: true, VLANIdentifier: 4095, Type: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 3, TOS: 0x2e, Protocol: layers.IPProtocolUDP, SrcIP: ip4A[:], DstIP: ip4B[:]}
		udp := &layers.UDP{SrcPort: 1067, DstPort: 1068}
		if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		return serializeLayers(t, eth, outer, inner, ip, udp, gopacket.Payload("dhcp"))
	}
	ip4opts := func() []byte {
		eth := &layers.Ethernet{SrcMAC: macA[:], DstMAC: macB[:], EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 1, Protocol: layers.IPProtocolTCP, SrcIP: ip4A[:], DstIP: ip4B[:],
			Flags:   layers.IPv4DontFragment,
			Options: []layers.IPv4Option{{OptionType: 148, OptionLength: 4, OptionData: []byte{0, 0}}}} // router alert
		tcp := &layers.TCP{SrcPort: 443, DstPort: 51000, Seq: 9, ACK: true, PSH: true, ECE: true, CWR: true, NS: true, Window: 1,
			Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{5, 0xb4}}}}
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		return serializeLayers(t, eth, ip, tcp, gopacket.Payload("hello"))
	}
	hbh := func() []byte {
		ip := &layers.IPv6{Version: 6, SrcIP: ip6A[:], DstIP: ip6B[:], HopLimit: 1, NextHeader: layers.IPProtocolUDP,
			HopByHop: &layers.IPv6HopByHop{Options: []*layers.IPv6HopByHopOption{{OptionType: 0x1e, OptionLength: 4, OptionData: []byte{1, 2, 3, 4}}}}}
		ip.HopByHop.NextHeader = layers.IPProtocolUDP
		udp := &layers.UDP{SrcPort: 5353, DstPort: 5353}
		if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		return serializeLayers(t, eth6, ip, udp, gopacket.Payload("mdns"))
	}
	arpReply := func() []byte {
		eth := &layers.Ethernet{SrcMAC: macA[:], DstMAC: macB[:], EthernetType: layers.EthernetTypeARP}
		arp := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: layers.ARPReply, SourceHwAddress: macA[:], SourceProtAddress: ip4A[:], DstHwAddress: macB[:], DstProtAddress: ip4B[:]}
		return serializeLayers(t, eth, arp)
	}
	return map[string][]byte{
		"ipv4-udp":        testpkt.UDP(testpkt.Frame{SrcPort: 1000, DstPort: 2000, TOS: 0xb8, Payload: []byte("x")}),
		"ipv4-udp-nocsum": testpkt.UDP(testpkt.Frame{SrcPort: 53, DstPort: 33333, NoChecksum: true}),
		"ipv6-udp":        testpkt.UDP(testpkt.Frame{IPSrc: "2001:db8::1", IPDst: "2001:db8::2", SrcPort: 1, DstPort: 65535, TOS: 0x41, TTL: 7}),
		"vlan-ipv4-tcp":   testpkt.TCP(testpkt.Frame{VLAN: 10, SrcPort: 40000, DstPort: 80, TCPFlags: "S"}),
		"ipv4-tcp-fa":     testpkt.TCP(testpkt.Frame{SrcPort: 40000, DstPort: 80, TCPFlags: "FA", Payload: make([]byte, 100)}),
		"ipv6-tcp-rp":     testpkt.TCP(testpkt.Frame{IPSrc: "fe80::1", IPDst: "ff02::1", SrcPort: 22, DstPort: 2222, TCPFlags: "RP"}),
		"vlan-ipv6-tcp":   testpkt.TCP(testpkt.Frame{VLAN: 4094, IPSrc: "::1", IPDst: "::2", TCPFlags: "SA"}),
		"ipv4-icmp":       testpkt.ICMPEcho(testpkt.Frame{Payload: []byte("abcdefgh")}),
		"vlan-ipv4-icmp":  testpkt.ICMPEcho(testpkt.Frame{VLAN: 1}),
		"arp-request":     testpkt.ARPRequest(testpkt.Frame{}),
		"vlan-arp":        testpkt.ARPRequest(testpkt.Frame{VLAN: 3, IPSrc: "192.168.1.1", IPDst: "192.168.1.254"}),
		"arp-reply":       arpReply(),
		"ipv6-ns-sll": ns(layers.ICMPv6Options{{Type: layers.ICMPv6OptSourceAddress, Data: macA[:]},
			{Type: layers.ICMPv6OptMTU, Data: []byte{0, 0, 0, 0, 5, 0xdc}}}),
		"ipv6-ns-none": ns(nil),
		"ipv6-na-tll":  na(),
		"ipv6-echo":    echo6(),
		"qinq-ipv4":    qinq(),
		"ipv4-options": ip4opts(),
		"ipv6-hbh-udp": hbh(),
	}
}

func TestExtractDifferentialGopacket(t *testing.T) {
	for name, frame := range gopacketFrames(t) {
		checkAgainstGopacket(t, name, frame)
	}
}

// ---------------------------------------------------------------------------
// Random well-formed frames.

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	r.Read(b)
	return b
}

func randMAC(r *rand.Rand) (a [6]byte) { r.Read(a[:]); return }

func randIP4(r *rand.Rand) (a [4]byte) { r.Read(a[:]); return }

func randIP6(r *rand.Rand) (a [16]byte) { r.Read(a[:]); return }

// randL4 returns an L4 header with payload for protocol proto of an IP
// packet of the given version.
func randL4(r *rand.Rand, proto uint8, v6 bool) []byte {
	pay := randBytes(r, r.Intn(24))
	switch proto {
	case IPProtoTCP:
		return tcpSeg(uint16(r.Uint32()), uint16(r.Uint32()), uint16(r.Intn(0x200)), r.Intn(11), pay)
	case IPProtoUDP:
		return udpDgram(uint16(r.Uint32()), uint16(r.Uint32()), pay)
	case IPProtoSCTP:
		b := make([]byte, 12) // common header only: gopacket decodes no chunks
		be.PutUint16(b, uint16(r.Uint32()))
		be.PutUint16(b[2:], uint16(r.Uint32()))
		return b
	case IPProtoICMP:
		return icmpMsg(uint8(r.Intn(256)), uint8(r.Intn(256)), pay)
	case IPProtoICMPv6:
		switch r.Intn(4) {
		case 0:
			return icmpMsg(uint8(128+r.Intn(2)), 0, pay) // echo
		case 1:
			return icmpMsg([]uint8{1, 2, 3, 4}[r.Intn(4)], uint8(r.Intn(8)), randBytes(r, 4*r.Intn(4)))
		default:
			var opts [][]byte
			for _, typ := range r.Perm(3)[:r.Intn(4)] {
				switch typ {
				case 0:
					opts = append(opts, llOpt(1, randMAC(r)))
				case 1:
					opts = append(opts, llOpt(2, randMAC(r)))
				case 2:
					opts = append(opts, append([]byte{5, 1, 0, 0}, randBytes(r, 4)...)) // MTU
				}
			}
			m := ndMsg(uint8(135+r.Intn(2)), randIP6(r), opts...)
			if r.Intn(2) == 0 {
				be.PutUint32(m[4:], r.Uint32()) // flags and reserved bits
			}
			return m
		}
	}
	return pay // an unparsed protocol
}

func randProto(r *rand.Rand, v6 bool) uint8 {
	ps := []uint8{IPProtoTCP, IPProtoUDP, IPProtoICMP, IPProtoSCTP, 253}
	if v6 {
		ps[2] = IPProtoICMPv6
	}
	return ps[r.Intn(len(ps))]
}

// tlvPad fills n bytes with IPv6 option padding (PadN, or Pad1 for 1).
func tlvPad(n int) []byte {
	switch n {
	case 0:
		return nil
	case 1:
		return []byte{0}
	}
	b := make([]byte, n)
	b[0], b[1] = 1, byte(n-2)
	return b
}

func randIPv4(r *rand.Rand) []byte {
	h := ip4Hdr{tos: uint8(r.Intn(256)), ttl: uint8(r.Intn(256)), id: uint16(r.Uint32()), src: randIP4(r), dst: randIP4(r)}
	if n := r.Intn(4); n > 0 {
		h.opts = make([]byte, 4*n)
		for i := range h.opts {
			h.opts[i] = 1 // NOP
		}
		h.opts[len(h.opts)-1] = 0 // EOL
	}
	if r.Intn(2) == 0 {
		h.flagsOff |= 0x4000 // DF
	}
	h.proto = randProto(r, false)
	var payload []byte
	switch r.Intn(6) {
	case 0: // first fragment
		h.flagsOff |= 0x2000
		payload = randL4(r, h.proto, false)
	case 1: // later fragment, maybe the last
		h.flagsOff = uint16(1 + r.Intn(0x1fff))
		if r.Intn(2) == 0 {
			h.flagsOff |= 0x2000
		}
		payload = randBytes(r, 8*r.Intn(4))
	default:
		payload = randL4(r, h.proto, false)
	}
	return h.build(payload)
}

func randIPv6(r *rand.Rand) []byte {
	proto := randProto(r, true)
	body := randL4(r, proto, true)
	// Extension headers, innermost first.
	type ext struct {
		typ  uint8
		body []byte // the header with its next-header byte zero
	}
	var exts []ext
	if r.Intn(3) == 0 {
		n := 8 * (1 + r.Intn(2))
		b := append([]byte{0, byte(n/8 - 1)}, tlvPad(n-2)...)
		exts = append(exts, ext{60, b}) // destination options after the fragment header
	}
	switch r.Intn(5) {
	case 0: // first fragment
		exts = append(exts, ext{44, []byte{0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef}})
	case 1: // later fragment
		off := uint16(1+r.Intn(0x1fff)) << 3
		if r.Intn(2) == 0 {
			off |= 1
		}
		body = randBytes(r, 8*r.Intn(4))
		exts = exts[:0]
		exts = append(exts, ext{44, []byte{0, 0, byte(off >> 8), byte(off), 0, 0, 0, 2}})
	case 2: // atomic fragment: not a fragment
		exts = append(exts, ext{44, []byte{0, 0, 0, 0, 0, 0, 0, 3}})
	}
	if r.Intn(4) == 0 {
		b := make([]byte, 24) // AH with a 12-byte ICV
		b[1] = 4
		exts = append(exts, ext{51, b})
	}
	if r.Intn(3) == 0 {
		n := 8 * (1 + r.Intn(3))
		b := append([]byte{0, byte(n/8 - 1)}, tlvPad(n-2)...)
		exts = append(exts, ext{60, b})
	}
	if r.Intn(3) == 0 {
		n := 8 * (1 + r.Intn(2))
		b := append([]byte{0, byte(n/8 - 1)}, tlvPad(n-2)...)
		exts = append(exts, ext{0, b}) // hop-by-hop: must be first
	}
	next := proto
	for _, e := range exts {
		e.body[0] = next
		body = append(e.body, body...)
		next = e.typ
	}
	return ip6Packet(uint8(r.Intn(256)), r.Uint32()&0xfffff, next, uint8(r.Intn(256)), randIP6(r), randIP6(r), body)
}

func randARP(r *rand.Rand) []byte {
	op := uint16(1 + r.Intn(4))
	if r.Intn(8) == 0 {
		op = uint16(r.Uint32())
	}
	return arpPkt(op, randMAC(r), randIP4(r), randMAC(r), randIP4(r))
}

func randFrame(r *rand.Rand) []byte {
	var tags []vtag
	switch n := r.Intn(4); n {
	case 1:
		tags = []vtag{{[]uint16{EthTypeVLAN, EthTypeQinQ}[r.Intn(2)], uint16(r.Uint32())}}
	case 2:
		tags = []vtag{{[]uint16{EthTypeVLAN, EthTypeQinQ}[r.Intn(2)], uint16(r.Uint32())}, {EthTypeVLAN, uint16(r.Uint32())}}
	}
	var et uint16
	var payload []byte
	switch x := r.Intn(10); {
	case x < 4:
		et, payload = EthTypeIPv4, randIPv4(r)
	case x < 8:
		et, payload = EthTypeIPv6, randIPv6(r)
	default:
		et, payload = EthTypeARP, randARP(r)
	}
	b := ethFrame(randMAC(r), randMAC(r), tags, et, payload)
	if len(b) < 60 && r.Intn(2) == 0 {
		b = append(b, randBytes(r, 60-len(b))...) // Ethernet padding
	}
	if r.Intn(8) == 0 {
		b = append(b, randBytes(r, 1+r.Intn(8))...) // trailer
	}
	return b
}

func TestExtractDifferentialRandom(t *testing.T) {
	seed := *extractSeed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("seed %d (rerun with -flow.seed=%d)", seed, seed)
	r := rand.New(rand.NewSource(seed))
	n := 800
	if testing.Short() {
		n = 200
	}
	for i := 0; i < n && !t.Failed(); i++ {
		checkAgainstGopacket(t, fmt.Sprintf("frame %d", i), randFrame(r))
	}
}

// ---------------------------------------------------------------------------
// Truncated and malformed frames.

func extractLayout(b []byte) (Key, Layout) {
	var k Key
	var l Layout
	ExtractLayout(b, 1, &k, &l)
	return k, l
}

// l2Only keeps the metadata and Ethernet fields of k.
func l2Only(k Key) Key {
	return Key{InPort: k.InPort, EthSrc: k.EthSrc, EthDst: k.EthDst, EthType: k.EthType, VlanTPID: k.VlanTPID, VlanTCI: k.VlanTCI}
}

func truncationFrames(t *testing.T) map[string][]byte {
	m := gopacketFrames(t)
	m["ipv6-frag-first-tcp"] = ethFrame(macB, macA, nil, EthTypeIPv6,
		ip6Packet(0, 1, 0, 64, ip6A, ip6B, append([]byte{60, 0, 1, 4, 0, 0, 0, 0},
			append([]byte{44, 0, 0, 1, 0, 0, 0, 9}, append([]byte{6, 0, 0, 0, 0, 0, 0, 1}, tcpSeg(1, 2, 0x12, 1, nil)...)...)...)))
	m["ipv4-frag-later"] = ethFrame(macB, macA, nil, EthTypeIPv4,
		ip4Hdr{ttl: 9, proto: IPProtoUDP, flagsOff: 0x2010, src: ip4A, dst: ip4B}.build(make([]byte, 16)))
	m["qinq-ipv6-udp"] = ethFrame(macB, macA, []vtag{{EthTypeQinQ, 0x2005}, {EthTypeVLAN, 0x0123}}, EthTypeIPv6,
		ip6Packet(0, 0, IPProtoUDP, 1, ip6A, ip6B, udpDgram(9, 10, []byte("x"))))
	m["ipv4-sctp"] = ethFrame(macB, macA, nil, EthTypeIPv4,
		ip4Hdr{ttl: 9, proto: IPProtoSCTP, src: ip4A, dst: ip4B}.build([]byte{0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}))
	return m
}

// TestExtractPrefixes extracts every prefix of valid frames. A prefix cuts
// the IP packet short of its length, so extraction must stop after the
// Ethernet header (or a VLAN tag whose TCI was cut, which OVS treats as an
// EtherType).
func TestExtractPrefixes(t *testing.T) {
	for name, frame := range truncationFrames(t) {
		full, fl := extractLayout(frame)
		if fl.L3 == 0 {
			t.Fatalf("%s: no L3 in the full frame", name)
		}
		end := fl.End
		if full.EthType == EthTypeARP {
			end = fl.L3 + 28
		}
		for n := 0; n <= len(frame); n++ {
			b := append([]byte(nil), frame[:n]...) // exact capacity
			var got Key
			var l Layout
			func() {
				defer func() {
					if e := recover(); e != nil {
						t.Fatalf("%s: prefix %d: panic %v", name, n, e)
					}
				}()
				ExtractLayout(b, 1, &got, &l)
			}()
			var want Key
			switch {
			case n < 14:
				want = Key{InPort: 1}
			case n < fl.L3:
				// Cut inside the VLAN tags: the tags that are whole
				// (with the two bytes after them) count, and the TPID
				// of the first tag that is not is the EtherType.
				want = Key{InPort: 1, EthSrc: full.EthSrc, EthDst: full.EthDst}
				for i := 0; i < MaxVLANs; i++ {
					off := 12 + 4*i
					if n >= off+6 {
						want.VlanTPID[i], want.VlanTCI[i] = full.VlanTPID[i], full.VlanTCI[i]
						continue
					}
					want.EthType = full.VlanTPID[i]
					break
				}
			case n < end:
				want = l2Only(full)
			default:
				want = full
			}
			if got != want {
				t.Errorf("%s: prefix %d of %d:%s", name, n, len(frame), keyDiff(got, want))
			}
			if n < end && l != (Layout{}) {
				t.Errorf("%s: prefix %d: layout %+v for an invalid L3", name, n, l)
			}
		}
	}
}

// TestExtractL4Cut cuts IP packets inside their L4 header (or IPv6
// extension headers), fixing up the IP length so that the IP header stays
// valid: the IP fields must stay and the L4 fields must go.
func TestExtractL4Cut(t *testing.T) {
	for name, frame := range truncationFrames(t) {
		full, fl := extractLayout(frame)
		if fl.L4 == 0 || full.NwFrag&FragLater != 0 {
			continue
		}
		need := 0 // bytes of L4 header the extractor needs
		switch full.NwProto {
		case IPProtoTCP:
			need = int(frame[fl.L4+12]>>4) * 4
		case IPProtoUDP, IPProtoICMP:
			need = 8
		case IPProtoICMPv6:
			if full.TpSrc == 135 || full.TpSrc == 136 {
				continue // TestExtractMalformed covers ND
			}
			need = 8
		case IPProtoSCTP:
			need = 12
		}
		for c := fl.L3 + 1; c < fl.End; c++ {
			b := append([]byte(nil), frame[:c]...)
			v6 := full.EthType == EthTypeIPv6
			if v6 {
				if c < fl.L3+40 {
					continue
				}
				be.PutUint16(b[fl.L3+4:], uint16(c-fl.L3-40))
			} else {
				if c < fl.L4 {
					continue // header length > total length: not IPv4
				}
				be.PutUint16(b[fl.L3+2:], uint16(c-fl.L3))
			}
			got, l := extractLayout(b)
			want := full
			switch {
			case c < fl.L4: // inside the IPv6 extension headers
				want = l2Only(full)
				want.IPv6Src, want.IPv6Dst = full.IPv6Src, full.IPv6Dst
			case c-fl.L4 < need:
				want.TpSrc, want.TpDst, want.TCPFlags = 0, 0, 0
			}
			if got != want {
				t.Errorf("%s: IP packet cut at %d (L4 at %d):%s", name, c, fl.L4, keyDiff(got, want))
			}
			if l.End != c || l.L3 != fl.L3 {
				t.Errorf("%s: cut at %d: layout %+v", name, c, l)
			}
		}
	}
}

func TestExtractMalformed(t *testing.T) {
	vlan1 := []vtag{{EthTypeVLAN, 0x000a}}
	ip4 := func(h ip4Hdr, payload []byte) []byte {
		if h.ttl == 0 {
			h.ttl = 64
		}
		h.src, h.dst = ip4A, ip4B
		return ethFrame(macB, macA, nil, EthTypeIPv4, h.build(payload))
	}
	l2 := Key{InPort: 1, EthSrc: macA, EthDst: macB}
	withL2 := func(et uint16, f func(k *Key)) Key {
		k := l2
		k.EthType = et
		if f != nil {
			f(&k)
		}
		return k
	}
	v4 := func(proto uint8, f func(k *Key)) Key {
		return withL2(EthTypeIPv4, func(k *Key) {
			k.NwSrc, k.NwDst, k.NwTTL, k.NwProto = ip4A, ip4B, 64, proto
			if f != nil {
				f(k)
			}
		})
	}
	v6 := func(proto uint8, f func(k *Key)) Key {
		return withL2(EthTypeIPv6, func(k *Key) {
			k.IPv6Src, k.IPv6Dst, k.NwTTL, k.NwProto = ip6A, ip6B, 255, proto
			if f != nil {
				f(k)
			}
		})
	}
	ip6 := func(next uint8, payload []byte) []byte {
		return ethFrame(macB, macA, nil, EthTypeIPv6, ip6Packet(0, 0, next, 255, ip6A, ip6B, payload))
	}
	setIHL := func(b []byte, ihl byte) []byte { b[14] = 0x40 | ihl; return b }
	setTot := func(b []byte, tot uint16) []byte { be.PutUint16(b[16:], tot); return b }
	setU32 := func(b []byte, i int, v uint32) []byte { be.PutUint32(b[i:], v); return b }
	setPlen := func(b []byte, plen uint16) []byte { be.PutUint16(b[18:], plen); return b }
	target := [16]byte{0xfe, 0x80, 15: 9}
	ndKey := func(typ uint16, f func(k *Key)) Key {
		return v6(IPProtoICMPv6, func(k *Key) {
			k.TpSrc = typ
			if f != nil {
				f(k)
			}
		})
	}
	arp := arpPkt(1, macA, ip4A, [6]byte{}, ip4B)
	arpKey := withL2(EthTypeARP, func(k *Key) { k.NwProto, k.ArpSHA, k.NwSrc, k.NwDst = 1, macA, ip4A, ip4B })
	mod := func(b []byte, i int, v byte) []byte { b = append([]byte(nil), b...); b[i] = v; return b }

	tests := []struct {
		name  string
		frame []byte
		want  Key
	}{
		{"empty", nil, Key{InPort: 1}},
		{"13 bytes", make([]byte, 13), Key{InPort: 1}},
		{"runt ethernet", ethFrame(macB, macA, nil, 0x1234, nil), withL2(0x1234, nil)},

		// 802.3 and LLC/SNAP.
		{"802.3 LLC", ethFrame(macB, macA, nil, 40, []byte{0x42, 0x42, 0x03, 0, 0, 0, 0, 0, 0, 0}), withL2(EthTypeNone, nil)},
		{"802.3 short", ethFrame(macB, macA, nil, 3, []byte{0xaa, 0xaa, 0x03}), withL2(EthTypeNone, nil)},
		{"802.3 length 0x5ff", ethFrame(macB, macA, nil, 0x5ff, nil), withL2(EthTypeNone, nil)},
		{"SNAP IPv4", ethFrame(macB, macA, nil, 48, append([]byte{0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00},
			ip4Hdr{ttl: 64, proto: 253, src: ip4A, dst: ip4B}.build(nil)...)), v4(253, nil)},
		{"SNAP ARP", ethFrame(macB, macA, nil, 36, append([]byte{0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x06}, arp...)), arpKey},
		{"SNAP other OUI", ethFrame(macB, macA, nil, 8, []byte{0xaa, 0xaa, 0x03, 0, 0, 0xf8, 0x08, 0x00}), withL2(EthTypeNone, nil)},
		{"SNAP small type", ethFrame(macB, macA, nil, 8, []byte{0xaa, 0xaa, 0x03, 0, 0, 0, 0x05, 0xff}), withL2(EthTypeNone, nil)},
		{"SNAP truncated", ethFrame(macB, macA, nil, 7, []byte{0xaa, 0xaa, 0x03, 0, 0, 0, 0x08}), withL2(EthTypeNone, nil)},

		// VLAN tags.
		{"three tags", ethFrame(macB, macA, []vtag{{EthTypeQinQ, 1}, {EthTypeVLAN, 2}, {EthTypeVLAN, 3}}, EthTypeIPv4, nil),
			withL2(EthTypeVLAN, func(k *Key) {
				k.VlanTPID, k.VlanTCI = [2]uint16{EthTypeQinQ, EthTypeVLAN}, [2]uint16{0x1001, 0x1002}
			})},
		{"tag with DEI and PCP", ethFrame(macB, macA, []vtag{{EthTypeVLAN, 0xffff}}, 0x88cc, nil),
			withL2(0x88cc, func(k *Key) { k.VlanTPID[0], k.VlanTCI[0] = EthTypeVLAN, 0xffff })},
		{"TPID without TCI", append(ethFrame(macB, macA, nil, EthTypeVLAN, nil), 0, 5, 8), withL2(EthTypeVLAN, nil)},
		{"inner TPID without TCI", append(ethFrame(macB, macA, vlan1, EthTypeVLAN, nil), 0), withL2(EthTypeVLAN, func(k *Key) {
			k.VlanTPID[0], k.VlanTCI[0] = EthTypeVLAN, 0x100a
		})},
		{"vlan LLC", ethFrame(macB, macA, vlan1, 100, make([]byte, 100)), withL2(EthTypeNone, func(k *Key) {
			k.VlanTPID[0], k.VlanTCI[0] = EthTypeVLAN, 0x100a
		})},

		// IPv4.
		{"ipv4 short header", ethFrame(macB, macA, nil, EthTypeIPv4, make([]byte, 19)), withL2(EthTypeIPv4, nil)},
		{"ipv4 ihl 4", setIHL(ip4(ip4Hdr{proto: 17}, udpDgram(1, 2, nil)), 4), withL2(EthTypeIPv4, nil)},
		{"ipv4 ihl > total length", append(setIHL(ip4(ip4Hdr{proto: 17}, udpDgram(1, 2, nil)), 8), make([]byte, 10)...), withL2(EthTypeIPv4, nil)},
		{"ipv4 ihl > frame", setTot(setIHL(ip4(ip4Hdr{proto: 17}, nil), 15), 60), withL2(EthTypeIPv4, nil)},
		{"ipv4 total length > frame", setTot(ip4(ip4Hdr{proto: 17}, udpDgram(1, 2, nil)), 29), withL2(EthTypeIPv4, nil)},
		{"ipv4 total length < 20", setTot(ip4(ip4Hdr{proto: 17}, udpDgram(1, 2, nil)), 19), withL2(EthTypeIPv4, nil)},
		{"ipv4 no payload", ip4(ip4Hdr{proto: 6}, nil), v4(6, nil)},
		{"ipv4 padding is not L4", append(ip4(ip4Hdr{proto: 17}, nil), udpDgram(1, 2, make([]byte, 18))...), v4(17, nil)},
		{"ipv4 padding completes no TCP", append(ip4(ip4Hdr{proto: 6, totLen: 30}, tcpSeg(1, 2, 2, 0, nil)[:10]), tcpSeg(1, 2, 2, 0, nil)[10:]...),
			v4(6, nil)},
		{"ipv4 DF is not a fragment", ip4(ip4Hdr{proto: 17, flagsOff: 0x4000}, udpDgram(1, 2, nil)),
			v4(17, func(k *Key) { k.TpSrc, k.TpDst = 1, 2 })},
		{"ipv4 reserved flag is not a fragment", ip4(ip4Hdr{proto: 17, flagsOff: 0x8000}, udpDgram(1, 2, nil)),
			v4(17, func(k *Key) { k.TpSrc, k.TpDst = 1, 2 })},
		{"ipv4 first fragment", ip4(ip4Hdr{proto: 17, flagsOff: 0x2000}, udpDgram(1, 2, nil)),
			v4(17, func(k *Key) { k.TpSrc, k.TpDst, k.NwFrag = 1, 2, FragAny })},
		{"ipv4 last fragment", ip4(ip4Hdr{proto: 17, flagsOff: 0x0001}, udpDgram(1, 2, nil)),
			v4(17, func(k *Key) { k.NwFrag = FragAny | FragLater })},
		{"ipv4 version 5 is parsed as OVS does", mod(ip4(ip4Hdr{proto: 17}, udpDgram(1, 2, nil)), 14, 0x55),
			v4(17, func(k *Key) { k.TpSrc, k.TpDst = 1, 2 })},

		// TCP.
		{"tcp all flag bits", ip4(ip4Hdr{proto: 6}, tcpSeg(1, 2, 0xfff, 0, nil)),
			v4(6, func(k *Key) { k.TpSrc, k.TpDst, k.TCPFlags = 1, 2, 0xfff })},
		{"tcp 19 bytes", ip4(ip4Hdr{proto: 6}, tcpSeg(1, 2, 2, 0, nil)[:19]), v4(6, nil)},
		{"tcp data offset 4", ip4(ip4Hdr{proto: 6}, mod(tcpSeg(1, 2, 2, 0, nil), 12, 0x40)), v4(6, nil)},
		{"tcp data offset past end", ip4(ip4Hdr{proto: 6}, mod(tcpSeg(1, 2, 2, 0, make([]byte, 3)), 12, 0x60)), v4(6, nil)},
		{"tcp data offset 15", ip4(ip4Hdr{proto: 6}, tcpSeg(1, 2, 2, 10, nil)),
			v4(6, func(k *Key) { k.TpSrc, k.TpDst, k.TCPFlags = 1, 2, 2 })},

		// Other L4.
		{"udp 7 bytes", ip4(ip4Hdr{proto: 17}, udpDgram(1, 2, nil)[:7]), v4(17, nil)},
		{"sctp 11 bytes", ip4(ip4Hdr{proto: 132}, make([]byte, 11)), v4(132, nil)},
		{"sctp 12 bytes", ip4(ip4Hdr{proto: 132}, []byte{0, 3, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0}),
			v4(132, func(k *Key) { k.TpSrc, k.TpDst = 3, 4 })},
		{"icmp 7 bytes", ip4(ip4Hdr{proto: 1}, icmpMsg(8, 0, nil)[:7]), v4(1, nil)},
		{"icmp type/code", ip4(ip4Hdr{proto: 1}, icmpMsg(3, 13, nil)), v4(1, func(k *Key) { k.TpSrc, k.TpDst = 3, 13 })},
		{"icmpv6 7 bytes", ip6(58, icmpMsg(128, 0, nil)[:7]), v6(58, nil)},
		{"icmpv6 8 bytes", ip6(58, icmpMsg(128, 0, nil)), v6(58, func(k *Key) { k.TpSrc = 128 })},
		// miniflow_extract parses ICMP and ICMPv6 by protocol number alone,
		// whatever the IP version.
		{"icmp in ipv6", ip6(1, icmpMsg(8, 0, nil)), v6(1, func(k *Key) { k.TpSrc = 8 })},
		{"icmpv6 nd in ipv4", ip4(ip4Hdr{proto: 58}, ndMsg(135, target, llOpt(1, macA))), v4(58, func(k *Key) {
			k.TpSrc, k.NdTarget, k.ArpSHA, k.TCPFlags = 135, target, macA, 1
		})},

		// IPv6.
		{"ipv6 short header", ethFrame(macB, macA, nil, EthTypeIPv6, make([]byte, 39)), withL2(EthTypeIPv6, nil)},
		{"ipv6 payload length > frame", setPlen(ip6(17, udpDgram(1, 2, nil)), 9), withL2(EthTypeIPv6, nil)},
		{"ipv6 padding is not L4", append(setPlen(ip6(17, nil), 0), udpDgram(1, 2, make([]byte, 10))...), v6(17, nil)},
		{"ipv6 ext header truncated", ip6(60, []byte{17, 0, 1, 4, 0, 0, 0}),
			withL2(EthTypeIPv6, func(k *Key) { k.IPv6Src, k.IPv6Dst = ip6A, ip6B })},
		{"ipv6 ext header length past end", ip6(0, []byte{17, 1, 1, 4, 0, 0, 0, 0}),
			withL2(EthTypeIPv6, func(k *Key) { k.IPv6Src, k.IPv6Dst = ip6A, ip6B })},
		{"ipv6 AH length past end", ip6(51, []byte{17, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}),
			withL2(EthTypeIPv6, func(k *Key) { k.IPv6Src, k.IPv6Dst = ip6A, ip6B })},
		{"ipv6 routing header", ip6(43, append([]byte{17, 0, 4, 0, 0, 0, 0, 0}, udpDgram(5, 6, nil)...)),
			v6(17, func(k *Key) { k.TpSrc, k.TpDst = 5, 6 })},
		{"ipv6 fragment reserved bits", ip6(44, append([]byte{17, 0, 0, 6, 0, 0, 0, 0}, udpDgram(5, 6, nil)...)),
			v6(17, func(k *Key) { k.TpSrc, k.TpDst, k.NwFrag = 5, 6, FragAny })},
		{"ipv6 later fragment", ip6(44, append([]byte{17, 0, 0, 8, 0, 0, 0, 0}, udpDgram(5, 6, nil)...)),
			v6(44, func(k *Key) { k.NwFrag = FragAny | FragLater })},
		{"ipv6 no next header", ip6(59, nil), v6(59, nil)},

		// Neighbour discovery, as miniflow_extract does it (checked against
		// OVS 3.1: FINDINGS.md section 7). The options type, the type of
		// the first 8-byte address option, is in TCPFlags.
		{"nd ns sll", ip6(58, ndMsg(135, target, llOpt(1, macA))),
			ndKey(135, func(k *Key) { k.NdTarget, k.ArpSHA, k.TCPFlags = target, macA, 1 })},
		{"nd na tll and mtu", ip6(58, ndMsg(136, target, []byte{5, 1, 0, 0, 0, 0, 5, 0xdc}, llOpt(2, macB))),
			ndKey(136, func(k *Key) { k.NdTarget, k.ArpTHA, k.NdReserved, k.TCPFlags = target, macB, 0x60000000, 2 })},
		{"nd both", ip6(58, ndMsg(135, target, llOpt(2, macB), llOpt(1, macA))),
			ndKey(135, func(k *Key) { k.NdTarget, k.ArpSHA, k.ArpTHA, k.TCPFlags = target, macA, macB, 2 })},
		{"nd reserved word", ip6(58, setU32(ndMsg(135, target), 4, 0xdeadbeef)),
			ndKey(135, func(k *Key) { k.NdTarget, k.NdReserved = target, 0xdeadbeef })},
		{"nd target truncated", ip6(58, ndMsg(136, target)[:23]), ndKey(136, func(k *Key) { k.NdReserved = 0x60000000 })},
		{"nd header only", ip6(58, ndMsg(136, target)[:8]), ndKey(136, func(k *Key) { k.NdReserved = 0x60000000 })},
		{"nd code 1", ip6(58, mod(ndMsg(136, target, llOpt(1, macA)), 1, 1)), ndKey(136, func(k *Key) { k.TpDst = 1 })},
		{"nd not ns/na", ip6(58, mod(ndMsg(136, target, llOpt(1, macA)), 0, 137)), ndKey(137, nil)},
		// A second address of one type makes the message invalid: the
		// target and addresses go, the reserved word and options type stay.
		{"nd duplicate sll", ip6(58, ndMsg(136, target, llOpt(1, macA), llOpt(1, macB))),
			ndKey(136, func(k *Key) { k.NdReserved, k.TCPFlags = 0x60000000, 1 })},
		{"nd tll then duplicate sll", ip6(58, ndMsg(135, target, llOpt(2, macB), llOpt(1, macA), llOpt(1, macB))),
			ndKey(135, func(k *Key) { k.TCPFlags = 2 })},
		{"nd zero sll then sll", ip6(58, ndMsg(135, target, llOpt(1, [6]byte{}), llOpt(1, macA))),
			ndKey(135, func(k *Key) { k.NdTarget, k.ArpSHA, k.TCPFlags = target, macA, 1 })},
		// An option of length 0, or longer than what is left, ends the
		// walk and keeps what was found (the kernel datapath clears it).
		{"nd option length 0", ip6(58, ndMsg(135, target, llOpt(1, macA), []byte{2, 0, 0, 0, 0, 0, 0, 0}, llOpt(2, macB))),
			ndKey(135, func(k *Key) { k.NdTarget, k.ArpSHA, k.TCPFlags = target, macA, 1 })},
		{"nd option past end", ip6(58, ndMsg(135, target, []byte{1, 2, 0, 0, 0, 0, 0, 0})), ndKey(135, func(k *Key) { k.NdTarget = target })},
		{"nd long sll option ignored", ip6(58, ndMsg(135, target, []byte{1, 2, 1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 0, 0, 0, 0}, llOpt(2, macB))),
			ndKey(135, func(k *Key) { k.NdTarget, k.ArpTHA, k.TCPFlags = target, macB, 2 })},
		{"nd trailing short option ignored", ip6(58, ndMsg(136, target, llOpt(2, macB), []byte{1, 1, 0, 0, 0, 0, 0})),
			ndKey(136, func(k *Key) { k.NdTarget, k.ArpTHA, k.NdReserved, k.TCPFlags = target, macB, 0x60000000, 2 })},

		// ARP.
		{"arp", ethFrame(macB, macA, nil, EthTypeARP, arp), arpKey},
		{"rarp", ethFrame(macB, macA, nil, EthTypeRARP, arp), withL2(EthTypeRARP, func(k *Key) {
			k.NwProto, k.ArpSHA, k.NwSrc, k.NwDst = 1, macA, ip4A, ip4B
		})},
		{"arp 27 bytes", ethFrame(macB, macA, nil, EthTypeARP, arp[:27]), withL2(EthTypeARP, nil)},
		{"arp htype 6", ethFrame(macB, macA, nil, EthTypeARP, mod(arp, 1, 6)), withL2(EthTypeARP, nil)},
		{"arp ptype ipv6", ethFrame(macB, macA, nil, EthTypeARP, mod(arp, 2, 0x86)), withL2(EthTypeARP, nil)},
		{"arp hlen 8", ethFrame(macB, macA, nil, EthTypeARP, mod(arp, 4, 8)), withL2(EthTypeARP, nil)},
		{"arp plen 16", ethFrame(macB, macA, nil, EthTypeARP, mod(arp, 5, 16)), withL2(EthTypeARP, nil)},
		{"arp op 0x101", ethFrame(macB, macA, nil, EthTypeARP, mod(arp, 6, 1)), withL2(EthTypeARP, func(k *Key) {
			k.ArpSHA, k.NwSrc, k.NwDst = macA, ip4A, ip4B
		})},
		{"arp padded", append(ethFrame(macB, macA, nil, EthTypeARP, arp), make([]byte, 18)...), arpKey},
	}
	for _, tc := range tests {
		var got Key
		Extract(tc.frame, 1, &got)
		if got != tc.want {
			t.Errorf("%s:%s\n%s", tc.name, keyDiff(got, tc.want), hex.Dump(tc.frame))
		}
	}
}

// TestExtractOverwrites checks that Extract zeroes what a previous call
// left in the key, including the metadata.
func TestExtractOverwrites(t *testing.T) {
	k := Key{RecircID: 1, DpHash: 2, Priority: 3, SkbMark: 4, PacketType: 5}
	k.Or(&Key{NdTarget: [16]byte{1}, ArpTHA: [6]byte{1}, TCPFlags: 1})
	Extract(testpkt.ARPRequest(testpkt.Frame{}), 9, &k)
	want := Key{InPort: 9, EthSrc: mac6(0, 0, 0, 0, 0, 1), EthDst: mac6(0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
		EthType: EthTypeARP, NwProto: 1, NwSrc: ip4A, NwDst: ip4B, ArpSHA: mac6(0, 0, 0, 0, 0, 1)}
	if k != want {
		t.Errorf("%s", keyDiff(k, want))
	}
	Extract(nil, 3, &k)
	if k != (Key{InPort: 3}) {
		t.Errorf("nil frame:%s", keyDiff(k, Key{InPort: 3}))
	}
}

// ---------------------------------------------------------------------------
// Layout.

func TestExtractLayout(t *testing.T) {
	tests := []struct {
		name  string
		frame []byte
		want  Layout
	}{
		{"ipv4-udp", testpkt.UDP(testpkt.Frame{Payload: []byte("abc")}), Layout{L3: 14, L4: 34, End: 14 + 20 + 8 + 3}},
		{"ipv6-udp", testpkt.UDP(testpkt.Frame{IPSrc: "::1", IPDst: "::2", Payload: []byte("abc")}), Layout{L3: 14, L4: 54, End: 14 + 40 + 8 + 3}},
		{"vlan-ipv4-udp", testpkt.UDP(testpkt.Frame{VLAN: 5}), Layout{L3: 18, L4: 38, End: 46}},
		{"vlan-ipv6-tcp", testpkt.TCP(testpkt.Frame{VLAN: 5, IPSrc: "::1", IPDst: "::2"}), Layout{L3: 18, L4: 58, End: 78}},
		{"qinq-ipv4-options", ethFrame(macB, macA, []vtag{{EthTypeQinQ, 1}, {EthTypeVLAN, 2}}, EthTypeIPv4,
			ip4Hdr{proto: 17, opts: []byte{1, 1, 1, 0}}.build(udpDgram(1, 2, nil))), Layout{L3: 22, L4: 46, End: 54}},
		{"ipv4 padded", append(testpkt.UDP(testpkt.Frame{}), make([]byte, 18)...), Layout{L3: 14, L4: 34, End: 42}},
		{"ipv6 ext headers", ethFrame(macB, macA, nil, EthTypeIPv6, ip6Packet(0, 0, 0, 1, ip6A, ip6B,
			append([]byte{44, 0, 1, 4, 0, 0, 0, 0}, append([]byte{17, 0, 0, 1, 0, 0, 0, 0}, udpDgram(1, 2, nil)...)...))),
			Layout{L3: 14, L4: 70, End: 78}},
		{"ipv4 later fragment", ethFrame(macB, macA, nil, EthTypeIPv4, ip4Hdr{proto: 17, flagsOff: 1}.build(make([]byte, 8))),
			Layout{L3: 14, End: 42}},
		{"ipv6 later fragment", ethFrame(macB, macA, nil, EthTypeIPv6, ip6Packet(0, 0, 44, 1, ip6A, ip6B,
			[]byte{17, 0, 0, 8, 0, 0, 0, 0})), Layout{L3: 14, End: 62}},
		{"arp", testpkt.ARPRequest(testpkt.Frame{VLAN: 2}), Layout{L3: 18}},
		{"snap ipv4", ethFrame(macB, macA, nil, 48, append([]byte{0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00},
			ip4Hdr{proto: 17}.build(udpDgram(1, 2, nil))...)), Layout{L3: 22, L4: 42, End: 50}},
		{"truncated ipv4", testpkt.UDP(testpkt.Frame{})[:40], Layout{}},
		{"llc", ethFrame(macB, macA, nil, 10, make([]byte, 10)), Layout{}},
		{"unknown ethertype", ethFrame(macB, macA, nil, 0x88cc, make([]byte, 40)), Layout{}},
	}
	for _, tc := range tests {
		k, l := extractLayout(tc.frame)
		if l != tc.want {
			t.Errorf("%s: layout %+v, want %+v", tc.name, l, tc.want)
		}
		var k2 Key
		Extract(tc.frame, 1, &k2)
		if k != k2 {
			t.Errorf("%s: ExtractLayout and Extract differ:%s", tc.name, keyDiff(k, k2))
		}
	}
}

// ---------------------------------------------------------------------------
// Allocations and layout of Key.

func TestExtractAllocs(t *testing.T) {
	frames := map[string][]byte{
		"ipv4-udp":      testpkt.UDP(testpkt.Frame{SrcPort: 1, DstPort: 2}),
		"vlan-ipv4-tcp": testpkt.TCP(testpkt.Frame{VLAN: 10, TCPFlags: "S"}),
		"ipv6-tcp":      testpkt.TCP(testpkt.Frame{IPSrc: "2001:db8::1", IPDst: "2001:db8::2", TCPFlags: "SA"}),
		"ipv6-nd":       gopacketFrames(t)["ipv6-ns-sll"],
	}
	for name, frame := range frames {
		var k Key
		if n := testing.AllocsPerRun(1000, func() { Extract(frame, 1, &k) }); n != 0 {
			t.Errorf("%s: Extract allocates %v times per call", name, n)
		}
		var l Layout
		if n := testing.AllocsPerRun(1000, func() { ExtractLayout(frame, 1, &k, &l) }); n != 0 {
			t.Errorf("%s: ExtractLayout allocates %v times per call", name, n)
		}
	}
}

func TestKeyHasNoPadding(t *testing.T) {
	size := unsafe.Sizeof(Key{})
	if size%8 != 0 {
		t.Errorf("Sizeof(Key) = %d, not a multiple of 8", size)
	}
	if int(size) != KeyWords*8 {
		t.Errorf("KeyWords = %d, Sizeof(Key) = %d", KeyWords, size)
	}
	typ := reflect.TypeOf(Key{})
	var sum uintptr
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if f.Offset != sum {
			t.Errorf("field %s at offset %d, want %d (padding before it)", f.Name, f.Offset, sum)
		}
		sum = f.Offset + f.Type.Size()
	}
	if sum != size {
		t.Errorf("fields add up to %d bytes, Sizeof(Key) = %d", sum, size)
	}
	if !typ.Comparable() {
		t.Error("Key is not comparable")
	}
}

// TestExtractWritesPacketPart checks that every field extraction writes
// lies in the packet part of the key (the words before packetWords), which
// the exact-match cache's LookupPacket relies on.
func TestExtractWritesPacketPart(t *testing.T) {
	if off := unsafe.Offsetof(Key{}.NdReserved) + 4; off > uintptr(packetWords*8) {
		t.Errorf("NdReserved ends at byte %d, after the packet part (%d words)", off, packetWords)
	}
	r := rand.New(rand.NewSource(2))
	for i := 0; i < 2000; i++ {
		var k Key
		Extract(randFrame(r), 1, &k)
		if !k.trailingZero() {
			t.Fatalf("frame %d: extraction wrote past the packet part: %+v", i, k)
		}
	}
}

// TestKeyWordOps checks the word-wise operations against field-wise ones.
func TestKeyWordOps(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	randKey := func() Key {
		var k Key
		r.Read(unsafe.Slice((*byte)(unsafe.Pointer(&k)), unsafe.Sizeof(k)))
		return k
	}
	for i := 0; i < 100; i++ {
		k, m := randKey(), randKey()
		masked := k.Masked(&m)
		kb := unsafe.Slice((*byte)(unsafe.Pointer(&k)), unsafe.Sizeof(k))
		mb := unsafe.Slice((*byte)(unsafe.Pointer(&m)), unsafe.Sizeof(m))
		xb := unsafe.Slice((*byte)(unsafe.Pointer(&masked)), unsafe.Sizeof(masked))
		for j := range kb {
			if xb[j] != kb[j]&mb[j] {
				t.Fatalf("Masked byte %d: %#x & %#x = %#x", j, kb[j], mb[j], xb[j])
			}
		}
		if !masked.Matches(&k, &m) {
			t.Fatal("masked key does not match its key")
		}
		other := k
		other.TpDst ^= 1
		if masked.Matches(&other, &m) != (m.TpDst&1 == 0) {
			t.Fatal("Matches ignores the mask")
		}
		again := k.Masked(&m)
		if masked.Hash(1) != again.Hash(1) || masked.Hash(1) == masked.Hash(2) {
			t.Fatal("Hash not deterministic or ignores the seed")
		}
		var z Key
		if !z.IsZero() || k.IsZero() {
			t.Fatal("IsZero")
		}
		z.Or(&k)
		if z != k {
			t.Fatal("Or into zero is not a copy")
		}
	}
}
