#!/bin/bash
# A local Tern cluster on this machine: N ternd processes joined by a memif
# mesh, each with one more memif port for clients (--transport memif), or
# each in its own network namespace with AF_XDP (--transport afxdp) or
# AF_PACKET (--transport afpacket) on a veth whose other end is on a Linux
# bridge, with a client namespace on the same bridge where kernel UDP
# clients run; or a mesh of virtio-user / vhost-user links (--transport
# virtio, the pair a node meets in a VM), with hugepages reserved by `up`
# and given back by `down`.
#
#   local-cluster.sh up DIR [--nodes N] [--partitions P] [--replication R]
#                           [--durability disk|memory] [--build BUILD]
#                           [--mtu M] [--segment-bytes B]
#                           [--transport memif|afxdp|afpacket|virtio]
#                           [--workers W]
#                           [--ternd-args ARGS]
#   local-cluster.sh status DIR
#   local-cluster.sh stop-node DIR I | kill-node DIR I | start-node DIR I
#   local-cluster.sh down DIR
#   local-cluster.sh client-ports DIR    (memif: tern-bench's --port list)
#   local-cluster.sh client-exec DIR CMD...  (afxdp, afpacket: run in the
#                                             client's
#                                             namespace, as 10.77.0.200)
#
# DIR holds everything the cluster makes: cluster.ini, the memif sockets
# (DIR/sock), each node's data, log and pid file (DIR/nI), and records of
# the EAL file prefixes and network namespaces. `down` stops exactly the
# processes recorded there (only while each pid is still the process that
# was started), removes the sockets, namespaces (with their veths and the
# bridge), hugepage files and mount, and EAL runtime dirs, restores the
# hugepage count, and keeps the data and logs.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

