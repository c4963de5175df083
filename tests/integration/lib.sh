# Shared helpers for Tern's integration tests (sourced by each test script).
#
# Every test drives two tern-linktest processes over a real DPDK virtual link
# and judges their JSON summaries. These helpers give each run:
#
# - a unique name, ternit-<pid>, used for network namespaces, interfaces, EAL
#   file prefixes and the temp dir, so parallel or leftover runs never collide;
# - a cleanup registry: everything a test creates (processes, namespaces,
#   links, files, a hugetlbfs mount, a changed hugepage count, EAL file
#   prefixes) is written to a state file *before* it is created, and is undone
#   on EXIT, INT and TERM, also when the test fails. On INT/TERM the cleanup
#   runs in its own session, so the SIGKILL that meson sends to the test's
#   process group 0.5 s after a timeout's SIGTERM cannot cut it short;
# - a sweep of leftovers: state dirs of earlier runs whose shell is gone (a
#   run killed with SIGKILL) are cleaned up when the next test starts.
#
# Processes are only ever killed by the pid recorded here, and only while that
# pid still has the start time recorded with it (pids get reused).
#
# Exit codes follow meson: 0 pass, 1 fail, 77 skip (only when a kernel
# feature is truly missing, with the reason printed).
#
# This file is also executable on its own: `bash lib.sh --cleanup DIR` undoes
# what the state file in DIR records; the detached cleanup uses that.

set -u -o pipefail

TERNIT_LIB=$(readlink -f "${BASH_SOURCE[0]}")
TERNIT_TMPROOT=${TMPDIR:-/tmp}
TERNIT_HUGE_SYSFS=/sys/kernel/mm/hugepages/hugepages-2048kB

# ---------------------------------------------------------------------------
# Cleanup registry.

# Prints the start time (clock ticks since boot) of a pid, or nothing.
ternit_starttime() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	# Skip "pid (comm) " first: comm may contain spaces.
	stat=${stat##*) }
	echo "$stat" | cut -d' ' -f20
}

# Kills one recorded process (TERM, then KILL after 5 s) if it is still the
# same process. Reaps it when it is our child.
ternit_kill_recorded() {
	local pid=$1 start=$2
	[ "$(ternit_starttime "$pid")" = "$start" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 50); do
		[ "$(ternit_starttime "$pid")" = "$start" ] || break
		# A zombie child keeps its pid until reaped: reap it.
		if grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; then
			wait "$pid" 2>/dev/null
			break
		fi
		sleep 0.1
	done
	if [ "$(ternit_starttime "$pid")" = "$start" ] &&
	   ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		sleep 0.2
	fi
	wait "$pid" 2>/dev/null
	return 0
}

# ternit_cleanup_dir DIR [sweep]: undoes everything recorded in DIR/state, in dependency order: local clusters and processes
# first (they hold sockets, hugepages and XDP programs), then files, mounts,
# the hugepage count, namespaces, links, EAL runtime dirs, and DIR itself.
ternit_cleanup_dir() {
	local dir=$1 state=$1/state kind a b
	if [ -f "$state" ]; then
		# A local cluster stops its own processes (by their recorded
		# pids and start times) and removes its sockets and prefixes.
		while IFS=$'\t' read -r kind a b; do
			[ "$kind" = cluster ] && [ -f "$b/nodes" ] &&
				bash "$a" down "$b" >/dev/null 2>&1
		done < "$state"
		while IFS=$'\t' read -r kind a b; do
			[ "$kind" = pid ] && ternit_kill_recorded "$a" "$b"
		done < "$state"
		while IFS=$'\t' read -r kind a b; do
			case $kind in
			file) rm -f -- "$a" ;;
			hugefiles)
				# Only files of our own EAL prefix, in a hugetlbfs dir.
				[ -n "$b" ] && rm -f -- "$a/$b"* ;;
			esac
		done < "$state"
		while IFS=$'\t' read -r kind a b; do
			[ "$kind" = mount ] || continue
			if mountpoint -q "$a" 2>/dev/null; then
				umount "$a" 2>/dev/null || umount -l "$a" 2>/dev/null
			fi
		done < "$state"
		while IFS=$'\t' read -r kind a b; do
			[ "$kind" = hugepages ] || continue
			# a: sysfs nr_hugepages file, b: its value before the test.
			[ "$(cat "$a" 2>/dev/null)" = "$b" ] || echo "$b" > "$a" 2>/dev/null
		done < "$state"
		while IFS=$'\t' read -r kind a b; do
			[ "$kind" = netns ] || continue
			ip netns list 2>/dev/null | grep -qw -- "$a" &&
				ip netns delete "$a" 2>/dev/null
		done < "$state"
		while IFS=$'\t' read -r kind a b; do
			[ "$kind" = link ] || continue
			ip link show dev "$a" >/dev/null 2>&1 &&
				ip link delete dev "$a" 2>/dev/null
		done < "$state"
		while IFS=$'\t' read -r kind a b; do
			[ "$kind" = prefix ] || continue
			[ -n "$a" ] && rm -rf -- "/var/run/dpdk/$a"
		done < "$state"
	fi
	# TERN_IT_KEEP=1 keeps the logs (the dir is swept by a later run).
	[ "${TERN_IT_KEEP:-0}" = 1 ] && [ "${2:-}" != sweep ] &&
		{ echo "kept $dir" >&2; return 0; }
	case $dir in
	"$TERNIT_TMPROOT"/ternit-*) rm -rf -- "$dir" ;;
	esac
}

