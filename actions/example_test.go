package actions_test

import (
	"fmt"

	"github.com/b7cafead/datapath/actions"
)

// Parse an action list in ovs-dpctl syntax and print it back.
func ExampleParse() {
	l, err := actions.Parse("set(ipv4(ttl=63)),2,set(udp(dst=5353)),3")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range l {
		fmt.Println(a.Type, a.String())
	}
	fmt.Println(l)
	// Output:
	// set_masked set(ipv4(ttl=63))
	// output 2
	// set_masked set(udp(dst=5353))
	// output 3
	// set(ipv4(ttl=63)),2,set(udp(dst=5353)),3
}

// Parse a list with nested actions and ask whether the datapath can run it.
func ExampleList_Validate() {
	l, err := actions.Parse("push_vlan(vid=10,pcp=0),dec_ttl(le_1(userspace(pid=1,slow_path(match)))),ct(commit),2")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(l)
	fmt.Println(l.Validate())
	// Output:
	// push_vlan(vid=10,pcp=0),dec_ttl(le_1(userspace(pid=1,slow_path(match)))),ct(commit),2
	// actions: ct is not implemented
}
