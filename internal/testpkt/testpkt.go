// Package testpkt builds well-formed Ethernet frames for tests, examples
// and benchmarks, with gopacket's serializer computing lengths and
// checksums. It is not used on any packet path.
package testpkt

import (
	"net"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Frame describes a frame to build. Zero fields take defaults: MACs
// 00:00:00:00:00:01 -> 00:00:00:00:00:02, IPv4 10.0.0.1 -> 10.0.0.2,
// TTL 64, no VLAN.
type Frame struct {
	Src, Dst   string // MAC addresses
	VLAN       int    // VLAN id; 0 means untagged
	IPSrc      string // IPv4 or IPv6 source
	IPDst      string
	TTL        uint8
	TOS        uint8
	SrcPort    uint16
	DstPort    uint16
	TCPFlags   string // for TCP: any of "S", "A", "F", "R", "P"
	Payload    []byte
	NoChecksum bool // UDP over IPv4: send a zero checksum
}

func (f *Frame) defaults() {
	if f.Src == "" {
		f.Src = "00:00:00:00:00:01"
	}
	if f.Dst == "" {
		f.Dst = "00:00:00:00:00:02"
	}
	if f.IPSrc == "" {
		f.IPSrc = "10.0.0.1"
	}
	if f.IPDst == "" {
		f.IPDst = "10.0.0.2"
	}
	if f.TTL == 0 {
		f.TTL = 64
	}
}

func mac(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

// l2 returns the Ethernet (and VLAN) layers for a payload of EtherType t.
func (f *Frame) l2(t layers.EthernetType) []gopacket.SerializableLayer {
	eth := &layers.Ethernet{SrcMAC: mac(f.Src), DstMAC: mac(f.Dst), EthernetType: t}
	if f.VLAN == 0 {
		return []gopacket.SerializableLayer{eth}
	}
	eth.EthernetType = layers.EthernetTypeDot1Q
	return []gopacket.SerializableLayer{eth, &layers.Dot1Q{VLANIdentifier: uint16(f.VLAN), Type: t}}
}

func (f *Frame) ip(proto layers.IPProtocol) (gopacket.SerializableLayer, gopacket.NetworkLayer, layers.EthernetType) {
	src, dst := net.ParseIP(f.IPSrc), net.ParseIP(f.IPDst)
	if src.To4() == nil {
		ip := &layers.IPv6{Version: 6, SrcIP: src, DstIP: dst, HopLimit: f.TTL, NextHeader: proto, TrafficClass: f.TOS}
		return ip, ip, layers.EthernetTypeIPv6
	}
	ip := &layers.IPv4{Version: 4, IHL: 5, SrcIP: src.To4(), DstIP: dst.To4(), TTL: f.TTL, Protocol: proto, TOS: f.TOS}
	return ip, ip, layers.EthernetTypeIPv4
}

func serialize(ls ...gopacket.SerializableLayer) []byte {
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		panic(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// UDP returns an Ethernet/IP/UDP frame.
func UDP(f Frame) []byte {
	f.defaults()
	ipl, nl, t := f.ip(layers.IPProtocolUDP)
	udp := &layers.UDP{SrcPort: layers.UDPPort(f.SrcPort), DstPort: layers.UDPPort(f.DstPort)}
	if err := udp.SetNetworkLayerForChecksum(nl); err != nil {
		panic(err)
	}
	b := serialize(append(f.l2(t), ipl, udp, gopacket.Payload(f.Payload))...)
	if f.NoChecksum && t == layers.EthernetTypeIPv4 {
		// The UDP header follows the Ethernet header, an optional VLAN
		// tag and the 20-byte IPv4 header.
		off := 14 + 20
		if f.VLAN != 0 {
			off += 4
		}
		b[off+6], b[off+7] = 0, 0
	}
	return b
}

// TCP returns an Ethernet/IP/TCP frame.
func TCP(f Frame) []byte {
	f.defaults()
	ipl, nl, t := f.ip(layers.IPProtocolTCP)
	tcp := &layers.TCP{SrcPort: layers.TCPPort(f.SrcPort), DstPort: layers.TCPPort(f.DstPort), Seq: 1, Window: 1024}
	for _, c := range f.TCPFlags {
		switch c {
		case 'S':
			tcp.SYN = true
		case 'A':
			tcp.ACK = true
		case 'F':
			tcp.FIN = true
		case 'R':
			tcp.RST = true
		case 'P':
			tcp.PSH = true
		}
	}
	if err := tcp.SetNetworkLayerForChecksum(nl); err != nil {
		panic(err)
	}
	return serialize(append(f.l2(t), ipl, tcp, gopacket.Payload(f.Payload))...)
}

// ICMPEcho returns an Ethernet/IPv4/ICMP echo request.
func ICMPEcho(f Frame) []byte {
	f.defaults()
	ipl, _, t := f.ip(layers.IPProtocolICMPv4)
	icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 1, Seq: 1}
	return serialize(append(f.l2(t), ipl, icmp, gopacket.Payload(f.Payload))...)
}

// ARPRequest returns an Ethernet ARP request from IPSrc asking for IPDst.
func ARPRequest(f Frame) []byte {
	f.defaults()
	if f.Dst == "00:00:00:00:00:02" {
		f.Dst = "ff:ff:ff:ff:ff:ff"
	}
	arp := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
		HwAddressSize: 6, ProtAddressSize: 4, Operation: layers.ARPRequest,
		SourceHwAddress: mac(f.Src), SourceProtAddress: net.ParseIP(f.IPSrc).To4(),
		DstHwAddress: make([]byte, 6), DstProtAddress: net.ParseIP(f.IPDst).To4()}
	return serialize(append(f.l2(layers.EthernetTypeARP), arp)...)
}
