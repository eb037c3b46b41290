package flow

import "strconv"

// FormatKey returns the text of a datapath flow key without a mask, as
// OVS's odp_flow_key_format prints one (the form of packet keys in upcalls
// and of "ovstest test-odp parse-keys"): each attribute present prints
// every one of its fields, zero or not, with no masks, and in this form
// ct_state prints as a number. Attributes print in the order OVS's
// datapaths put them in a key; a key without any prints as "<empty>".
//
// A Key cannot tell a field that is absent from one that is zero, so
// attrs says which attributes are present. attrs is a Key used as a set of
// attributes: an attribute is present when attrs has any bit set in the
// fields that hold it (skb_mark when attrs.SkbMark is not zero, ipv4 when
// one of attrs.NwSrc, NwDst, NwProto, NwTos, NwTTL or NwFrag is not zero,
// and so on). The mask that ParseKey returns for text in this form, where
// every attribute is written with all its fields, is such a set: ParseKey
// and FormatKey give such text back unchanged. Fields shared by several
// attributes go to the one the key's values select, as in Format: under
// eth_type(0x0806) NwSrc is arp's sip, under eth_type(0x0800) ipv4's src;
// TCPFlags is tcp_flags under proto=6 and nd_ext's nd_options_type under
// an ICMPv6 neighbour solicitation or advertisement.
//
// A few attributes follow from the key rather than from attrs: eth() is
// present when the key's packet type is Ethernet (PacketType 0), with the
// eth_type() of a VLAN tag, vlan() and encap() for each tag the key has.
// Inside tunnel() each field is present on its own (tun_id is also present
// when the key flag is set), and flags() always prints, as in OVS.
//
// FormatKey prints nd_ext() when attrs selects it, while Format, like the
// dump of OVS's userspace datapath, never prints it.
func FormatKey(key, attrs *Key) string {
	return string(AppendKey(nil, key, attrs))
}

// AppendKey appends FormatKey(key, attrs) to dst and returns the extended
// buffer.
func AppendKey(dst []byte, key, attrs *Key) []byte {
	f := formatter{b: dst, start: len(dst)}
	k, a := key, attrs
	f.u32hexPresent("skb_priority", k.Priority, a.Priority)
	f.tunnelKey(k, a)
	f.u32hexPresent("skb_mark", k.SkbMark, a.SkbMark)
	if a.CtState != 0 {
		f.attr("ct_state")
		f.b = appendHexC(f.b, uint64(k.CtState))
		f.end()
	}
	if a.CtZone != 0 {
		f.attr("ct_zone")
		f.b = appendHexC(f.b, uint64(k.CtZone))
		f.end()
	}
	f.u32hexPresent("ct_mark", k.CtMark, a.CtMark)
	if a.CtLabel != ([16]byte{}) {
		f.attr("ct_label")
		f.b = appendHexBytes(f.b, k.CtLabel[:])
		f.end()
	}
	f.ctTupleKey(k, a)
	f.u32hexPresent("recirc_id", k.RecircID, a.RecircID)
	f.u32hexPresent("dp_hash", k.DpHash, a.DpHash)
	if a.InPort != 0 {
		f.attr("in_port")
		f.b = strconv.AppendUint(f.b, uint64(k.InPort), 10)
		f.end()
	}
	if a.PacketType != 0 {
		f.attr("packet_type")
		f.be16("ns", uint16(k.PacketType>>16), 0xffff)
		f.be16x("id", uint16(k.PacketType), 0xffff)
		f.end()
	}
	if k.PacketType != 0 {
		// Not Ethernet: no layer 2 attributes.
		f.l3l4Key(k, a)
	} else {
		f.whole("eth", k, &exactMask)
		f.vlanAndBelowKey(k, a, 0)
	}
	if len(f.b) == f.start {
		f.b = append(f.b, "<empty>"...)
	}
	return f.b
}

// exactMask is a mask that matches every field exactly: every bit set,
// except the bits a field does not have (the IPv6 flow label has 20).
var exactMask = func() (k Key) {
	for i, w := 0, k.words(); i < len(w); i++ {
		w[i] = ^uint64(0)
	}
	k.IPv6Label = 0xfffff
	return
}()

func (f *formatter) u32hexPresent(name string, v, present uint32) {
	if present != 0 {
		f.u32hex(name, v, ^uint32(0))
	}
}

