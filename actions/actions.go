// Package actions defines the datapath's flow actions: their
// representation, the OVS datapath action text syntax (as ovs-dpctl
// add-flow takes it and dpctl/dump-flows prints it), and their execution
// on packets.
//
// A List is what a flow does to a packet that matches it. The empty List
// drops the packet. Lists are immutable once installed in a flow and can
// be shared by concurrent executors.
//
// Every action OVS 3.1 formats can be represented, parsed and formatted;
// only some can be executed yet. List.Validate reports the others, so that
// a datapath refuses a flow it could not run rather than misbehave.
package actions

import (
	"fmt"

	"github.com/b7cafead/datapath/flow"
)

// Type identifies an action. The values are the OVS_ACTION_ATTR_* numbers
// of include/linux/openvswitch.h as Linux and OVS (since 3.4) define them.
// The actions that only OVS's userspace datapath knows (tnl_push, tnl_pop,
// lb_output) are numbered after those, as current OVS numbers them; OVS
// 3.1 numbered its userspace-only actions differently, but those numbers
// never leave the process that uses them.
type Type uint16

// Action types.
const (
	TypeOutput      Type = 1  // OVS_ACTION_ATTR_OUTPUT: output to a port
	TypeUserspace   Type = 2  // OVS_ACTION_ATTR_USERSPACE: send to the slow path
	TypeSet         Type = 3  // OVS_ACTION_ATTR_SET: set a key attribute
	TypePushVLAN    Type = 4  // OVS_ACTION_ATTR_PUSH_VLAN
	TypePopVLAN     Type = 5  // OVS_ACTION_ATTR_POP_VLAN
	TypeSample      Type = 6  // OVS_ACTION_ATTR_SAMPLE: run actions with a probability
	TypeRecirc      Type = 7  // OVS_ACTION_ATTR_RECIRC: recirculate
	TypeHash        Type = 8  // OVS_ACTION_ATTR_HASH: compute dp_hash
	TypePushMPLS    Type = 9  // OVS_ACTION_ATTR_PUSH_MPLS
	TypePopMPLS     Type = 10 // OVS_ACTION_ATTR_POP_MPLS
	TypeSetMasked   Type = 11 // OVS_ACTION_ATTR_SET_MASKED: set some bits of a key attribute
	TypeCT          Type = 12 // OVS_ACTION_ATTR_CT: connection tracking
	TypeTrunc       Type = 13 // OVS_ACTION_ATTR_TRUNC: truncate on the next output
	TypePushEth     Type = 14 // OVS_ACTION_ATTR_PUSH_ETH
	TypePopEth      Type = 15 // OVS_ACTION_ATTR_POP_ETH
	TypeCTClear     Type = 16 // OVS_ACTION_ATTR_CT_CLEAR
	TypePushNSH     Type = 17 // OVS_ACTION_ATTR_PUSH_NSH
	TypePopNSH      Type = 18 // OVS_ACTION_ATTR_POP_NSH
	TypeMeter       Type = 19 // OVS_ACTION_ATTR_METER
	TypeClone       Type = 20 // OVS_ACTION_ATTR_CLONE: run actions on a copy
	TypeCheckPktLen Type = 21 // OVS_ACTION_ATTR_CHECK_PKT_LEN
	TypeAddMPLS     Type = 22 // OVS_ACTION_ATTR_ADD_MPLS
	TypeDecTTL      Type = 23 // OVS_ACTION_ATTR_DEC_TTL
	TypeDrop        Type = 24 // OVS_ACTION_ATTR_DROP: explicit drop
	TypeTunnelPush  Type = 26 // OVS_ACTION_ATTR_TUNNEL_PUSH (userspace datapath)
	TypeTunnelPop   Type = 27 // OVS_ACTION_ATTR_TUNNEL_POP (userspace datapath)
	TypeLBOutput    Type = 28 // OVS_ACTION_ATTR_LB_OUTPUT (userspace datapath)
)

var typeNames = map[Type]string{
	TypeOutput: "output", TypeUserspace: "userspace", TypeSet: "set", TypePushVLAN: "push_vlan",
	TypePopVLAN: "pop_vlan", TypeSample: "sample", TypeRecirc: "recirc", TypeHash: "hash",
	TypePushMPLS: "push_mpls", TypePopMPLS: "pop_mpls", TypeSetMasked: "set_masked", TypeCT: "ct",
	TypeTrunc: "trunc", TypePushEth: "push_eth", TypePopEth: "pop_eth", TypeCTClear: "ct_clear",
	TypePushNSH: "push_nsh", TypePopNSH: "pop_nsh", TypeMeter: "meter", TypeClone: "clone",
	TypeCheckPktLen: "check_pkt_len", TypeAddMPLS: "add_mpls", TypeDecTTL: "dec_ttl",
	TypeDrop: "drop", TypeTunnelPush: "tnl_push", TypeTunnelPop: "tnl_pop", TypeLBOutput: "lb_output",
}

