package flow

import (
	"math/bits"
	"unsafe"
)

// EtherType values the extractor and the text syntax know.
const (
	EthTypeIPv4  = 0x0800
	EthTypeARP   = 0x0806
	EthTypeRARP  = 0x8035
	EthTypeVLAN  = 0x8100 // 802.1Q customer VLAN tag
	EthTypeQinQ  = 0x88a8 // 802.1ad service VLAN tag
	EthTypeIPv6  = 0x86dd
	EthTypeMPLS  = 0x8847
	EthTypeMPLSM = 0x8848

	// EthTypeNone is the eth_type OVS gives an 802.3 frame without a
	// SNAP header (or one too short to tell).
	EthTypeNone = 0x05ff
)

// IP protocol numbers the extractor parses.
const (
	IPProtoICMP   = 1
	IPProtoTCP    = 6
	IPProtoUDP    = 17
	IPProtoICMPv6 = 58
	IPProtoSCTP   = 132
)

// Fragment bits of Key.NwFrag, as in OVS's struct flow.
const (
	FragAny   = 1 // the packet is a fragment (first or later)
	FragLater = 2 // the packet is a fragment other than the first
	FragMask  = FragAny | FragLater
)

// VLANCFI is the bit of a TCI that Key.VlanTCI uses to mean "a tag is
// present", as OVS does.
const VLANCFI = 0x1000

// MaxVLANs is the number of VLAN headers the key holds.
const MaxVLANs = 2

// Key is a flow key: the packet metadata and header fields a datapath flow
// matches. Multi-byte numbers are in host order; addresses are in network
// byte order. Fields that a packet does not have are zero.
//
// The same type serves as a mask, where a set bit means "this bit is
// matched". The struct has no padding and its size is a multiple of 8, so
// Key values can be compared with ==, used as map keys, and masked word by
// word.
type Key struct {
	RecircID   uint32 // recirculation id (recirc_id)
	DpHash     uint32 // datapath hash (dp_hash)
	Priority   uint32 // skb_priority
	SkbMark    uint32 // skb_mark
	InPort     uint32 // datapath input port (in_port)
	PacketType uint32 // (namespace << 16) | type; 0 is Ethernet

	EthSrc  [6]byte
	EthDst  [6]byte
	EthType uint16 // the EtherType after any VLAN tags

	// VlanTPID and VlanTCI are the outer (index 0) and inner VLAN tags.
	// A present tag has VLANCFI set in its TCI.
	VlanTPID [MaxVLANs]uint16
	VlanTCI  [MaxVLANs]uint16

	NwProto uint8 // IP protocol, or the low 8 bits of the ARP opcode
	NwTos   uint8 // IPv4 TOS or IPv6 traffic class (DSCP and ECN)
	NwTTL   uint8 // IPv4 TTL or IPv6 hop limit
	NwFrag  uint8 // FragAny, FragLater

	TpSrc uint16 // TCP/UDP/SCTP source port; ICMP type
	TpDst uint16 // TCP/UDP/SCTP destination port; ICMP code

	// TCPFlags holds the 12 TCP flag bits, and for an ICMPv6 neighbour
	// solicitation or advertisement the ND options type (nd_ext's
	// nd_options_type: 1 or 2, the type of the first source or target
	// link-layer address option), as OVS's struct flow shares its
	// tcp_flags. So a flow that ND packets hit shows flags:F or flags:S
	// in a dump, as it does in OVS.
	TCPFlags uint16

	IPv6Label uint32 // IPv6 flow label (20 bits)

	NwSrc [4]byte // IPv4 source, or ARP sender protocol address
	NwDst [4]byte // IPv4 destination, or ARP target protocol address

	IPv6Src [16]byte
	IPv6Dst [16]byte

	ArpSHA [6]byte // ARP sender hardware address; ND source link-layer address
	ArpTHA [6]byte // ARP target hardware address; ND target link-layer address

	NdTarget [16]byte // IPv6 neighbour discovery target

	// MplsLSE are up to three MPLS label stack entries (label, traffic
	// class, bottom-of-stack bit, TTL), outermost first, as on the wire.
	MplsLSE [MaxMPLSLabels]uint32

	// NdReserved is the 32-bit word after the checksum of an ICMPv6
	// neighbour solicitation or advertisement (nd_ext's nd_reserved; for
	// an advertisement its top bits are the R, S and O flags). OVS keeps
	// it in struct flow's igmp_group_ip4.
	NdReserved uint32

	// Connection tracking state, set by the ct action (never by
	// extraction), and the original direction's tuple.
	CtState   uint8 // CtStateNew, ...
	CtNwProto uint8 // original tuple: IP protocol
	CtZone    uint16
	CtMark    uint32
	CtLabel   [16]byte // 128-bit label, most significant byte first
	CtNwSrc   [4]byte  // original tuple: IPv4 source
	CtNwDst   [4]byte  // original tuple: IPv4 destination
	CtTpSrc   uint16   // original tuple: source port
	CtTpDst   uint16   // original tuple: destination port
	_         [4]byte
	CtIPv6Src [16]byte // original tuple: IPv6 source
	CtIPv6Dst [16]byte // original tuple: IPv6 destination

	// The tunnel a packet arrived through, set by decapsulation (never
	// by extraction). A packet has a tunnel key when TunDst or
	// TunIPv6Dst is set; a flow matches tunnel fields only then.
	TunID      uint64
	TunSrc     [4]byte // outer IPv4 source
	TunDst     [4]byte // outer IPv4 destination
	TunIPv6Src [16]byte
	TunIPv6Dst [16]byte
	TunTpSrc   uint16 // outer UDP source port
	TunTpDst   uint16 // outer UDP destination port
	TunFlags   uint16 // TunFlagOAM, TunFlagDF, TunFlagCsum, TunFlagKey, TunFlagGeneve
	TunTOS     uint8
	TunTTL     uint8

	// VXLAN Group Based Policy extension: the group policy id and the
	// flags byte.
	TunGbpID    uint16
	TunGbpFlags uint8

	// ERSPAN metadata: the version (1 for type II, 2 for type III, 0 for
	// none), the version 1 session index, and the version 2 direction
	// bit and hardware id (6 bits).
	TunErspanVer  uint8
	TunErspanIdx  uint32
	TunErspanDir  uint8
	TunErspanHwID uint8

	// GTP-U header flags and message type.
	TunGtpuFlags   uint8
	TunGtpuMsgType uint8

	// Geneve options as on the wire (a sequence of option TLVs:
	// class, type, length in 4-byte words, data), TunGeneveLen bytes of
	// TunGeneve. They count only with TunFlagGeneve set, which Geneve
	// decapsulation sets even when there are no options. As a mask,
	// TunGeneveLen is 0xff when the option length is matched (always, in
	// a flow that matches options) and TunGeneve masks the bytes.
	TunGeneveLen uint8
	_            [3]byte
	TunGeneve    [MaxGeneveOptLen]byte
	_            [4]byte
}

