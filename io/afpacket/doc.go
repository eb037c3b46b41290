// Package afpacket provides datapath ports on Linux network interfaces
// through AF_PACKET sockets, in pure Go.
//
// Open binds a raw AF_PACKET socket to one interface and returns a *Port,
// an io.Port (package github.com/b7cafead/datapath/io) that receives every
// frame arriving on the interface and transmits frames out of it:
//
//   - Receive uses a TPACKET_V3 ring mapped into the process. The kernel
//     fills fixed-size blocks with frames and hands a block over when it is
//     full or, if it holds a frame, when the ring's timer fires (every
//     Config.BlockTimeout); Read
//     copies frames from the handed-over blocks into the caller's packet
//     buffers (after their headroom), a whole batch per call, and returns
//     each block to the kernel as soon as it is read. When nothing is ready
//     Read waits in poll(2) and wakes at once when another goroutine calls
//     Close. At low rates a frame therefore waits up to BlockTimeout
//     (rounded up to the kernel's timer tick) before Read sees it.
//   - Transmit uses sendmmsg(2): one system call per batch. The socket
//     never blocks; frames the kernel has no room for are counted in
//     TxDropped, frames it refuses (too large, interface down) in TxErrors.
//   - The interface is put in promiscuous mode for the life of the port
//     (PACKET_MR_PROMISC; the kernel undoes it when the socket closes), and
//     the socket ignores outgoing frames (PACKET_IGNORE_OUTGOING), so the
//     port never reads back what it, or the host, transmits.
//   - The kernel removes the outer VLAN tag of every received frame into
//     the ring's per-frame metadata. Read puts it back, with its TPID
//     (0x8100 or 0x88a8) when the kernel reports one, so frames are read
//     exactly as they arrived on the wire.
//   - Several ports opened on one interface with the same Config.Fanout
//     group share its receive load (PACKET_FANOUT), one flow to one port
//     with the default hash mode.
//   - Info reads the interface's carrier state, MTU and MAC address over
//     rtnetlink each time it is called; Stats adds the kernel's ring drops
//     (PACKET_STATISTICS tp_drops) to RxDropped.
//
// Opening a port needs CAP_NET_RAW. The socket and the rtnetlink handle
// belong to the network namespace of the calling thread when Open runs;
// the port keeps working in that namespace whatever thread later uses it.
//
// Offloads: the port sees frames as the kernel hands them to packet
// sockets. A local sender with transmit checksum offload (such as a veth
// peer in another namespace) hands over frames whose TCP or UDP checksum
// is not yet filled in, and one with segmentation offload hands over
// frames larger than the MTU. A switch that forwards such frames to another
// interface forwards them as they are, so turn those offloads off on such
// senders (ethtool -K DEV tx off), as for any AF_PACKET-based switch.
// Frames larger than a packet buffer are dropped and counted in RxErrors.
//
// On systems other than Linux the package builds, and Open returns
// ErrNotSupported.
package afpacket