// tunnelKey formats tunnel() in the non-wildcarded form: the fields attrs
// selects, then the flags (the key flag when tun_id is present).
func (f *formatter) tunnelKey(k, a *Key) {
	if a.TunID == 0 && a.TunSrc == ([4]byte{}) && a.TunDst == ([4]byte{}) &&
		a.TunIPv6Src == ([16]byte{}) && a.TunIPv6Dst == ([16]byte{}) && a.TunTpSrc == 0 &&
		a.TunTpDst == 0 && a.TunFlags == 0 && a.TunTOS == 0 && a.TunTTL == 0 && !tunOptsPresent(a) {
		return
	}
	f.attr("tunnel")
	flags := k.TunFlags &^ TunFlagKey
	if a.TunID != 0 || k.TunFlags&TunFlagKey != 0 {
		f.field("tun_id")
		f.b = append(f.b, "0x"...)
		f.b = strconv.AppendUint(f.b, k.TunID, 16)
		f.sep()
		flags |= TunFlagKey
	}
	if a.TunSrc != ([4]byte{}) {
		f.ipv4("src", k.TunSrc, exactMask.TunSrc)
	}
	if a.TunDst != ([4]byte{}) {
		f.ipv4("dst", k.TunDst, exactMask.TunDst)
	}
	if a.TunIPv6Src != ([16]byte{}) {
		f.ipv6("ipv6_src", k.TunIPv6Src, allOnes16)
	}
	if a.TunIPv6Dst != ([16]byte{}) {
		f.ipv6("ipv6_dst", k.TunIPv6Dst, allOnes16)
	}
	if a.TunTOS != 0 {
		f.u8x("tos", k.TunTOS, 0xff)
	}
	if a.TunTTL != 0 {
		f.u8("ttl", k.TunTTL, 0xff)
	}
	if a.TunTpSrc != 0 {
		f.be16("tp_src", k.TunTpSrc, 0xffff)
	}
	if a.TunTpDst != 0 {
		f.be16("tp_dst", k.TunTpDst, 0xffff)
	}
	// The options, in the order of their attributes, without masks.
	if a.TunGbpID != 0 || a.TunGbpFlags != 0 {
		f.vxlanOpts(k, &exactMask)
	}
	if a.TunFlags&TunFlagGeneve != 0 || a.TunGeneveLen != 0 {
		f.geneveOpts(k, &exactMask)
	}
	if a.TunErspanVer != 0 || a.TunErspanIdx != 0 || a.TunErspanDir != 0 || a.TunErspanHwID != 0 {
		f.b = append(f.b, "erspan("...)
		f.u8("ver", k.TunErspanVer, 0xff)
		if k.TunErspanVer == 1 {
			f.b = append(f.b, "idx="...)
			f.b = appendHexC(f.b, uint64(k.TunErspanIdx))
			f.sep()
		} else if k.TunErspanVer == 2 {
			f.u8("dir", k.TunErspanDir&1, 0xff)
			f.u8x("hwid", k.TunErspanHwID&0xf, 0xff)
		}
		f.chomp()
		f.b = append(f.b, "),"...)
	}
	if a.TunGtpuFlags != 0 || a.TunGtpuMsgType != 0 {
		f.gtpuOpts(k, &exactMask)
	}
	f.b = append(f.b, "flags("...)
	f.b = appendTunFlagList(f.b, flags)
	f.b = append(f.b, ')')
	f.end()
}

// ctTupleKey formats the conntrack original tuple: ct_tuple4 when attrs
// selects its addresses, ct_tuple6 when it selects the IPv6 ones; a tuple
// given by protocol and ports alone is ct_tuple6 under an IPv6 key and
// ct_tuple4 otherwise.
func (f *formatter) ctTupleKey(k, a *Key) {
	v4 := a.CtNwSrc != ([4]byte{}) || a.CtNwDst != ([4]byte{})
	v6 := a.CtIPv6Src != ([16]byte{}) || a.CtIPv6Dst != ([16]byte{})
	shared := a.CtNwProto != 0 || a.CtTpSrc != 0 || a.CtTpDst != 0
	if !v4 && !v6 && shared {
		v6 = k.EthType == EthTypeIPv6
		v4 = !v6
	}
	if v4 {
		f.attr("ct_tuple4")
		f.ipv4("src", k.CtNwSrc, exactMask.CtNwSrc)
		f.ipv4("dst", k.CtNwDst, exactMask.CtNwDst)
		f.u8("proto", k.CtNwProto, 0xff)
		f.be16("tp_src", k.CtTpSrc, 0xffff)
		f.be16("tp_dst", k.CtTpDst, 0xffff)
		f.end()
	}
	if v6 {
		f.attr("ct_tuple6")
		f.ipv6("src", k.CtIPv6Src, allOnes16)
		f.ipv6("dst", k.CtIPv6Dst, allOnes16)
		f.u8("proto", k.CtNwProto, 0xff)
		f.be16("src_port", k.CtTpSrc, 0xffff)
		f.be16("dst_port", k.CtTpDst, 0xffff)
		f.end()
	}
}

// vlanAndBelowKey is vlanAndBelow for the non-wildcarded form.
func (f *formatter) vlanAndBelowKey(k, a *Key, i int) {
	if i < MaxVLANs && k.VlanTCI[i]&VLANCFI != 0 {
		f.ethType(k.VlanTPID[i], 0xffff)
		f.attr("vlan")
		f.vlanTCI(k.VlanTCI[i], 0xffff)
		f.end()
		f.attr("encap")
		f.first = true
		f.vlanAndBelowKey(k, a, i+1)
		f.end()
		return
	}
	f.l3l4Key(k, a)
}