// MaxGeneveOptLen is the largest total length of the Geneve options a key
// holds, in bytes (OVS's TLV_TOT_OPT_SIZE).
const MaxGeneveOptLen = 252

// Tunnel flags of Key.TunFlags (OVS's FLOW_TNL_F_*).
const (
	TunFlagOAM  = 1 << 0
	TunFlagDF   = 1 << 1 // don't fragment
	TunFlagCsum = 1 << 2 // outer checksum
	TunFlagKey  = 1 << 3 // the tunnel carries a key (tun_id)
	TunFlagMask = 1<<4 - 1

	// TunFlagGeneve marks a key whose TunGeneve holds the options of a
	// Geneve header (OVS's FLOW_TNL_F_UDPIF, options kept in wire
	// format). It is not one of the flags the text's flags() names.
	TunFlagGeneve = 1 << 4
)

// Connection tracking state bits of Key.CtState (OVS_CS_F_*).
const (
	CtStateNew         = 0x01
	CtStateEstablished = 0x02
	CtStateRelated     = 0x04
	CtStateReplyDir    = 0x08
	CtStateInvalid     = 0x10
	CtStateTracked     = 0x20
	CtStateSrcNAT      = 0x40
	CtStateDstNAT      = 0x80
)

// MaxMPLSLabels is the number of MPLS label stack entries the key holds.
const MaxMPLSLabels = 3

// MPLS label stack entry fields.
const (
	MPLSLabelMask  = 0xfffff000
	MPLSLabelShift = 12
	MPLSTCMask     = 0x00000e00
	MPLSTCShift    = 9
	MPLSBOSMask    = 0x00000100
	MPLSTTLMask    = 0x000000ff
)

// KeyWords is the size of a Key in 64-bit words.
const KeyWords = int(unsafe.Sizeof(Key{}) / 8)

// packetWords is the number of leading words of a Key that extraction
// writes (metadata and header fields). The words after them hold state
// that other stages set (connection tracking, the tunnel key), which is
// zero for most packets; the exact-match cache treats them apart.
const packetWords = int(unsafe.Offsetof(Key{}.CtState) / 8)

// trailingWords is the number of words after the packet part.
const trailingWords = KeyWords - packetWords

