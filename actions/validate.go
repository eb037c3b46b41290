package actions

import (
	"errors"
	"fmt"
)

// ErrNotImplemented is wrapped by the errors for actions this datapath
// cannot execute yet (see NotImplementedError).
var ErrNotImplemented = errors.New("not implemented")

// NotImplementedError reports an action the datapath can represent, parse
// and format but not execute yet.
type NotImplementedError struct {
	Type Type // the action
	Attr Attr // the attribute, for set and set_masked
}

// Error names the action.
func (e *NotImplementedError) Error() string {
	if e.Type == TypeSet || e.Type == TypeSetMasked {
		return fmt.Sprintf("actions: set of %s is not implemented", e.Attr)
	}
	return fmt.Sprintf("actions: %s is not implemented", e.Type)
}

// Unwrap returns ErrNotImplemented.
func (e *NotImplementedError) Unwrap() error { return ErrNotImplemented }

// settable reports whether the executor implements set of attribute a.
func settable(a Attr) bool {
	switch a {
	case AttrEthernet, AttrIPv4, AttrTCP, AttrUDP, AttrPriority, AttrSkbMark,
		AttrIPv6, AttrICMP, AttrICMPv6, AttrSCTP, AttrARP, AttrND, AttrTunnel:
		return true
	}
	return false
}

// Validate reports an error if the list holds an action this datapath
// cannot execute, so that a flow with it is refused at install time rather
// than silently misbehaving. Actions not implemented yet give a
// *NotImplementedError naming them (errors.Is(err, ErrNotImplemented)).
// Nested lists are checked too.
func (l List) Validate() error {
	for i := range l {
		if err := l[i].validate(i == len(l)-1); err != nil {
			return err
		}
	}
	return nil
}

func (a *Action) validate(last bool) error {
	switch a.Type {
	case TypeOutput:
		return nil
	case TypeDrop:
		if !last {
			return fmt.Errorf("actions: drop must be the last action")
		}
		return nil
	case TypePushVLAN, TypePopVLAN, TypeTrunc, TypeCTClear:
		return nil
	case TypePushMPLS, TypePopMPLS:
		return nil
	case TypeAddMPLS:
		return nil
	case TypeHash:
		if a.Hash.Alg != HashL4 && a.Hash.Alg != HashSymL4 {
			return &NotImplementedError{Type: a.Type}
		}
		return nil
	case TypeTunnelPush:
		t := a.TunnelPush
		if t == nil {
			return fmt.Errorf("actions: tnl_push without a header")
		}
		switch {
		case len(t.Header) >= 14+20 && be.Uint16(t.Header[12:]) == ethTypeIPv4:
		case len(t.Header) >= 14+40 && be.Uint16(t.Header[12:]) == ethTypeIPv6:
		default:
			return fmt.Errorf("actions: tnl_push header is not Ethernet and IPv4 or IPv6")
		}
		return nil
	case TypeTunnelPop:
		// The executor runs them with a sink that has tunnel ports
		// (Tunneler); whether the port is one is known only then.
		return nil
	case TypeMeter:
		// The executor runs it with a sink that has meters (Meterer).
		return nil
	case TypePushEth, TypePopEth:
		// Whether the packet has an Ethernet header is known only when
		// the action runs; the executor drops a packet it does not fit.
		return nil
	case TypeRecirc, TypeUserspace:
		// The executor runs them with a sink that takes them back
		// (Recirculator, Upcaller), as a datapath's worker does.
		return nil
	case TypeClone, TypeSample:
		if err := a.Actions.Validate(); err != nil {
			return fmt.Errorf("%w (in %s)", err, a.Type)
		}
		return nil
	case TypeCheckPktLen:
		if err := a.Greater.Validate(); err != nil {
			return fmt.Errorf("%w (in check_pkt_len)", err)
		}
		if err := a.LessEqual.Validate(); err != nil {
			return fmt.Errorf("%w (in check_pkt_len)", err)
		}
		return nil
	case TypeDecTTL:
		if err := a.Actions.Validate(); err != nil {
			return fmt.Errorf("%w (in dec_ttl)", err)
		}
		return nil
	case TypeSet, TypeSetMasked:
		if !settable(a.Attr) {
			return &NotImplementedError{Type: a.Type, Attr: a.Attr}
		}
		if (a.Attr == AttrIPv4 || a.Attr == AttrIPv6) && a.Type == TypeSetMasked && (a.set().Mask.NwProto != 0 || a.set().Mask.NwFrag != 0) {
			// Not writable, and refused by Linux's datapath.
			return fmt.Errorf("actions: set of %s proto or frag is not supported", a.Attr)
		}
		return nil
	}
	if _, ok := typeNames[a.Type]; !ok {
		return fmt.Errorf("actions: unknown action type %d", uint16(a.Type))
	}
	return &NotImplementedError{Type: a.Type}
}
