package actions

import (
	"net/netip"
	"strconv"
)

// Tunnel types of a tnl_push header: OVS's OVS_VPORT_TYPE_*, which the
// text prints as "type=".
const (
	TunnelGRE       = 3
	TunnelVXLAN     = 4
	TunnelGeneve    = 5
	TunnelERSPAN    = 107
	TunnelIP6ERSPAN = 108
	TunnelIP6GRE    = 109
	TunnelGTPU      = 110
	TunnelSRv6      = 112
)

// MaxTunnelHeader is the largest header tnl_push can carry
// (TNL_PUSH_HEADER_SIZE).
const MaxTunnelHeader = 512

// TunnelPush is the argument of tnl_push: a complete outer header
// (Ethernet, IPv4 or IPv6, then UDP with VXLAN, Geneve or GTP-U, GRE,
// ERSPAN over GRE, or an SRv6 routing header) that the datapath prepends
// to the packet, filling in lengths and checksums.
type TunnelPush struct {
	// TunnelPort is the tunnel's datapath port.
	TunnelPort uint32
	// OutPort is the port the encapsulated packet leaves through.
	OutPort uint32
	// Type is the tunnel type (Tunnel*); it tells how to read Header.
	Type uint32
	// Header is the header to push, at most MaxTunnelHeader bytes.
	Header []byte
}

// Header layout constants.
const (
	greCsum = 0x8000
	greKey  = 0x2000
	greSeq  = 0x1000

	ethTypeTEB     = 0x6558
	ethTypeERSPAN1 = 0x88be
	ethTypeERSPAN2 = 0x22eb

	srv6MaxSegs = 6
)

// tnlPush parses tnl_push(tnl_port(P),header(...),out_port(Q)) as OVS's
// ovs_parse_tnl_push, building the header bytes the way OVS does (IPv4
// header checksum computed, lengths left zero). It also reads the ERSPAN,
// GTP-U and SRv6 headers as OVS prints them, which OVS 3.1 cannot.
func (p *scanner) tnlPush(start int) (Action, error) {
	t := &TunnelPush{}
	var err error
	if err = p.expect("tnl_port("); err != nil {
		return Action{}, err
	}
	if t.TunnelPort, err = p.u32("tnl_push tnl_port"); err != nil {
		return Action{}, err
	}
	if err = p.expect("),header(size="); err != nil {
		return Action{}, err
	}
	size, err := p.u32("tnl_push header size")
	if err != nil {
		return Action{}, err
	}
	if err = p.expect(",type="); err != nil {
		return Action{}, err
	}
	if t.Type, err = p.u32("tnl_push header type"); err != nil {
		return Action{}, err
	}
	var h [MaxTunnelHeader]byte
	if err = p.expect(",eth(dst="); err != nil {
		return Action{}, err
	}
	dst, err := p.mac("tnl_push eth dst")
	if err != nil {
		return Action{}, err
	}
	if err = p.expect(",src="); err != nil {
		return Action{}, err
	}
	src, err := p.mac("tnl_push eth src")
	if err != nil {
		return Action{}, err
	}
	if err = p.expect(",dl_type="); err != nil {
		return Action{}, err
	}
	dlType, err := p.hexAfter0x(16, "tnl_push dl_type")
	if err != nil {
		return Action{}, err
	}
	if err = p.expect("),"); err != nil {
		return Action{}, err
	}
	copy(h[0:], dst[:])
	copy(h[6:], src[:])
	be.PutUint16(h[12:], uint16(dlType))
	l3 := h[14:]
	ipLen := 20
	v4 := dlType == 0x0800
	if v4 {
		if err = p.tnlIPv4(l3); err != nil {
			return Action{}, err
		}
	} else {
		ipLen = 40
		if err = p.tnlIPv6(l3); err != nil {
			return Action{}, err
		}
	}
	l4 := l3[ipLen:]
	hlen := 14 + ipLen
	var typ uint32
	switch {
	case p.lit("udp(src="):
		n, tt, err := p.tnlUDP(l4)
		if err != nil {
			return Action{}, err
		}
		hlen += n
		typ = tt
	case p.lit("gre((flags="):
		n, err := p.tnlGRE(l4)
		if err != nil {
			return Action{}, err
		}
		hlen += n
		typ = TunnelGRE
		if !v4 {
			typ = TunnelIP6GRE
		}
	case p.lit("erspan(ver="):
		n, err := p.tnlERSPAN(l4)
		if err != nil {
			return Action{}, err
		}
		hlen += n
		typ = TunnelERSPAN
		if !v4 {
			typ = TunnelIP6ERSPAN
		}
	case p.lit("srv6(segments_left="):
		if v4 {
			return Action{}, p.errAt(start, "tnl_push: srv6 needs an IPv6 header")
		}
		n, err := p.tnlSRv6(l3, l4)
		if err != nil {
			return Action{}, err
		}
		hlen += n
		typ = TunnelSRv6
	default:
		return Action{}, p.errAt(p.i, "tnl_push: unknown tunnel header")
	}
	if typ != t.Type {
		return Action{}, p.errAt(start, "tnl_push: header type %d does not match the header (type %d)", t.Type, typ)
	}
	if uint32(hlen) != size {
		return Action{}, p.errAt(start, "tnl_push: header size %d does not match the header (%d bytes)", size, hlen)
	}
	if err = p.expect(",out_port("); err != nil {
		return Action{}, err
	}
	if t.OutPort, err = p.u32("tnl_push out_port"); err != nil {
		return Action{}, err
	}
	if err = p.expect("))"); err != nil {
		return Action{}, err
	}
	t.Header = append([]byte(nil), h[:hlen]...)
	return Action{Type: TypeTunnelPush, TunnelPush: t}, nil
}

