package flowfile

import (
	"strings"
	"testing"
)

func TestReadFlows(t *testing.T) {
	in := "# comment\n\nin_port(1),eth(),eth_type(0x0800),ipv4() 2\n" +
		"in_port(2),eth(),eth_type(0x0806),arp(), packets:3, bytes:180, used:0.5s, actions:1\n"
	lines, err := Read("f", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || lines[0].No != 3 || lines[1].No != 4 {
		t.Fatalf("got %+v", lines)
	}
	if _, err := Read("f", strings.NewReader("in_port(1)\n")); err == nil || !strings.Contains(err.Error(), "f:1:") {
		t.Errorf("a line without actions: got %v, want an error naming f:1", err)
	}
}