usage() {
	sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

die() {
	echo "local-cluster: $*" >&2
	exit 1
}

node_mac() { printf '02:74:00:00:00:%02x' "$1"; }
node_ip() { echo "10.77.0.$(($1 + 1))"; }

# The memif link between nodes i < j: node i serves, node j connects.
link_sock() { echo "$dir/sock/$1-$2.sock"; }
client_sock() { echo "$dir/sock/c$1.sock"; }

memif() { # index role socket mac
	echo "net_memif$1,role=$2,socket=$3,socket-abstract=no,id=0,mac=$4"
}

# A point-to-point port: memif, or virtio (the server end a vhost-user
# backend, the client end virtio-user, as in a VM).
link_port() { # index role socket mac
	if [ "$transport" = virtio ]; then
		if [ "$2" = server ]; then
			echo "net_vhost$1,iface=$3,queues=$workers"
		else
			echo "net_virtio_user$1,path=$3,queues=$workers"
		fi
	else
		memif "$@"
	fi
}

# virtio-user shares its memory with vhost through hugepage files: each
# ternd, and a DPDK client, needs this many 2 MiB pages.
HUGE_PER_PROCESS=128
HUGE_SYSFS=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages

# Reserve hugepages for the nodes and one client, and mount hugetlbfs in
# DIR/huge; `down` gives both back.
hugepages_up() {
	local want=$(((nodes + 1) * HUGE_PER_PROCESS)) nr free
	[ -w "$HUGE_SYSFS" ] || die "virtio needs 2 MiB hugepages ($HUGE_SYSFS)"
	nr=$(cat "$HUGE_SYSFS")
	free=$(cat "${HUGE_SYSFS%nr_hugepages}free_hugepages")
	echo "$nr" >"$dir/hugepages_nr"
	if [ "$free" -lt "$want" ]; then
		echo $((nr + want - free)) >"$HUGE_SYSFS"
		free=$(cat "${HUGE_SYSFS%nr_hugepages}free_hugepages")
		[ "$free" -ge "$want" ] ||
			die "could reserve only $free of $want free 2 MiB hugepages"
	fi
	mkdir -p "$dir/huge"
	mount -t hugetlbfs -o pagesize=2M,mode=0700 nodev "$dir/huge" ||
		die "cannot mount hugetlbfs on $dir/huge"
	echo "--hugepages --single-file-segments --huge-dir $dir/huge" >"$dir/huge_args"
}

hugepages_down() {
	[ -f "$dir/huge_args" ] || return 0
	rm -f "$dir/huge"/* 2>/dev/null
	mountpoint -q "$dir/huge" && umount "$dir/huge"
	rmdir "$dir/huge" 2>/dev/null
	[ -f "$dir/hugepages_nr" ] && cat "$dir/hugepages_nr" >"$HUGE_SYSFS"
	rm -f "$dir/huge_args" "$dir/hugepages_nr"
}

write_cluster() {
	local n i j k port
	{
		echo "# Written by scripts/local-cluster.sh"
		echo "[cluster]"
		echo "epoch = 1"
		echo "topic = bench"
		echo "partitions = $partitions"
		echo "replication = $replication"
		echo "durability = $durability"
		echo "workers = $workers"
		echo "udp_port_base = 7000"
		for ((i = 0; i < nodes; i++)); do
			echo
			echo "[node $i]"
			echo "ipv4 = $(node_ip "$i")"
			echo "mtu = $mtu"
			echo "control = 127.0.0.1:$((control_base + i))"
			if [ "$transport" = afxdp ] || [ "$transport" = afpacket ]; then
				if [ "$transport" = afxdp ]; then
					echo "port = net_af_xdp0,iface=$(veth_node "$i"),start_queue=0,queue_count=1"
				else
					# Static MACs: a worker learns from ARP only what
					# reaches its own queue, and AF_PACKET puts it all
					# on one (the veth's MAC is set to this at up).
					echo "mac = $(node_mac "$i")"
					echo "port = net_af_packet0,iface=$(veth_node "$i"),qpairs=$workers"
				fi
				for ((j = 0; j < nodes; j++)); do
					[ "$j" -ne "$i" ] && echo "route = $j via 0"
				done
				continue
			fi
			# virtio: each link's ports have their own MACs (vhost's
			# are fixed by the PMD), so nodes find each other by ARP.
			[ "$transport" = memif ] && echo "mac = $(node_mac "$i")"
			port=0
			for ((j = 0; j < nodes; j++)); do
				[ "$j" -eq "$i" ] && continue
				if [ "$i" -lt "$j" ]; then
					k=$(link_port "$port" server "$(link_sock "$i" "$j")" "$(node_mac "$i")")
				else
					k=$(link_port "$port" client "$(link_sock "$j" "$i")" "$(node_mac "$i")")
				fi
				echo "port = $k"
				echo "route = $j via $port"
				port=$((port + 1))
			done
			echo "port = $(link_port "$port" server "$(client_sock "$i")" "$(node_mac "$i")")"
		done
	} >"$dir/cluster.ini"
}

# afxdp: names from a tag recorded at `up` (interface names <= 15 bytes).
tag() { cat "$dir/tag"; }
ns_node() { echo "$(tag)-n$1"; }
ns_switch() { echo "$(tag)-sw"; }
ns_client() { echo "$(tag)-c"; }
veth_node() { echo "$(tag)n$1"; }

netns_add() {
	echo "$1" >>"$dir/netns"
	ip netns add "$1"
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 >/dev/null
	ip -n "$1" link set lo up
}

# A veth from namespace ns (interface name) to the bridge in the switch.
veth_to_bridge() { # ns name bridge-side-name
	ip link add "$2" netns "$1" type veth peer name "$3" netns "$(ns_switch)"
	ip -n "$1" link set "$2" mtu "$mtu" up
	ip -n "$(ns_switch)" link set "$3" mtu "$mtu" master br0 up
	# Complete UDP checksums: frames leave the kernel for DPDK.
	ip netns exec "$1" ethtool -K "$2" tx off >/dev/null 2>&1 || true
}

make_bridge() {
	local i
	echo "tl$(($$ % 100000))" >"$dir/tag"
	: >"$dir/netns"
	netns_add "$(ns_switch)"
	ip -n "$(ns_switch)" link add br0 type bridge
	ip -n "$(ns_switch)" link set br0 up
	for ((i = 0; i < nodes; i++)); do
		netns_add "$(ns_node "$i")"
		veth_to_bridge "$(ns_node "$i")" "$(veth_node "$i")" "$(tag)b$i"
		[ "$transport" = afpacket ] &&
			ip -n "$(ns_node "$i")" link set "$(veth_node "$i")" \
				address "$(node_mac "$i")"
		# One queue: the af_xdp port uses queue 0 only.
		ip netns exec "$(ns_node "$i")" ethtool -L "$(veth_node "$i")" \
			rx 1 tx 1 >/dev/null 2>&1 || true
	done
	netns_add "$(ns_client)"
	veth_to_bridge "$(ns_client)" "$(tag)c" "$(tag)bc"
	ip -n "$(ns_client)" addr add 10.77.0.200/24 dev "$(tag)c"
}

# ternd's lcores: with W > 1 workers, a main lcore and W worker lcores,
# each free to run on any CPU (ternd's default is one floating lcore).
lcores_arg() {
	local cpus w list
	[ "$workers" -gt 1 ] || return 0
	cpus="0-$(($(nproc) - 1))"
	list="0@($cpus)"
	for ((w = 1; w <= workers; w++)); do
		list="$list,$w@($cpus)"
	done
	echo "--lcores $list"
}

starttime() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	stat=${stat##*) }
	echo "$stat" | cut -d' ' -f20
}

alive() { # node
	local f="$dir/n$1/ternd.pid" pid start
	[ -f "$f" ] || return 1
	read -r pid start <"$f"
	[ -n "$pid" ] && [ "$(starttime "$pid")" = "$start" ]
}

# Waits until node i's server sockets exist (its clients may connect then).
wait_sockets() {
	local i=$1 j
	for _ in $(seq 100); do
		local missing=0
		for ((j = i + 1; j < nodes; j++)); do
			[ -S "$(link_sock "$i" "$j")" ] || missing=1
		done
		[ -S "$(client_sock "$i")" ] || missing=1
		[ "$missing" -eq 0 ] && return 0
		alive "$i" || die "node $i exited at start: see $dir/n$i/ternd.log"
		sleep 0.1
	done
	die "node $i did not open its sockets: see $dir/n$i/ternd.log"
}

# Waits for node i's log to hold more "ready" lines than `before`.
wait_ready_count() {
	local i=$1 before=$2
	for _ in $(seq 200); do
		[ "$(grep -c "ready" "$dir/n$i/ternd.log" 2>/dev/null)" -gt "$before" ] && return 0
		alive "$i" || die "node $i exited at start: see $dir/n$i/ternd.log"
		sleep 0.1
	done
	die "node $i not ready after 20 s: see $dir/n$i/ternd.log"
}

start_node() {
	local i=$1 prefix="tern-local-$$-n$1" pid
	mkdir -p "$dir/n$i/data"
	echo "$prefix" >>"$dir/prefixes"
	local netns=()
	# The control listener stays here, where ternctl reaches it; the
	# node's ports are in its namespace.
	[ -f "$dir/tag" ] && netns=(--netns "$(ns_node "$i")")
	# shellcheck disable=SC2086 # ternd_args are words
	# The build `up` was given: start-node runs without --build.
	"$(cat "$dir/build")/node/ternd" "${netns[@]}" --cluster "$dir/cluster.ini" --node "$i" \
		--data-dir "$dir/n$i/data" --file-prefix "$prefix" \
		--segment-bytes "$(cat "$dir/segment_bytes")" $(cat "$dir/ternd_args") \
		>>"$dir/n$i/ternd.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid $(starttime "$pid")" >"$dir/n$i/ternd.pid"
}

# The first of N consecutive loopback TCP ports nobody listens on, for the
# nodes' control planes; searched from a point that depends on DIR, so
# that clusters started at once rarely race for the same ports.
free_control_base() {
	local n=$1 base p busy
	base=$((17100 + $(echo "$dir" | cksum | cut -d' ' -f1) % 400 * 64))
	busy=$(ss -Hltn | awk '{ n = split($4, a, ":"); print a[n] }')
	for ((; base < 65000; base += 64)); do
		for ((p = base; p < base + n; p++)); do
			grep -qx "$p" <<<"$busy" && continue 2
		done
		echo "$base"
		return
	done
	die "no $n free TCP ports for the control planes"
}

cmd_up() {
	local i
	[ -x "$build/node/ternd" ] || die "no $build/node/ternd: build first"
	[ -e "$dir/cluster.ini" ] && die "$dir already holds a cluster: 'down' it or pick another DIR"
	mkdir -p "$dir/sock"
	: >"$dir/prefixes"
	echo "$nodes" >"$dir/nodes"
	echo "$segment_bytes" >"$dir/segment_bytes"
	echo "$build" >"$dir/build"
	echo "$transport" >"$dir/transport"
	[ "$transport" = virtio ] && hugepages_up
	echo "$(lcores_arg) $(cat "$dir/huge_args" 2>/dev/null) $ternd_args" >"$dir/ternd_args"
	ulimit -l unlimited 2>/dev/null || true # AF_XDP UMEMs
	{ [ "$transport" = afxdp ] || [ "$transport" = afpacket ]; } && make_bridge
	control_base=$(free_control_base "$nodes")
	write_cluster
	for ((i = 0; i < nodes; i++)); do
		start_node "$i"
		{ [ "$transport" = memif ] || [ "$transport" = virtio ]; } && wait_sockets "$i"
	done
	for ((i = 0; i < nodes; i++)); do
		wait_ready_count "$i" 0
	done
	echo "local-cluster: $nodes nodes up in $dir ($transport, $partitions partitions, replication $replication, $durability)"
}

cmd_status() {
	local i n rc=0
	n=$(cat "$dir/nodes" 2>/dev/null) || die "no cluster in $dir"
	for ((i = 0; i < n; i++)); do
		if alive "$i"; then
			echo "node $i: running (pid $(cut -d' ' -f1 "$dir/n$i/ternd.pid"))"
		else
			echo "node $i: stopped"
			rc=3
		fi
	done
	return $rc
}

cmd_down() {
	local i n pid start
	n=$(cat "$dir/nodes" 2>/dev/null) || die "no cluster in $dir"
	# All at once: every node stops polling before any closes its links.
	for ((i = 0; i < n; i++)); do
		if alive "$i"; then
			read -r pid start <"$dir/n$i/ternd.pid"
			kill -TERM "$pid" 2>/dev/null || true
		fi
	done
	for ((i = 0; i < n; i++)); do
		for _ in $(seq 100); do
			alive "$i" || break
			sleep 0.1
		done
		if alive "$i"; then
			read -r pid start <"$dir/n$i/ternd.pid"
			echo "local-cluster: node $i ignored SIGTERM for 10 s: killing it" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
		rm -f "$dir/n$i/ternd.pid"
	done
	while read -r prefix; do
		[ -n "$prefix" ] && rm -rf "/var/run/dpdk/$prefix"
	done <"$dir/prefixes"
	if [ -f "$dir/netns" ]; then
		while read -r ns; do
			[ -n "$ns" ] && ip netns delete "$ns" 2>/dev/null
		done <"$dir/netns"
	fi
	hugepages_down
	rm -rf "$dir/sock" "$dir/prefixes" "$dir/nodes" "$dir/cluster.ini" \
		"$dir/netns" "$dir/tag" "$dir/segment_bytes" "$dir/ternd_args" \
		"$dir/build" "$dir/transport"
}

# signal_node I SIGNAL: sends SIGNAL to node I's ternd; true once it has
# gone, false when it still runs 10 s later.
signal_node() {
	local i=$1 pid start
	alive "$i" || die "node $i is not running"
	read -r pid start <"$dir/n$i/ternd.pid"
	kill "-$2" "$pid"
	for _ in $(seq 100); do
		alive "$i" || return 0
		sleep 0.1
	done
	return 1
}

# Stops one node (SIGTERM, as down does) and leaves the rest running.
cmd_stop_node() {
	signal_node "$1" TERM && return 0
	signal_node "$1" KILL || true
	die "node $1 ignored SIGTERM for 10 s: killed"
}

# A crash: SIGKILL, nothing flushed or closed.
cmd_kill_node() {
	signal_node "$1" KILL || die "node $1 outlived SIGKILL for 10 s"
}

cmd_start_node() {
	local i=$1 j
	alive "$i" && die "node $i is running"
	nodes=$(cat "$dir/nodes")
	# A node killed (kill-node) left the sockets it serves behind.
	rm -f "$(client_sock "$i")"
	for ((j = i + 1; j < nodes; j++)); do rm -f "$(link_sock "$i" "$j")"; done
	start_node "$i"
	wait_ready_count "$i" "$(grep -c "ready" "$dir/n$i/ternd.log")"
}

cmd_client_exec() {
	[ -f "$dir/tag" ] || die "client-exec needs --transport afxdp or afpacket"
	exec ip netns exec "$(ns_client)" "$@"
}

cmd_client_ports() {
	local i n
	n=$(cat "$dir/nodes" 2>/dev/null) || die "no cluster in $dir"
	[ -f "$dir/tag" ] && die "client-ports is for memif clusters; use client-exec with an afxdp or afpacket one"
	if [ "$(cat "$dir/transport" 2>/dev/null)" = virtio ]; then
		cat "$dir/huge_args"
		for ((i = 0; i < n; i++)); do
			echo "--port net_virtio_user$i,path=$(client_sock "$i"),queues=1"
		done
		return
	fi
	for ((i = 0; i < n; i++)); do
		echo "--port $(memif "$i" client "$(client_sock "$i")" "02:74:00:00:01:00")"
	done
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$2
shift 2
nodes=3 partitions=6 replication=3 durability=disk mtu=1500 workers=1
segment_bytes=$((16 << 20)) build="$here/build" transport=memif ternd_args=""
case $cmd in
stop-node | kill-node | start-node)
	[ $# -eq 1 ] || usage
	node=$1
	shift
	;;
client-exec)
	[ $# -ge 1 ] || usage
	cmd_client_exec "$@"
	;;
esac
while [ $# -gt 0 ]; do
	case $1 in
	--transport) transport=$2 ;;
	--ternd-args) ternd_args=$2 ;;
	--workers) workers=$2 ;;
	--nodes) nodes=$2 ;;
	--partitions) partitions=$2 ;;
	--replication) replication=$2 ;;
	--durability) durability=$2 ;;
	--build) build=$(cd "$2" && pwd) ;;
	--mtu) mtu=$2 ;;
	--segment-bytes) segment_bytes=$2 ;;
	*) usage ;;
	esac
	shift 2
done
case $transport in memif | afxdp | afpacket | virtio) ;; *) die "--transport: memif, afxdp, afpacket or virtio" ;; esac
[ "$transport" = virtio ] && [ "$workers" -gt 1 ] &&
	die "--transport virtio runs one worker a node (nodes find each other by ARP, which a worker learns on its own queue only)"
[ "$transport" = afxdp ] && [ "$workers" -gt 1 ] &&
	die "--transport afxdp runs one worker a node (one queue a veth); use afpacket or memif for more"
case $cmd in
up) mkdir -p "$dir"; dir=$(cd "$dir" && pwd); cmd_up ;;
status) cmd_status ;;
down) cmd_down ;;
stop-node) cmd_stop_node "$node" ;;
kill-node) cmd_kill_node "$node" ;;
start-node) cmd_start_node "$node" ;;
client-ports) cmd_client_ports ;;
*) usage ;;
esac
