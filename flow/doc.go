// Package flow defines the datapath's flow key, its extraction from packet
// bytes, masks, and the OVS datapath flow text syntax.
//
// A Key holds the header fields a datapath flow can match, laid out as a
// fixed-size comparable struct so that masking, hashing and comparison are
// word operations and a Key can be used as a Go map key. A mask is a Key
// whose set bits mark the bits that matter. Extract fills a Key from a
// frame without allocating and never panics: on malformed or truncated
// input it stops at the last valid layer, leaving the deeper fields zero,
// as Open vSwitch's flow extraction does.
//
// Parse and Format read and write the flow syntax of ovs-dpctl and
// ovs-appctl dpctl/*, for example
//
//	in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=1000,dst=2000)
//
// with "value/mask" forms for partial matches and omitted fields or
// attributes meaning wildcards. ParseKey reads the same syntax without the
// rules a datapath applies to the flows it accepts, and FormatKey writes a
// key without a mask, every field of each attribute present, as OVS prints
// the keys of packets.
package flow