// l3l4Key formats eth_type and the layer 3 and 4 attributes that attrs
// selects.
func (f *formatter) l3l4Key(k, a *Key) {
	if a.EthType != 0 {
		f.ethType(k.EthType, 0xffff)
	}
	m := &exactMask
	switch k.EthType {
	case EthTypeIPv4:
		if a.NwSrc != ([4]byte{}) || a.NwDst != ([4]byte{}) || a.NwProto != 0 || a.NwTos != 0 || a.NwTTL != 0 || a.NwFrag != 0 {
			f.whole("ipv4", k, m)
		}
	case EthTypeIPv6:
		if a.IPv6Src != ([16]byte{}) || a.IPv6Dst != ([16]byte{}) || a.IPv6Label != 0 || a.NwProto != 0 || a.NwTos != 0 || a.NwTTL != 0 || a.NwFrag != 0 {
			f.whole("ipv6", k, m)
		}
	case EthTypeARP, EthTypeRARP:
		if a.NwSrc != ([4]byte{}) || a.NwDst != ([4]byte{}) || a.NwProto != 0 || a.ArpSHA != ([6]byte{}) || a.ArpTHA != ([6]byte{}) {
			f.whole("arp", k, m)
		}
		return
	case EthTypeMPLS, EthTypeMPLSM:
		f.mplsKey(k, a)
		return
	default:
		return
	}
	if k.NwFrag&FragLater != 0 {
		return
	}
	l4 := a.TpSrc != 0 || a.TpDst != 0
	switch k.NwProto {
	case IPProtoTCP:
		if l4 {
			f.whole("tcp", k, m)
		}
		if a.TCPFlags != 0 {
			f.attr("tcp_flags")
			f.tcpFlags(k.TCPFlags, 0x0fff)
			f.end()
		}
	case IPProtoUDP:
		if l4 {
			f.whole("udp", k, m)
		}
	case IPProtoSCTP:
		if l4 {
			f.whole("sctp", k, m)
		}
	case IPProtoICMP:
		if l4 && k.EthType == EthTypeIPv4 {
			f.whole("icmp", k, m)
		}
	case IPProtoICMPv6:
		if k.EthType != EthTypeIPv6 {
			return
		}
		if l4 {
			f.whole("icmpv6", k, m)
		}
		if (k.TpSrc == 135 || k.TpSrc == 136) && k.TpDst == 0 {
			if a.NdTarget != ([16]byte{}) || a.ArpSHA != ([6]byte{}) || a.ArpTHA != ([6]byte{}) {
				f.whole("nd", k, m)
			}
			if a.NdReserved != 0 || a.TCPFlags != 0 {
				f.attr("nd_ext")
				f.field("nd_reserved")
				f.b = append(f.b, "0x"...)
				f.b = strconv.AppendUint(f.b, uint64(k.NdReserved), 16)
				f.sep()
				f.u8("nd_options_type", uint8(k.TCPFlags), 0xff)
				f.end()
			}
		}
	}
}

// mplsKey formats mpls() with the label stack entries up to the last one
// attrs selects, each as label, tc, ttl and bos.
func (f *formatter) mplsKey(k, a *Key) {
	n := 0
	for i, x := range a.MplsLSE {
		if x != 0 {
			n = i + 1
		}
	}
	if n == 0 {
		return
	}
	f.attr("mpls")
	for i := 0; i < n; i++ {
		v := k.MplsLSE[i]
		f.b = append(f.b, "label="...)
		f.b = strconv.AppendUint(f.b, uint64(v>>MPLSLabelShift), 10)
		f.b = append(f.b, ",tc="...)
		f.b = strconv.AppendUint(f.b, uint64(v&MPLSTCMask>>MPLSTCShift), 10)
		f.b = append(f.b, ",ttl="...)
		f.b = strconv.AppendUint(f.b, uint64(v&MPLSTTLMask), 10)
		f.b = append(f.b, ",bos="...)
		f.b = strconv.AppendUint(f.b, uint64(v&MPLSBOSMask>>8), 10)
		f.sep()
	}
	f.end()
}

// tunOptsPresent reports whether attribute set a selects any tunnel
// option (VXLAN GBP, Geneve, ERSPAN, GTP-U).
func tunOptsPresent(a *Key) bool {
	return a.TunGbpID != 0 || a.TunGbpFlags != 0 || a.TunFlags&TunFlagGeneve != 0 || a.TunGeneveLen != 0 ||
		a.TunErspanVer != 0 || a.TunErspanIdx != 0 || a.TunErspanDir != 0 || a.TunErspanHwID != 0 ||
		a.TunGtpuFlags != 0 || a.TunGtpuMsgType != 0
}
