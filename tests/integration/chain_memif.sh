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
lib_bench_memif open "$CLUSTER" --records 20000 --rate 20000 --timeout-ms 60000
lib_bench_check open 20000 3
lib_check "open: the offered rate was held" \
	"abs($(lib_jget open records_per_s) - 20000) < 2000"
lib_check "open: a per-second series" \
	"len($("$TERNIT_PY" -c "import json; print(json.load(open('$TERNIT_DIR/open.json'))['series'])")) >= 1"
lib_cluster_down_compare "$CLUSTER" 3
lib_log "RESULT $TERNIT_TEST: records=$COUNT" \
	"records_per_s=$(lib_jget bench records_per_s)" \
	"p50_us=$(lib_jget bench latency_us.p50)" \
	"p99_us=$(lib_jget bench latency_us.p99)"