// String returns the action type's name as the text syntax spells it
// ("set_masked" for a masked set, which the text writes as set(...)).
func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("action(%d)", uint16(t))
}

// Attr identifies the key attribute a set action rewrites. The values are
// OVS's OVS_KEY_ATTR_*.
type Attr uint16

// Key attributes. Not all of them can be set on a packet; the text syntax
// accepts all of those OVS's parser accepts inside set(...).
const (
	AttrEncap       Attr = 1  // OVS_KEY_ATTR_ENCAP: encap(...)
	AttrPriority    Attr = 2  // OVS_KEY_ATTR_PRIORITY: skb_priority(...)
	AttrInPort      Attr = 3  // OVS_KEY_ATTR_IN_PORT: in_port(...)
	AttrEthernet    Attr = 4  // OVS_KEY_ATTR_ETHERNET: eth(src,dst)
	AttrVLAN        Attr = 5  // OVS_KEY_ATTR_VLAN: vlan(vid,pcp,cfi)
	AttrEthType     Attr = 6  // OVS_KEY_ATTR_ETHERTYPE: eth_type(...)
	AttrIPv4        Attr = 7  // OVS_KEY_ATTR_IPV4: ipv4(src,dst,proto,tos,ttl,frag)
	AttrIPv6        Attr = 8  // OVS_KEY_ATTR_IPV6: ipv6(src,dst,label,proto,tclass,hlimit,frag)
	AttrTCP         Attr = 9  // OVS_KEY_ATTR_TCP: tcp(src,dst)
	AttrUDP         Attr = 10 // OVS_KEY_ATTR_UDP: udp(src,dst)
	AttrICMP        Attr = 11 // OVS_KEY_ATTR_ICMP: icmp(type,code)
	AttrICMPv6      Attr = 12 // OVS_KEY_ATTR_ICMPV6: icmpv6(type,code)
	AttrARP         Attr = 13 // OVS_KEY_ATTR_ARP: arp(sip,tip,op,sha,tha)
	AttrND          Attr = 14 // OVS_KEY_ATTR_ND: nd(target,sll,tll)
	AttrSkbMark     Attr = 15 // OVS_KEY_ATTR_SKB_MARK: skb_mark(...)
	AttrTunnel      Attr = 16 // OVS_KEY_ATTR_TUNNEL: tunnel(...)
	AttrSCTP        Attr = 17 // OVS_KEY_ATTR_SCTP: sctp(src,dst)
	AttrTCPFlags    Attr = 18 // OVS_KEY_ATTR_TCP_FLAGS: tcp_flags(...)
	AttrDpHash      Attr = 19 // OVS_KEY_ATTR_DP_HASH: dp_hash(...)
	AttrRecircID    Attr = 20 // OVS_KEY_ATTR_RECIRC_ID: recirc_id(...)
	AttrMPLS        Attr = 21 // OVS_KEY_ATTR_MPLS: mpls(label,tc,ttl,bos...)
	AttrCtState     Attr = 22 // OVS_KEY_ATTR_CT_STATE: ct_state(...)
	AttrCtZone      Attr = 23 // OVS_KEY_ATTR_CT_ZONE: ct_zone(...)
	AttrCtMark      Attr = 24 // OVS_KEY_ATTR_CT_MARK: ct_mark(...)
	AttrCtLabels    Attr = 25 // OVS_KEY_ATTR_CT_LABELS: ct_label(...)
	AttrCtTuple4    Attr = 26 // OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4: ct_tuple4(...)
	AttrCtTuple6    Attr = 27 // OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6: ct_tuple6(...)
	AttrNSH         Attr = 28 // OVS_KEY_ATTR_NSH: nsh(...)
	AttrPacketType  Attr = 29 // OVS_KEY_ATTR_PACKET_TYPE: packet_type(ns,id)
	AttrNDExtension Attr = 30 // OVS_KEY_ATTR_ND_EXTENSIONS: nd_ext(...)
)