# Cleans up after earlier runs whose shell no longer exists.
ternit_sweep() {
	local d pid
	for d in "$TERNIT_TMPROOT"/ternit-*.*; do
		[ -d "$d" ] || continue
		pid=${d##*/ternit-}
		pid=${pid%%.*}
		case $pid in '' | *[!0-9]*) continue ;; esac
		[ "$pid" = "$$" ] && continue
		kill -0 "$pid" 2>/dev/null && continue
		echo "note: cleaning up leftovers of run $pid ($d)" >&2
		ternit_cleanup_dir "$d" sweep
	done
}

# Appends one entry to the registry: lib_register KIND A [B].
lib_register() {
	printf '%s\t%s\t%s\n' "$1" "$2" "${3:-}" >> "$TERNIT_DIR/state"
}

ternit_on_exit() {
	local rc=$?
	trap - EXIT INT TERM
	ternit_cleanup_dir "$TERNIT_DIR"
	exit "$rc"
}

ternit_on_signal() {
	trap - EXIT INT TERM
	echo "interrupted by SIG$1: cleaning up in the background" >&2
	setsid -f bash "$TERNIT_LIB" --cleanup "$TERNIT_DIR" \
		</dev/null >/dev/null 2>&1
	[ "$1" = INT ] && exit 130
	exit 143
}

if [ "${1:-}" = --cleanup ] && [ "${BASH_SOURCE[0]}" = "$0" ]; then
	trap '' INT TERM HUP
	ternit_cleanup_dir "$2"
	exit 0
fi

# ---------------------------------------------------------------------------
# Messages and verdicts.

TERNIT_TEST=$(basename "$0" .sh)

lib_log() {
	echo "[$TERNIT_TEST] $*" >&2
}

# Prints the tail of every process log, to explain a failure.
lib_dump_logs() {
	local f
	for f in "$TERNIT_DIR"/*.out "$TERNIT_DIR"/*.err; do
		[ -s "$f" ] || continue
		echo "----- ${f##*/} (last 25 lines) -----" >&2
		tail -n 25 "$f" >&2
	done
}

lib_fail() {
	echo "[$TERNIT_TEST] FAIL: $*" >&2
	lib_dump_logs
	exit 1
}

lib_skip() {
	echo "[$TERNIT_TEST] SKIP: $*" >&2
	exit 77
}

# ---------------------------------------------------------------------------
# Set-up common to every test.

[ "$(id -u)" = 0 ] || { echo "[$TERNIT_TEST] FAIL: needs root (DPDK, netns, hugepages)" >&2; exit 1; }

ternit_sweep
TERNIT_NAME=ternit-$$
TERNIT_DIR=$(mktemp -d "$TERNIT_TMPROOT/$TERNIT_NAME.XXXXXX") ||
	{ echo "[$TERNIT_TEST] FAIL: cannot create a temp dir" >&2; exit 1; }
