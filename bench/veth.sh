#!/bin/bash
# veth.sh: packets per second switched between two network namespaces,
# side by side for examples/vswitch (afpacket and afxdp ports), the OVS
# userspace datapath (a private ovsdb-server and ovs-vswitchd,
# datapath_type=netdev) and the Linux bridge.
#
#   ns-a (va) ==veth== (pa) [switch in ns-sw] (pb) ==veth== (vb) ns-b
#
# trafgen, pinned to CPU 0, sends 64-byte UDP frames (60 bytes + FCS)
# from va for DURATION seconds; "sent" is va's tx counter, "delivered" is
# vb's rx counter. The userspace switches (vswitch, ovs-vswitchd) are
# pinned to CPU 1 (SWITCH_CPU); the Linux bridge forwards in the sender's
# softirq on CPU 0. The frames are addressed to a MAC address that vb
# does not own (SINK=otherhost, the default), so ns-b's stack drops them
# on arrival; SINK=host addresses them to vb itself, and then ns-b's
# stack answers each with an ICMP port unreachable attempt, a cost that
# lands on whichever CPU delivers the frame. The bridge is given a static
# forwarding entry for the sink address, so it forwards rather than
# floods. Each result line is followed by the CPU time spent in each mode
# on CPUs 0 and 1 during the run (clock ticks, from /proc/stat).
# Every address is inside the namespaces this script creates; the
# namespaces, the processes it started (by PID) and the temp dir are
# removed on exit, even on failure.
#
# Usage (root): bench/veth.sh [DURATION_SECONDS]   (default 5)
#   SWITCHES="vswitch-afpacket vswitch-afxdp ovs-netdev linux-bridge"
#   selects what to run (default all); SWITCH_CPU=1; SINK=otherhost|host.
# Needs: go, trafgen (netsniff-ng), ovs-vswitchd, ovsdb-server, ethtool,
# bridge (iproute2), taskset (util-linux).
set -u
DUR=${1:-5}
case $DUR in '' | *[!0-9]* | 0) echo "veth.sh: bad duration" >&2; exit 2 ;; esac
[ "$DUR" -le 60 ] || { echo "veth.sh: duration above 60 s" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "veth.sh: must run as root" >&2; exit 2; }
SWITCHES=${SWITCHES:-vswitch-afpacket vswitch-afxdp ovs-netdev linux-bridge}
SWITCH_CPU=${SWITCH_CPU:-1}
SINK=${SINK:-otherhost}
case $SINK in otherhost | host) ;; *) echo "veth.sh: SINK must be otherhost or host" >&2; exit 2 ;; esac
want() { case " $SWITCHES " in *" $1 "*) return 0 ;; esac; return 1; }
for p in go trafgen ovs-vswitchd ovsdb-server ovsdb-tool ovs-vsctl ovs-ofctl ethtool bridge taskset; do
	command -v $p >/dev/null || { echo "veth.sh: $p missing" >&2; exit 2; }
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d /tmp/veth-bench.XXXXXX)
S=$$
NSA=ns-a-$S NSB=ns-b-$S NSW=ns-sw-$S
PIDS=()

