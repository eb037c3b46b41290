package flow

import (
	"fmt"
	"strconv"
	"unsafe"
)

// This file holds the tunnel key's text: parsing tunnel(...) and printing
// it as OVS 3.1's dpctl/dump-flows does. The printing rules follow how OVS
// turns a datapath flow back into netlink attributes (tun_key_to_attr for
// the key and for the mask) and formats them (format_odp_tun_attr): an
// attribute prints when the key has it, whatever the mask; a field inside
// prints when its mask is not zero. The differential test in
// examples/pcapswitch and internal/ovsdummy/FINDINGS.md (section 10) hold
// the cases checked against OVS.

// tunnelWord is the index of the first word of the tunnel key; the tunnel
// fields run from there to the end of the key.
const tunnelWord = int(unsafe.Offsetof(Key{}.TunID) / 8)

// clearTunnel zeroes every tunnel field.
func (k *Key) clearTunnel() { clear(k.words()[tunnelWord:]) }

// ClearTunnel zeroes every tunnel field (Tun*): the packet has no tunnel
// key.
func (k *Key) ClearTunnel() { k.clearTunnel() }

// SameTunnel reports whether k and o have the same tunnel key (every Tun*
// field).
func (k *Key) SameTunnel(o *Key) bool {
	return *(*[KeyWords - tunnelWord]uint64)(k.words()[tunnelWord:]) == *(*[KeyWords - tunnelWord]uint64)(o.words()[tunnelWord:])
}

// SetTunnel replaces k's tunnel key (every Tun* field) with src's, as a
// set(tunnel(...)) action does to a packet's metadata.
func (k *Key) SetTunnel(src *Key) { copy(k.words()[tunnelWord:], src.words()[tunnelWord:]) }

// SetTunnelMasked writes into k's tunnel key the bits of v that m has
// set, keeping k's other bits: k = v | k&^m over every Tun* field.
func (k *Key) SetTunnelMasked(v, m *Key) {
	kw, vw, mw := k.words(), v.words(), m.words()
	for i := tunnelWord; i < KeyWords; i++ {
		kw[i] = vw[i] | kw[i]&^mw[i]
	}
}

// HasTunnel reports whether k has a tunnel key: a tunnel destination,
// IPv4 or IPv6, is set (OVS's flow_tnl_dst_is_set).
func (k *Key) HasTunnel() bool { return k.tunDstSet() }

// tunDstSet reports whether the key has a tunnel destination, which is
// what makes a key's tunnel fields count (OVS's flow_tnl_dst_is_set).
func (k *Key) tunDstSet() bool {
	return k.TunDst != ([4]byte{}) || k.TunIPv6Dst != ([16]byte{})
}

// tunFlagNames are OVS's names of the tunnel flag bits, lowest first.
var tunFlagNames = [4]string{"oam", "df", "csum", "key"}

// tunTextFlags are the flags that flags(...) sets: the key flag is not
// among them (it follows tun_id), although the text may name it.
const tunTextFlags = TunFlagOAM | TunFlagDF | TunFlagCsum

