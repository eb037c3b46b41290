//go:build linux

package flow

import (
	"fmt"
	"math/rand"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/b7cafead/datapath/internal/ovsdummy"
)

// ovsPacketAttrs returns the attributes that OVS's userspace datapath puts
// in the key of a packet it received (odp_flow_key_from_flow with the
// datapath's odp_support: metadata and the conntrack fields always, no
// nd_ext), as a set for FormatKey.
func ovsPacketAttrs(k *Key) Key {
	var a Key
	a.Priority, a.SkbMark, a.RecircID, a.DpHash, a.InPort, a.PacketType = ^uint32(0), ^uint32(0), ^uint32(0), ^uint32(0), ^uint32(0), ^uint32(0)
	a.CtState, a.CtZone, a.CtMark, a.CtLabel = 0xff, 0xffff, ^uint32(0), allOnes16
	if k.EthType >= 0x600 {
		a.EthType = 0xffff
	}
	switch k.EthType {
	case EthTypeIPv4, EthTypeIPv6:
		a.NwSrc, a.NwDst, a.IPv6Src, a.IPv6Dst = exactMask.NwSrc, exactMask.NwDst, allOnes16, allOnes16
		a.IPv6Label, a.NwProto, a.NwTos, a.NwTTL, a.NwFrag = 0xfffff, 0xff, 0xff, 0xff, FragMask
		a.TpSrc, a.TpDst = 0xffff, 0xffff
		if k.NwProto == IPProtoTCP && k.TCPFlags != 0 {
			a.TCPFlags = 0x0fff
		}
		a.NdTarget, a.ArpSHA, a.ArpTHA = allOnes16, exactMask.ArpSHA, exactMask.ArpTHA
	case EthTypeARP, EthTypeRARP:
		a.NwSrc, a.NwDst, a.NwProto, a.ArpSHA, a.ArpTHA = exactMask.NwSrc, exactMask.NwDst, 0xff, exactMask.ArpSHA, exactMask.ArpTHA
	case EthTypeMPLS, EthTypeMPLSM:
		for i := 0; i < mplsLabels(k); i++ {
			a.MplsLSE[i] = ^uint32(0)
		}
	}
	return a
}

// TestExtractAgainstOVS extracts frames with Extract and with OVS 3.1's
// userspace datapath, and compares the keys as text: OVS logs the key of
// every packet that misses (at debug level), in the form FormatKey
// writes. The frames are the well-formed ones of the gopacket
// differential tests, neighbour discovery messages with odd option lists,
// and random frames.
func TestExtractAgainstOVS(t *testing.T) {
	seed := *extractSeed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("seed %d (rerun with -flow.seed=%d)", seed, seed)
	r := rand.New(rand.NewSource(seed))

	type frame struct {
		name string
		b    []byte
	}
	var frames []frame
	named := gopacketFrames(t)
	names := make([]string, 0, len(named))
	for n := range named {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		frames = append(frames, frame{n, named[n]})
	}
	target := [16]byte{0xfe, 0x80, 15: 9}
	nd := func(typ uint8, reserved uint32, body []byte) []byte {
		m := append([]byte{typ, 0, 0, 0, 0, 0, 0, 0}, body...)
		be.PutUint32(m[4:], reserved)
		return ethFrame(macB, macA, nil, EthTypeIPv6, ip6Packet(0, 0, IPProtoICMPv6, 255, ip6A, ip6B, m))
	}
	opts := func(o ...[]byte) []byte { return append(target[:], concat(o...)...) }
	frames = append(frames, []frame{
		{"nd option length 0", nd(135, 0, opts(llOpt(1, macA), make([]byte, 8), llOpt(2, macB)))},
		{"nd option past end", nd(135, 1, opts(llOpt(1, macA), []byte{2, 2, 0, 0, 0, 0, 0, 0}))},
		{"nd duplicate", nd(136, 0xe0000000, opts(llOpt(2, macB), llOpt(1, macA), llOpt(1, macB)))},
		{"nd zero address then address", nd(135, 0, opts(llOpt(1, [6]byte{}), llOpt(1, macA)))},
		{"nd long option", nd(135, 0, opts([]byte{1, 2, 1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 0, 0, 0, 0}, llOpt(2, macB)))},
		{"nd target cut", nd(136, 0x40000000, target[:9])},
		{"nd header only", nd(136, 0x20000000, nil)},
		{"nd trailing bytes", nd(136, 0, opts(llOpt(2, macB), []byte{1, 1, 2, 3}))},
	}...)
	for i := 0; i < 250; i++ {
		frames = append(frames, frame{fmt.Sprintf("random frame %d", i), randFrame(r)})
	}
	// Frames cut short inside their IP packet. (A cut inside the VLAN
	// tags leaves a truncated tag, which OVS's key shows as
	// vlan(vid=0,pcp=0,cfi=0) and the Key does not hold.)
	trunc := truncationFrames(t)
	names = names[:0]
	for n := range trunc {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b := trunc[n]
		var l Layout
		var k Key
		ExtractLayout(b, 1, &k, &l)
		for j := 0; j < 4; j++ {
			cut := l.L3 + r.Intn(len(b)-l.L3)
			frames = append(frames, frame{fmt.Sprintf("%s cut at %d", n, cut), b[:cut]})
		}
	}

	o := ovsdummy.Start(t, 1)
	// OVS's default vlan-limit of 1 makes miniflow_extract stop after the
	// first VLAN tag (the inner TPID becomes the EtherType); 0 lifts the
	// limit to the two tags the key holds, as Extract parses.
	db := "unix:" + filepath.Join(o.Dir(), "db.sock")
	if out, err := exec.Command("ovs-vsctl", "--db="+db, "--timeout=10", "set", "Open_vSwitch", ".", "other_config:vlan-limit=0").CombinedOutput(); err != nil {
		t.Fatalf("ovs-vsctl: %v: %s", err, out)
	}
	if _, err := o.Appctl("vlog/set", "dpif_netdev:file:dbg"); err != nil {
		t.Fatal(err)
	}
	bs := make([][]byte, len(frames))
	for i, f := range frames {
		bs[i] = f.b
	}
	if err := o.InjectMany(1, bs); err != nil {
		t.Fatal(err)
	}
	if err := o.WaitProcessed(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	keys, err := o.MissKeys()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != len(frames) {
		t.Fatalf("OVS logged %d upcalls for %d frames", len(keys), len(frames))
	}
	for i, f := range frames {
		var k Key
		Extract(f.b, 1, &k)
		a := ovsPacketAttrs(&k)
		if got := FormatKey(&k, &a); got != keys[i] {
			t.Errorf("%s:\n ours %s\n ovs  %s\n%x", f.name, got, keys[i], f.b)
		}
	}
}

func concat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}