// tnlIPv4 parses ipv4(src=..,dst=..,proto=..,tos=..,ttl=..,frag=0x..), into
// a 20-byte header with its checksum.
func (p *scanner) tnlIPv4(ip []byte) error {
	if err := p.expect("ipv4(src="); err != nil {
		return err
	}
	src, err := p.ipv4Addr("tnl_push ipv4 src")
	if err != nil {
		return err
	}
	if err = p.expect(",dst="); err != nil {
		return err
	}
	dst, err := p.ipv4Addr("tnl_push ipv4 dst")
	if err != nil {
		return err
	}
	var v [3]uint8
	for i, f := range []string{",proto=", ",tos=", ",ttl="} {
		if err = p.expect(f); err != nil {
			return err
		}
		if v[i], err = p.u8("tnl_push ipv4" + f[:len(f)-1]); err != nil {
			return err
		}
	}
	if err = p.expect(",frag="); err != nil {
		return err
	}
	frag, err := p.hexAfter0x(16, "tnl_push ipv4 frag")
	if err != nil {
		return err
	}
	if err = p.expect("),"); err != nil {
		return err
	}
	ip[0], ip[1], ip[8], ip[9] = 0x45, v[1], v[2], v[0]
	be.PutUint16(ip[6:], uint16(frag))
	copy(ip[12:], src[:])
	copy(ip[16:], dst[:])
	be.PutUint16(ip[10:], ^fold(sum16(ip[:20])))
	return nil
}

// tnlIPv6 parses ipv6(src=..,dst=..,label=..,proto=..,tclass=0x..,hlimit=..),.
func (p *scanner) tnlIPv6(ip []byte) error {
	if err := p.expect("ipv6(src="); err != nil {
		return err
	}
	src, err := p.ipv6Addr("tnl_push ipv6 src")
	if err != nil {
		return err
	}
	if err = p.expect(",dst="); err != nil {
		return err
	}
	dst, err := p.ipv6Addr("tnl_push ipv6 dst")
	if err != nil {
		return err
	}
	if err = p.expect(",label="); err != nil {
		return err
	}
	label, err := p.num(20, 0, "tnl_push ipv6 label")
	if err != nil {
		return err
	}
	if err = p.expect(",proto="); err != nil {
		return err
	}
	proto, err := p.u8("tnl_push ipv6 proto")
	if err != nil {
		return err
	}
	if err = p.expect(",tclass="); err != nil {
		return err
	}
	tclass, err := p.hexAfter0x(8, "tnl_push ipv6 tclass")
	if err != nil {
		return err
	}
	if err = p.expect(",hlimit="); err != nil {
		return err
	}
	hlim, err := p.u8("tnl_push ipv6 hlimit")
	if err != nil {
		return err
	}
	if err = p.expect("),"); err != nil {
		return err
	}
	be.PutUint32(ip[0:], 6<<28|uint32(tclass)<<20|uint32(label))
	ip[6], ip[7] = proto, hlim
	copy(ip[8:], src[:])
	copy(ip[24:], dst[:])
	return nil
}

