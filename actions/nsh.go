package actions

import (
	"strconv"
	"strings"
)

// NSH is the Network Service Header that push_nsh pushes.
type NSH struct {
	Flags     uint8     // 2 bits
	TTL       uint8     // 6 bits
	MDType    uint8     // metadata type: 1 (fixed context) or 2 (TLVs)
	NextProto uint8     // next protocol: 1 IPv4, 2 IPv6, 3 Ethernet, ...
	SPI       uint32    // service path identifier, 24 bits
	SI        uint8     // service index
	Context   [4]uint32 // MD type 1 context headers
	MD2       []byte    // MD type 2 metadata, a multiple of 4 bytes
}

// maxNSHMD2 is the most MD type 2 metadata a header can carry
// (NSH_CTX_HDRS_MAX_LEN).
const maxNSHMD2 = 248

// pushNSH parses the fields of push_nsh( (already consumed) as OVS's
// parse_odp_push_nsh_action: any order, defaults ttl=63, mdtype=1, np=3,
// spi=0, si=255; c1..c4 only while the type is 1, md2 only once it is 2.
func (p *scanner) pushNSH(start int) (Action, error) {
	n := &NSH{TTL: 63, MDType: 1, NextProto: 3, SI: 255}
	for {
		p.skip(delimiters)
		if p.lit(")") {
			break
		}
		var err error
		at := p.i
		switch {
		case p.lit("flags="):
			n.Flags, err = p.u8("push_nsh flags")
			if err == nil && n.Flags > 3 {
				err = p.errAt(at, "push_nsh: flags %d out of range (2 bits)", n.Flags)
			}
		case p.lit("ttl="):
			n.TTL, err = p.u8("push_nsh ttl")
			if err == nil && n.TTL > 63 {
				err = p.errAt(at, "push_nsh: ttl %d out of range (6 bits)", n.TTL)
			}
		case p.lit("mdtype="):
			n.MDType, err = p.u8("push_nsh mdtype")
			if err == nil && n.MDType != 1 && n.MDType != 2 {
				err = p.errAt(at, "push_nsh: mdtype must be 1 or 2")
			}
			n.MD2 = nil
		case p.lit("np="):
			n.NextProto, err = p.u8("push_nsh np")
		case p.lit("spi="):
			var v uint64
			v, err = p.hexAfter0x(24, "push_nsh spi")
			n.SPI = uint32(v)
		case p.lit("si="):
			n.SI, err = p.u8("push_nsh si")
		default:
			switch {
			case n.MDType == 1 && len(p.rest()) > 3 && p.rest()[0] == 'c' && p.rest()[1] >= '1' && p.rest()[1] <= '4' && p.rest()[2] == '=':
				i := p.rest()[1] - '1'
				p.i += 3
				var v uint64
				v, err = p.hexAfter0x(32, "push_nsh context")
				n.Context[i] = uint32(v)
			case n.MDType == 2 && p.lit("md2=0") && !p.lit("x"):
				// OVS prints empty metadata as md2=0 but cannot
				// parse that; it is read as no metadata here.
				n.MD2 = nil
			case n.MDType == 2 && strings.HasPrefix(p.s[at:], "md2=0x"):
				p.i = at + len("md2=0x")
				j := p.i
				for j < len(p.s) && j-p.i < 511 && digitVal(p.s[j]) < 16 {
					j++
				}
				if j == p.i {
					return Action{}, p.errAt(at, "push_nsh: md2 needs hexadecimal digits")
				}
				hex := p.s[p.i:j]
				md := make([]byte, 0, (len(hex)/2+3)&^3)
				for k := 0; k+1 < len(hex); k += 2 {
					md = append(md, byte(digitVal(hex[k])<<4|digitVal(hex[k+1])))
				}
				for len(md)%4 != 0 {
					md = append(md, 0)
				}
				if len(md) > maxNSHMD2 {
					return Action{}, p.errAt(at, "push_nsh: md2 longer than %d bytes", maxNSHMD2)
				}
				n.MD2 = md
				p.i = j
			default:
				if p.eof() {
					return Action{}, p.errAt(p.i, "push_nsh: expected )")
				}
				return Action{}, p.errAt(at, "push_nsh: unknown field %q", p.word())
			}
		}
		if err != nil {
			return Action{}, err
		}
	}
	return Action{Type: TypePushNSH, NSH: n}, nil
}

// appendPushNSH formats push_nsh as OVS's format_odp_push_nsh_action.
func appendPushNSH(dst []byte, n *NSH) []byte {
	if n == nil {
		return append(dst, "push_nsh(error)"...)
	}
	d := func(name string, v uint64) {
		dst = append(dst, name...)
		dst = strconv.AppendUint(dst, v, 10)
	}
	d("push_nsh(flags=", uint64(n.Flags&3))
	d(",ttl=", uint64(n.TTL&0x3f))
	d(",mdtype=", uint64(n.MDType))
	d(",np=", uint64(n.NextProto))
	dst = append(dst, ",spi="...)
	dst = appendHex(dst, uint64(n.SPI&0xffffff))
	d(",si=", uint64(n.SI))
	switch n.MDType {
	case 1:
		for i, c := range n.Context {
			dst = append(dst, ",c"...)
			dst = append(dst, byte('1'+i))
			dst = appendHex(append(dst, '='), uint64(c))
		}
	case 2:
		dst = appendHexBytes(append(dst, ",md2="...), n.MD2)
	default:
		dst = append(dst, ",<error: unknown mdtype>"...)
	}
	return append(dst, ')')
}