: > "$TERNIT_DIR/state"
trap ternit_on_exit EXIT
trap 'ternit_on_signal INT' INT
trap 'ternit_on_signal TERM' TERM

TERN_SOURCE_ROOT=${TERN_SOURCE_ROOT:-$(readlink -f "$(dirname "$TERNIT_LIB")/../..")}
TERN_LINKTEST=${TERN_LINKTEST:-$TERN_SOURCE_ROOT/build/node/tern-linktest}
[ -x "$TERN_LINKTEST" ] || lib_fail "tern-linktest not found at $TERN_LINKTEST (set TERN_LINKTEST)"
# The system python starts in 20 ms; a version manager's shim can take 10
# times that, and a test runs python for every field it checks.
TERNIT_PY=$(command -v /usr/bin/python3 || command -v python3) ||
	lib_fail "python3 is needed to read JSON summaries"

# Locked memory: AF_XDP UMEMs and BPF maps are charged to RLIMIT_MEMLOCK
# without CAP_IPC_LOCK; lift the limit for everything the test starts.
ulimit -l unlimited 2>/dev/null || true

# lib_prefix VAR TAG: sets VAR to this run's EAL file prefix for TAG and
# registers its runtime dir (and its hugepage files, once hugepages are set
# up) for removal.
lib_prefix() {
	local p=$TERNIT_NAME-$2
	lib_register prefix "$p"
	[ -n "${TERNIT_HUGE_DIR:-}" ] && lib_register hugefiles "$TERNIT_HUGE_DIR" "$p"
	printf -v "$1" '%s' "$p"
}

# Interface names are at most 15 bytes: ternit-<pid> plus one letter fits.
lib_ifname() {
	local n=$TERNIT_NAME$1
	[ ${#n} -le 15 ] || lib_fail "interface name $n is longer than 15 bytes"
	echo "$n"
}

# ---------------------------------------------------------------------------
# Processes.

# Starts a command in the background with stdout and stderr in
# $TERNIT_DIR/TAG.out and TAG.err, registers it, and records its pid in
# TERNIT_PID_<TAG>.
lib_spawn() {
	local tag=$1 pid
	shift
	lib_log "start $tag: $*"
	"$@" > "$TERNIT_DIR/$tag.out" 2> "$TERNIT_DIR/$tag.err" &
	pid=$!
	lib_register pid "$pid" "$(ternit_starttime "$pid")"
	printf -v "TERNIT_PID_$tag" '%s' "$pid"
}

# True while the process TAG runs.
lib_alive() {
	local v=TERNIT_PID_$1
	kill -0 "${!v}" 2>/dev/null &&
		! grep -q '^State:.*Z' "/proc/${!v}/status" 2>/dev/null
}

# Waits up to SECONDS for process TAG; sets TERNIT_RC_<TAG> to its exit code.
# A process still running at the deadline is killed and the test fails.
lib_wait() {
	local tag=$1 seconds=$2 v=TERNIT_PID_$1 deadline rc
	deadline=$((SECONDS + seconds))
	while lib_alive "$tag"; do
		[ "$SECONDS" -lt "$deadline" ] ||
			lib_fail "$tag still running after ${seconds}s"
		sleep 0.1
	done
	wait "${!v}"
	rc=$?
	printf -v "TERNIT_RC_$tag" '%s' "$rc"
	lib_log "$tag exited with $rc"
	return 0
}

# Fails unless process TAG exited with the code given (default 0).
lib_expect_rc() {
	local tag=$1 want=${2:-0} v=TERNIT_RC_$1 why
	[ "${!v}" = "$want" ] && return 0
	case ${!v} in
	1) why="verification failed" ;;
	2) why="usage error" ;;
	3) why="setup failure (EAL/port)" ;;
	4) why="timeout" ;;
	*) why="unexpected exit" ;;
	esac
	lib_fail "$tag exited with ${!v} ($why), expected $want"
}

# Fails because process TAG exited (already reaped) before doing WHAT.
ternit_died() {
	local v=TERNIT_RC_$1
	lib_fail "$1 exited with code ${!v} before $2"
}

