package nl

import (
	"encoding/binary"
	"fmt"
	"math"
	"syscall"
)

// Align rounds n up to a multiple of AlignTo, the alignment of messages.
//
//	#define NLMSG_ALIGN(len) ( ((len)+NLMSG_ALIGNTO-1) & ~(NLMSG_ALIGNTO-1) )
func Align(n int) int { return (n + AlignTo - 1) &^ (AlignTo - 1) }

// Header is struct nlmsghdr, the header of every netlink message.
//
//	struct nlmsghdr {
//		__u32 nlmsg_len;   /* Length of message including header */
//		__u16 nlmsg_type;  /* Message content */
//		__u16 nlmsg_flags; /* Additional flags */
//		__u32 nlmsg_seq;   /* Sequence number */
//		__u32 nlmsg_pid;   /* Sending process port ID */
//	};
type Header struct {
	Len   uint32 // length of the message including this header, excluding trailing padding
	Type  uint16 // MsgNoop, MsgError, MsgDone, MsgOverrun or a (generic netlink family) type >= MsgMinType
	Flags uint16 // Flag* bits
	Seq   uint32 // sequence number, echoed in replies
	PID   uint32 // netlink port id of the sender, 0 for the kernel
}

// AppendTo appends the HeaderLen-byte wire form of h, in host byte order,
// to dst and returns the extended slice. Len is written as given; see
// FinishMessage to fill it in after the payload.
func (h Header) AppendTo(dst []byte) []byte {
	dst = binary.NativeEndian.AppendUint32(dst, h.Len)
	dst = binary.NativeEndian.AppendUint16(dst, h.Type)
	dst = binary.NativeEndian.AppendUint16(dst, h.Flags)
	dst = binary.NativeEndian.AppendUint32(dst, h.Seq)
	return binary.NativeEndian.AppendUint32(dst, h.PID)
}

// ParseHeader decodes the message at the start of b. It returns its header
// and its payload, b[HeaderLen:h.Len], which aliases b. It fails if b is
// shorter than a header or than h.Len, or if h.Len is less than HeaderLen.
func ParseHeader(b []byte) (Header, []byte, error) {
	h := parseHeader(b)
	if len(b) < HeaderLen {
		return Header{}, nil, fmt.Errorf("nl: message header: have %d bytes, want at least NLMSG_HDRLEN (%d)", len(b), HeaderLen)
	}
	switch {
	case h.Len < HeaderLen:
		return h, nil, fmt.Errorf("nl: nlmsg_len %d is less than NLMSG_HDRLEN (%d)", h.Len, HeaderLen)
	case uint64(h.Len) > uint64(len(b)):
		return h, nil, fmt.Errorf("nl: nlmsg_len %d exceeds the %d bytes available", h.Len, len(b))
	}
	return h, b[HeaderLen:h.Len:h.Len], nil
}

// parseHeader reads a header from b, or returns the zero Header if b is
// too short.
func parseHeader(b []byte) Header {
	if len(b) < HeaderLen {
		return Header{}
	}
	return Header{
		Len:   binary.NativeEndian.Uint32(b),
		Type:  binary.NativeEndian.Uint16(b[4:]),
		Flags: binary.NativeEndian.Uint16(b[6:]),
		Seq:   binary.NativeEndian.Uint32(b[8:]),
		PID:   binary.NativeEndian.Uint32(b[12:]),
	}
}

// FinishMessage completes the message that starts at b[start:] and runs to
// the end of b: it sets its nlmsg_len to len(b)-start and pads b with zero
// bytes to a multiple of AlignTo, so that another message can be appended.
// It fails if b[start:] is shorter than a header or longer than 4 GiB.
func FinishMessage(b []byte, start int) ([]byte, error) {
	if start < 0 || start > len(b) || len(b)-start < HeaderLen {
		return nil, fmt.Errorf("nl: no message header at offset %d of %d bytes", start, len(b))
	}
	n := len(b) - start
	if uint64(n) > math.MaxUint32 {
		return nil, fmt.Errorf("nl: message of %d bytes is too long", n)
	}
	binary.NativeEndian.PutUint32(b[start:], uint32(n))
	return append(b, make([]byte, Align(n)-n)...), nil
}

