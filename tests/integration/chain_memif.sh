#!/bin/bash
# A 3-node chain over a memif mesh (scripts/local-cluster.sh), durability
# disk, 6 partitions with replication 3: tern-bench produces 100,000 keyed
# records with a window of batches in flight per partition. While they are
# produced, a follower per partition reads them at the tail with long polls
# (fetches at the end that wait for the commit index to move); afterwards
# every record is read back from every replica (head, middle and tail of
# each chain: CRAQ reads below the commit index). Then the cluster stops
# and each partition's log must be identical, byte for byte, on all three
# nodes.
. "$(dirname "$0")/lib.sh"

COUNT=${TERN_IT_COUNT:-100000}
CLUSTER=$TERNIT_DIR/c
lib_cluster_up "$CLUSTER"
lib_bench_memif bench "$CLUSTER" --records "$COUNT" --timeout-ms 240000 --follow
lib_bench_check bench "$COUNT" 3
lib_check "the tail followers read all $COUNT records while they were produced" \
	"$(lib_jget bench followed_records) == $COUNT"
lib_check "long polls at the end were answered with new records" \
	"$(lib_jget bench follow_long_polls) > 0"
# Open loop: 20,000 records offered at 20,000 records/s must take about a
# second and be reported per second.
lib_bench_memif open "$CLUSTER" --records 20000 --rate 20000 --timeout-ms 60000 \
	--plot "$TERNIT_DIR/plot"
lib_bench_check open 20000 3
lib_check "open: the offered rate was held" \
	"abs($(lib_jget open records_per_s) - 20000) < 2000"
for png in time latency; do
	[ "$(head -c 4 "$TERNIT_DIR/plot-$png.png" | od -An -c | tr -d ' ')" = '211PNG' ] ||
		lib_fail "open: --plot made no PNG image plot-$png.png"
done
lib_log "ok: open: --plot drew plot-time.png and plot-latency.png"
lib_check "open: a per-second series" \
	"len($("$TERNIT_PY" -c "import json; print(json.load(open('$TERNIT_DIR/open.json'))['series'])")) >= 1"
# Node 0's partitions through DPDK telemetry (/tern/partitions): all six,
# two as head, two as middle, two as tail, every record committed.
TELEMETRY=$(command -v dpdk-telemetry.py) ||
	lib_fail "dpdk-telemetry.py not found (package dpdk-dev)"
sleep 0.3 # views are republished every 100 ms
echo /tern/partitions | timeout 10 "$TERNIT_PY" "$TELEMETRY" \
	-f "$(head -1 "$CLUSTER/prefixes")" >"$TERNIT_DIR/telemetry.out" 2>&1 ||
	lib_fail "dpdk-telemetry.py failed: $(tail -3 "$TERNIT_DIR/telemetry.out")"
"$TERNIT_PY" - "$TERNIT_DIR/telemetry.out" "$((COUNT + 20000))" <<'PY' ||
import json, sys
reply = None
for line in open(sys.argv[1]):
    if line.startswith('{"/tern/partitions"'):
        reply = json.loads(line)["/tern/partitions"]
if reply is None:
    sys.exit("no /tern/partitions reply")
roles = sorted(p["role"] for p in reply.values())
total = sum(p["log_end"] for p in reply.values())
lags = [p["commit_lag"] for p in reply.values()]
if len(reply) != 6 or roles != ["head"] * 2 + ["middle"] * 2 + ["tail"] * 2:
    sys.exit("partitions and roles: %s" % roles)
if total != int(sys.argv[2]) or any(lags):
    sys.exit("log ends sum to %d (want %s), commit lags %s"
             % (total, sys.argv[2], lags))
# Every record reached the disk through a timed flush.
for n, p in reply.items():
    if p["flush_records"] != p["log_end"] or p["flushes"] < 1 or \
            not 0 < p["flush_us_p50"] <= p["flush_us_p99"]:
        sys.exit("partition %s: flushes %s" % (n, p))
PY
	lib_fail "/tern/partitions: $(cat "$TERNIT_DIR/telemetry.out" | tail -1 | cut -c1-300)"
lib_log "ok: /tern/partitions shows 6 partitions, all records committed and flushed"
lib_cluster_down_compare "$CLUSTER" 3
lib_log "RESULT $TERNIT_TEST: records=$COUNT" \
	"records_per_s=$(lib_jget bench records_per_s)" \
	"p50_us=$(lib_jget bench latency_us.p50)" \
	"p99_us=$(lib_jget bench latency_us.p99)"
