// Package afxdp provides a datapath port on one receive queue of a Linux
// network interface through an AF_XDP socket.
//
// Open loads a small XDP program (built in Go with cilium/ebpf's asm
// package, no C compiler involved) that redirects every frame arriving on
// the bound queue into an XSKMAP holding the port's socket; frames of
// queues with no socket fall back to XDP_PASS and reach the kernel's
// stack. Frames the socket has no room for are dropped and counted (see
// Port.Stats).
// The program is attached in generic (SKB) mode by default, which works on
// any device including veth; driver (native) mode and zero-copy binding
// are options.
//
// The socket shares a UMEM (a region of frames mapped into both the kernel
// and this process) with the kernel through four rings: the fill ring
// hands empty frames to the kernel, the rx ring returns them with frames
// received, the tx ring queues frames to send and the completion ring
// returns them once sent. Read copies each received frame into the
// caller's packet buffer (after the port's headroom) and gives the UMEM
// frame straight back to the fill ring; Write copies each frame into a
// free UMEM frame, queues it, kicks the kernel with sendto and reaps the
// completion ring. Neither allocates in steady state.
//
// AF_XDP exists only on Linux; this package needs 5.9 or newer (for the
// XDP BPF link) and CAP_NET_ADMIN, CAP_NET_RAW and CAP_BPF (or root).
// Elsewhere, and where the kernel refuses, Open returns an error that
// wraps ErrUnavailable and says why; the package builds on every platform.
// Kernels before 5.11 charge BPF maps and the UMEM to RLIMIT_MEMLOCK: raise
// it (cilium/ebpf's rlimit.RemoveMemlock does) before Open there.
//
// A Port receives only what arrives on its queue; on a device with several
// receive queues, frames on the others reach the kernel's stack as before
// (set the device to one queue, for example with ethtool -L, to take all
// of its traffic). One Port per interface and attach mode: the XDP program
// is attached to the interface through a BPF link that the Port owns and
// removes on Close. Frames larger than a UMEM frame (FrameSize less the kernel's
// 256-byte XDP headroom) cannot be received; multi-buffer (jumbo) frames
// are not supported.
package afxdp