// tnlUDP parses the UDP header and the VXLAN, Geneve or GTP-U header after
// it, returning their length and the tunnel type.
func (p *scanner) tnlUDP(b []byte) (int, uint32, error) {
	sport, err := p.u16("tnl_push udp src")
	if err != nil {
		return 0, 0, err
	}
	if err = p.expect(",dst="); err != nil {
		return 0, 0, err
	}
	dport, err := p.u16("tnl_push udp dst")
	if err != nil {
		return 0, 0, err
	}
	if err = p.expect(",csum="); err != nil {
		return 0, 0, err
	}
	csum, err := p.hexAfter0x(16, "tnl_push udp csum")
	if err != nil {
		return 0, 0, err
	}
	if err = p.expect("),"); err != nil {
		return 0, 0, err
	}
	be.PutUint16(b[0:], sport)
	be.PutUint16(b[2:], dport)
	be.PutUint16(b[6:], uint16(csum))
	t := b[8:]
	switch {
	case p.lit("vxlan(flags="):
		flags, err := p.hexAfter0x(32, "vxlan flags")
		if err != nil {
			return 0, 0, err
		}
		if err = p.expect(",vni="); err != nil {
			return 0, 0, err
		}
		vni, err := p.hexAfter0x(24, "vxlan vni")
		if err != nil {
			return 0, 0, err
		}
		be.PutUint32(t[0:], uint32(flags))
		be.PutUint32(t[4:], uint32(vni)<<8)
		return 16, TunnelVXLAN, p.expect("))")
	case p.lit("geneve("):
		if p.lit("oam,") {
			t[1] |= 0x80
		}
		if p.lit("crit,") {
			t[1] |= 0x40
		}
		if err := p.expect("vni="); err != nil {
			return 0, 0, err
		}
		vni, err := p.num(24, 0, "geneve vni")
		if err != nil {
			return 0, 0, err
		}
		be.PutUint16(t[2:], ethTypeTEB)
		be.PutUint32(t[4:], uint32(vni)<<8)
		n := 0
		if p.lit(",options(") {
			if n, err = p.geneveOptions(t[8 : 8+252]); err != nil {
				return 0, 0, err
			}
			t[0] = byte(n / 4)
		}
		return 16 + n, TunnelGeneve, p.expect("))")
	case p.lit("gtpu(flags="):
		flags, err := p.u8("gtpu flags")
		if err != nil {
			return 0, 0, err
		}
		if err = p.expect(",msgtype="); err != nil {
			return 0, 0, err
		}
		mt, err := p.dec(8, "gtpu msgtype")
		if err != nil {
			return 0, 0, err
		}
		if err = p.expect(",teid="); err != nil {
			return 0, 0, err
		}
		teid, err := p.hexAfter0x(32, "gtpu teid")
		if err != nil {
			return 0, 0, err
		}
		t[0], t[1] = flags, uint8(mt)
		be.PutUint32(t[4:], uint32(teid))
		return 16, TunnelGTPU, p.expect("))")
	}
	return 0, 0, p.errAt(p.i, "tnl_push: expected vxlan(, geneve( or gtpu( after udp()")
}

