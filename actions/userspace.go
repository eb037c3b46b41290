package actions

import (
	"encoding/binary"
	"strconv"
	"strings"
)

// Userspace is the argument of the userspace action, which sends the
// packet to the slow path.
type Userspace struct {
	// PID is the netlink port id the upcall goes to.
	PID uint32
	// Userdata is passed back with the upcall. OVS puts its own cookie
	// here (see Cookie); the text syntax shows a recognised cookie in its
	// own form and any other userdata in hexadecimal. OVS pads userdata
	// to at least 8 bytes, and the text without a cookie or userdata
	// means an all-zero cookie; Parse does the same. Nil means no
	// userdata at all.
	Userdata []byte
	// Actions asks for the flow's actions to be sent with the upcall.
	Actions bool
	// HasTunnelOutPort says whether TunnelOutPort is given.
	HasTunnelOutPort bool
	// TunnelOutPort is the tunnel port whose egress metadata the upcall
	// should carry.
	TunnelOutPort uint32
}

// CookieLen is the size of OVS's struct user_action_cookie.
const CookieLen = 48

// CookieType is the type of OVS's userspace action cookie
// (USER_ACTION_COOKIE_*).
type CookieType uint16

// Cookie types.
const (
	CookieUnspec     CookieType = 0
	CookieSFlow      CookieType = 1 // per-bridge sFlow sampling
	CookieSlowPath   CookieType = 2 // the flow must go through the slow path
	CookieFlowSample CookieType = 3 // per-flow IPFIX sampling
	CookieIPFIX      CookieType = 4 // per-bridge IPFIX sampling
	CookieController CookieType = 5 // to the OpenFlow controller
)

// Slow path reasons (OVS's enum slow_path_reason), the bits of
// Cookie.Reason in a slow_path cookie.
const (
	SlowCFM    = 1 << 0
	SlowBFD    = 1 << 1
	SlowLACP   = 1 << 2
	SlowSTP    = 1 << 3
	SlowLLDP   = 1 << 4
	SlowAction = 1 << 5
	SlowMatch  = 1 << 6
)

var slowPathNames = []string{"cfm", "bfd", "lacp", "stp", "lldp", "action", "match"}

func slowPathName(bit uint32) string {
	for i, n := range slowPathNames {
		if bit == 1<<i {
			return n
		}
	}
	return ""
}

// Flow sample directions (OVS's enum nx_action_sample_direction).
const (
	SampleDefault = 0
	SampleIngress = 1
	SampleEgress  = 2
)

// Cookie is OVS's struct user_action_cookie decoded: the 48 bytes of
// userdata that OVS's slow path puts in the userspace actions it installs.
// Which fields mean something depends on Type. OVS lays the cookie out in
// the byte order of its host; Bytes and ParseCookie use little-endian
// order, as on the x86 and ARM hosts OVS runs on, except for the VLAN TCI
// and the rule cookie, which OVS keeps in network order.
type Cookie struct {
	// Type says which of the fields below mean something.
	Type CookieType
	// OFPInPort is the OpenFlow input port; the text syntax builds
	// cookies with OFPP_NONE (0xffff).
	OFPInPort uint16
	// VLANTCI (sFlow) is the destination VLAN TCI.
	VLANTCI uint16
	// Output is the sFlow output value, or the output datapath port of a
	// flow_sample or ipfix cookie.
	Output uint32
	// Reason is the slow path reasons (Slow*), or the controller's
	// packet-in reason.
	Reason uint32
	// Probability is a flow_sample cookie's sampling probability.
	Probability uint16
	// CollectorSetID is a flow_sample cookie's IPFIX collector set.
	CollectorSetID uint32
	// ObsDomainID is a flow_sample cookie's observation domain.
	ObsDomainID uint32
	// ObsPointID is a flow_sample cookie's observation point.
	ObsPointID uint32
	// Direction is a flow_sample cookie's direction (Sample*).
	Direction uint32
	// DontSend (controller) says not to send the packet to the
	// controller.
	DontSend bool
	// Continuation (controller) sends the packet-in as a continuation.
	Continuation bool
	// RecircID (controller) is the recirculation id to resume with.
	RecircID uint32
	// RuleCookie (controller) is the OpenFlow rule's cookie.
	RuleCookie uint64
	// ControllerID (controller) selects the controller.
	ControllerID uint16
	// MaxLen (controller) is the most bytes of the packet to send.
	MaxLen uint16
}