// trailingZero reports whether the words after the packet part (tunnel
// and conntrack state) are all zero.
func (k *Key) trailingZero() bool {
	// An array comparison compiles to the runtime's vectorised memequal,
	// several times faster than a loop over the 50 trailing words.
	return *(*[trailingWords]uint64)(unsafe.Pointer(&k.words()[packetWords])) == [trailingWords]uint64{}
}

// hashPacketPart hashes the words extraction writes. Keys that differ only
// in the later words hash alike; an exact-match cache then tells them
// apart by comparing whole keys.
func (k *Key) hashPacketPart() uint64 {
	// Words nine apart are XORed into one operand (they hold unrelated
	// fields: metadata with IPv6 addresses, Ethernet with ND and MPLS),
	// then paired into five independent multiplications: half the work
	// of hashing every word on its own, for a cache's bucket choice.
	w := (*[packetWords]uint64)(unsafe.Pointer(k))
	h := mum(w[0]^w[9]^hashK[0], w[1]^w[10]^hashK[1]) + mum(w[2]^w[11]^hashK[2], w[3]^w[12]^hashK[3]) +
		mum(w[4]^w[13]^hashK[4], w[5]^w[14]^hashK[5]) + mum(w[6]^w[15]^hashK[6], w[7]^w[16]^hashK[7]) +
		mum(w[8]^w[17]^hashK[0], hashK[3])
	return mum(h^hashK[1], hashK[2])
}

// The unrolled hashPacketPart covers exactly the packet words.
var _ = [1]struct{}{}[packetWords-18]

func (k *Key) words() *[KeyWords]uint64 { return (*[KeyWords]uint64)(unsafe.Pointer(k)) }

// Masked returns k with every bit that is clear in m cleared.
func (k *Key) Masked(m *Key) Key {
	var out Key
	a, b, o := k.words(), m.words(), out.words()
	for i := range a {
		o[i] = a[i] & b[i]
	}
	return out
}

// Matches reports whether packet key pk equals k on every bit set in m.
// k is expected to be already masked by m.
func (k *Key) Matches(pk, m *Key) bool {
	a, b, c := k.words(), pk.words(), m.words()
	for i := range a {
		if a[i] != b[i]&c[i] {
			return false
		}
	}
	return true
}

// IsZero reports whether every field of k is zero.
func (k *Key) IsZero() bool {
	for _, w := range k.words() {
		if w != 0 {
			return false
		}
	}
	return true
}

// Or sets in k every bit that is set in m.
func (k *Key) Or(m *Key) {
	a, b := k.words(), m.words()
	for i := range a {
		a[i] |= b[i]
	}
}

// Hash returns a hash of the key suitable for hash tables.
func (k *Key) Hash(seed uint64) uint64 { return hashWords(k.words()[:], seed) }

// hashWords hashes 64-bit words: pairs of words are multiplied into 128
// bits and folded (as wyhash does); the products are independent, so the
// multiplier works on several at once instead of waiting on a chain.
func hashWords(w []uint64, seed uint64) uint64 {
	h := seed
	i := 0
	for ; i+2 <= len(w); i += 2 {
		h += mum(w[i]^hashK[i&7], w[i+1]^hashK[(i+1)&7])
	}
	if i < len(w) {
		h += mum(w[i]^hashK[i&7], hashK[7])
	}
	return mum(h^hashK[1], hashK[2])
}

const (
	hashK0 = 0xa0761d6478bd642f
	hashK1 = 0xe7037ed1a0b428db
	hashK2 = 0x8ebc6af09c88c6e3
	hashK3 = 0x589965cc75374cc3
	hashK4 = 0x1d8e4e27c47d124f
	hashK5 = 0x9e3779b97f4a7c15
	hashK6 = 0xc2b2ae3d27d4eb4f
	hashK7 = 0x165667b19e3779f9
)

var hashK = [8]uint64{hashK0, hashK1, hashK2, hashK3, hashK4, hashK5, hashK6, hashK7}

func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// ctWord is the index of the first word of the connection tracking
// fields; they and the tunnel fields run from there to the end of the key.
const ctWord = int(unsafe.Offsetof(Key{}.CtState) / 8)

// CopyMetadata copies into k the fields of src that are packet metadata
// rather than headers: recirc_id, dp_hash, skb_priority, skb_mark, the
// connection tracking state and the tunnel. A recirculated packet keeps
// them while its headers are extracted anew.
func (k *Key) CopyMetadata(src *Key) {
	k.RecircID, k.DpHash, k.Priority, k.SkbMark = src.RecircID, src.DpHash, src.Priority, src.SkbMark
	copy(k.words()[ctWord:], src.words()[ctWord:])
}
