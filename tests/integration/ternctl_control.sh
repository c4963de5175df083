#!/bin/bash
# ternctl over the control plane, on a 3-node AF_XDP cluster started with
# `ternctl local up`: the --json output of every read command against
# golden files (tests/integration/golden; run with TERN_GOLDEN_UPDATE=1
# to rewrite them after a deliberate change, and review the diff), a live
# setting changed and read back, /metrics as Prometheus text, the error
# paths (bad flags, unreachable node, malformed cluster file, unknown
# topic, a node that is down: message, exit code, nothing changed), a
# `consume --follow` on a terminal (a pty) printing records as they are
# produced, `ternctl check` on the stopped nodes' logs, and `local down`
# leaving no process, namespace, veth, socket or EAL file behind.
. "$(dirname "$0")/lib.sh"

CLUSTER=$TERNIT_DIR/c
TERNCTL=$TERN_BUILD_ROOT/cli/ternctl/ternctl
GOLDEN=$TERN_SOURCE_ROOT/tests/integration/golden
CTLJSON=$TERN_SOURCE_ROOT/tests/integration/ctl_json.py
lib_require_af_xdp

ctl() { "$TERNCTL" --cluster "$CLUSTER/cluster.ini" "$@"; }
client() { # a data command from the client namespace
	bash "$TERNIT_CLUSTER_SH" client-exec "$CLUSTER" "$TERNCTL" \
		--cluster "$CLUSTER/cluster.ini" "$@"
}
expect_out() { # what expected actual
	[ "$2" = "$3" ] || lib_fail "$1: expected [$2], got [$3]"
	lib_log "ok: $1"
}
# expect_fail WHAT CODE PATTERN CMD...: exits CODE, says PATTERN on stderr.
expect_fail() {
	local what=$1 code=$2 pattern=$3 rc
	shift 3
	"$@" >"$TERNIT_DIR/out" 2>"$TERNIT_DIR/err"
	rc=$?
	[ "$rc" = "$code" ] || lib_fail "$what: exit $rc, expected $code ($(cat "$TERNIT_DIR/err"))"
	[ -z "$pattern" ] || grep -q -- "$pattern" "$TERNIT_DIR/err" ||
		lib_fail "$what: stderr lacks '$pattern': $(cat "$TERNIT_DIR/err")"
	lib_log "ok: $what (exit $code: $(head -1 "$TERNIT_DIR/err"))"
}
golden() { # NAME CMD...: the command's --json output against NAME.json
	local name=$1 out=$TERNIT_DIR/$1.json
	shift
	"$@" | "$TERNIT_PY" "$CTLJSON" normalize >"$out" ||
		lib_fail "golden $name: the command or its JSON failed"
	if [ "${TERN_GOLDEN_UPDATE:-0}" = 1 ]; then
		cp "$out" "$GOLDEN/$name.json"
		lib_log "golden $name: rewritten"
		return
	fi
	diff -u "$GOLDEN/$name.json" "$out" >&2 ||
		lib_fail "golden $name: the output differs (above)"
	lib_log "ok: golden $name"
}

lib_register cluster "$TERNIT_CLUSTER_SH" "$CLUSTER"
"$TERNCTL" local up "$CLUSTER" --transport afxdp --partitions 4 \
	>"$TERNIT_DIR/up.out" 2>&1 || {
	cat "$TERNIT_DIR/up.out" "$CLUSTER"/n*/ternd.log >&2
	lib_fail "ternctl local up failed"
}
lib_log "$(tail -1 "$TERNIT_DIR/up.out")"
tag=$(cat "$CLUSTER/tag")