var le = binary.LittleEndian

// ParseCookie decodes userdata as a cookie. It reports false unless the
// userdata is exactly CookieLen bytes of a known type, the condition under
// which OVS prints a cookie in its own form.
func ParseCookie(b []byte) (Cookie, bool) {
	if len(b) != CookieLen {
		return Cookie{}, false
	}
	c := Cookie{Type: CookieType(le.Uint16(b[0:])), OFPInPort: le.Uint16(b[2:])}
	u := b[24:]
	switch c.Type {
	case CookieSFlow:
		c.VLANTCI, c.Output = be.Uint16(u[0:]), le.Uint32(u[4:])
	case CookieSlowPath:
		c.Reason = le.Uint32(u[4:])
	case CookieFlowSample:
		c.Probability = le.Uint16(u[0:])
		c.CollectorSetID, c.ObsDomainID = le.Uint32(u[4:]), le.Uint32(u[8:])
		c.ObsPointID, c.Output, c.Direction = le.Uint32(u[12:]), le.Uint32(u[16:]), le.Uint32(u[20:])
	case CookieIPFIX:
		c.Output = le.Uint32(u[0:])
	case CookieController:
		c.DontSend, c.Continuation = u[0] != 0, u[1] != 0
		c.Reason, c.RecircID = uint32(le.Uint16(u[2:])), le.Uint32(u[4:])
		c.RuleCookie = be.Uint64(u[8:])
		c.ControllerID, c.MaxLen = le.Uint16(u[16:]), le.Uint16(u[18:])
	default:
		return Cookie{}, false
	}
	return c, true
}

// Bytes encodes the cookie as the CookieLen bytes of userdata OVS builds.
func (c *Cookie) Bytes() []byte {
	b := make([]byte, CookieLen)
	le.PutUint16(b[0:], uint16(c.Type))
	le.PutUint16(b[2:], c.OFPInPort)
	u := b[24:]
	switch c.Type {
	case CookieSFlow:
		be.PutUint16(u[0:], c.VLANTCI)
		le.PutUint32(u[4:], c.Output)
	case CookieSlowPath:
		le.PutUint32(u[4:], c.Reason)
	case CookieFlowSample:
		le.PutUint16(u[0:], c.Probability)
		le.PutUint32(u[4:], c.CollectorSetID)
		le.PutUint32(u[8:], c.ObsDomainID)
		le.PutUint32(u[12:], c.ObsPointID)
		le.PutUint32(u[16:], c.Output)
		le.PutUint32(u[20:], c.Direction)
	case CookieIPFIX:
		le.PutUint32(u[0:], c.Output)
	case CookieController:
		if c.DontSend {
			u[0] = 1
		}
		if c.Continuation {
			u[1] = 1
		}
		le.PutUint16(u[2:], uint16(c.Reason))
		le.PutUint32(u[4:], c.RecircID)
		be.PutUint64(u[8:], c.RuleCookie)
		le.PutUint16(u[16:], c.ControllerID)
		le.PutUint16(u[18:], c.MaxLen)
	}
	return b
}

