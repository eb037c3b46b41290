package pcapfile

import (
	"encoding/binary"
	"math/bits"
)

// pcapng block types.
const (
	blockSHB = 0x0a0d0d0a // section header
	blockIDB = 0x00000001 // interface description
	blockPB  = 0x00000002 // packet (obsolete)
	blockSPB = 0x00000003 // simple packet
	blockEPB = 0x00000006 // enhanced packet
)

// pcapng option codes used here.
const (
	optEnd      = 0
	optTSResol  = 9
	optTSOffset = 14
)

const byteOrderMagic = 0x1a2b3c4d

// ngIface is what the reader keeps of an interface description block.
type ngIface struct {
	snaplen uint32 // 0: unlimited
	tsres   uint8  // if_tsresol: 10^-n seconds, or 2^-(n&0x7f) if the top bit is set
	tsoff   int64  // if_tsoffset, seconds
}

var pow10 = [20]uint64{
	1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
}

// validResolution reports whether nanos can convert timestamps of
// resolution v.
func validResolution(v uint8) bool {
	if v&0x80 == 0 {
		return v <= 9+19
	}
	return v&0x7f <= 63
}

// nanos converts a timestamp in the interface's units to nanoseconds since
// the Unix epoch. Out-of-range values wrap; they never panic.
func (i *ngIface) nanos(ts uint64) int64 {
	var ns int64
	if i.tsres&0x80 == 0 {
		e := int(i.tsres)
		if e <= 9 {
			ns = int64(ts * pow10[9-e])
		} else {
			ns = int64(ts / pow10[e-9])
		}
	} else {
		e := uint(i.tsres & 0x7f)
		sec, frac := ts>>e, ts&(1<<e-1)
		hi, lo := bits.Mul64(frac, 1e9)
		var f uint64
		if e > 0 {
			f = hi<<(64-e) | lo>>e
		}
		ns = int64(sec)*1e9 + int64(f)
	}
	return ns + i.tsoff*1e9
}

// readSectionHeader reads a section header block starting at start whose
// first 8 bytes (type and length) are in r.hdr[0:8]. It sets the byte
// order and starts a new list of interfaces.
func (r *Reader) readSectionHeader(start int64) error {
	if err := r.readFull(r.hdr[8:12], start, 28, "section header block", false); err != nil {
		return err
	}
	switch bom := r.hdr[8:12]; {
	case binary.LittleEndian.Uint32(bom) == byteOrderMagic:
		r.bo = binary.LittleEndian
	case binary.BigEndian.Uint32(bom) == byteOrderMagic:
		r.bo = binary.BigEndian
	default:
		return r.errorf(start, "bad pcapng byte-order magic %#08x", binary.BigEndian.Uint32(bom))
	}
	blen := int64(r.bo.Uint32(r.hdr[4:8]))
	if blen < 28 || blen%4 != 0 {
		return r.errorf(start, "invalid section header block length %d", blen)
	}
	if err := r.readFull(r.hdr[12:24], start, blen, "section header block", false); err != nil {
		return err
	}
	if major, minor := r.bo.Uint16(r.hdr[12:14]), r.bo.Uint16(r.hdr[14:16]); major != 1 {
		return r.errorf(start, "unsupported pcapng version %d.%d", major, minor)
	}
	r.ifaces = r.ifaces[:0]
	return r.finishBlock(start, blen, "section header block")
}

// finishBlock skips the rest of the block of length blen starting at start
// and checks its trailing length field.
func (r *Reader) finishBlock(start, blen int64, what string) error {
	rest := blen - 4 - (r.off - start)
	if rest < 0 {
		return r.errorf(start, "%s overruns its length %d", what, blen)
	}
	if err := r.discard(rest, start, blen, what); err != nil {
		return err
	}
	if err := r.readFull(r.hdr[28:32], start, blen, what, false); err != nil {
		return err
	}
	if tail := int64(r.bo.Uint32(r.hdr[28:32])); tail != blen {
		return r.errorf(start, "%s trailing length %d does not match its length %d", what, tail, blen)
	}
	return nil
}

// nextNG reads pcapng blocks up to and including the next packet block,
// whose frame it leaves pending.
func (r *Reader) nextNG() error {
	for {
		start := r.off
		if err := r.readFull(r.hdr[:8], start, 12, "block", true); err != nil {
			return err
		}
		typ := r.bo.Uint32(r.hdr[0:4])
		if typ == blockSHB {
			if err := r.readSectionHeader(start); err != nil {
				return err
			}
			continue
		}
		blen := int64(r.bo.Uint32(r.hdr[4:8]))
		if blen < 12 || blen%4 != 0 {
			return r.errorf(start, "invalid block length %d (block type %#x)", blen, typ)
		}
		var err error
		switch typ {
		case blockIDB:
			err = r.readIDB(start, blen)
		case blockEPB, blockPB:
			return r.readEPB(start, blen, typ == blockPB)
		case blockSPB:
			return r.readSPB(start, blen)
		default:
			err = r.finishBlock(start, blen, "block")
		}
		if err != nil {
			return err
		}
	}
}