// tunnelAttr parses the fields of tunnel(...): tun_id, src, dst, ipv6_src,
// ipv6_dst, tos, ttl, tp_src, tp_dst (each value[/mask]), flags(...),
// vxlan(gbp(...)), geneve(...), erspan(...) and gtpu(...).
//
// As in OVS, tun_id sets and matches the key flag, while flags(...) sets
// and matches only oam, df and csum (it accepts the name key and ignores
// it). Under Parse, ttl is required, and a key without a tunnel
// destination keeps its tunnel values but matches none of them, as OVS's
// userspace datapath does.
func (p *parser) tunnelAttr(m *Match, start int) error {
	k, mk := &m.Key, &m.Mask
	scalars := fieldSet{
		"tun_id": func(val, mask string) error {
			a, b, err := num(val, mask, 64)
			k.TunID, mk.TunID = a, b
			k.TunFlags |= TunFlagKey
			mk.TunFlags |= TunFlagKey
			return err
		},
		"src":      ipv4f(&k.TunSrc, &mk.TunSrc),
		"dst":      ipv4f(&k.TunDst, &mk.TunDst),
		"ipv6_src": ipv6f(&k.TunIPv6Src, &mk.TunIPv6Src),
		"ipv6_dst": ipv6f(&k.TunIPv6Dst, &mk.TunIPv6Dst),
		"tos":      u8f(&k.TunTOS, &mk.TunTOS),
		"ttl":      u8f(&k.TunTTL, &mk.TunTTL),
		"tp_src":   u16f(&k.TunTpSrc, &mk.TunTpSrc),
		"tp_dst":   u16f(&k.TunTpDst, &mk.TunTpDst),
	}
	seen := map[string]bool{}
	for {
		p.skipSpace()
		if p.i < len(p.s) && p.s[p.i] == ')' {
			break
		}
		fstart := p.i
		name := p.name()
		if name == "" || p.i >= len(p.s) || (p.s[p.i] != '=' && p.s[p.i] != '(') {
			return p.errAt(fstart, "tunnel: expected field=value or field(...)")
		}
		nested := p.s[p.i] == '('
		p.i++
		if seen[name] {
			return p.errAt(fstart, "tunnel: %s: given twice", name)
		}
		seen[name] = true
		if !nested {
			f, ok := scalars[name]
			if !ok {
				return p.errAt(fstart, "tunnel: %s: unknown field", name)
			}
			if err := f(p.fieldValue()); err != nil {
				return p.errAt(fstart, "tunnel: %s: %v", name, err)
			}
		} else {
			var err error
			switch name {
			case "flags":
				err = p.tunFlags(k, mk)
			case "vxlan":
				err = p.vxlanOpts(k, mk)
			case "geneve":
				err = p.geneveOpts(k, mk)
			case "erspan":
				err = p.erspanOpts(k, mk)
			case "gtpu":
				err = p.gtpuOpts(k, mk)
			default:
				return p.errAt(fstart, "tunnel: %s(): unknown field", name)
			}
			if err != nil {
				return p.errf("tunnel: %s: %v", name, err)
			}
		}
		p.skipSpace()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
		}
	}
	if !p.strict {
		return nil
	}
	if !seen["ttl"] {
		return p.errAt(start, "tunnel() needs ttl (OVS refuses a tunnel key without it)")
	}
	if !k.tunDstSet() {
		// OVS's userspace datapath matches tunnel fields only in flows
		// whose key has a tunnel destination (flow_wc_map); the values
		// stay in the key and still print.
		mk.clearTunnel()
	}
	return nil
}

// tunFlags parses the rest of flags(...): names joined by | (all three
// flags matched), +name-name (the named ones matched), or a number with an
// optional mask.
func (p *parser) tunFlags(k, mk *Key) error {
	val, mask := p.fieldValue()
	if !p.lit(")") {
		return fmt.Errorf("expected )")
	}
	v, fm, err := parseFlags(val, mask, tunFlagNames[:], TunFlagMask, "tunnel")
	if err != nil {
		return err
	}
	fm &= tunTextFlags
	k.TunFlags = k.TunFlags&^uint16(fm) | uint16(v&fm)
	mk.TunFlags |= uint16(fm)
	return nil
}

