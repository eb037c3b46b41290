package afpacket_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/dp"
	"github.com/b7cafead/datapath/flow"
	"github.com/b7cafead/datapath/internal/netnstest"
	"github.com/b7cafead/datapath/internal/testpkt"
	"github.com/b7cafead/datapath/io/afpacket"
)

// Two hosts, each in its own namespace, connected through a datapath
// whose two ports are afpacket ports on veths in a third namespace:
//
//	ns1 eth0 (10.231.0.1, eth0.100 10.231.100.1) -- sw1 [dp port 1]
//	ns2 eth0 (10.231.0.2, eth0.100 10.231.100.2) -- sw2 [dp port 2]
//
// The datapath's slow path installs a flow for every miss that sends the
// packet to the other port (matching in_port and eth_dst). Ping, a VLAN
// ping and TCP transfers must then work between the hosts.
func TestDatapathEndToEnd(t *testing.T) {
	sw, ns1, ns2 := netnstest.New(t), netnstest.New(t), netnstest.New(t)
	netnstest.Veth(t, ns1, "eth0", sw, "sw1")
	netnstest.Veth(t, ns2, "eth0", sw, "sw2")
	offloadsOff := false
	if _, err := exec.LookPath("ethtool"); err == nil {
		offloadsOff = true
	}
	for i, ns := range []*netnstest.NS{ns1, ns2} {
		h := strconv.Itoa(i + 1)
		ns.IP("addr", "add", "10.231.0."+h+"/24", "dev", "eth0")
		if offloadsOff {
			// The hosts' frames cross a userspace switch: they must
			// carry their checksums and fit the MTU (see the package
			// documentation).
			ns.Exec("ethtool", "-K", "eth0", "tx", "off", "tso", "off", "gso", "off")
		}
	}
	// VLAN 100 interfaces, where the kernel has 802.1Q support.
	vlanErr := error(nil)
	for i, ns := range []*netnstest.NS{ns1, ns2} {
		if _, vlanErr = ns.TryIP("link", "add", "link", "eth0", "name", "eth0.100", "type", "vlan", "id", "100"); vlanErr != nil {
			break
		}
		ns.IP("addr", "add", "10.231.100."+strconv.Itoa(i+1)+"/24", "dev", "eth0.100")
		ns.IP("link", "set", "eth0.100", "up")
	}

	d := dp.New(dp.Config{Upcall: func(u *dp.Upcall) {
		m := flow.Match{Key: u.Key}
		m.Mask.InPort = ^uint32(0)
		m.Mask.EthDst = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		if _, err := u.Install(m, actions.List{actions.Output(3 - u.InPort)}); err != nil {
			t.Errorf("install for a miss on port %d: %v", u.InPort, err)
		}
	}})
	t.Cleanup(func() { d.Close() })
	ports := []*afpacket.Port{openPort(t, sw, "sw1", afpacket.Config{}), openPort(t, sw, "sw2", afpacket.Config{})}
	for i, p := range ports {
		if _, err := d.AddPort(uint32(i+1), p); err != nil {
			t.Fatal(err)
		}
	}
	d.Start()
	defer func() {
		for _, v := range d.Ports() {
			t.Logf("port %d (%s): datapath %+v, device %+v", v.No(), v.Name(), v.Stats(), v.Device().Stats())
		}
		s := d.Stats()
		t.Logf("datapath: hit %d missed %d lost %d flows %d drops %+v", s.Hit, s.Missed, s.Lost, s.Flows, s.Drops)
		for _, f := range d.Flows() {
			t.Logf("flow %v", f)
		}
	}()

	t.Run("ping", func(t *testing.T) {
		netnstest.RequireCommand(t, "ping", "iputils-ping")
		out, err := ns1.TryExec(30*time.Second, "ping", "-c", "3", "-i", "0.2", "-W", "5", "10.231.0.2")
		if err != nil {
			t.Fatalf("ping from ns1 to ns2 through the datapath failed: %v", err)
		}
		t.Logf("%s", lastLines(out, 2))
	})

	// A tagged frame sent by host 1 reaches host 2 with its tag: the
	// kernel removes it on sw1, port 1 puts it back, the datapath sees
	// VLAN 100, port 2 sends it tagged, and a packet socket on host 2's
	// eth0 finds the tag in the frame's auxiliary data.
	t.Run("vlan-frame", func(t *testing.T) {
		src := openRaw(t, ns1, "eth0")
		dst := openRaw(t, ns2, "eth0").auxdata()
		macOf := func(ns *netnstest.NS) string {
			var mac string
			if err := ns.Do(func() error {
				i, err := net.InterfaceByName("eth0")
				if err == nil {
					mac = i.HardwareAddr.String()
				}
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return mac
		}
		mac1, mac2 := macOf(ns1), macOf(ns2)
		f := testpkt.UDP(testpkt.Frame{Src: mac1, Dst: mac2, VLAN: 100, IPSrc: "10.231.100.1", IPDst: "10.231.100.2",
			SrcPort: 4000, DstPort: 4001, Payload: []byte("tagged end to end")})
		binary.BigEndian.PutUint16(f[14:], 5<<13|100) // priority 5 too
		src.send(f)
		for {
			got, tagged := dst.recvAux(wait)
			if got == nil {
				t.Fatal("host 2 received no tagged frame")
			}
			if !bytes.Contains(got, []byte("tagged end to end")) {
				continue // something else, such as an ARP request
			}
			if !tagged || !bytes.Equal(got, f) {
				t.Fatalf("host 2 received the frame with tag %v: %s\n got % x\nwant % x", tagged, hexDiff(got, f), got[:20], f[:20])
			}
			break
		}
		for _, in := range []string{"in_port(1)"} {
			found := false
			for _, fl := range d.Flows() {
				s := fl.Match().String()
				if strings.Contains(s, in) && strings.Contains(s, "vlan(vid=100") {
					found = true
				}
			}
			if !found {
				t.Errorf("no flow with %s and vlan(vid=100): the datapath did not see the tag", in)
			}
		}
	})

	t.Run("vlan-ping", func(t *testing.T) {
		if vlanErr != nil {
			t.Skipf("skipping: this kernel cannot make VLAN interfaces (no CONFIG_VLAN_8021Q): %v", vlanErr)
		}
		netnstest.RequireCommand(t, "ping", "iputils-ping")
		rx := func() int {
			n, _ := strconv.Atoi(strings.TrimSpace(ns2.Exec("cat", "/sys/class/net/eth0.100/statistics/rx_packets")))
			return n
		}
		before := rx()
		out, err := ns1.TryExec(30*time.Second, "ping", "-c", "3", "-i", "0.2", "-W", "5", "10.231.100.2")
		if err != nil {
			t.Fatalf("ping over VLAN 100 through the datapath failed: %v", err)
		}
		t.Logf("%s", lastLines(out, 2))
		// ns2's VLAN interface received the frames: they left the
		// datapath with their tag.
		if got := rx() - before; got < 3 {
			t.Errorf("eth0.100 in ns2 received %d frames, want at least the 3 echo requests", got)
		}
		// The datapath saw the tag in frames from both sides.
		for _, in := range []string{"in_port(1)", "in_port(2)"} {
			found := false
			for _, f := range d.Flows() {
				s := f.Match().String()
				if strings.Contains(s, in) && strings.Contains(s, "vlan(vid=100") {
					found = true
				}
			}
			if !found {
				t.Errorf("no flow with %s and vlan(vid=100): the datapath did not see the tag", in)
			}
		}
	})

	t.Run("tcp", func(t *testing.T) {
		if !offloadsOff {
			t.Skip("skipping: ethtool not found on PATH (install ethtool) to turn off the hosts' checksum offload")
		}
		var ln net.Listener
		if err := ns2.Do(func() (err error) {
			ln, err = net.Listen("tcp4", "10.231.0.2:0")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		const size = 8 << 20
		deadline := time.Now().Add(60 * time.Second)
		type result struct {
			n   int64
			sum [32]byte
			err error
		}
		done := make(chan result, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				done <- result{err: err}
				return
			}
			defer c.Close()
			c.SetDeadline(deadline)
			h := sha256.New()
			n, err := io.Copy(h, c)
			var r result
			r.n, r.err = n, err
			copy(r.sum[:], h.Sum(nil))
			if err == nil {
				_, r.err = c.Write(r.sum[:])
			}
			done <- r
		}()
		var c net.Conn
		if err := ns1.Do(func() (err error) {
			c, err = net.DialTimeout("tcp4", ln.Addr().String(), 10*time.Second)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(deadline)
		data := make([]byte, size)
		rng := rand.New(rand.NewPCG(21, 22))
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		start := time.Now()
		if _, err := c.Write(data); err != nil {
			t.Fatalf("send: %v", err)
		}
		c.(*net.TCPConn).CloseWrite()
		echo, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("reading the receiver's digest: %v", err)
		}
		r := <-done
		if r.err != nil {
			t.Fatalf("receiver: %v", r.err)
		}
		want := sha256.Sum256(data)
		if r.n != size || r.sum != want || !bytes.Equal(echo, want[:]) {
			t.Fatalf("receiver got %d bytes with digest %x (echoed %x), want %d bytes with %x", r.n, r.sum, echo, size, want)
		}
		el := time.Since(start)
		t.Logf("%d MiB over TCP in %v (%.0f Mbit/s), byte-exact", size>>20, el.Round(time.Millisecond), float64(size)*8/el.Seconds()/1e6)
	})

	t.Run("iperf3", func(t *testing.T) {
		if !offloadsOff {
			t.Skip("skipping: ethtool not found on PATH (install ethtool) to turn off the hosts' checksum offload")
		}
		got := netnstest.Iperf3(t, ns2, ns1, "10.231.0.2", 2)
		t.Logf("iperf3: %.1f MB received in 2 s, %.0f Mbit/s", got.Bytes/1e6, got.BitsPerSecond/1e6)
	})
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
