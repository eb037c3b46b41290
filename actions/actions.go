// Package actions defines the datapath's flow actions: their
// representation, the OVS datapath action text syntax (as ovs-dpctl
// add-flow takes it and dpctl/dump-flows prints it), and their execution
// on packets.
//
// A List is what a flow does to a packet that matches it. The empty List
// drops the packet. Lists are immutable once installed in a flow and can
// be shared by concurrent executors.
package actions

import (
	"fmt"

	"github.com/b7cafead/datapath/flow"
)

// Type identifies an action. The values are OVS's OVS_ACTION_ATTR_* from
// include/linux/openvswitch.h.
type Type uint16

// Action types.
const (
	TypeOutput    Type = 1  // OVS_ACTION_ATTR_OUTPUT
	TypeSet       Type = 3  // OVS_ACTION_ATTR_SET
	TypeSetMasked Type = 11 // OVS_ACTION_ATTR_SET_MASKED
	TypeDrop      Type = 24 // OVS_ACTION_ATTR_DROP
)

// String returns the action type's name.
func (t Type) String() string {
	switch t {
	case TypeOutput:
		return "output"
	case TypeSet:
		return "set"
	case TypeSetMasked:
		return "set_masked"
	case TypeDrop:
		return "drop"
	}
	return fmt.Sprintf("action(%d)", uint16(t))
}

// Attr identifies the key attribute a set action rewrites. The values are
// OVS's OVS_KEY_ATTR_*.
type Attr uint16

// Settable key attributes.
const (
	AttrEthernet Attr = 4  // OVS_KEY_ATTR_ETHERNET: eth(src,dst)
	AttrIPv4     Attr = 7  // OVS_KEY_ATTR_IPV4: ipv4(src,dst,tos,ttl)
	AttrTCP      Attr = 9  // OVS_KEY_ATTR_TCP: tcp(src,dst)
	AttrUDP      Attr = 10 // OVS_KEY_ATTR_UDP: udp(src,dst)
)

var attrNames = map[Attr]string{AttrEthernet: "eth", AttrIPv4: "ipv4", AttrTCP: "tcp", AttrUDP: "udp"}

// String returns the attribute's name in flow text ("eth", "ipv4", ...).
func (a Attr) String() string {
	if n, ok := attrNames[a]; ok {
		return n
	}
	return fmt.Sprintf("attr(%d)", uint16(a))
}

// Action is one datapath action.
type Action struct {
	Type Type

	// Port is the datapath port of an output action.
	Port uint32

	// Attr, Key and Mask describe a set action: the key attribute it
	// rewrites and the new field values (Key) for the bits set in Mask.
	// For TypeSet, Mask has every field of the attribute set.
	Attr Attr
	Key  flow.Key
	Mask flow.Key
}

// List is a sequence of actions executed in order.
type List []Action

// Output returns an output action to port.
func Output(port uint32) Action { return Action{Type: TypeOutput, Port: port} }

// fullMask returns the mask of every field of a settable attribute, in the
// form OVS uses for an unmasked set action.
func fullMask(a Attr) flow.Key {
	var m flow.Key
	switch a {
	case AttrEthernet:
		m.EthSrc = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		m.EthDst = m.EthSrc
	case AttrIPv4:
		m.NwSrc = [4]byte{0xff, 0xff, 0xff, 0xff}
		m.NwDst = m.NwSrc
		m.NwProto, m.NwTos, m.NwTTL, m.NwFrag = 0xff, 0xff, 0xff, flow.FragMask
	case AttrTCP, AttrUDP:
		m.TpSrc, m.TpDst = 0xffff, 0xffff
	}
	return m
}

// Validate reports an error if the list holds an action this datapath
// cannot execute, so that a flow with it is refused at install time rather
// than silently misbehaving.
func (l List) Validate() error {
	for i := range l {
		a := &l[i]
		switch a.Type {
		case TypeOutput:
		case TypeDrop:
			if i != len(l)-1 {
				return fmt.Errorf("actions: drop must be the last action")
			}
		case TypeSet, TypeSetMasked:
			if _, ok := attrNames[a.Attr]; !ok {
				return fmt.Errorf("actions: set of %v is not supported", a.Attr)
			}
			if a.Attr == AttrIPv4 && (a.Mask.NwProto != 0 || a.Mask.NwFrag != 0) && a.Type == TypeSetMasked {
				return fmt.Errorf("actions: set of ipv4 proto or frag is not supported")
			}
		default:
			return fmt.Errorf("actions: %v is not supported", a.Type)
		}
	}
	return nil
}