// GenlHeader is struct genlmsghdr, which follows the Header of a generic
// netlink message.
//
//	struct genlmsghdr {
//		__u8	cmd;
//		__u8	version;
//		__u16	reserved;
//	};
type GenlHeader struct {
	Cmd      uint8  // family-specific command, e.g. CtrlCmdGetFamily
	Version  uint8  // family-specific protocol version
	Reserved uint16 // zero on the wire; kept for faithful round trips
}

// AppendTo appends the GenlHeaderLen-byte wire form of g to dst and returns
// the extended slice.
func (g GenlHeader) AppendTo(dst []byte) []byte {
	return binary.NativeEndian.AppendUint16(append(dst, g.Cmd, g.Version), g.Reserved)
}

// ParseGenlHeader decodes the generic netlink header at the start of a
// message payload and returns it with the attributes that follow, which
// alias payload.
func ParseGenlHeader(payload []byte) (GenlHeader, []byte, error) {
	if len(payload) < GenlHeaderLen {
		return GenlHeader{}, nil, fmt.Errorf("nl: generic netlink header: have %d bytes, want GENL_HDRLEN (%d)", len(payload), GenlHeaderLen)
	}
	g := GenlHeader{Cmd: payload[0], Version: payload[1], Reserved: binary.NativeEndian.Uint16(payload[2:])}
	return g, payload[GenlHeaderLen:], nil
}

// MessageDecoder walks the netlink messages in a buffer, as the kernel's
// NLMSG_OK and NLMSG_NEXT macros do, without copying or allocating:
//
//	md := nl.NewMessageDecoder(buf)
//	for md.Next() {
//		h, payload := md.Header(), md.Payload()
//		...
//	}
//	if err := md.Err(); err != nil { ... }
//
// Control messages (MsgError, MsgDone, ...) are returned like any other;
// see ParseError.
type MessageDecoder struct {
	b       []byte
	off     int
	h       Header
	payload []byte
	err     error
}

// NewMessageDecoder returns a decoder for the messages in b.
func NewMessageDecoder(b []byte) *MessageDecoder { return &MessageDecoder{b: b} }

// Reset makes d decode the messages in b, clearing any error.
func (d *MessageDecoder) Reset(b []byte) { *d = MessageDecoder{b: b} }

// Next advances to the next message and reports whether there is one. It
// returns false at the end of the buffer or on malformed input, which Err
// then reports. The last message need not be followed by padding.
func (d *MessageDecoder) Next() bool {
	if d.err != nil || d.off >= len(d.b) {
		d.h, d.payload = Header{}, nil
		return false
	}
	h, p, err := ParseHeader(d.b[d.off:])
	if err != nil {
		d.err = fmt.Errorf("nl: message at offset %d: %w", d.off, err)
		d.h, d.payload = Header{}, nil
		return false
	}
	d.h, d.payload = h, p
	d.off += min(Align(int(h.Len)), len(d.b)-d.off)
	return true
}

// Header returns the header of the current message.
func (d *MessageDecoder) Header() Header { return d.h }

// Payload returns the bytes of the current message after its header, up to
// nlmsg_len. The slice aliases the decoded buffer.
func (d *MessageDecoder) Payload() []byte { return d.payload }

// Err returns the error that stopped Next, or nil.
func (d *MessageDecoder) Err() error { return d.err }

