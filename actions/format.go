package actions

import (
	"math/bits"
	"strconv"
)

const hexDigits = "0123456789abcdef"

// appendHexC formats like C's "%#x": "0" for zero, "0x..." otherwise.
func appendHexC(dst []byte, v uint64) []byte {
	if v == 0 {
		return append(dst, '0')
	}
	dst = append(dst, "0x"...)
	return strconv.AppendUint(dst, v, 16)
}

// appendHex formats like C's "0x%x".
func appendHex(dst []byte, v uint64) []byte {
	dst = append(dst, "0x"...)
	return strconv.AppendUint(dst, v, 16)
}

// appendHex04 formats like C's "0x%04x".
func appendHex04(dst []byte, v uint16) []byte {
	return append(dst, '0', 'x', hexDigits[v>>12], hexDigits[v>>8&15], hexDigits[v>>4&15], hexDigits[v&15])
}

// appendIPv4 formats an IPv4 address in dotted decimal.
func appendIPv4(dst []byte, a [4]byte) []byte {
	for i, b := range a {
		if i > 0 {
			dst = append(dst, '.')
		}
		dst = strconv.AppendUint(dst, uint64(b), 10)
	}
	return dst
}

// appendIPv6 formats an IPv6 address as glibc's inet_ntop does (which is
// what OVS prints): the longest run of two or more zero words becomes
// "::" (the first of equally long runs), and an address whose first six
// words are zero, or whose first five are zero and sixth is ffff, ends in
// dotted decimal ("::0.1.0.2", "::ffff:1.2.3.4").
func appendIPv6(dst []byte, a [16]byte) []byte {
	var w [8]uint16
	for i := range w {
		w[i] = uint16(a[2*i])<<8 | uint16(a[2*i+1])
	}
	best, bestLen := -1, 0
	for i := 0; i < 8; {
		if w[i] != 0 {
			i++
			continue
		}
		j := i
		for j < 8 && w[j] == 0 {
			j++
		}
		if j-i > bestLen {
			best, bestLen = i, j-i
		}
		i = j
	}
	if bestLen < 2 {
		best = -1
	}
	for i := 0; i < 8; i++ {
		if best >= 0 && i >= best && i < best+bestLen {
			if i == best {
				dst = append(dst, ':')
			}
			continue
		}
		if i > 0 {
			dst = append(dst, ':')
		}
		if i == 6 && best == 0 && (bestLen == 6 || bestLen == 5 && w[5] == 0xffff) {
			return appendIPv4(dst, [4]byte(a[12:16]))
		}
		dst = strconv.AppendUint(dst, uint64(w[i]), 16)
	}
	if best >= 0 && best+bestLen == 8 {
		dst = append(dst, ':')
	}
	return dst
}

// appendHexBytes formats bytes as one big-endian number as OVS's
// ds_put_hex does: "0x" and the digits without leading zeros, or "0".
func appendHexBytes(dst []byte, b []byte) []byte {
	printed := false
	for _, c := range b {
		switch {
		case printed:
			dst = append(dst, hexDigits[c>>4], hexDigits[c&15])
		case c != 0:
			dst = append(dst, "0x"...)
			dst = strconv.AppendUint(dst, uint64(c), 16)
			printed = true
		}
	}
	if !printed {
		dst = append(dst, '0')
	}
	return dst
}

// appendFlags formats flag bits as OVS's format_flags does: the names of
// the set bits, lowest first, separated by sep, then the bits without a
// name as one hexadecimal number; "0" when no bit is set.
func appendFlags(dst []byte, names func(bit uint32) string, flags uint32, sep byte) []byte {
	if flags == 0 {
		return append(dst, '0')
	}
	start := len(dst)
	var bad uint32
	for f := flags; f != 0; f &= f - 1 {
		bit := uint32(1) << bits.TrailingZeros32(f)
		if n := names(bit); n != "" {
			if len(dst) > start {
				dst = append(dst, sep)
			}
			dst = append(dst, n...)
		} else {
			bad |= bit
		}
	}
	if bad != 0 {
		if len(dst) > start {
			dst = append(dst, sep)
		}
		dst = appendHex(dst, uint64(bad))
	}
	return dst
}

// appendFlagsMasked formats flags under a mask as OVS's
// format_flags_masked does: with the full mask as appendFlags with "|",
// with no mask as "0/0", otherwise "+name" or "-name" for each masked bit.
func appendFlagsMasked(dst []byte, names func(bit uint32) string, flags, mask, full uint32) []byte {
	switch mask {
	case full:
		return appendFlags(dst, names, flags, '|')
	case 0:
		return append(dst, "0/0"...)
	}
	for m := mask; m != 0; m &= m - 1 {
		bit := uint32(1) << bits.TrailingZeros32(m)
		if flags&bit != 0 {
			dst = append(dst, '+')
		} else {
			dst = append(dst, '-')
		}
		if n := names(bit); n != "" {
			dst = append(dst, n...)
		} else {
			dst = append(dst, "[Unknown]"...)
		}
	}
	return dst
}

// appendVLANTCI formats a VLAN TCI as OVS's format_vlan_tci does.
func appendVLANTCI(dst []byte, tci, mask uint16, verbose bool) []byte {
	start := len(dst)
	sep := func() {
		if len(dst) > start {
			dst = append(dst, ',')
		}
	}
	vid, vmask := tci&0x0fff, mask&0x0fff
	if verbose || vid != 0 || vmask != 0 {
		dst = append(dst, "vid="...)
		dst = strconv.AppendUint(dst, uint64(vid), 10)
		if vmask != 0x0fff {
			dst = appendHex(append(dst, '/'), uint64(vmask))
		}
	}
	pcp, pmask := tci>>13, mask>>13
	if verbose || pcp != 0 || pmask != 0 {
		sep()
		dst = append(dst, "pcp="...)
		dst = strconv.AppendUint(dst, uint64(pcp), 10)
		if pmask != 7 {
			dst = appendHex(append(dst, '/'), uint64(pmask))
		}
	}
	if tci&0x1000 == 0 {
		sep()
		dst = append(dst, "cfi=0"...)
	}
	return dst
}