var attrNames = map[Attr]string{
	AttrEncap: "encap", AttrPriority: "skb_priority", AttrInPort: "in_port", AttrEthernet: "eth",
	AttrVLAN: "vlan", AttrEthType: "eth_type", AttrIPv4: "ipv4", AttrIPv6: "ipv6", AttrTCP: "tcp",
	AttrUDP: "udp", AttrICMP: "icmp", AttrICMPv6: "icmpv6", AttrARP: "arp", AttrND: "nd",
	AttrSkbMark: "skb_mark", AttrTunnel: "tunnel", AttrSCTP: "sctp", AttrTCPFlags: "tcp_flags",
	AttrDpHash: "dp_hash", AttrRecircID: "recirc_id", AttrMPLS: "mpls", AttrCtState: "ct_state",
	AttrCtZone: "ct_zone", AttrCtMark: "ct_mark", AttrCtLabels: "ct_label", AttrCtTuple4: "ct_tuple4",
	AttrCtTuple6: "ct_tuple6", AttrNSH: "nsh", AttrPacketType: "packet_type", AttrNDExtension: "nd_ext",
}

var attrByName = func() map[string]Attr {
	m := make(map[string]Attr, len(attrNames))
	for a, n := range attrNames {
		m[n] = a
	}
	return m
}()

// String returns the attribute's name in flow text ("eth", "ipv4", ...).
func (a Attr) String() string {
	if n, ok := attrNames[a]; ok {
		return n
	}
	return fmt.Sprintf("attr(%d)", uint16(a))
}

// PortNone is OVS's ODPP_NONE, the port number that stands for "no port".
const PortNone = 0xffffffff

// VLAN is the argument of push_vlan: the tag's protocol identifier and its
// control information. OVS's TCI carries the CFI bit (0x1000) to mean "a
// real tag"; the pushed header has that bit cleared.
type VLAN struct {
	TPID uint16 // 0x8100 (802.1Q) or 0x88a8 (802.1ad)
	TCI  uint16 // VLAN id (12 bits), CFI (0x1000), priority (top 3 bits)
}

// MPLS is the argument of push_mpls, add_mpls and (EthType only) pop_mpls.
type MPLS struct {
	// LSE is the label stack entry to push: label, traffic class,
	// bottom-of-stack bit and TTL, as on the wire (flow.MPLSLabelMask...).
	LSE uint32
	// EthType is the EtherType of the frame after the action: 0x8847 or
	// 0x8848 after a push, the payload's type after a pop.
	EthType uint16
	// TunFlags are add_mpls's flags; bit 0 (OVS_MPLS_L3_TUNNEL_FLAG_MASK)
	// inserts the entry before the layer 3 header rather than at the
	// start of the packet. The text syntax cannot express them.
	TunFlags uint16
}

// Hash algorithms of the hash action (OVS_HASH_ALG_*).
const (
	HashL4    = 0 // l4(basis): a hash of the 5-tuple
	HashSymL4 = 1 // sym_l4(basis): the same in both directions
)

// Hash is the argument of the hash action.
type Hash struct {
	Alg   uint32 // HashL4 or HashSymL4
	Basis uint32 // the hash's basis (seed)
}

// EthAddrs is the argument of push_eth.
type EthAddrs struct {
	Src, Dst [6]byte // the new header's source and destination
}

// Action is one datapath action. Type says which fields mean something;
// the others are zero. Nested action lists (sample, clone, dec_ttl,
// check_pkt_len) are Lists of their own, so executing them needs no
// decoding and no allocation. Large arguments (those of set, userspace,
// ct, tnl_push, push_nsh) are pointers, so that an Action stays small and
// a List compact in the cache.
type Action struct {
	// Type is the action; it says which of the fields below are used.
	Type Type

	// Attr is the key attribute a set action rewrites; Set is the
	// action's argument.
	Attr Attr

	// Port is the datapath port of output and tnl_pop, and the bond id of
	// lb_output.
	Port uint32

	// Set is the argument of set and set_masked (of attribute Attr). nil
	// stands for a zero key and mask.
	Set *Set

	// ID is the recirculation id of recirc and the meter id of meter.
	ID uint32

	// MaxLen is trunc's length: the next output sends at most this many
	// bytes (but never less than an Ethernet header).
	MaxLen uint32

	// Reason is drop's reason, OVS's enum xlate_error (0 for a plain
	// drop). The text syntax does not show it.
	Reason uint32

	// Probability is sample's probability as a fraction of 2^32-1: 0
	// never runs the nested actions, 0xffffffff always does.
	Probability uint32

	// PktLen is check_pkt_len's size: packets longer than it run Greater,
	// the others LessEqual.
	PktLen uint16

	// VLAN is push_vlan's tag.
	VLAN VLAN

	// MPLS is the label stack entry of push_mpls and add_mpls and the
	// EtherType of pop_mpls.
	MPLS MPLS

	// Hash is the hash action's algorithm and basis.
	Hash Hash

	// Eth is push_eth's addresses.
	Eth EthAddrs

	// Actions are the nested actions of sample, clone and dec_ttl (the
	// ones dec_ttl runs when the TTL would drop to zero).
	Actions List

	// Greater and LessEqual are check_pkt_len's two branches.
	Greater, LessEqual List

	// Userspace is the argument of userspace.
	Userspace *Userspace

	// CT is the argument of ct.
	CT *CT

	// TunnelPush is the argument of tnl_push.
	TunnelPush *TunnelPush

	// NSH is the header push_nsh pushes.
	NSH *NSH
}

