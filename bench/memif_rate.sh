#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# memif_rate.sh: Tern's forwarding rate over memif against the raw memif rate.
#
# The target is that Tern moves frames over a memif link at 80% or more of
# what a bare DPDK sender/receiver pair (tern-memif-raw) moves over the same
# link. This script runs the raw pair and the Tern link test pair (the
# tern-linktest binary from node/) R times each, interleaved (raw, tern, raw,
# tern, ...) so that a slow period of the machine hits both sides alike, and
# prints the median rate of each and the ratio tern/raw.
#
# Each pair: the receiver (memif server) on lcore 1 starts first and creates
# the socket; then the sender (memif client) on lcore 0 connects. The rate is
# the receiver's, timed from its first frame to its last. The frames are the
# same size on both sides: a Tern frame with a --body-byte body is 74 bytes of
# headers plus the body, and the raw frame is given that length.
#
# Usage: bench/memif_rate.sh [--build DIR] [--runs R] [--count N]
#                            [--body N] [--timeout-ms MS] [--wait-idle S]
#                            [--raw-only] [--json]
#
# Both pairs busy-poll both cores, so anything else that runs on the machine
# during a run (a build, a fuzzer, another DPDK process) takes its time from
# them and the figure is meaningless. The script measures that: the CPU time
# the machine spent during a run minus the CPU time of the pair itself is
# time taken by others; above 5% of a core the run is "disturbed". It warns
# about each disturbed run and counts them ("disturbed_runs" in the JSON).
# With --wait-idle S it also waits up to S seconds for idle CPUs before each
# run and repeats a disturbed run (up to 3 tries), for shared machines.
set -u -o pipefail

build=build
runs=5
count=10000000
body=64
timeout_ms=20000
wait_idle_s=0
json=0
raw_only=0

# Tern headers in front of the body: Ethernet 14 + IPv4 20 + UDP 8 + Tern 32.
tern_hdrs_len=74
# CPU time of other processes during a run, in % of one core, above which the
# run counts as disturbed; and CPU use above which the machine is not idle.
disturbed_max_pct=5
busy_max_pct=10
tries_max=3

usage() {
	sed -n '/^# Usage:/,/^# *$/s/^# \{0,1\}//p' "$0"
}

die() {
	echo "memif_rate: $*" >&2
	exit 1
}

while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=${2:?}; shift 2 ;;
	--runs) runs=${2:?}; shift 2 ;;
	--count) count=${2:?}; shift 2 ;;
	--body) body=${2:?}; shift 2 ;;
	--timeout-ms) timeout_ms=${2:?}; shift 2 ;;
	--wait-idle) wait_idle_s=${2:?}; shift 2 ;;
	--raw-only) raw_only=1; shift ;;
	--json) json=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
for v in "$runs" "$count" "$body" "$timeout_ms" "$wait_idle_s"; do
	case "$v" in
	''|*[!0-9]*) die "not a number: '$v'" ;;
	esac
done
[ "$runs" -ge 1 ] || die "--runs must be at least 1"
frame_len=$((body + tern_hdrs_len))

raw_bin="$build/bench/tern-memif-raw"
linktest_bin="$build/node/tern-linktest"
[ -x "$raw_bin" ] || die "$raw_bin not found (build with -Dbenchmarks=true)"
if [ "$raw_only" -eq 0 ] && [ ! -x "$linktest_bin" ]; then
	echo "memif_rate: $linktest_bin not built; measuring raw memif only" >&2
	raw_only=1
fi

# ---------------------------------------------------------------------------
# How each pair is started. The link test's interface lives here alone, so a
# change to tern-linktest's options is a change to these two functions.
# Each sets cmd=(...); $1 = socket path, $2 = EAL file prefix.

raw_recv_cmd() {
	cmd=("$raw_bin" --role recv --socket "$1" --file-prefix "$2"
		--lcore 1 --count "$count" --size "$frame_len"
		--timeout-ms "$timeout_ms")
}

raw_send_cmd() {
	cmd=("$raw_bin" --role send --socket "$1" --file-prefix "$2"
		--lcore 0 --count "$count" --size "$frame_len"
		--timeout-ms "$timeout_ms")
}

# The link test's worker is the lcore that is not the main one: the receiver
# works on lcore 1, the sender on lcore 0, as the raw pair does.
tern_recv_cmd() {
	cmd=("$linktest_bin" --role recv
		--port "net_memif0,role=server,socket=$1,socket-abstract=no,id=0"
		--file-prefix "$2" --lcores '0,1' --main-lcore 0
		--count "$count" --size "$body" --idle busy --json)
}