// userspace parses the argument of userspace( (already consumed), as
// OVS's parse_odp_userspace_action.
func (p *scanner) userspace(start int) (Action, error) {
	u := &Userspace{}
	if err := p.expect("pid="); err != nil {
		return Action{}, err
	}
	var err error
	if u.PID, err = p.u32("userspace pid"); err != nil {
		return Action{}, err
	}
	// Without a cookie or userdata OVS uses an all-zero cookie; a typed
	// cookie has OFPP_NONE as its OpenFlow port.
	c := Cookie{}
	cookie := true

	switch {
	case p.lit(",sFlow(vid="):
		c.Type = CookieSFlow
		vid, err := p.num(32, 0, "sFlow vid")
		if err != nil {
			return Action{}, err
		}
		if err := p.expect(",pcp="); err != nil {
			return Action{}, err
		}
		pcp, err := p.num(32, 0, "sFlow pcp")
		if err != nil {
			return Action{}, err
		}
		if vid > 0xfff || pcp > 7 {
			return Action{}, p.errAt(start, "userspace: sFlow vid or pcp out of range")
		}
		if err := p.expect(",output="); err != nil {
			return Action{}, err
		}
		if c.Output, err = p.u32("sFlow output"); err != nil {
			return Action{}, err
		}
		c.VLANTCI = uint16(vid | pcp<<13)
		if c.VLANTCI != 0 {
			c.VLANTCI |= 0x1000
		}
		if err := p.expect(")"); err != nil {
			return Action{}, err
		}
	case p.lit(",slow_path("):
		c.Type = CookieSlowPath
		if c.Reason, err = p.slowPathReasons(); err != nil {
			return Action{}, err
		}
	case p.lit(",flow_sample(probability="):
		c.Type = CookieFlowSample
		var err error
		if c.Probability, err = p.u16("flow_sample probability"); err != nil {
			return Action{}, err
		}
		for _, f := range []struct {
			lit string
			v   *uint32
		}{{",collector_set_id=", &c.CollectorSetID}, {",obs_domain_id=", &c.ObsDomainID},
			{",obs_point_id=", &c.ObsPointID}, {",output_port=", &c.Output}} {
			if err := p.expect(f.lit); err != nil {
				return Action{}, err
			}
			if *f.v, err = p.u32("flow_sample " + strings.Trim(f.lit, ",=")); err != nil {
				return Action{}, err
			}
		}
		switch {
		case p.lit(",ingress"):
			c.Direction = SampleIngress
		case p.lit(",egress"):
			c.Direction = SampleEgress
		}
		if err := p.expect(")"); err != nil {
			return Action{}, err
		}
	case p.lit(",ipfix(output_port="):
		c.Type = CookieIPFIX
		if c.Output, err = p.u32("ipfix output_port"); err != nil {
			return Action{}, err
		}
		if err := p.expect(")"); err != nil {
			return Action{}, err
		}
	case p.lit(",controller(reason="):
		c.Type = CookieController
		if err := p.controllerCookie(&c); err != nil {
			return Action{}, err
		}
	case p.lit(",userdata("):
		cookie = false
		u.Userdata = p.hexBytes([]byte{})
		if err := p.expect(")"); err != nil {
			return Action{}, p.errAt(p.i, "userspace: userdata must be pairs of hexadecimal digits")
		}
	}
	if cookie {
		if c.Type != CookieUnspec {
			c.OFPInPort = 0xffff
		}
		u.Userdata = c.Bytes()
	}
	if len(u.Userdata) < 8 {
		u.Userdata = append(u.Userdata, make([]byte, 8-len(u.Userdata))...)
	}
	u.Actions = p.lit(",actions")
	if p.lit(",tunnel_out_port=") {
		port, err := p.u32("userspace tunnel_out_port")
		if err != nil {
			return Action{}, err
		}
		u.HasTunnelOutPort, u.TunnelOutPort = port != PortNone, port
	}
	if err := p.expect(")"); err != nil {
		return Action{}, err
	}
	return Action{Type: TypeUserspace, Userspace: u}, nil
}

// slowPathReasons parses slow_path reasons up to and including the closing
// parenthesis: names or numbers separated by "|" (what OVS parses) or ","
// (what OVS prints).
func (p *scanner) slowPathReasons() (uint32, error) {
	var r uint32
	for p.peek() != ')' {
		if p.eof() {
			return 0, p.errAt(p.i, "slow_path: expected )")
		}
		if c := p.peek(); c >= '0' && c <= '9' {
			v, err := p.num(32, 0, "slow_path reason")
			if err != nil {
				return 0, err
			}
			if v&^0x7f != 0 {
				return 0, p.errAt(p.i, "slow_path: unknown reason bits %#x", v)
			}
			r |= uint32(v)
		} else {
			found := false
			for i, n := range slowPathNames {
				if strings.HasPrefix(p.rest(), n) {
					if c := p.rest()[len(n):]; c != "" && c[0] != '|' && c[0] != ',' && c[0] != ')' {
						continue
					}
					r |= 1 << i
					p.i += len(n)
					found = true
					break
				}
			}
			if !found {
				return 0, p.errAt(p.i, "slow_path: unknown reason %q", p.word())
			}
		}
		if p.peek() == '|' || p.peek() == ',' {
			p.i++
		}
	}
	p.i++
	return r, nil
}