# Waits up to SECONDS for a file (e.g. a unix socket the receiver creates),
# failing early if process TAG dies first.
lib_wait_file() {
	local path=$1 tag=$2 seconds=$3 deadline
	deadline=$((SECONDS + seconds))
	until [ -e "$path" ]; do
		lib_alive "$tag" || { lib_wait "$tag" 1; ternit_died "$tag" "creating $path"; }
		[ "$SECONDS" -lt "$deadline" ] || lib_fail "$path did not appear within ${seconds}s"
		sleep 0.1
	done
}

# Waits until an XDP program is attached to interface IF in namespace NS
# (the af_xdp port of process TAG is up), failing early if TAG dies.
lib_wait_xdp() {
	local ns=$1 ifname=$2 tag=$3 seconds=$4 deadline
	deadline=$((SECONDS + seconds))
	until ip -n "$ns" -d link show dev "$ifname" 2>/dev/null | grep -q 'prog/xdp'; do
		lib_alive "$tag" || { lib_wait "$tag" 1; ternit_died "$tag" "attaching XDP to $ifname"; }
		[ "$SECONDS" -lt "$deadline" ] || lib_fail "no XDP program on $ifname within ${seconds}s"
		sleep 0.1
	done
}

# ---------------------------------------------------------------------------
# tern-linktest.

# Common EAL placement: the receiver's worker on lcore 1, the sender's on
# lcore 0, so two pollers never share a core of a 2-core machine.
TERNIT_RECV_LCORES=(--lcores "0,1" --main-lcore 0)
TERNIT_SEND_LCORES=(--lcores "0,1" --main-lcore 1)

# lib_linktest TAG ROLE ARGS...: starts tern-linktest in the background with
# its own file prefix, --json, --idle adaptive and the lcores of its role.
# Prefix the command with `ip netns exec NS` by setting TERNIT_NETNS.
# TERN_IT_LINKTEST_ARGS adds arguments to every process (for debugging,
# e.g. "--idle busy"); it is split on spaces.
lib_linktest() {
	local tag=$1 role=$2 prefix lcores
	shift 2
	lib_prefix prefix "$tag"
	if [ "$role" = recv ]; then
		lcores=("${TERNIT_RECV_LCORES[@]}")
	else
		lcores=("${TERNIT_SEND_LCORES[@]}")
	fi
	local cmd=("$TERN_LINKTEST" --role "$role" --file-prefix "$prefix"
		"${lcores[@]}" --idle adaptive --json "$@")
	# shellcheck disable=SC2206
	[ -n "${TERN_IT_LINKTEST_ARGS:-}" ] && cmd+=($TERN_IT_LINKTEST_ARGS)
	if [ -n "${TERNIT_NETNS:-}" ]; then
		cmd=(ip netns exec "$TERNIT_NETNS" "${cmd[@]}")
	fi
	lib_spawn "$tag" "${cmd[@]}"
	printf -v "TERNIT_PREFIX_$tag" '%s' "$prefix"
}

# Extracts the JSON summary of process TAG (the last stdout line that is a
# JSON object with a "role"; EAL logs share stdout) into TAG.json, prints it.
lib_json() {
	local tag=$1
	"$TERNIT_PY" - "$TERNIT_DIR/$tag.out" "$TERNIT_DIR/$tag.json" <<'EOF' ||
import json, sys
found = None
with open(sys.argv[1], errors="replace") as f:
    for line in f:
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            found = obj
if found is None:
    sys.exit(1)
with open(sys.argv[2], "w") as f:
    json.dump(found, f)
EOF
		lib_fail "$tag printed no JSON summary on stdout"
	lib_log "$tag summary: $(cat "$TERNIT_DIR/$tag.json")"
}