// Error is a decoded NLMSG_ERROR message (struct nlmsgerr): the reply to a
// request that failed or, with Errno zero, an acknowledgement.
//
//	struct nlmsgerr {
//		int		error;
//		struct nlmsghdr msg;
//		/* the request payload unless NLM_F_CAPPED, then
//		   extended ACK attributes if NLM_F_ACK_TLVS */
//	};
//
// Errno values are Linux errno numbers. Unwrap turns them into a
// syscall.Errno, so that on Linux errors.Is(err, syscall.ENOENT) works; on
// other systems the number is still the Linux one, not the local constant.
type Error struct {
	Errno  int32  // as on the wire: 0 for an ACK, otherwise a negated errno (-2 for ENOENT)
	Header Header // header of the request this answers
	Msg    string // extended ACK message (NLMSGERR_ATTR_MSG), if any
}

// Error formats e with its errno text and extended ACK message.
func (e *Error) Error() string {
	s := "nl: netlink ack"
	if err := e.Unwrap(); err != nil {
		s = "nl: netlink error: " + err.Error()
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	return s
}

// Unwrap returns the syscall.Errno for a non-zero Errno, and nil for an ACK.
func (e *Error) Unwrap() error {
	switch {
	case e.Errno < 0:
		return syscall.Errno(-int64(e.Errno))
	case e.Errno > 0:
		return syscall.Errno(e.Errno)
	}
	return nil
}

// AppendTo appends e to dst as a complete NLMSG_ERROR message, as the
// kernel would send it with NETLINK_CAP_ACK and NETLINK_EXT_ACK: the
// request payload is left out (FlagCapped) and Msg, if not empty, follows
// as an ExtAckMsg attribute (FlagAckTLVs). The message's sequence number
// and port id are those of e.Header.
func (e *Error) AppendTo(dst []byte) []byte {
	start := len(dst)
	h := Header{Type: MsgError, Flags: FlagCapped, Seq: e.Header.Seq, PID: e.Header.PID}
	if e.Msg != "" {
		h.Flags |= FlagAckTLVs
	}
	dst = h.AppendTo(dst)
	dst = binary.NativeEndian.AppendUint32(dst, uint32(e.Errno))
	dst = e.Header.AppendTo(dst)
	if e.Msg != "" {
		msg := e.Msg[:min(len(e.Msg), maxAttrPayload-1)] // truncate to fit nla_len
		ae := AttributeEncoder{b: dst}
		ae.String(ExtAckMsg, msg)
		dst = ae.b
	}
	dst, _ = FinishMessage(dst, start)
	return dst
}

// ParseError decodes the payload of an NLMSG_ERROR message with header h
// into an Error, including its extended ACK message. It also accepts the
// payload of an NLMSG_DONE message, whose optional leading int is the
// error of a failed dump; Error.Header is then zero. The returned error
// reports malformed input, not the error carried by the message.
func ParseError(h Header, payload []byte) (Error, error) {
	var e Error
	var tlvs []byte
	switch {
	case h.Type == MsgDone:
		if len(payload) < 4 {
			return e, nil
		}
		tlvs = payload[4:]
	case h.Type != MsgError:
		return e, fmt.Errorf("nl: message type %d is not NLMSG_ERROR", h.Type)
	case len(payload) < 4+HeaderLen:
		return e, fmt.Errorf("nl: NLMSG_ERROR payload of %d bytes, want at least %d", len(payload), 4+HeaderLen)
	default:
		e.Header = parseHeader(payload[4:])
		off := uint64(4 + HeaderLen)
		if h.Flags&FlagCapped == 0 { // the whole request is echoed
			off = (4 + uint64(e.Header.Len) + AlignTo - 1) &^ (AlignTo - 1)
		}
		if h.Flags&FlagAckTLVs != 0 {
			if off > uint64(len(payload)) {
				return e, fmt.Errorf("nl: NLMSG_ERROR: echoed request of %d bytes overruns the %d-byte payload", e.Header.Len, len(payload))
			}
			tlvs = payload[off:]
		}
	}
	e.Errno = int32(binary.NativeEndian.Uint32(payload))
	if h.Flags&FlagAckTLVs == 0 {
		return e, nil
	}
	ad := AttributeDecoder{b: tlvs}
	for ad.Next() {
		if ad.Type() == ExtAckMsg {
			e.Msg = ad.String()
		}
	}
	return e, ad.Err()
}