// Set is the argument of a set action: the new field values (Key) for the
// bits set in Mask, of the fields of the action's attribute (the others
// are zero). For TypeSet, Mask marks the fields the attribute carries
// (every field of most attributes; for tunnel, the ones given). For
// TypeSetMasked, Key keeps the bits outside Mask as written, as OVS does:
// its datapath writes Key | (old & ^Mask) (for ipv4, of the fields whose
// mask is not zero).
//
// A Set is shared by the copies of its Action: like the List that holds
// it, it is not changed once in use.
type Set struct {
	Key  flow.Key // the values to set
	Mask flow.Key // the bits to set (TypeSetMasked) or the fields present (TypeSet)
}

// noSet stands for a nil Action.Set.
var noSet Set

// set returns the action's set argument, never nil.
func (a *Action) set() *Set {
	if a.Set == nil {
		return &noSet
	}
	return a.Set
}

// SetAttr returns a set action of attribute attr that writes the bits of
// key under mask, as a masked set (TypeSetMasked) unless mask covers the
// whole attribute (TypeSet), which is how OVS's parser decides. For
// tunnel, mask marks the fields given, as for TypeSet.
func SetAttr(attr Attr, key, mask *flow.Key) Action {
	a := Action{Type: TypeSetMasked, Attr: attr, Set: &Set{Key: *key, Mask: *mask}}
	classifySet(&a)
	return a
}

// List is a sequence of actions executed in order.
type List []Action

// Output returns an output action to port.
func Output(port uint32) Action { return Action{Type: TypeOutput, Port: port} }

// Drop returns an explicit drop action.
func Drop() Action { return Action{Type: TypeDrop} }

// PushVLAN returns a push_vlan action. tci is the TCI to push with the CFI
// bit (0x1000) set, as OVS requires.
func PushVLAN(tpid, tci uint16) Action {
	return Action{Type: TypePushVLAN, VLAN: VLAN{TPID: tpid, TCI: tci}}
}

// PopVLAN returns a pop_vlan action.
func PopVLAN() Action { return Action{Type: TypePopVLAN} }

// Trunc returns a trunc action: the next output sends at most maxLen bytes.
func Trunc(maxLen uint32) Action { return Action{Type: TypeTrunc, MaxLen: maxLen} }

// DecTTL returns a dec_ttl action that runs le1 instead of the rest of the
// list when the IP TTL or hop limit is 1 or less.
func DecTTL(le1 List) Action { return Action{Type: TypeDecTTL, Actions: le1} }

// Clone returns a clone action that runs l on a copy of the packet.
func Clone(l List) Action { return Action{Type: TypeClone, Actions: l} }

// Sample returns a sample action that runs l (on a copy) with probability
// p/(2^32-1).
func Sample(p uint32, l List) Action { return Action{Type: TypeSample, Probability: p, Actions: l} }

// CheckPktLen returns a check_pkt_len action.
func CheckPktLen(size uint16, greater, lessEqual List) Action {
	return Action{Type: TypeCheckPktLen, PktLen: size, Greater: greater, LessEqual: lessEqual}
}

// Recirc returns a recirc action.
func Recirc(id uint32) Action { return Action{Type: TypeRecirc, ID: id} }

// Meter returns a meter action.
func Meter(id uint32) Action { return Action{Type: TypeMeter, ID: id} }

// TunnelPop returns a tnl_pop action for tunnel port port.
func TunnelPop(port uint32) Action { return Action{Type: TypeTunnelPop, Port: port} }

// LBOutput returns an lb_output action to bond bond.
func LBOutput(bond uint32) Action { return Action{Type: TypeLBOutput, Port: bond} }

// CTClear returns a ct_clear action.
func CTClear() Action { return Action{Type: TypeCTClear} }