# lib_jget TAG KEY [DEFAULT]: prints field KEY (dotted for nested objects,
# e.g. drops.impaired) of TAG's summary. A missing field prints DEFAULT if
# one is given (the drops object lists only reasons that occurred), and
# fails the test otherwise.
lib_jget() {
	local tag=$1 key=$2 v
	v=$("$TERNIT_PY" - "$TERNIT_DIR/$tag.json" "$key" "$@" <<'EOF'
import json, sys
obj = json.load(open(sys.argv[1]))
for part in sys.argv[2].split("."):
    if not isinstance(obj, dict) or part not in obj:
        if len(sys.argv) > 5:
            print(sys.argv[5])
            sys.exit(0)
        sys.exit(1)
    obj = obj[part]
if isinstance(obj, float) and obj.is_integer() and "e" not in repr(obj):
    print(repr(obj))
elif isinstance(obj, (dict, list)):
    print(json.dumps(obj))
else:
    print(obj)
EOF
	) || lib_fail "$tag summary has no field '$key': $(cat "$TERNIT_DIR/$tag.json")"
	echo "$v"
}

# lib_check DESCRIPTION PYTHON-EXPRESSION: fails unless the expression holds.
# Used for comparisons of counts and ratios.
lib_check() {
	if "$TERNIT_PY" -c "import sys; sys.exit(0 if ($2) else 1)"; then
		lib_log "ok: $1"
	else
		lib_fail "$1 does not hold: $2"
	fi
}

# Checks a fully verified run: every frame exactly once, nothing corrupt.
lib_check_clean_recv() {
	local tag=$1 count=$2 expected received unique lost dup corrupt
	expected=$(lib_jget "$tag" expected)
	received=$(lib_jget "$tag" received)
	unique=$(lib_jget "$tag" unique)
	lost=$(lib_jget "$tag" lost)
	dup=$(lib_jget "$tag" duplicates)
	corrupt=$(lib_jget "$tag" corrupt)
	lib_check "expected == $count" "$expected == $count"
	lib_check "unique == $count" "$unique == $count"
	lib_check "received == $count" "$received == $count"
	lib_check "lost == 0" "$lost == 0"
	lib_check "duplicates == 0" "$dup == 0"
	lib_check "corrupt == 0" "$corrupt == 0"
}

# Prints one line with the figures of a run, for the test log.
lib_report() {
	local recv=$1 send=$2
	lib_log "RESULT $TERNIT_TEST: sent=$(lib_jget "$send" sent)" \
		"received=$(lib_jget "$recv" received)" \
		"unique=$(lib_jget "$recv" unique) lost=$(lib_jget "$recv" lost)" \
		"duplicates=$(lib_jget "$recv" duplicates)" \
		"corrupt=$(lib_jget "$recv" corrupt)" \
		"drops_total=$(lib_jget "$recv" drops_total)" \
		"recv_seconds=$(lib_jget "$recv" seconds)" \
		"frames_per_s=$(lib_jget "$recv" frames_per_s)" \
		"gbit_per_s=$(lib_jget "$recv" gbit_per_s)"
}

# ---------------------------------------------------------------------------
# Network namespaces and links.

lib_netns_add() {
	local ns=$1
	lib_register netns "$ns"
	ip netns add "$ns" || lib_fail "cannot create network namespace $ns"
	# Keep the kernel quiet on the test links: no IPv6 autoconfiguration,
	# router solicitations or MLD reports mixed into the DPDK traffic.
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 \
		net.ipv6.conf.all.disable_ipv6=1 >/dev/null 2>&1
	ip -n "$ns" link set lo up
}

# lib_veth_add IF_A NS_A IF_B NS_B [MTU]: a veth pair with one end in each
# namespace, both up. An empty namespace leaves that end in this one.
lib_veth_add() {
	local a=$1 nsa=$2 b=$3 nsb=$4 mtu=${5:-1500}
	local opt_a=() opt_b=()
	[ -n "$nsa" ] && opt_a=(netns "$nsa")
	[ -n "$nsb" ] && opt_b=(netns "$nsb")
	lib_register link "$a"
	lib_register link "$b"
	local err
	if ! err=$(ip link add "$a" "${opt_a[@]}" type veth peer name "$b" "${opt_b[@]}" 2>&1); then
		case $err in
		*"Unknown device type"* | *"not supported"*)
			lib_skip "the kernel cannot create veth pairs (CONFIG_VETH): $err" ;;
		esac
		lib_fail "cannot create veth pair $a/$b: $err"
	fi
	ip ${nsa:+-n "$nsa"} link set dev "$a" mtu "$mtu" up || lib_fail "cannot bring $a up"
	ip ${nsb:+-n "$nsb"} link set dev "$b" mtu "$mtu" up || lib_fail "cannot bring $b up"
}

