#!/bin/bash
# A local Tern cluster on this machine: N ternd processes joined by a memif
# mesh, each with one more memif port for clients.
#
#   local-cluster.sh up DIR [--nodes N] [--partitions P] [--replication R]
#                           [--durability disk|memory] [--build BUILD]
#                           [--mtu M] [--segment-bytes B]
#   local-cluster.sh status DIR
#   local-cluster.sh down DIR
#   local-cluster.sh client-ports DIR    (the --port list for tern-bench)
#
# DIR holds everything the cluster makes: cluster.ini, the memif sockets
# (DIR/sock), each node's data, log and pid file (DIR/nI), and a record of
# the EAL file prefixes. `down` stops exactly the processes recorded there
# (only while each pid is still the process that was started), removes the
# sockets and EAL runtime dirs, and keeps the data and logs.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

usage() {
	sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2
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
		echo "workers = 1"
		echo "udp_port_base = 7000"
		for ((i = 0; i < nodes; i++)); do
			echo
			echo "[node $i]"
			echo "ipv4 = $(node_ip "$i")"
			echo "mac = $(node_mac "$i")"
			echo "mtu = $mtu"
			port=0
			for ((j = 0; j < nodes; j++)); do
				[ "$j" -eq "$i" ] && continue
				if [ "$i" -lt "$j" ]; then
					k=$(memif "$port" server "$(link_sock "$i" "$j")" "$(node_mac "$i")")
				else
					k=$(memif "$port" client "$(link_sock "$j" "$i")" "$(node_mac "$i")")
				fi
				echo "port = $k"
				echo "route = $j via $port"
				port=$((port + 1))
			done
			echo "port = $(memif "$port" server "$(client_sock "$i")" "$(node_mac "$i")")"
		done
	} >"$dir/cluster.ini"
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
	die "node $i did not open its memif sockets: see $dir/n$i/ternd.log"
}

wait_ready() {
	local i=$1
	for _ in $(seq 200); do
		grep -q "ready" "$dir/n$i/ternd.log" 2>/dev/null && return 0
		alive "$i" || die "node $i exited at start: see $dir/n$i/ternd.log"
		sleep 0.1
	done
	die "node $i not ready after 20 s: see $dir/n$i/ternd.log"
}

start_node() {
	local i=$1 prefix="tern-local-$$-n$1" pid
	mkdir -p "$dir/n$i/data"
	echo "$prefix" >>"$dir/prefixes"
	"$build/node/ternd" --cluster "$dir/cluster.ini" --node "$i" \
		--data-dir "$dir/n$i/data" --file-prefix "$prefix" \
		--segment-bytes "$segment_bytes" \
		>"$dir/n$i/ternd.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid $(starttime "$pid")" >"$dir/n$i/ternd.pid"
}

cmd_up() {
	local i
	[ -x "$build/node/ternd" ] || die "no $build/node/ternd: build first"
	[ -e "$dir/cluster.ini" ] && die "$dir already holds a cluster: 'down' it or pick another DIR"
	mkdir -p "$dir/sock"
	: >"$dir/prefixes"
	echo "$nodes" >"$dir/nodes"
	write_cluster
	for ((i = 0; i < nodes; i++)); do
		start_node "$i"
		wait_sockets "$i"
	done
	for ((i = 0; i < nodes; i++)); do
		wait_ready "$i"
	done
	echo "local-cluster: $nodes nodes up in $dir ($partitions partitions, replication $replication, $durability)"
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
	rm -rf "$dir/sock" "$dir/prefixes" "$dir/nodes" "$dir/cluster.ini"
}

cmd_client_ports() {
	local i n
	n=$(cat "$dir/nodes" 2>/dev/null) || die "no cluster in $dir"
	for ((i = 0; i < n; i++)); do
		echo "--port $(memif "$i" client "$(client_sock "$i")" "02:74:00:00:01:00")"
	done
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$2
shift 2
nodes=3 partitions=6 replication=3 durability=disk mtu=1500
segment_bytes=$((16 << 20)) build="$here/build"
while [ $# -gt 0 ]; do
	case $1 in
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
case $cmd in
up) mkdir -p "$dir"; dir=$(cd "$dir" && pwd); cmd_up ;;
status) cmd_status ;;
down) cmd_down ;;
client-ports) cmd_client_ports ;;
*) usage ;;
esac
