package actions

import "math/bits"

// OVS encodes an action list as netlink attributes, and refuses text
// whose encoding would not fit in one attribute: a payload of at most
// 65531 bytes (UINT16_MAX minus the attribute header). Parse applies the
// same limit, computing the encoded size without encoding.

const (
	nlaHdr        = 4
	maxNlaPayload = 0xffff - nlaHdr
)

func nlaAlign(n int) int { return (n + 3) &^ 3 }

// nla returns the size of an attribute with a payload of n bytes.
func nla(n int) int { return nlaHdr + nlaAlign(n) }

// encodedLen returns the size of the list's netlink encoding.
func (l List) encodedLen() int {
	n := 0
	for i := range l {
		n += l[i].encodedLen()
	}
	return n
}

// encodedLen returns the size of the action's netlink attribute, as OVS's
// parser builds it.
func (a *Action) encodedLen() int {
	switch a.Type {
	case TypePopVLAN, TypePopEth, TypeCTClear, TypePopNSH:
		return nla(0)
	case TypeOutput, TypeRecirc, TypeMeter, TypeTrunc, TypeTunnelPop, TypeLBOutput, TypeDrop, TypePushVLAN:
		return nla(4)
	case TypePopMPLS:
		return nla(2)
	case TypePushMPLS, TypeAddMPLS, TypeHash:
		return nla(8)
	case TypePushEth:
		return nla(12)
	case TypeSet:
		return nla(a.setKeyLen(false))
	case TypeSetMasked:
		return nla(a.setKeyLen(true))
	case TypeSample:
		return nla(nla(4) + nla(a.Actions.encodedLen()))
	case TypeClone:
		return nla(a.Actions.encodedLen())
	case TypeDecTTL:
		return nla(nla(a.Actions.encodedLen()))
	case TypeCheckPktLen:
		return nla(nla(2) + nla(a.Greater.encodedLen()) + nla(a.LessEqual.encodedLen()))
	case TypeUserspace:
		u := a.Userspace
		if u == nil {
			return nla(0)
		}
		n := nla(4)
		if u.Userdata != nil {
			n += nla(len(u.Userdata))
		}
		if u.HasTunnelOutPort {
			n += nla(4)
		}
		if u.Actions {
			n += nla(0)
		}
		return nla(n)
	case TypeCT:
		return nla(a.CT.encodedLen())
	case TypeTunnelPush:
		if a.TunnelPush == nil {
			return nla(16)
		}
		return nla(16 + len(a.TunnelPush.Header))
	case TypePushNSH:
		n := nla(8)
		if a.NSH != nil {
			switch {
			case a.NSH.MDType == 1:
				n += nla(16)
			case a.NSH.MDType == 2 && len(a.NSH.MD2) > 0:
				n += nla(len(a.NSH.MD2))
			}
		}
		return nla(nla(n))
	}
	return nla(0)
}

// setKeyLen returns the size of the key attribute of a set action: the
// attribute's netlink structure, twice over (key then mask) when masked.
func (a *Action) setKeyLen(masked bool) int {
	var n int
	switch a.Attr {
	case AttrEncap:
		n = 0
	case AttrPriority, AttrInPort, AttrSkbMark, AttrDpHash, AttrRecircID, AttrCtState, AttrCtMark, AttrPacketType:
		n = 4
	case AttrEthernet:
		n = 12
	case AttrVLAN, AttrEthType, AttrTCPFlags, AttrCtZone, AttrICMP, AttrICMPv6:
		n = 2
	case AttrIPv4:
		n = 12
	case AttrIPv6, AttrCtTuple6:
		n = 40
	case AttrTCP, AttrUDP, AttrSCTP:
		n = 4
	case AttrARP:
		n = 24
	case AttrND:
		n = 28
	case AttrCtLabels, AttrCtTuple4:
		n = 16
	case AttrNDExtension:
		n = 8
	case AttrMPLS:
		n = 4 * max(mplsCount(&a.set().Mask), 1)
	case AttrTunnel:
		// The key's attributes, then (masked) the mask's: the same fields,
		// but one flag attribute per masked rather than per set flag.
		k := tunnelSize(a)
		if !masked {
			return nla(k)
		}
		const fl = 7 // oam, df, csum
		m := k - 4*bits.OnesCount16(a.set().Key.TunFlags&fl) + 4*bits.OnesCount16(a.set().Mask.TunFlags&fl)
		return nla(k + m)
	}
	if masked {
		n *= 2
	}
	return nla(n)
}

// encodedLen returns the size of a ct action's nested attributes.
func (c *CT) encodedLen() int {
	if c == nil {
		return 0
	}
	n := 0
	if c.Commit || c.ForceCommit {
		n += nla(0)
	}
	if c.Zone != 0 {
		n += nla(2)
	}
	if c.MarkMask != 0 {
		n += nla(8)
	}
	if c.LabelMask != ([16]byte{}) {
		n += nla(32)
	}
	if c.Helper != "" {
		n += nla(len(c.Helper) + 1)
	}
	if c.Timeout != "" {
		n += nla(len(c.Timeout) + 1)
	}
	if c.NAT != nil {
		t := c.NAT
		m := 0
		if t.Src || t.Dst {
			m += nla(0)
			if t.Min.IsValid() {
				al := 4
				if !t.Min.Is4() {
					al = 16
				}
				m += nla(al)
				if t.Max.IsValid() {
					m += nla(al)
				}
				if t.MinPort != 0 {
					m += nla(2)
					if t.MaxPort != 0 {
						m += nla(2)
					}
				}
				for _, f := range []bool{t.Persistent, t.Hash, t.Random} {
					if f {
						m += nla(0)
					}
				}
			}
		}
		n += nla(m)
	}
	return n
}
