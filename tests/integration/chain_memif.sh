#!/bin/bash
# A 3-node chain over a memif mesh (scripts/local-cluster.sh), durability
# disk, 6 partitions with replication 3: tern-bench produces 100,000 keyed
# records with a window of batches in flight per partition and reads every
# one back from every replica (head, middle and tail of each chain: CRAQ
# reads below the commit index). Then the cluster stops and each
# partition's log must be identical, byte for byte, on all three nodes.
. "$(dirname "$0")/lib.sh"

COUNT=${TERN_IT_COUNT:-100000}
BUILD=${TERN_BUILD_ROOT:?set TERN_BUILD_ROOT to the build directory}
CLUSTER=$TERNIT_DIR/c
lib_register cluster "$TERN_SOURCE_ROOT/scripts/local-cluster.sh" "$CLUSTER"

"$TERN_SOURCE_ROOT/scripts/local-cluster.sh" up "$CLUSTER" --build "$BUILD" \
	>"$TERNIT_DIR/up.out" 2>&1 || {
	cat "$TERNIT_DIR/up.out" "$CLUSTER"/n*/ternd.log >&2
	lib_fail "the local cluster did not start"
}

lib_prefix PREFIX bench
mapfile -t PORTS < <("$TERN_SOURCE_ROOT/scripts/local-cluster.sh" client-ports "$CLUSTER" | tr ' ' '\n')
lib_spawn bench "$BUILD/bench/tern-bench/tern-bench" --cluster "$CLUSTER/cluster.ini" \
	"${PORTS[@]}" --records "$COUNT" --verify --json --file-prefix "$PREFIX" \
	--timeout-ms 240000
lib_wait bench 300
lib_expect_rc bench 0
lib_json bench

lib_check "all $COUNT records acknowledged" "$(lib_jget bench records) == $COUNT"
lib_check "no batch refused" "$(lib_jget bench failed_batches) == 0"
lib_check "every record read back from 3 replicas" \
	"$(lib_jget bench verified_records) == 3 * $COUNT"
lib_check "no verification error" "$(lib_jget bench verify_errors) == 0"

"$TERN_SOURCE_ROOT/scripts/local-cluster.sh" down "$CLUSTER" ||
	lib_fail "the cluster did not stop cleanly"
for log in "$CLUSTER"/n*/ternd.log; do
	grep -q "^ternd: partition" "$log" ||
		lib_fail "$log: no exit summary (ternd did not stop cleanly)"
done
"$TERNIT_PY" "$TERN_SOURCE_ROOT/tests/integration/compare_replicas.py" \
	"$BUILD/cli/logcheck/tern-logcheck" "$CLUSTER"/n0/data "$CLUSTER"/n1/data \
	"$CLUSTER"/n2/data >"$TERNIT_DIR/compare.out" 2>&1 || {
	cat "$TERNIT_DIR/compare.out" >&2
	lib_fail "replicas differ"
}
lib_log "ok: $(cat "$TERNIT_DIR/compare.out")"
lib_log "RESULT $TERNIT_TEST: records=$COUNT" \
	"records_per_s=$(lib_jget bench records_per_s)" \
	"p50_us=$(lib_jget bench latency_us.p50)" \
	"p99_us=$(lib_jget bench latency_us.p99)"