// readIDB reads an interface description block.
func (r *Reader) readIDB(start, blen int64) error {
	const what = "interface description block"
	if blen < 20 {
		return r.errorf(start, "invalid %s length %d", what, blen)
	}
	if err := r.readFull(r.hdr[8:16], start, blen, what, false); err != nil {
		return err
	}
	if lt := r.bo.Uint16(r.hdr[8:10]); lt != linkTypeEthernet {
		return r.errorf(start, "%w %d on interface %d (only Ethernet, 1, is supported)", ErrLinkType, lt, len(r.ifaces))
	}
	ifc := ngIface{snaplen: r.bo.Uint32(r.hdr[12:16]), tsres: 6}
	end := start + blen - 4
	for r.off+4 <= end {
		ostart := r.off
		if err := r.readFull(r.hdr[16:20], start, blen, what, false); err != nil {
			return err
		}
		code, olen := r.bo.Uint16(r.hdr[16:18]), int64(r.bo.Uint16(r.hdr[18:20]))
		if code == optEnd {
			break
		}
		padded := (olen + 3) &^ 3
		if r.off+padded > end {
			return r.errorf(start, "%s option %d at offset %d overruns the block", what, code, ostart)
		}
		switch {
		case code == optTSResol && olen == 1:
			if err := r.readFull(r.hdr[20:24], start, blen, what, false); err != nil {
				return err
			}
			ifc.tsres = r.hdr[20]
			if !validResolution(ifc.tsres) {
				return r.errorf(start, "unsupported timestamp resolution %#02x on interface %d", ifc.tsres, len(r.ifaces))
			}
		case code == optTSOffset && olen == 8:
			if err := r.readFull(r.hdr[20:28], start, blen, what, false); err != nil {
				return err
			}
			ifc.tsoff = int64(r.bo.Uint64(r.hdr[20:28]))
		default:
			if err := r.discard(padded, start, blen, what); err != nil {
				return err
			}
		}
	}
	if err := r.finishBlock(start, blen, what); err != nil {
		return err
	}
	r.ifaces = append(r.ifaces, ifc)
	return nil
}

// checkLen validates a packet block's captured length.
func (r *Reader) checkLen(start int64, caplen, snaplen uint32) error {
	if caplen > MaxRecordLen {
		return r.errorf(start, "record length %d exceeds the maximum %d", caplen, MaxRecordLen)
	}
	if snaplen != 0 && caplen > snaplen {
		return r.errorf(start, "record length %d exceeds the snapshot length %d", caplen, snaplen)
	}
	return nil
}

// readEPB reads an enhanced packet block, or an obsolete packet block if
// old is set, and leaves its frame pending.
func (r *Reader) readEPB(start, blen int64, old bool) error {
	what := "enhanced packet block"
	if old {
		what = "packet block"
	}
	if blen < 32 {
		return r.errorf(start, "invalid %s length %d", what, blen)
	}
	h := r.hdr[8:28]
	if err := r.readFull(h, start, blen, what, false); err != nil {
		return err
	}
	id := r.bo.Uint32(h[0:4])
	if old {
		id = uint32(r.bo.Uint16(h[0:2]))
	}
	if id >= uint32(len(r.ifaces)) {
		return r.errorf(start, "%s for undefined interface %d", what, id)
	}
	ifc := &r.ifaces[id]
	ts := uint64(r.bo.Uint32(h[4:8]))<<32 | uint64(r.bo.Uint32(h[8:12]))
	caplen := r.bo.Uint32(h[12:16])
	if err := r.checkLen(start, caplen, ifc.snaplen); err != nil {
		return err
	}
	padded := (int64(caplen) + 3) &^ 3
	if 32+padded > blen {
		return r.errorf(start, "%s data (%d bytes) overruns the block length %d", what, caplen, blen)
	}
	data := r.frame(int(caplen))
	if err := r.readFull(data, start, blen, what, false); err != nil {
		return err
	}
	if err := r.finishBlock(start, blen, what); err != nil {
		return err
	}
	r.pending, r.plen, r.pts = true, int(caplen), ifc.nanos(ts)
	return nil
}

// readSPB reads a simple packet block and leaves its frame pending, with
// timestamp 0: the block carries no time.
func (r *Reader) readSPB(start, blen int64) error {
	const what = "simple packet block"
	if blen < 16 {
		return r.errorf(start, "invalid %s length %d", what, blen)
	}
	if len(r.ifaces) == 0 {
		return r.errorf(start, "%s with no interface description", what)
	}
	if err := r.readFull(r.hdr[8:12], start, blen, what, false); err != nil {
		return err
	}
	caplen := r.bo.Uint32(r.hdr[8:12]) // the original length
	if room := uint32(blen - 16); caplen > room {
		caplen = room
	}
	if s := r.ifaces[0].snaplen; s != 0 && caplen > s {
		caplen = s
	}
	if err := r.checkLen(start, caplen, 0); err != nil {
		return err
	}
	data := r.frame(int(caplen))
	if err := r.readFull(data, start, blen, what, false); err != nil {
		return err
	}
	if err := r.finishBlock(start, blen, what); err != nil {
		return err
	}
	r.pending, r.plen, r.pts = true, int(caplen), 0
	return nil
}
