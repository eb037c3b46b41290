// Package pcapfile provides datapath ports backed by packet capture files.
//
// A Reader (made by Open or NewReader) is a finite, receive-only port that
// replays the Ethernet frames of a classic pcap file (either byte order,
// microsecond or nanosecond timestamps) or a pcapng file, chosen by the
// file's magic number. Each frame is copied into the caller's packet
// buffer with its record time in Packet.Timestamp; Read returns the
// standard library's io.EOF once every record has been delivered. PeekTime
// reports the time of the next record without consuming it, so that a
// caller can merge several capture files in time order.
//
// A Writer (made by Create or NewWriter) is a transmit-only port that
// records every frame written to it in a classic pcap file (little-endian,
// microsecond timestamps, snapshot length 65535, LINKTYPE_ETHERNET).
//
// Only Ethernet captures (LINKTYPE_ETHERNET, 1) are supported. Malformed
// or truncated files are reported as a *FileError naming the file and the
// byte offset of the bad header, block or record; the reader never panics
// on bad input. Records longer than the file's snapshot length or than
// MaxRecordLen are errors.
//
// Both ports reuse their buffers: reading or writing a batch in steady
// state does not allocate.
package pcapfile
