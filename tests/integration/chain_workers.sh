#!/bin/bash
# Partitions spread over nodes and worker lcores: 3 nodes x 2 worker
# lcores x 12 partitions, replication 3 (scripts/local-cluster.sh
# --workers 2). Each worker owns its partitions, its io_uring and its
# chains; a frame that reaches the other worker of its node (the client
# sends every request on queue 0) is handed over through an SPSC ring, by
# the UDP port that names the owning worker. tern-bench produces 100,000
# records with keys drawn with Zipf's law (hot keys, so hot partitions),
# follows them at the tails, and reads each back from all three
# replicas; then every partition's log must be identical on the three
# nodes, byte for byte.
. "$(dirname "$0")/lib.sh"

COUNT=${TERN_IT_COUNT:-100000}
CLUSTER=$TERNIT_DIR/c
lib_cluster_up "$CLUSTER" --workers 2 --partitions 12
lib_bench_memif bench "$CLUSTER" --records "$COUNT" --timeout-ms 240000 --follow \
	--zipf 1.5 --key-space 1000
lib_bench_check bench "$COUNT" 3
lib_check "the tail followers read all $COUNT records" \
	"$(lib_jget bench followed_records) == $COUNT"
lib_check "Zipf keys made some partitions hot" \
	"max($(lib_jget bench partition_records)) > 2 * min($(lib_jget bench partition_records))"
for i in 0 1 2; do
	for w in 0 1; do
		grep -q "worker $w: port" "$CLUSTER/n$i/ternd.log" ||
			lib_fail "node $i: worker $w did not run"
	done
done
lib_cluster_down_compare "$CLUSTER" 3
lib_log "RESULT $TERNIT_TEST: records=$COUNT" \
	"records_per_s=$(lib_jget bench records_per_s)"