// lit consumes s if the input continues with it.
func (p *parser) lit(s string) bool {
	if len(p.s)-p.i >= len(s) && p.s[p.i:p.i+len(s)] == s {
		p.i += len(s)
		return true
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHexDigit(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// numToken reads a number the way C's "%i" delimits one: 0x and hex
// digits, or decimal (octal with a leading 0) digits.
func (p *parser) numToken() string {
	j := p.i
	if p.i+2 < len(p.s) && p.s[p.i] == '0' && (p.s[p.i+1] == 'x' || p.s[p.i+1] == 'X') && isHexDigit(p.s[p.i+2]) {
		p.i += 2
		for p.i < len(p.s) && isHexDigit(p.s[p.i]) {
			p.i++
		}
		return p.s[j:p.i]
	}
	for p.i < len(p.s) && isDigit(p.s[p.i]) {
		p.i++
	}
	return p.s[j:p.i]
}

// numMask reads "value[/mask]" of an unsigned field of the given width,
// with no spaces, as OVS's option scanners do. A missing mask is all ones.
func (p *parser) numMask(bits int) (v, m uint64, err error) {
	tok := p.numToken()
	if tok == "" {
		return 0, 0, fmt.Errorf("expected a number")
	}
	if v, err = parseUint(tok, bits); err != nil {
		return 0, 0, err
	}
	m = 1<<bits - 1
	if p.lit("/") {
		tok = p.numToken()
		if tok == "" {
			return 0, 0, fmt.Errorf("expected a mask after /")
		}
		if m, err = parseUint(tok, bits); err != nil {
			return 0, 0, err
		}
	}
	return v, m, nil
}

// optField reads "name=value[/mask]" if the input continues with name=.
func (p *parser) optField(name string, bits int) (v, m uint64, given bool, err error) {
	if !p.lit(name + "=") {
		return 0, 0, false, nil
	}
	v, m, err = p.numMask(bits)
	if err != nil {
		err = fmt.Errorf("%s: %v", name, err)
	}
	return v, m, true, err
}

// vxlanOpts parses the rest of vxlan(gbp([id=N[/M]][,][flags=N[/M]])).
// A field left out is zero and wildcarded.
func (p *parser) vxlanOpts(k, mk *Key) error {
	if !p.lit("gbp(") {
		return fmt.Errorf("expected gbp(")
	}
	id, idm, _, err := p.optField("id", 16)
	if err != nil {
		return err
	}
	p.lit(",")
	fl, flm, _, err := p.optField("flags", 8)
	if err != nil {
		return err
	}
	if !p.lit("))") {
		return fmt.Errorf("expected id=, flags= or ))")
	}
	k.TunGbpID, mk.TunGbpID = uint16(id), uint16(idm)
	k.TunGbpFlags, mk.TunGbpFlags = uint8(fl), uint8(flm)
	return nil
}

// gtpuOpts parses the rest of gtpu([flags=N[/M]][,][msgtype=N[/M]]). A
// field left out is zero and wildcarded.
func (p *parser) gtpuOpts(k, mk *Key) error {
	fl, flm, _, err := p.optField("flags", 8)
	if err != nil {
		return err
	}
	p.lit(",")
	mt, mtm, _, err := p.optField("msgtype", 8)
	if err != nil {
		return err
	}
	if !p.lit(")") {
		return fmt.Errorf("expected flags=, msgtype= or )")
	}
	k.TunGtpuFlags, mk.TunGtpuFlags = uint8(fl), uint8(flm)
	k.TunGtpuMsgType, mk.TunGtpuMsgType = uint8(mt), uint8(mtm)
	return nil
}

// erspanOpts parses the rest of erspan(ver=1[,idx=N[/M]]) or
// erspan(ver=2[,dir=N[/M]][,hwid=N[/M]]).
//
// OVS's scanner never fills in the mask of the version, so a flow matches
// the version exactly and (its mask not being a valid version) none of
// the other fields, whatever masks the text gives; the key keeps their
// values. dir and hwid are stored as the header's bit fields hold them:
// one bit and four bits.
func (p *parser) erspanOpts(k, mk *Key) error {
	if !p.lit("ver=") {
		return fmt.Errorf("expected ver=")
	}
	ver, _, err := p.numMask(8)
	if err != nil {
		return fmt.Errorf("ver: %v", err)
	}
	if ver != 1 && ver != 2 {
		return fmt.Errorf("ver must be 1 or 2")
	}
	p.lit(",")
	var idx uint64
	var dir, hwid uint64
	if ver == 1 {
		if idx, _, _, err = p.optField("idx", 32); err != nil {
			return err
		}
	} else {
		if dir, _, _, err = p.optField("dir", 8); err != nil {
			return err
		}
		p.lit(",")
		if hwid, _, _, err = p.optField("hwid", 8); err != nil {
			return err
		}
	}
	if !p.lit(")") {
		return fmt.Errorf("expected )")
	}
	k.TunErspanVer, mk.TunErspanVer = uint8(ver), 0xff
	k.TunErspanIdx, mk.TunErspanIdx = uint32(idx), 0
	k.TunErspanDir, mk.TunErspanDir = uint8(dir)&1, 0
	k.TunErspanHwID, mk.TunErspanHwID = uint8(hwid)&0xf, 0
	return nil
}

// geneveOpts parses the rest of geneve({...}{...}...): options written
// {[class=N[/M]][,][type=N[/M]][,][len=N[/M]][,DATA][/MASK]} and stored in
// wire format. As in OVS: a class or type left out is wildcarded; a len
// left out is 0 and matched, and then (a quirk of OVS's scanner) the type
// is wildcarded too; len is a multiple of 4 up to 124, and all options
// together take at most 252 bytes; DATA and MASK are numbers of len bytes,
// hexadecimal after 0x (where spaces between digits are allowed),
// otherwise decimal; DATA left out is zero, MASK left out is all ones. The
// option length is matched exactly.
func (p *parser) geneveOpts(k, mk *Key) error {
	var key, mask [MaxGeneveOptLen]byte
	n := 0
	for p.i < len(p.s) && p.s[p.i] == '{' && MaxGeneveOptLen-n >= 4 {
		p.i++
		o := n
		n += 4
		v, m, given, err := p.optField("class", 16)
		if err != nil {
			return err
		}
		if given {
			key[o], key[o+1], mask[o], mask[o+1] = byte(v>>8), byte(v), byte(m>>8), byte(m)
		}
		p.lit(",")
		if v, m, given, err = p.optField("type", 8); err != nil {
			return err
		}
		if given {
			key[o+2], mask[o+2] = byte(v), byte(m)
		}
		p.lit(",")
		dataLen := 0
		if v, m, given, err = p.optField("len", 8); err != nil {
			return err
		}
		if given {
			if v > 124 || v%4 != 0 || int(v) > MaxGeneveOptLen-n {
				return fmt.Errorf("len=%d: not a multiple of 4 up to 124 that fits in the %d bytes of options", v, MaxGeneveOptLen)
			}
			dataLen = int(v)
			key[o+3], mask[o+3] = byte(v/4), byte(m)&0x1f
		} else {
			mask[o+2], mask[o+3] = 0, 0x1f
		}
		data, dmask := key[o+4:o+4+dataLen], mask[o+4:o+4+dataLen]
		if p.lit(",") {
			if err := p.intString(data); err != nil {
				return err
			}
		}
		for i := range dmask {
			dmask[i] = 0xff
		}
		if p.lit("/") {
			if err := p.intString(dmask); err != nil {
				return err
			}
		}
		if !p.lit("}") {
			return fmt.Errorf("expected } to close an option")
		}
		n += dataLen
	}
	if !p.lit(")") {
		return fmt.Errorf("expected { or ) (at most %d bytes of options)", MaxGeneveOptLen)
	}
	k.TunGeneve, mk.TunGeneve = key, mask
	k.TunGeneveLen, mk.TunGeneveLen = uint8(n), 0xff
	k.TunFlags |= TunFlagGeneve
	mk.TunFlags |= TunFlagGeneve
	return nil
}

// intString parses a number into dst, big-endian, as OVS's
// parse_int_string does: after 0x, hexadecimal digits (spaces between
// them allowed, leading zeros not counted); otherwise a decimal or octal
// number of at most 64 bits. It must fit in len(dst) bytes.
func (p *parser) intString(dst []byte) error {
	clear(dst)
	if p.lit("0x") || p.lit("0X") {
		var digits []byte
		for p.i < len(p.s) {
			c := p.s[p.i]
			if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
				p.i++
				continue
			}
			if !isHexDigit(c) {
				break
			}
			if c != '0' || len(digits) > 0 {
				digits = append(digits, c)
			}
			p.i++
		}
		if (len(digits)+1)/2 > len(dst) {
			return fmt.Errorf("0x%s does not fit in %d bytes", digits, len(dst))
		}
		for i, j := len(digits)-1, len(dst)-1; i >= 0; i, j = i-2, j-1 {
			b, _ := strconv.ParseUint(string(digits[max(i-1, 0):i+1]), 16, 8)
			dst[j] = byte(b)
		}
		return nil
	}
	tok := p.numToken()
	if tok == "" {
		return fmt.Errorf("expected a number")
	}
	v, err := parseUint(tok, 64)
	if err != nil {
		return err
	}
	for j := len(dst) - 1; j >= 0; j-- {
		dst[j] = byte(v)
		v >>= 8
	}
	if v != 0 {
		return fmt.Errorf("%s does not fit in %d bytes", tok, len(dst))
	}
	return nil
}

// tunnel formats the tunnel() attribute. It prints when the key has a
// tunnel source or destination. tun_id prints when the key has one (a
// non-zero value or the key flag) and its mask is not zero; the
// addresses, tos, tp_src and tp_dst when their value and mask are not
// zero; ttl when its mask is not zero. Then vxlan(), geneve(), erspan()
// and gtpu() follow when the key has them, and flags() last.
func (f *formatter) tunnel(k, m *Key) {
	if k.TunSrc == ([4]byte{}) && k.TunIPv6Src == ([16]byte{}) && !k.tunDstSet() {
		return
	}
	f.attr("tunnel")
	hasID := k.TunID != 0 || k.TunFlags&TunFlagKey != 0
	if hasID && m.TunID != 0 {
		f.field("tun_id")
		f.b = append(f.b, "0x"...)
		f.b = strconv.AppendUint(f.b, k.TunID, 16)
		if m.TunID != ^uint64(0) {
			f.b = append(f.b, "/0x"...)
			f.b = strconv.AppendUint(f.b, m.TunID, 16)
		}
		f.sep()
	}
	if k.TunSrc != ([4]byte{}) {
		f.ipv4("src", k.TunSrc, m.TunSrc)
	}
	if k.TunDst != ([4]byte{}) {
		f.ipv4("dst", k.TunDst, m.TunDst)
	}
	if k.TunIPv6Src != ([16]byte{}) {
		f.ipv6("ipv6_src", k.TunIPv6Src, m.TunIPv6Src)
	}
	if k.TunIPv6Dst != ([16]byte{}) {
		f.ipv6("ipv6_dst", k.TunIPv6Dst, m.TunIPv6Dst)
	}
	if k.TunTOS != 0 {
		f.u8x("tos", k.TunTOS, m.TunTOS)
	}
	f.u8("ttl", k.TunTTL, m.TunTTL)
	if k.TunTpSrc != 0 {
		f.be16("tp_src", k.TunTpSrc, m.TunTpSrc)
	}
	if k.TunTpDst != 0 {
		f.be16("tp_dst", k.TunTpDst, m.TunTpDst)
	}
	f.vxlanOpts(k, m)
	f.geneveOpts(k, m)
	f.erspanOpts(k, m)
	f.gtpuOpts(k, m)
	f.tunFlags(k, m, hasID)
	f.end()
}

// tunFlags formats flags(): the matched flags as +flag/-flag, or all four
// joined by | when all are matched. The key flag counts as matched
// whenever the key has a tun_id, whatever the mask says of it (as OVS
// prints it).
func (f *formatter) tunFlags(k, m *Key, hasID bool) {
	fm := m.TunFlags & tunTextFlags
	fv := k.TunFlags & tunTextFlags
	if hasID {
		fm |= TunFlagKey
		fv |= TunFlagKey
	}
	if fm == 0 {
		return
	}
	f.b = append(f.b, "flags("...)
	if fm == TunFlagMask {
		f.b = appendTunFlagList(f.b, fv)
	} else {
		for i, n := range tunFlagNames {
			if fm&(1<<i) != 0 {
				if fv&(1<<i) != 0 {
					f.b = append(f.b, '+')
				} else {
					f.b = append(f.b, '-')
				}
				f.b = append(f.b, n...)
			}
		}
	}
	f.b = append(f.b, "),"...)
}

// vxlanOpts formats vxlan(gbp(id=..,flags=..)): present when the key has
// a group policy id or flags; the mask counts only when it has either
// too (otherwise nothing inside prints).
func (f *formatter) vxlanOpts(k, m *Key) {
	if k.TunGbpID == 0 && k.TunGbpFlags == 0 {
		return
	}
	var idm uint16
	var flm uint8
	if m.TunGbpID != 0 || m.TunGbpFlags != 0 {
		idm, flm = m.TunGbpID, m.TunGbpFlags
	}
	f.b = append(f.b, "vxlan(gbp("...)
	f.be16("id", k.TunGbpID, idm)
	f.u8x("flags", k.TunGbpFlags, flm)
	f.chomp()
	f.b = append(f.b, ")),"...)
}

// erspanOpts formats erspan(): present when the key's version is 1 or 2.
// The mask counts only when its version is 1 or 2 too, which no flow
// written in the text has (OVS leaves the mask's version all ones), and
// then only for the fields of the mask's version; so a flow installed
// from text prints erspan(idx=N/0) or erspan(). idx always prints with
// its mask; hwid prints its low four bits, as the header's field holds
// them.
func (f *formatter) erspanOpts(k, m *Key) {
	if k.TunErspanVer != 1 && k.TunErspanVer != 2 {
		return
	}
	var vm, dm, hm uint8
	var im uint32
	switch m.TunErspanVer {
	case 1:
		vm, im = 1, m.TunErspanIdx
	case 2:
		vm, dm, hm = 2, m.TunErspanDir&1, m.TunErspanHwID&0xf
	}
	f.b = append(f.b, "erspan("...)
	f.u8("ver", k.TunErspanVer, vm)
	if k.TunErspanVer == 1 {
		f.b = append(f.b, "idx="...)
		f.b = appendHexC(f.b, uint64(k.TunErspanIdx))
		f.b = append(f.b, '/')
		f.b = appendHexC(f.b, uint64(im))
		f.sep()
	} else {
		f.u8("dir", k.TunErspanDir&1, dm)
		f.u8x("hwid", k.TunErspanHwID&0xf, hm)
	}
	f.chomp()
	f.b = append(f.b, "),"...)
}

// gtpuOpts formats gtpu(flags=..,msgtype=..): present when the key has
// both non-zero; the mask counts only when it has both non-zero too.
func (f *formatter) gtpuOpts(k, m *Key) {
	if k.TunGtpuFlags == 0 || k.TunGtpuMsgType == 0 {
		return
	}
	var flm, mtm uint8
	if m.TunGtpuFlags != 0 && m.TunGtpuMsgType != 0 {
		flm, mtm = m.TunGtpuFlags, m.TunGtpuMsgType
	}
	f.b = append(f.b, "gtpu("...)
	f.u8x("flags", k.TunGtpuFlags, flm)
	f.u8("msgtype", k.TunGtpuMsgType, mtm)
	f.chomp()
	f.b = append(f.b, "),"...)
}

// geneveOpts formats geneve({...}...): present when the key has
// TunFlagGeneve, with one {} per option of the key's TunGeneveLen bytes.
// In an option, class, type and len print under their masks (a len mask
// other than all ones prints as the raw 5-bit mask of the length field);
// the data prints when its mask is not all zero, with /mask unless the
// mask is all ones. Options that overrun the length print OVS's error
// text instead.
func (f *formatter) geneveOpts(k, m *Key) {
	if k.TunFlags&TunFlagGeneve == 0 {
		return
	}
	f.b = append(f.b, "geneve("...)
	n := min(int(k.TunGeneveLen), MaxGeneveOptLen)
	key, mask := k.TunGeneve[:n], m.TunGeneve[:n]
	for len(key) > 0 {
		if len(key) < 4 {
			f.b = append(f.b, "opt len "...)
			f.b = strconv.AppendUint(f.b, uint64(len(key)), 10)
			f.b = append(f.b, " less than minimum 4"...)
			break
		}
		dataLen := int(key[3]&0x1f) * 4
		if 4+dataLen > len(key) {
			f.b = append(f.b, "opt len "...)
			f.b = strconv.AppendUint(f.b, uint64(4+dataLen), 10)
			f.b = append(f.b, " greater than remaining "...)
			f.b = strconv.AppendUint(f.b, uint64(len(key)), 10)
			break
		}
		lenMask := mask[3] & 0x1f
		if lenMask == 0x1f {
			lenMask = 0xff
		}
		f.b = append(f.b, '{')
		f.be16x("class", uint16(key[0])<<8|uint16(key[1]), uint16(mask[0])<<8|uint16(mask[1]))
		f.u8x("type", key[2], mask[2])
		f.u8("len", uint8(dataLen), lenMask)
		data, dmask := key[4:4+dataLen], mask[4:4+dataLen]
		if dataLen > 0 && !allBytes(dmask, 0) {
			f.b = appendHexBytes(f.b, data)
			if !allBytes(dmask, 0xff) {
				f.b = append(f.b, '/')
				f.b = appendHexBytes(f.b, dmask)
			}
		} else {
			f.chomp()
		}
		f.b = append(f.b, '}')
		key, mask = key[4+dataLen:], mask[4+dataLen:]
	}
	f.b = append(f.b, "),"...)
}

func allBytes(b []byte, c byte) bool {
	for _, x := range b {
		if x != c {
			return false
		}
	}
	return true
}

// chomp drops one trailing field separator.
func (f *formatter) chomp() {
	if n := len(f.b); n > f.start && f.b[n-1] == ',' {
		f.b = f.b[:n-1]
	}
}

// AppendGeneveOpts appends geneve(...) with the Geneve options of k under
// mask m, as OVS formats a Geneve options attribute
// (format_odp_tun_geneve), followed by a comma. It appends nothing unless
// k has TunFlagGeneve. An all-ones mask prints the options as OVS prints
// them without a mask.
func AppendGeneveOpts(dst []byte, k, m *Key) []byte {
	f := formatter{b: dst, start: len(dst)}
	f.geneveOpts(k, m)
	return f.b
}

// appendTunFlagList appends the names of the tunnel flags set in fv joined
// by '|', or "0" when none is.
func appendTunFlagList(dst []byte, fv uint16) []byte {
	first := true
	for i, n := range tunFlagNames {
		if fv&(1<<i) != 0 {
			if !first {
				dst = append(dst, '|')
			}
			dst = append(dst, n...)
			first = false
		}
	}
	if first {
		dst = append(dst, '0')
	}
	return dst
}