# lib_bridge_add BR [NS]: a Linux bridge, up.
lib_bridge_add() {
	local br=$1 ns=${2:-}
	lib_register link "$br"
	ip ${ns:+-n "$ns"} link add "$br" type bridge ||
		lib_fail "cannot create bridge $br"
	ip ${ns:+-n "$ns"} link set dev "$br" up
}

# Skips the test when the kernel has no AF_XDP sockets.
lib_require_af_xdp() {
	local err
	err=$("$TERNIT_PY" -c '
import errno, socket, sys
try:
    socket.socket(44, socket.SOCK_RAW).close()  # AF_XDP
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
    sys.exit(1)
' 2>&1) && return 0
	case $err in
	EAFNOSUPPORT) lib_skip "the kernel has no AF_XDP sockets (CONFIG_XDP_SOCKETS)" ;;
	*) lib_fail "cannot open an AF_XDP socket: $err" ;;
	esac
}

# ---------------------------------------------------------------------------
# Hugepages.

# lib_hugepages_setup PAGES: makes sure PAGES free 2 MiB hugepages exist
# (raising nr_hugepages if needed; restored on exit) and mounts a private
# hugetlbfs in the temp dir, in TERNIT_HUGE_DIR. TERN_HUGE_DIR in the
# environment names an existing hugetlbfs mount to use instead.
lib_hugepages_setup() {
	local want=$1 nr free
	grep -qw hugetlbfs /proc/filesystems ||
		lib_skip "the kernel has no hugetlbfs"
	[ -w "$TERNIT_HUGE_SYSFS/nr_hugepages" ] ||
		lib_skip "the kernel has no 2 MiB hugepages ($TERNIT_HUGE_SYSFS)"
	nr=$(cat "$TERNIT_HUGE_SYSFS/nr_hugepages")
	free=$(cat "$TERNIT_HUGE_SYSFS/free_hugepages")
	if [ "$free" -lt "$want" ]; then
		lib_register hugepages "$TERNIT_HUGE_SYSFS/nr_hugepages" "$nr"
		echo $((nr + want - free)) > "$TERNIT_HUGE_SYSFS/nr_hugepages"
		free=$(cat "$TERNIT_HUGE_SYSFS/free_hugepages")
		[ "$free" -ge "$want" ] ||
			lib_fail "could reserve only $free of $want free 2 MiB hugepages (memory fragmented?)"
		lib_log "hugepages: nr_hugepages $nr -> $(cat "$TERNIT_HUGE_SYSFS/nr_hugepages"), $free free"
	fi
	if [ -n "${TERN_HUGE_DIR:-}" ]; then
		TERNIT_HUGE_DIR=$TERN_HUGE_DIR
		return 0
	fi
	TERNIT_HUGE_DIR=$TERNIT_DIR/huge
	mkdir -p "$TERNIT_HUGE_DIR"
	lib_register mount "$TERNIT_HUGE_DIR"
	mount -t hugetlbfs -o pagesize=2M,mode=0700 nodev "$TERNIT_HUGE_DIR" ||
		lib_fail "cannot mount hugetlbfs on $TERNIT_HUGE_DIR"
}


# ---------------------------------------------------------------------------
# Local clusters (scripts/local-cluster.sh) and tern-bench.

TERN_BUILD_ROOT=${TERN_BUILD_ROOT:-$TERN_SOURCE_ROOT/build}
TERNIT_CLUSTER_SH=$TERN_SOURCE_ROOT/scripts/local-cluster.sh
TERNIT_BENCH=$TERN_BUILD_ROOT/bench/tern-bench/tern-bench

lib_cluster() {
	bash "$TERNIT_CLUSTER_SH" "$@"
}

# lib_cluster_up DIR ARGS...: starts a local cluster in DIR, registered so
# that it is stopped (and its namespaces removed) whatever happens.
lib_cluster_up() {
	local dir=$1
	shift
	lib_register cluster "$TERNIT_CLUSTER_SH" "$dir"
	lib_cluster up "$dir" --build "$TERN_BUILD_ROOT" "$@" \
		>"$TERNIT_DIR/up.out" 2>&1 || {
		cat "$TERNIT_DIR/up.out" "$dir"/n*/ternd.log >&2
		lib_fail "the local cluster did not start"
	}
	lib_log "$(tail -1 "$TERNIT_DIR/up.out")"
}