// controllerCookie parses the fields of a controller cookie after
// "reason=", up to and including its closing parenthesis.
func (p *scanner) controllerCookie(c *Cookie) error {
	v, err := p.dec(16, "controller reason")
	if err != nil {
		return err
	}
	c.Reason = uint32(v)
	if err = p.expect(",dont_send="); err != nil {
		return err
	}
	if v, err = p.dec(8, "controller dont_send"); err != nil {
		return err
	}
	c.DontSend = v != 0
	if err = p.expect(",continuation="); err != nil {
		return err
	}
	if v, err = p.dec(8, "controller continuation"); err != nil {
		return err
	}
	c.Continuation = v != 0
	if err = p.expect(",recirc_id="); err != nil {
		return err
	}
	if v, err = p.dec(32, "controller recirc_id"); err != nil {
		return err
	}
	c.RecircID = uint32(v)
	if err = p.expect(",rule_cookie="); err != nil {
		return err
	}
	if c.RuleCookie, err = p.hex(64, "controller rule_cookie"); err != nil {
		return err
	}
	if err = p.expect(",controller_id="); err != nil {
		return err
	}
	if v, err = p.dec(16, "controller controller_id"); err != nil {
		return err
	}
	c.ControllerID = uint16(v)
	if err = p.expect(",max_len="); err != nil {
		return err
	}
	if v, err = p.dec(16, "controller max_len"); err != nil {
		return err
	}
	c.MaxLen = uint16(v)
	return p.expect(")")
}

// appendUserspace formats a userspace action as OVS's
// format_odp_userspace_action does.
func appendUserspace(dst []byte, u *Userspace) []byte {
	if u == nil {
		return append(dst, "userspace(error)"...)
	}
	dst = append(dst, "userspace(pid="...)
	dst = strconv.AppendUint(dst, uint64(u.PID), 10)
	if u.Userdata != nil {
		if c, ok := ParseCookie(u.Userdata); ok {
			dst = appendCookie(dst, &c)
		} else {
			dst = append(dst, ",userdata("...)
			for _, b := range u.Userdata {
				dst = append(dst, hexDigits[b>>4], hexDigits[b&15])
			}
			dst = append(dst, ')')
		}
	}
	if u.Actions {
		dst = append(dst, ",actions"...)
	}
	if u.HasTunnelOutPort {
		dst = append(dst, ",tunnel_out_port="...)
		dst = strconv.AppendUint(dst, uint64(u.TunnelOutPort), 10)
	}
	return append(dst, ')')
}

func appendCookie(dst []byte, c *Cookie) []byte {
	u := func(v uint64) { dst = strconv.AppendUint(dst, v, 10) }
	switch c.Type {
	case CookieSFlow:
		dst = append(dst, ",sFlow(vid="...)
		u(uint64(c.VLANTCI & 0xfff))
		dst = append(dst, ",pcp="...)
		u(uint64(c.VLANTCI >> 13))
		dst = append(dst, ",output="...)
		u(uint64(c.Output))
	case CookieSlowPath:
		dst = append(dst, ",slow_path("...)
		dst = appendFlags(dst, slowPathName, c.Reason, ',')
	case CookieFlowSample:
		dst = append(dst, ",flow_sample(probability="...)
		u(uint64(c.Probability))
		dst = append(dst, ",collector_set_id="...)
		u(uint64(c.CollectorSetID))
		dst = append(dst, ",obs_domain_id="...)
		u(uint64(c.ObsDomainID))
		dst = append(dst, ",obs_point_id="...)
		u(uint64(c.ObsPointID))
		dst = append(dst, ",output_port="...)
		u(uint64(c.Output))
		switch c.Direction {
		case SampleIngress:
			dst = append(dst, ",ingress"...)
		case SampleEgress:
			dst = append(dst, ",egress"...)
		}
	case CookieIPFIX:
		dst = append(dst, ",ipfix(output_port="...)
		u(uint64(c.Output))
	case CookieController:
		dst = append(dst, ",controller(reason="...)
		u(uint64(uint16(c.Reason)))
		dst = append(dst, ",dont_send="...)
		u(b2u(c.DontSend))
		dst = append(dst, ",continuation="...)
		u(b2u(c.Continuation))
		dst = append(dst, ",recirc_id="...)
		u(uint64(c.RecircID))
		dst = append(dst, ",rule_cookie="...)
		dst = appendHexC(dst, c.RuleCookie)
		dst = append(dst, ",controller_id="...)
		u(uint64(c.ControllerID))
		dst = append(dst, ",max_len="...)
		u(uint64(c.MaxLen))
	}
	return append(dst, ')')
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