tern_send_cmd() {
	cmd=("$linktest_bin" --role send
		--port "net_memif0,role=client,socket=$1,socket-abstract=no,id=0"
		--file-prefix "$2" --lcores '0,1' --main-lcore 1
		--count "$count" --size "$body" --idle busy --json)
}
# ---------------------------------------------------------------------------

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tern-memif-rate.XXXXXX") ||
	die "cannot create a temporary directory"
children=()
prefixes=()
pair_rate=
pair_others_pct=
disturbed_runs=0
clk_tck=$(getconf CLK_TCK)

# DPDK keeps per-prefix runtime files; ours are removed with the rest.
dpdk_runtime_dir() {
	if [ "$(id -u)" -eq 0 ]; then
		echo "/var/run/dpdk/$1"
	else
		echo "${XDG_RUNTIME_DIR:-/tmp}/dpdk/$1"
	fi
}

cleanup() {
	local pid p
	for pid in "${children[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${children[@]}"; do
		wait "$pid" 2>/dev/null
	done
	for p in "${prefixes[@]}"; do
		rm -rf "$(dpdk_runtime_dir "$p")"
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Busy (non-idle) CPU time of the whole machine so far, in clock ticks.
machine_busy_ticks() {
	local -a c
	read -r -a c </proc/stat
	# user nice system idle iowait irq softirq steal; guest is inside user.
	echo $((c[1] + c[2] + c[3] + c[6] + c[7] + c[8]))
}

# CPU time of this shell's finished children (cutime + cstime), in ticks.
# Every program of a run is a waited-for descendant, so it is all in here.
children_ticks() {
	local stat rest
	local -a f
	stat=$(</proc/$$/stat)
	rest=${stat##*) }
	read -r -a f <<<"$rest"
	echo $((f[13] + f[14]))
}

# Percentage of CPU time not idle across all CPUs over half a second.
cpu_busy_pct() {
	local b0 b1 t0 t1
	local -a c
	read -r -a c </proc/stat
	b0=$((c[1] + c[2] + c[3] + c[6] + c[7] + c[8]))
	t0=$((b0 + c[4] + c[5]))
	sleep 0.5
	read -r -a c </proc/stat
	b1=$((c[1] + c[2] + c[3] + c[6] + c[7] + c[8]))
	t1=$((b1 + c[4] + c[5]))
	if [ $((t1 - t0)) -gt 0 ]; then
		echo $((100 * (b1 - b0) / (t1 - t0)))
	else
		echo 0
	fi
}

wait_for_idle() {
	local start=$SECONDS busy
	busy=$(cpu_busy_pct)
	while [ "$busy" -gt "$busy_max_pct" ] &&
		[ $((SECONDS - start)) -lt "$wait_idle_s" ]; do
		sleep 1
		busy=$(cpu_busy_pct)
	done
}

# Hard stop for one process: the programs' own --timeout-ms handles a silent
# peer; this catches one that hangs before it gets that far.
proc_limit_s=$((timeout_ms * 2 / 1000 + 30))

# run_pair KIND INDEX: one run; sets pair_rate to the receiver's frames/s and
# pair_others_pct to the CPU time others took meanwhile (% of one core), or
# fails. It runs in the main shell (not in $(...)) so that the EXIT trap sees
# the processes it started and children_ticks sees their CPU time.
run_pair() {
	local kind=$1 i=$2
	local sock="$tmp/$kind-$i.sock"
	local rp="tern-rate-$$-$kind-recv-$i" sp="tern-rate-$$-$kind-send-$i"
	local rlog="$tmp/$kind-$i-recv.log" slog="$tmp/$kind-$i-send.log"
	local rpid spid rrc src waited
	local busy0 busy1 ours0 ours1 ns0 ns1
	local -a cmd

	prefixes+=("$rp" "$sp")
	rm -f "$sock"
	busy0=$(machine_busy_ticks)
	ours0=$(children_ticks)
	ns0=$(date +%s%N)

	"${kind}_recv_cmd" "$sock" "$rp"
	timeout -k 5 "$proc_limit_s" "${cmd[@]}" >"$rlog" 2>&1 &
	rpid=$!
	children+=("$rpid")
	# The server creates its socket while the EAL probes its vdev.
	waited=0
	while [ ! -S "$sock" ]; do
		kill -0 "$rpid" 2>/dev/null || break
		[ "$waited" -lt 200 ] || break
		sleep 0.05
		waited=$((waited + 1))
	done
	if [ ! -S "$sock" ]; then
		echo "memif_rate: $kind receiver did not create $sock:" >&2
		cat "$rlog" >&2
		return 1
	fi
	# The socket exists before the server's port is started; a client that
	# connects in that window is turned away, so give the server a moment.
	sleep 0.3

	"${kind}_send_cmd" "$sock" "$sp"
	timeout -k 5 "$proc_limit_s" "${cmd[@]}" >"$slog" 2>&1 &
	spid=$!
	children+=("$spid")
	wait "$spid"
	src=$?
	wait "$rpid"
	rrc=$?
	children=()

	ns1=$(date +%s%N)
	busy1=$(machine_busy_ticks)
	ours1=$(children_ticks)
	pair_others_pct=$(( (busy1 - busy0 - (ours1 - ours0)) * 100 * 1000000000 /
		(clk_tck * (ns1 - ns0)) ))
	[ "$pair_others_pct" -ge 0 ] || pair_others_pct=0
	rm -rf "$(dpdk_runtime_dir "$rp")" "$(dpdk_runtime_dir "$sp")"

	pair_rate=$(grep -o '"frames_per_s":[0-9.eE+]*' "$rlog" | tail -1 |
		cut -d: -f2)
	if [ "$rrc" -ne 0 ] || [ "$src" -ne 0 ] || [ -z "$pair_rate" ]; then
		echo "memif_rate: $kind run $i failed (receiver exit $rrc," \
			"sender exit $src)" >&2
		echo "--- receiver:" >&2
		cat "$rlog" >&2
		echo "--- sender:" >&2
		cat "$slog" >&2
		return 1
	fi
}

# measure KIND INDEX: a run, repeated while disturbed when --wait-idle is set.
measure() {
	local kind=$1 i=$2 try=1
	while :; do
		[ "$wait_idle_s" -eq 0 ] || wait_for_idle
		run_pair "$kind" "$i" || exit 1
		[ "$pair_others_pct" -gt "$disturbed_max_pct" ] || break
		echo "memif_rate: warning: $kind run $i disturbed: other" \
			"processes took ${pair_others_pct}% of a core" >&2
		if [ "$wait_idle_s" -eq 0 ] || [ "$try" -ge "$tries_max" ]; then
			disturbed_runs=$((disturbed_runs + 1))
			break
		fi
		try=$((try + 1))
	done
	[ "$json" -eq 1 ] || printf 'run %d: %-4s %s frames/s (others %d%%)\n' \
		"$i" "$kind" "$pair_rate" "$pair_others_pct" >&2
}

median() {
	tr ' ' '\n' | grep -v '^$' | sort -g | awk '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print "null"; exit }
			if (NR % 2) m = v[(NR + 1) / 2]
			else m = (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf("%.0f\n", m)
		}'
}

raw_rates=()
tern_rates=()
for i in $(seq 1 "$runs"); do
	measure raw "$i"
	raw_rates+=("$pair_rate")
	if [ "$raw_only" -eq 0 ]; then
		measure tern "$i"
		tern_rates+=("$pair_rate")
	fi
done

raw_med=$(echo "${raw_rates[*]}" | median)
if [ "$raw_only" -eq 0 ]; then
	tern_med=$(echo "${tern_rates[*]}" | median)
	ratio=$(awk -v t="$tern_med" -v r="$raw_med" \
		'BEGIN { printf("%.3f\n", (r > 0) ? t / r : 0) }')
else
	tern_med=null
	ratio=null
fi

if [ "$json" -eq 1 ]; then
	join() { local IFS=,; echo "$*"; }
	printf '{"runs":%d,"count":%d,"body_bytes":%d,"frame_bytes":%d,' \
		"$runs" "$count" "$body" "$frame_len"
	printf '"raw_frames_per_s":[%s],"raw_median":%s,' \
		"$(join "${raw_rates[@]}")" "$raw_med"
	printf '"tern_frames_per_s":[%s],"tern_median":%s,"ratio":%s,' \
		"$(join "${tern_rates[@]}")" "$tern_med" "$ratio"
	printf '"disturbed_runs":%d}\n' "$disturbed_runs"
else
	echo "memif rate: $count frames of $frame_len bytes ($body-byte body)," \
		"median of $runs runs"
	printf '%-10s %16s   %s\n' "pair" "median frames/s" "runs"
	printf '%-10s %16s   %s\n' "raw" "$raw_med" "${raw_rates[*]}"
	if [ "$raw_only" -eq 0 ]; then
		printf '%-10s %16s   %s\n' "tern" "$tern_med" "${tern_rates[*]}"
		echo "ratio tern/raw: $ratio (target >= 0.80)"
	else
		echo "ratio tern/raw: n/a (tern-linktest not measured)"
	fi
	if [ "$disturbed_runs" -gt 0 ]; then
		echo "warning: $disturbed_runs runs were disturbed by other" \
			"processes; the figures are not reliable"
	fi
fi