# lib_bench_memif TAG DIR ARGS...: tern-bench over the memif client ports
# of the cluster in DIR, with --verify --json and its own EAL prefix.
lib_bench_memif() {
	local tag=$1 dir=$2 prefix ports
	shift 2
	lib_prefix prefix "$tag"
	mapfile -t ports < <(lib_cluster client-ports "$dir" | tr ' ' '\n')
	lib_spawn "$tag" "$TERNIT_BENCH" --cluster "$dir/cluster.ini" \
		"${ports[@]}" --verify --json --file-prefix "$prefix" "$@"
}

# lib_bench_check TAG COUNT REPLICAS: the run of TAG exited 0, had COUNT
# records acknowledged, none refused, and read each back from REPLICAS
# replicas without a verification error.
lib_bench_check() {
	local tag=$1 count=$2 replicas=$3
	lib_wait "$tag" 300
	lib_expect_rc "$tag" 0
	lib_json "$tag"
	lib_check "$tag: all $count records acknowledged" \
		"$(lib_jget "$tag" records) == $count"
	lib_check "$tag: no batch refused" "$(lib_jget "$tag" failed_batches) == 0"
	lib_check "$tag: every record read back from $replicas replicas" \
		"$(lib_jget "$tag" verified_records) == $replicas * $count"
	lib_check "$tag: no verification error" \
		"$(lib_jget "$tag" verify_errors) == 0"
}

# lib_chain_udp_verify DIR BOOTSTRAP COUNT: tern-bench over a kernel UDP
# socket in the client namespace of the cluster in DIR (afxdp, afpacket),
# asking BOOTSTRAP for the partition map, writes COUNT records and reads
# each back from its 3 replicas; after `down`, every partition's log must
# be the same on the three nodes. Ends with the test's RESULT line.
lib_chain_udp_verify() {
	local dir=$1 bootstrap=$2 count=$3
	lib_spawn bench bash "$TERNIT_CLUSTER_SH" client-exec "$dir" \
		"$TERNIT_BENCH" --transport udp --bootstrap "$bootstrap" \
		--records "$count" --verify --json --timeout-ms 240000
	lib_bench_check bench "$count" 3
	lib_cluster_down_compare "$dir" 3
	lib_log "RESULT $TERNIT_TEST: records=$count" \
		"records_per_s=$(lib_jget bench records_per_s)" \
		"p50_us=$(lib_jget bench latency_us.p50)" \
		"p99_us=$(lib_jget bench latency_us.p99)"
}

# lib_cluster_down_compare DIR NODES: stops the cluster cleanly (every
# ternd prints its exit summary) and checks that each partition's log is
# the same, byte for byte, on nodes 0 .. NODES-1.
lib_cluster_down_compare() {
	local dir=$1 nodes=$2
	lib_cluster_down_compare_nodes "$dir" $(seq 0 $((nodes - 1)))
}

# lib_cluster_down_compare_nodes DIR I...: the same, on nodes I... only
# (the others were killed or removed).
lib_cluster_down_compare_nodes() {
	local dir=$1 i data=()
	shift
	lib_cluster down "$dir" || lib_fail "the cluster did not stop cleanly"
	for i in "$@"; do
		grep -q "^ternd: partition" "$dir/n$i/ternd.log" ||
			lib_fail "node $i: no exit summary (ternd did not stop cleanly)"
		data+=("$dir/n$i/data")
	done
	"$TERNIT_PY" "$TERN_SOURCE_ROOT/tests/integration/compare_replicas.py" \
		"$TERN_BUILD_ROOT/cli/logcheck/tern-logcheck" "${data[@]}" \
		>"$TERNIT_DIR/compare.out" 2>&1 || {
		cat "$TERNIT_DIR/compare.out" >&2
		lib_fail "replicas differ"
	}
	lib_log "ok: $(cat "$TERNIT_DIR/compare.out")"
}
