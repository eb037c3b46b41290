// Package netnstest creates network namespaces and veth pairs for
// privileged tests of packet I/O, and removes them when the test ends.
//
// Every helper skips the test, saying why, unless it runs as root on
// Linux with the ip command (iproute2) on PATH. Namespaces are made with
// `ip netns add` under unique names and deleted in t.Cleanup, also when
// the test fails; processes started in them are killed by PID before that.
// A new namespace has its loopback up and IPv6 off, so that no router or
// multicast listener traffic of the kernel's own disturbs a test that
// counts frames.
//
// Traffic in tests that use this package stays inside the namespaces they
// create: veth pairs whose both ends are in test namespaces, addresses
// given only to those interfaces.
package netnstest