client produce --partition 1 one two three >/dev/null || lib_fail "produce exited $?"
client produce --partition 2 four five >/dev/null || lib_fail "produce exited $?"
# Nodes publish their state every 100 ms: wait for every replica to
# report the commit.
for _ in $(seq 50); do
	commits=$(ctl --json cluster status | "$TERNIT_PY" -c '
import json, sys
s = json.load(sys.stdin)
print(" ".join(str(r.get("commit")) for p in s["partitions"]
               for r in p["replicas"]))')
	[ "$commits" = "0 0 0 3 3 3 2 2 2 0 0 0" ] && break
	sleep 0.1
done
expect_out "every replica reports the commits" "0 0 0 3 3 3 2 2 2 0 0 0" "$commits"

# ---- read commands, --json against golden files
golden cluster_status ctl --json cluster status
golden topic_list ctl --json topic list
golden topic_describe ctl --json topic describe bench
golden config_get ctl --json config get --node 1 retransmit_us
golden config_list "$TERNCTL" --json config list
golden stats ctl --json stats --node 1
out=$(ctl --json stats --node 1 | "$TERNIT_PY" -c '
import json, sys
s = json.load(sys.stdin)
print(*[p["produced"] for p in s["partitions"]])')
expect_out "node 1 heads partition 1 only: one batch produced there" "0 1 0 0" "$out"
ctl cluster status >"$TERNIT_DIR/status.txt" || lib_fail "cluster status exited $?"
grep -q "3 of 3 nodes up" "$TERNIT_DIR/status.txt" || lib_fail "text status: $(cat "$TERNIT_DIR/status.txt")"

# The settings table in docs/operations.md is the table itself.
"$TERNCTL" config list --markdown >"$TERNIT_DIR/settings.md"
"$TERNIT_PY" -c 'import sys; sys.exit(open(sys.argv[1]).read() not in open(sys.argv[2]).read())' \
	"$TERNIT_DIR/settings.md" "$TERN_SOURCE_ROOT/docs/operations.md" ||
	lib_fail "docs/operations.md lacks \`ternctl config list --markdown\`'s table"
lib_log "ok: docs/operations.md carries the settings table"

# ---- a live setting, on every node
out=$(ctl config set sleep_us_max 20) || lib_fail "config set exited $?"
expect_out "config set reports each node" 3 "$(grep -c 'sleep_us_max = 20 (was 50)' <<<"$out")"
for i in 0 1 2; do
	out=$(ctl config get --node "$i" sleep_us_max)
	expect_out "node $i runs with the new value" "node $i: sleep_us_max = 20" "$out"
done
expect_fail "a setting that needs a restart" 1 "takes effect at start only" \
	ctl config set window_batches 64
expect_fail "a value out of bounds" 1 "use 1..100000 us" ctl config set sleep_us_max 0
expect_fail "an unknown setting" 1 "no setting 'sleep'" ctl config set sleep 1

# ---- /metrics
control=$(sed -n 's/^control = //p' "$CLUSTER/cluster.ini" | sed -n 2p)
curl -sf "http://$control/metrics" >"$TERNIT_DIR/metrics.txt" || lib_fail "GET /metrics failed"
samples=$("$TERNIT_PY" "$CTLJSON" prom "$TERNIT_DIR/metrics.txt") || lib_fail "/metrics is not Prometheus text"
lib_log "ok: /metrics: $samples samples in the Prometheus text format"
out=$("$TERNIT_PY" "$CTLJSON" value "$TERNIT_DIR/metrics.txt" tern_partition_commit partition=1 role=head)
expect_out "/metrics: node 1's commit of partition 1" 3 "$out"
out=$("$TERNIT_PY" "$CTLJSON" value "$TERNIT_DIR/metrics.txt" tern_log_flush_records_sum partition=1)
expect_out "/metrics: partition 1's flushes made its 3 records durable" 3 "$out"
out=$("$TERNIT_PY" "$CTLJSON" value "$TERNIT_DIR/metrics.txt" tern_log_flush_seconds_count partition=1)
[ "$out" -ge 1 ] || lib_fail "/metrics: no flush of partition 1 timed"
lib_log "ok: /metrics: $out flushes of partition 1 timed"
out=$("$TERNIT_PY" "$CTLJSON" value "$TERNIT_DIR/metrics.txt" tern_partition_appended_bytes_total partition=1)
# One batch: its 56-byte header and three records of 10 bytes + value.
expect_out "/metrics: partition 1's appended bytes" $((56 + 3 * 10 + 3 + 3 + 5)) "$out"
out=$(curl -s -o /dev/null -w '%{http_code}' "http://$control/nothing")
expect_out "another path is 404" 404 "$out"

# ---- error paths
expect_fail "an unknown command" 2 "unknown command 'nosuch'" ctl nosuch
expect_fail "an unknown option" 2 "usage" ctl stats --bogus
expect_fail "a node id outside the cluster" 2 "not in the cluster" ctl stats --node 7
expect_fail "a control address nobody listens on" 3 "Connection refused" \
	"$TERNCTL" --control 127.0.0.1:1 stats
printf '[cluster]\nepoch = 1\ntopic = t\npartitions = 2\nreplication = 1\n[node 0]\nipv4 = 10.0.0.1\nmtu = 12\n' >"$TERNIT_DIR/bad.ini"
expect_fail "a malformed cluster file names its line" 2 "bad.ini:8: mtu = 12 is out of range" \
	"$TERNCTL" --cluster "$TERNIT_DIR/bad.ini" cluster status
expect_fail "a topic that does not exist" 1 "no topic 'nope'" ctl topic describe nope
lib_cluster stop-node "$CLUSTER" 2 || lib_fail "stop-node failed"
expect_fail "cluster status with a node down" 1 "2 of 3 nodes answered" ctl cluster status
grep -q "^2 .*DOWN" "$TERNIT_DIR/out" || lib_fail "status does not show node 2 DOWN: $(cat "$TERNIT_DIR/out")"
grep -q "UNDER-REPLICATED" "$TERNIT_DIR/out" || lib_fail "status shows no under-replicated partition"
expect_fail "config set with a node down" 3 "nothing changed" ctl config set sleep_us_max 30
for i in 0 1; do
	out=$(ctl config get --node "$i" sleep_us_max)
	expect_out "node $i kept its value" "node $i: sleep_us_max = 20" "$out"
done
lib_cluster start-node "$CLUSTER" 2 || lib_fail "start-node failed"

# ---- consume --follow on a terminal
"$TERNIT_PY" - "$TERNIT_CLUSTER_SH" "$CLUSTER" "$TERNCTL" <<'PY' || lib_fail "the follower on a pty failed"
import os, pty, select, subprocess, sys, time
sh, cluster, ternctl = sys.argv[1:4]
base = ["bash", sh, "client-exec", cluster, ternctl, "--cluster",
        cluster + "/cluster.ini"]
pid, fd = pty.fork()
if pid == 0:
    os.execvp("bash", base + ["consume", "--partition", "3", "--follow"])
seen, deadline = b"", time.time() + 20


def read_until(text):
    global seen
    while text not in seen and time.time() < deadline:
        if select.select([fd], [], [], 0.2)[0]:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                break
    return text in seen


try:
    time.sleep(1)
    for i, value in enumerate(["first", "second"]):
        subprocess.run(base + ["produce", "--partition", "3", value],
                       check=True, stdout=subprocess.DEVNULL)
        if not read_until(f"{i}\t\t{value}".encode()):
            sys.exit(f"the terminal did not show {value!r}: {seen!r}")
        print(f"ok: the terminal showed {value!r} as it was produced")
    os.kill(pid, 2)  # Ctrl-C
    _, status = os.waitpid(pid, 0)
    pid = 0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"the follower exited {status} on Ctrl-C")
finally:
    if pid:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
PY

# ---- produce's progress: on a terminal's stderr only
"$TERNIT_PY" - "$TERNIT_CLUSTER_SH" "$CLUSTER" "$TERNCTL" "$TERNIT_DIR" <<'PY' || lib_fail "produce's progress"
import os, pty, select, subprocess, sys, time
sh, cluster, ternctl, tmp = sys.argv[1:5]
produce = (f"seq 1 300 | bash {sh} client-exec {cluster} {ternctl} "
           f"--cluster {cluster}/cluster.ini produce --partition 0")
pid, fd = pty.fork()
if pid == 0:
    os.execvp("bash", ["bash", "-c", produce + f" >{tmp}/progress.out"])
seen, deadline = b"", time.time() + 30
while time.time() < deadline:
    if select.select([fd], [], [], 0.2)[0]:
        try:
            seen += os.read(fd, 4096)
        except OSError:
            break
_, status = os.waitpid(pid, 0)
if os.waitstatus_to_exitcode(status) != 0 or b"300 records written" not in seen:
    sys.exit(f"no progress on the terminal: {seen!r}, status {status}")
piped = subprocess.run(["bash", "-c", produce + " >/dev/null"],
                       stderr=subprocess.PIPE, check=True)
if b"records written" in piped.stderr:
    sys.exit(f"progress on a pipe: {piped.stderr!r}")
print("ok: produce counts records on a terminal, not on a pipe")
PY

# ---- local down leaves nothing; the logs check clean
"$TERNCTL" local down "$CLUSTER" >/dev/null || lib_fail "ternctl local down failed"
pgrep -f "$CLUSTER/cluster.ini" >/dev/null && lib_fail "a ternd of the cluster still runs"
ip netns list | grep -q -- "$tag" && lib_fail "a namespace of the cluster remains"
ip link show | grep -q -- "$tag" && lib_fail "a veth of the cluster remains"
[ -n "$(find "$CLUSTER" -type s)" ] && lib_fail "a socket remains: $(find "$CLUSTER" -type s)"
while read -r prefix; do
	[ -e "/var/run/dpdk/$prefix" ] && lib_fail "EAL files of $prefix remain"
done < <(cat "$CLUSTER/prefixes" 2>/dev/null)
lib_log "ok: local down left no process, namespace, veth, socket or EAL dir"
golden check ctl --json check "$CLUSTER/n0/data"
"$TERNCTL" check "$CLUSTER/n1/data" >/dev/null || lib_fail "node 1's logs are not clean"
seg=$(ls "$CLUSTER/n2/data/bench-1/"*.log | head -1)
printf 'X' | dd of="$seg" bs=1 seek=100 conv=notrunc status=none
expect_fail "a flipped byte is found" 1 "" "$TERNCTL" check "$CLUSTER/n2/data/bench-1"
grep -q "PROBLEMS FOUND" "$TERNIT_DIR/out" || lib_fail "check did not report the problem"