cleanup() {
	for pid in "${PIDS[@]}"; do kill -INT "$pid" 2>/dev/null; done
	sleep 0.5
	for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
	for ns in $NSA $NSB $NSW; do ip netns del $ns 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

inA() { ip netns exec $NSA "$@"; }
inB() { ip netns exec $NSB "$@"; }
inW() { ip netns exec $NSW "$@"; }

(cd "$ROOT" && go build -o "$TMP/vswitch" ./examples/vswitch) || exit 1

# Namespaces and veth pairs. IPv6 is off so nothing but trafgen's frames
# cross (no router solicitations, no DAD).
for ns in $NSA $NSB $NSW; do
	ip netns add $ns || exit 1
	ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip netns exec $ns ip link set lo up
done
ip link add va netns $NSA type veth peer name pa netns $NSW || exit 1
ip link add vb netns $NSB type veth peer name pb netns $NSW || exit 1
inA ip addr add 10.99.0.1/24 dev va
inB ip addr add 10.99.0.2/24 dev vb
for i in pa pb; do inW ip link set $i up; done
inA ip link set va up
inB ip link set vb up
# Offloads off on the sending sides (see io/afpacket).
inA ethtool -K va tx off tso off gso off >/dev/null 2>&1
inW ethtool -K pa tx off tso off gso off >/dev/null 2>&1
inW ethtool -K pb tx off tso off gso off >/dev/null 2>&1
MACA=$(inA cat /sys/class/net/va/address)
MACB=$(inB cat /sys/class/net/vb/address)
# The sink address: a locally administered MAC no interface here owns.
[ $SINK = otherhost ] && MACB=02:00:00:00:99:02
inA ip neigh replace 10.99.0.2 lladdr $MACB dev va

# 64-byte frame on the wire: 14 Ethernet + 20 IPv4 + 8 UDP + 18 payload.
cat >"$TMP/frame.cfg" <<EOF
{
  $(echo $MACB | sed 's/^/0x/; s/:/, 0x/g'),
  $(echo $MACA | sed 's/^/0x/; s/:/, 0x/g'),
  0x08, 0x00,
  0x45, 0x00, 0x00, 0x2e, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, csumip(14, 33),
  10, 99, 0, 1,  10, 99, 0, 2,
  0x30, 0x39, 0x30, 0x39, 0x00, 0x1a, 0x00, 0x00,
  fill(0x00, 18),
}
EOF

cnt() { ip netns exec $1 cat /sys/class/net/$2/statistics/$3; }

# run NAME: send for DUR seconds, print sent/delivered/pps.
run() {
	local name=$1 tx0 rx0 tx1 rx1
	sleep 1
	tx0=$(cnt $NSA va tx_packets); rx0=$(cnt $NSB vb rx_packets)
	grep '^cpu[01] ' /proc/stat >"$TMP/stat0"
	# One trafgen process (--cpus 1), on CPU 0.
	inA timeout -s INT $DUR taskset -c 0 trafgen --dev va --conf "$TMP/frame.cfg" --cpus 1 \
		>"$TMP/trafgen-$name.log" 2>&1
	grep '^cpu[01] ' /proc/stat >"$TMP/stat1"
	sleep 1
	tx1=$(cnt $NSA va tx_packets); rx1=$(cnt $NSB vb rx_packets)
	local sent=$((tx1 - tx0)) del=$((rx1 - rx0))
	printf "RESULT %-16s sent %10d delivered %10d delivered_pps %9d\n" $name $sent $del $((del / DUR))
	paste "$TMP/stat0" "$TMP/stat1" | awk '{printf "  %s ticks: user %d sys %d softirq %d idle %d\n", $1, $13-$2, $15-$4, $19-$8, $16-$5}'
	eval "PPS_${name//-/_}=$((del / DUR))"
}

stop_pid() { # stop_pid PID: SIGINT, wait up to 5 s, then SIGKILL
	local pid=$1 i
	kill -INT $pid 2>/dev/null
	for i in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
	kill -KILL $pid 2>/dev/null
	wait $pid 2>/dev/null
}

# (a), (b) examples/vswitch, flows preinstalled both ways.
printf 'in_port(1),eth(),eth_type(0x0800),ipv4() 2\nin_port(2),eth(),eth_type(0x0800),ipv4() 1\n' >"$TMP/flows.txt"
for backend in afpacket afxdp; do
	want vswitch-$backend || continue
	ip netns exec $NSW taskset -c $SWITCH_CPU "$TMP/vswitch" -port $backend:pa -port $backend:pb -flows "$TMP/flows.txt" \
		>"$TMP/vswitch-$backend.out" 2>&1 &
	pid=$!; PIDS+=($pid)
	for i in $(seq 50); do grep -q ready "$TMP/vswitch-$backend.out" && break; sleep 0.1; done
	if ! grep -q ready "$TMP/vswitch-$backend.out"; then
		echo "vswitch $backend did not start:"; cat "$TMP/vswitch-$backend.out"
		stop_pid $pid; continue
	fi
	run vswitch-$backend
	stop_pid $pid
	sed "s/^/  vswitch-$backend: /" "$TMP/vswitch-$backend.out"
done

# (c) OVS userspace datapath, private instance in ns-sw.
if want ovs-netdev; then
O=$TMP/ovs
mkdir -p $O
export OVS_RUNDIR=$O OVS_LOGDIR=$O OVS_DBDIR=$O OVS_SYSCONFDIR=$O
ovsdb-tool create $O/conf.db /usr/share/openvswitch/vswitch.ovsschema >/dev/null
ip netns exec $NSW ovsdb-server --no-chdir --pidfile=$O/db.pid --log-file=$O/db.log \
	--remote=punix:$O/db.sock --unixctl=$O/db.ctl $O/conf.db >/dev/null 2>&1 &
PIDS+=($!)
for i in $(seq 50); do [ -S $O/db.sock ] && break; sleep 0.1; done
VSCTL="ovs-vsctl --db=unix:$O/db.sock --timeout=10"
$VSCTL --no-wait init
ip netns exec $NSW taskset -c $SWITCH_CPU ovs-vswitchd --disable-system --no-chdir --pidfile=$O/vs.pid --log-file=$O/vs.log \
	--unixctl=$O/vs.ctl unix:$O/db.sock >/dev/null 2>&1 &
OVSPID=$!; PIDS+=($OVSPID)
for i in $(seq 50); do [ -S $O/vs.ctl ] && break; sleep 0.1; done
if inW $VSCTL add-br brx -- set bridge brx datapath_type=netdev fail-mode=secure \
	-- add-port brx pa -- set interface pa ofport_request=1 \
	-- add-port brx pb -- set interface pb ofport_request=2 &&
	inW ovs-ofctl add-flow unix:$O/brx.mgmt in_port=1,actions=output:2 &&
	inW ovs-ofctl add-flow unix:$O/brx.mgmt in_port=2,actions=output:1; then
	run ovs-netdev
	inW ovs-appctl -t $O/vs.ctl dpctl/dump-flows 2>&1 | sed 's/^/  ovs dp flow: /'
else
	echo "OVS setup failed"; tail -20 $O/vs.log
fi
inW $VSCTL del-br brx 2>/dev/null
stop_pid $OVSPID
fi

# (d) Linux bridge in ns-sw.
if want linux-bridge; then
inW ip link add brv type bridge
inW ip link set pa master brv
inW ip link set pb master brv
inW ip link set brv up
[ $SINK = otherhost ] && inW bridge fdb add $MACB dev pb master static
run linux-bridge
inW ip link del brv
fi

echo
printf "%-18s %12s %10s %10s\n" backend delivered_pps vs_ovs vs_bridge
for n in vswitch_afpacket vswitch_afxdp ovs_netdev linux_bridge; do
	v=$(eval echo \${PPS_$n:-0})
	o=${PPS_ovs_netdev:-0} b=${PPS_linux_bridge:-0}
	printf "%-18s %12d %10s %10s\n" $n $v \
		$([ $o -gt 0 ] && awk "BEGIN{printf \"%.2f\", $v/$o}" || echo -) \
		$([ $b -gt 0 ] && awk "BEGIN{printf \"%.2f\", $v/$b}" || echo -)
done
