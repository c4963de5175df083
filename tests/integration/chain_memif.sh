#!/bin/bash
# A 3-node chain over a memif mesh (scripts/local-cluster.sh), durability
# disk, 6 partitions with replication 3: tern-bench produces 100,000 keyed
# records with a window of batches in flight per partition and reads every
# one back from every replica (head, middle and tail of each chain: CRAQ
# reads below the commit index). Then the cluster stops and each
# partition's log must be identical, byte for byte, on all three nodes.
. "$(dirname "$0")/lib.sh"

COUNT=${TERN_IT_COUNT:-100000}
CLUSTER=$TERNIT_DIR/c
lib_cluster_up "$CLUSTER"
lib_bench_memif bench "$CLUSTER" --records "$COUNT" --timeout-ms 240000
lib_bench_check bench "$COUNT" 3
lib_cluster_down_compare "$CLUSTER" 3
lib_log "RESULT $TERNIT_TEST: records=$COUNT" \
	"records_per_s=$(lib_jget bench records_per_s)" \
	"p50_us=$(lib_jget bench latency_us.p50)" \
	"p99_us=$(lib_jget bench latency_us.p99)"