// geneveOptions parses {class=..,type=..,len=..,DATA}... up to and
// including the closing parenthesis, as OVS's scan_geneve without masks,
// into b; it returns the options' length.
func (p *scanner) geneveOptions(b []byte) (int, error) {
	n := 0
	for p.lit("{") {
		if n+4 > len(b) {
			return 0, p.errAt(p.i, "geneve: options longer than %d bytes", len(b))
		}
		o := b[n:]
		dataLen := 0
		if p.lit("class=") {
			v, err := p.u16("geneve option class")
			if err != nil {
				return 0, err
			}
			be.PutUint16(o[0:], v)
		}
		p.lit(",")
		if p.lit("type=") {
			v, err := p.u8("geneve option type")
			if err != nil {
				return 0, err
			}
			o[2] = v
		}
		p.lit(",")
		if p.lit("len=") {
			v, err := p.u8("geneve option len")
			if err != nil {
				return 0, err
			}
			if v > 124 || v%4 != 0 || n+4+int(v) > len(b) {
				return 0, p.errAt(p.i, "geneve: bad option length %d", v)
			}
			o[3] = v / 4
			dataLen = int(v)
		}
		if p.lit(",") {
			if err := p.wideInt(o[4:4+dataLen], "geneve option data"); err != nil {
				return 0, err
			}
		}
		if err := p.expect("}"); err != nil {
			return 0, err
		}
		n += 4 + dataLen
	}
	return n, p.expect(")")
}

// tnlGRE parses the GRE header after "gre((flags=": flags, protocol and
// the optional checksum, key and sequence number the flags announce.
func (p *scanner) tnlGRE(b []byte) (int, error) {
	flags, err := p.hexAfter0x(16, "gre flags")
	if err != nil {
		return 0, err
	}
	if err = p.expect(",proto="); err != nil {
		return 0, err
	}
	proto, err := p.hexAfter0x(16, "gre proto")
	if err != nil {
		return 0, err
	}
	if err = p.expect(")"); err != nil {
		return 0, err
	}
	be.PutUint16(b[0:], uint16(flags))
	be.PutUint16(b[2:], uint16(proto))
	n := 4
	if flags&greCsum != 0 {
		if err = p.expect(",csum="); err != nil {
			return 0, err
		}
		v, err := p.hexAfter0x(16, "gre csum")
		if err != nil {
			return 0, err
		}
		be.PutUint16(b[n:], uint16(v))
		n += 4
	}
	for _, f := range []struct {
		bit  uint64
		name string
	}{{greKey, ",key="}, {greSeq, ",seq="}} {
		if flags&f.bit == 0 {
			continue
		}
		if err = p.expect(f.name); err != nil {
			return 0, err
		}
		v, err := p.hexAfter0x(32, "gre"+f.name[:len(f.name)-1])
		if err != nil {
			return 0, err
		}
		be.PutUint32(b[n:], uint32(v))
		n += 4
	}
	return n, p.expect("))")
}

// tnlERSPAN parses the ERSPAN header as OVS prints it, after
// "erspan(ver=", over a GRE header with a sequence number.
func (p *scanner) tnlERSPAN(b []byte) (int, error) {
	ver, err := p.dec(8, "erspan ver")
	if err != nil {
		return 0, err
	}
	if err = p.expect(",sid="); err != nil {
		return 0, err
	}
	sid, err := p.hexAfter0x(10, "erspan sid")
	if err != nil {
		return 0, err
	}
	be.PutUint16(b[0:], greSeq)
	e := b[8:]
	e[0] = byte(ver) << 4
	e[2] = byte(sid >> 8 & 3)
	e[3] = byte(sid)
	switch ver {
	case 1:
		be.PutUint16(b[2:], ethTypeERSPAN1)
		if err = p.expect(",idx="); err != nil {
			return 0, err
		}
		idx, err := p.hexAfter0x(32, "erspan idx")
		if err != nil {
			return 0, err
		}
		be.PutUint32(e[4:], uint32(idx))
		return 8 + 4 + 4, p.expect("))")
	case 2:
		be.PutUint16(b[2:], ethTypeERSPAN2)
		if err = p.expect(",dir="); err != nil {
			return 0, err
		}
		dir, err := p.dec(1, "erspan dir")
		if err != nil {
			return 0, err
		}
		if err = p.expect(",hwid="); err != nil {
			return 0, err
		}
		hwid, err := p.hexAfter0x(6, "erspan hwid")
		if err != nil {
			return 0, err
		}
		md := e[4:]
		md[6] = byte(hwid >> 4 & 3)
		md[7] = byte(hwid&0xf)<<4 | byte(dir)<<3
		return 8 + 4 + 8, p.expect("))")
	}
	return 0, p.errAt(p.i, "erspan: version %d is not 1 or 2", ver)
}

