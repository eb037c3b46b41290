package afxdp

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/b7cafead/datapath/actions"
	"github.com/b7cafead/datapath/dp"
	"github.com/b7cafead/datapath/flow"
)

// Two namespaces, each behind a veth pair whose host end is an afxdp port
// of one datapath; flows forward port 1 to 2 and back; ping crosses it.
func TestDatapathPing(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("ping"); err != nil {
		t.Skip("needs ping (iputils-ping)")
	}
	nsA, nsB := newNetns(t), newNetns(t)
	hostA, peerA := newVeth(t, nsA)
	hostB, peerB := newVeth(t, nsB)
	// Addresses exist only inside the two namespaces made here.
	run(t, "ip", "-n", nsA, "addr", "add", "10.199.77.1/24", "dev", peerA)
	run(t, "ip", "-n", nsB, "addr", "add", "10.199.77.2/24", "dev", peerB)

	d := dp.New(dp.Config{})
	t.Cleanup(func() { d.Close() })
	for no, host := range map[uint32]string{1: hostA, 2: hostB} {
		p, err := Open(host, Config{})
		if err != nil {
			t.Fatalf("Open(%s): %v", host, err)
		}
		if _, err := d.AddPort(no, p); err != nil {
			p.Close()
			t.Fatal(err)
		}
	}
	for _, f := range [][2]string{
		{"in_port(1),eth_type(0x0806),arp()", "2"}, {"in_port(2),eth_type(0x0806),arp()", "1"},
		{"in_port(1),eth_type(0x0800),ipv4(frag=no)", "2"}, {"in_port(2),eth_type(0x0800),ipv4(frag=no)", "1"},
	} {
		m, err := flow.Parse(f[0])
		if err != nil {
			t.Fatal(err)
		}
		acts, err := actions.Parse(f[1])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.PutFlow(m, acts, dp.PutCreate); err != nil {
			t.Fatal(err)
		}
	}
	d.Start()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", "netns", "exec", nsA,
		"ping", "-c", "3", "-i", "0.2", "-W", "2", "10.199.77.2").CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("ping from %s to %s through the datapath: %v", nsA, nsB, err)
	}
	for no := uint32(1); no <= 2; no++ {
		st := d.Port(no).Stats()
		t.Logf("port %d: %+v", no, st)
		if st.RxPackets < 3 || st.TxPackets < 3 {
			t.Errorf("port %d moved too little: %+v", no, st)
		}
	}
}
