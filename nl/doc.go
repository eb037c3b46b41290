// Package nl is the netlink framing and attribute codec used by the Open
// vSwitch datapath protocol, which lives in a later package and speaks
// generic netlink on top of this one.
//
// It encodes and decodes, byte for byte, the layouts of the Linux
// kernel's <linux/netlink.h> and <linux/genetlink.h>:
//
//	struct nlmsghdr   nlmsg_len, nlmsg_type, nlmsg_flags, nlmsg_seq, nlmsg_pid  (16 bytes)
//	struct genlmsghdr cmd, version, reserved                                   (4 bytes)
//	struct nlattr     nla_len, nla_type, then the payload, padded to 4 bytes   (4 bytes + data)
//	struct nlmsgerr   error, then the header of the offending request          (NLMSG_ERROR)
//
// A generic netlink message is a Header, a GenlHeader and a sequence of
// attributes; several messages may share one buffer, each starting at a
// multiple of NLMSG_ALIGNTO.
//
// Header fields and integer attributes are in host byte order
// (encoding/binary.NativeEndian), as the kernel expects; the Be16, Be32
// and Be64 attribute methods use network byte order, as OVS flow keys do.
// The package makes no system calls and builds on every GOOS with a
// syscall.Errno: it is a pure byte codec, usable both by a client of a
// kernel datapath and by a userspace implementation of the protocol.
//
// Encoding appends into a caller-owned buffer:
//
//	b := nl.Header{Type: family, Flags: nl.FlagRequest, Seq: seq}.AppendTo(buf[:0])
//	b = nl.GenlHeader{Cmd: cmd, Version: 1}.AppendTo(b)
//	ae := nl.NewAttributeEncoder(b)
//	ae.String(attrName, "br0")
//	ae.Nested(attrOptions, func(ae *nl.AttributeEncoder) error {
//		ae.Uint32(optPort, 4789)
//		return nil
//	})
//	b, err := ae.Encode()
//	b, err = nl.FinishMessage(b, 0) // fills in nlmsg_len
//
// Decoding walks a buffer with iterators that return subslices of it
// instead of copying: MessageDecoder over messages, ParseGenlHeader for
// the generic netlink header, AttributeDecoder over attributes. Errors are
// sticky: after the first malformed length or wrong-sized attribute the
// iterators stop and Err reports what went wrong; no input makes them
// panic. ParseError decodes NLMSG_ERROR (and NLMSG_DONE) payloads into an
// Error, which unwraps to a syscall.Errno.
//
// Encoders and decoders can be reset and reused; used that way neither
// encoding nor decoding allocates (apart from AttributeDecoder.String
// and error values).
package nl