// tnlSRv6 parses an SRv6 routing header as OVS (3.2 and later) prints it,
// after "srv6(segments_left=": the segments are listed last first.
func (p *scanner) tnlSRv6(ip, b []byte) (int, error) {
	sl, err := p.dec(8, "srv6 segments_left")
	if err != nil {
		return 0, err
	}
	if sl+1 > srv6MaxSegs {
		return 0, p.errAt(p.i, "srv6: more than %d segments", srv6MaxSegs)
	}
	if err = p.expect(",segs("); err != nil {
		return 0, err
	}
	ip[6] = 43 // IPPROTO_ROUTING
	b[1] = byte(2 * (sl + 1))
	b[2] = 4 // IPV6_SRCRT_TYPE_4
	b[3] = byte(sl)
	b[4] = byte(sl)
	n := 0
	for i := int(sl); ; i-- {
		a, err := p.ipv6Addr("srv6 segment")
		if err != nil {
			break
		}
		if i < 0 {
			return 0, p.errAt(p.i, "srv6: more segments than segments_left+1")
		}
		copy(b[8+16*i:], a[:])
		n++
		p.lit(",")
	}
	if n != int(sl)+1 {
		return 0, p.errAt(p.i, "srv6: %d segments, want segments_left+1 = %d", n, sl+1)
	}
	return 8 + 16*(int(sl)+1), p.expect(")))")
}

// ipv4Addr parses a dotted-decimal IPv4 address.
func (p *scanner) ipv4Addr(what string) ([4]byte, error) {
	j := p.i
	for j < len(p.s) && (p.s[j] >= '0' && p.s[j] <= '9' || p.s[j] == '.') {
		j++
	}
	a, err := netip.ParseAddr(p.s[p.i:j])
	if err != nil || !a.Is4() {
		return [4]byte{}, p.errAt(p.i, "%s: %q is not an IPv4 address", what, p.s[p.i:j])
	}
	p.i = j
	return a.As4(), nil
}

// ipv6Addr parses an IPv6 address: the run of hex digits, colons and dots
// OVS's scanner takes.
func (p *scanner) ipv6Addr(what string) ([16]byte, error) {
	j := p.i
	for j < len(p.s) && (digitVal(p.s[j]) < 16 || p.s[j] == ':' || p.s[j] == '.') {
		j++
	}
	a, err := netip.ParseAddr(p.s[p.i:j])
	if err != nil || !a.Is6() || a.Zone() != "" {
		return [16]byte{}, p.errAt(p.i, "%s: %q is not an IPv6 address", what, p.s[p.i:j])
	}
	p.i = j
	return a.As16(), nil
}

// sum16 returns the one's complement sum of b as 16-bit words (an odd
// last byte padded with zero), partly folded: below 2^17. It adds 32-bit
// words into 64 bits, which folds to the same sum since 2^16 and 2^32
// are both 1 modulo 0xffff.
func sum16(b []byte) uint32 {
	var s uint64
	for len(b) >= 16 {
		s += uint64(be.Uint32(b)) + uint64(be.Uint32(b[4:])) + uint64(be.Uint32(b[8:])) + uint64(be.Uint32(b[12:]))
		b = b[16:]
	}
	for len(b) >= 4 {
		s += uint64(be.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		s += uint64(be.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	s = s&0xffffffff + s>>32
	s = s&0xffffffff + s>>32
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	return uint32(s)
}

func fold(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// appendTnlPush formats tnl_push as OVS's format_odp_tnl_push_action,
// decoding the header by its type.
func appendTnlPush(dst []byte, t *TunnelPush) []byte {
	if t == nil {
		return append(dst, "tnl_push(error)"...)
	}
	var h [MaxTunnelHeader]byte
	copy(h[:], t.Header)
	dst = append(dst, "tnl_push(tnl_port("...)
	dst = strconv.AppendUint(dst, uint64(t.TunnelPort), 10)
	dst = append(dst, "),header(size="...)
	dst = strconv.AppendUint(dst, uint64(len(t.Header)), 10)
	dst = append(dst, ",type="...)
	dst = strconv.AppendUint(dst, uint64(t.Type), 10)
	dst = append(dst, ",eth(dst="...)
	dst = appendMAC(dst, h[0:6])
	dst = append(dst, ",src="...)
	dst = appendMAC(dst, h[6:12])
	dst = append(dst, ",dl_type="...)
	dst = appendHex04(dst, be.Uint16(h[12:]))
	dst = append(dst, "),"...)
	l3 := h[14:]
	var l4 []byte
	if be.Uint16(h[12:]) == 0x0800 {
		dst = append(dst, "ipv4(src="...)
		dst = appendIPv4(dst, [4]byte(l3[12:16]))
		dst = append(dst, ",dst="...)
		dst = appendIPv4(dst, [4]byte(l3[16:20]))
		dst = append(dst, ",proto="...)
		dst = strconv.AppendUint(dst, uint64(l3[9]), 10)
		dst = append(dst, ",tos="...)
		dst = appendHexC(dst, uint64(l3[1]))
		dst = append(dst, ",ttl="...)
		dst = strconv.AppendUint(dst, uint64(l3[8]), 10)
		dst = append(dst, ",frag="...)
		dst = appendHex(dst, uint64(be.Uint16(l3[6:])))
		dst = append(dst, "),"...)
		l4 = l3[20:]
	} else {
		flowWord := be.Uint32(l3[0:])
		dst = append(dst, "ipv6(src="...)
		dst = appendIPv6(dst, [16]byte(l3[8:24]))
		dst = append(dst, ",dst="...)
		dst = appendIPv6(dst, [16]byte(l3[24:40]))
		dst = append(dst, ",label="...)
		dst = strconv.AppendUint(dst, uint64(flowWord&0xfffff), 10)
		dst = append(dst, ",proto="...)
		dst = strconv.AppendUint(dst, uint64(l3[6]), 10)
		dst = append(dst, ",tclass="...)
		dst = appendHex(dst, uint64(flowWord>>20&0xff))
		dst = append(dst, ",hlimit="...)
		dst = strconv.AppendUint(dst, uint64(l3[7]), 10)
		dst = append(dst, "),"...)
		l4 = l3[40:]
	}
	udp := func() []byte {
		dst = append(dst, "udp(src="...)
		dst = strconv.AppendUint(dst, uint64(be.Uint16(l4[0:])), 10)
		dst = append(dst, ",dst="...)
		dst = strconv.AppendUint(dst, uint64(be.Uint16(l4[2:])), 10)
		dst = append(dst, ",csum="...)
		dst = appendHex(dst, uint64(be.Uint16(l4[6:])))
		dst = append(dst, "),"...)
		return l4[8:]
	}
	switch t.Type {
	case TunnelVXLAN:
		v := udp()
		dst = append(dst, "vxlan(flags="...)
		dst = appendHex(dst, uint64(be.Uint32(v[0:])))
		dst = append(dst, ",vni="...)
		dst = appendHex(dst, uint64(be.Uint32(v[4:])>>8))
		dst = append(dst, ')')
	case TunnelGeneve:
		g := udp()
		dst = append(dst, "geneve("...)
		if g[1]&0x80 != 0 {
			dst = append(dst, "oam,"...)
		}
		if g[1]&0x40 != 0 {
			dst = append(dst, "crit,"...)
		}
		dst = append(dst, "vni="...)
		dst = appendHex(dst, uint64(be.Uint32(g[4:])>>8))
		if n := int(g[0]&0x3f) * 4; n > 0 {
			dst = append(dst, ",options("...)
			dst = appendGeneveOpts(dst, g[8:8+n])
			dst = append(dst, ')')
		}
		dst = append(dst, ')')
	case TunnelSRv6:
		dst = append(dst, "srv6(segments_left="...)
		dst = strconv.AppendUint(dst, uint64(l4[3]), 10)
		dst = append(dst, ",segs("...)
		n := int(l4[4]) + 1
		for i := 0; i < n; i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			off := 8 + 16*(n-i-1)
			if off+16 > len(l4) {
				break
			}
			dst = appendIPv6(dst, [16]byte(l4[off:off+16]))
		}
		dst = append(dst, "))"...)
	case TunnelGRE, TunnelIP6GRE:
		flags := be.Uint16(l4[0:])
		dst = append(dst, "gre((flags="...)
		dst = appendHex(dst, uint64(flags))
		dst = append(dst, ",proto="...)
		dst = appendHex(dst, uint64(be.Uint16(l4[2:])))
		dst = append(dst, ')')
		o := l4[4:]
		if flags&greCsum != 0 {
			dst = append(dst, ",csum="...)
			dst = appendHex(dst, uint64(be.Uint16(o[0:])))
			o = o[4:]
		}
		if flags&greKey != 0 {
			dst = append(dst, ",key="...)
			dst = appendHex(dst, uint64(be.Uint32(o[0:])))
			o = o[4:]
		}
		if flags&greSeq != 0 {
			dst = append(dst, ",seq="...)
			dst = appendHex(dst, uint64(be.Uint32(o[0:])))
		}
		dst = append(dst, ')')
	case TunnelERSPAN, TunnelIP6ERSPAN:
		e := l4[8:]
		sid := uint64(e[2]&3)<<8 | uint64(e[3])
		switch e[0] >> 4 {
		case 1:
			dst = append(dst, "erspan(ver=1,sid="...)
			dst = appendHex(dst, sid)
			dst = append(dst, ",idx="...)
			dst = appendHex(dst, uint64(be.Uint32(e[4:])))
			dst = append(dst, ')')
		case 2:
			md := e[4:]
			dst = append(dst, "erspan(ver=2,sid="...)
			dst = appendHex(dst, sid)
			dst = append(dst, ",dir="...)
			dst = strconv.AppendUint(dst, uint64(md[7]>>3&1), 10)
			dst = append(dst, ",hwid="...)
			dst = appendHex(dst, uint64(md[6]&3)<<4|uint64(md[7]>>4))
			dst = append(dst, ')')
		}
	case TunnelGTPU:
		g := udp()
		dst = append(dst, "gtpu(flags="...)
		dst = appendHex(dst, uint64(g[0]))
		dst = append(dst, ",msgtype="...)
		dst = strconv.AppendUint(dst, uint64(g[1]), 10)
		dst = append(dst, ",teid="...)
		dst = appendHex(dst, uint64(be.Uint32(g[4:])))
		dst = append(dst, ')')
	}
	dst = append(dst, "),out_port("...)
	dst = strconv.AppendUint(dst, uint64(t.OutPort), 10)
	return append(dst, "))"...)
}

// appendGeneveOpts formats Geneve options as OVS's format_geneve_opts
// without a mask.
func appendGeneveOpts(dst []byte, b []byte) []byte {
	for len(b) > 0 {
		if len(b) < 4 {
			dst = append(dst, "opt len "...)
			dst = strconv.AppendUint(dst, uint64(len(b)), 10)
			return append(dst, " less than minimum 4"...)
		}
		dataLen := int(b[3]&0x1f) * 4
		if 4+dataLen > len(b) {
			dst = append(dst, "opt len "...)
			dst = strconv.AppendUint(dst, uint64(4+dataLen), 10)
			dst = append(dst, " greater than remaining "...)
			return strconv.AppendUint(dst, uint64(len(b)), 10)
		}
		dst = append(dst, "{class="...)
		dst = appendHexC(dst, uint64(be.Uint16(b[0:])))
		dst = append(dst, ",type="...)
		dst = appendHexC(dst, uint64(b[2]))
		dst = append(dst, ",len="...)
		dst = strconv.AppendUint(dst, uint64(dataLen), 10)
		if dataLen > 0 {
			dst = appendHexBytes(append(dst, ','), b[4:4+dataLen])
		}
		dst = append(dst, '}')
		b = b[4+dataLen:]
	}
	return dst
}

func appendMAC(dst []byte, b []byte) []byte {
	for i, c := range b {
		if i > 0 {
			dst = append(dst, ':')
		}
		dst = append(dst, hexDigits[c>>4], hexDigits[c&15])
	}
	return dst
}
