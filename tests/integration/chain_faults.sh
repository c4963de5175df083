#!/bin/bash
# The chain under loss and restarts. Every ternd drops 5%, duplicates 1%
# and reorders 2% of the frames it receives, on every port (chain links and
# the client link): 20,000 records must still be acknowledged exactly once
# and read
# back intact from all three replicas. Then every node is stopped and
# started again: each recovers its log from disk, and a second producer's
# 20,000 records go through the restarted chain; its verify pass must also
# find all of the first run's records (as another producer's) on every
# replica. Then node 0 alone is restarted (its peers' memif clients must
# reconnect) and a third producer's records go through. Finally the logs
# must be identical on the three nodes.
. "$(dirname "$0")/lib.sh"

COUNT=${TERN_IT_COUNT:-20000}
CLUSTER=$TERNIT_DIR/c
lib_cluster_up "$CLUSTER" \
	--ternd-args "--impair drop=0.05,dup=0.01,reorder=0.02,seed=11 --retransmit-us 5000"
lib_bench_memif before "$CLUSTER" --records "$COUNT" --timeout-ms 240000 \
	--producer-id 1
lib_bench_check before "$COUNT" 3
lib_check "before: the impairment made the client retry" \
	"$(lib_jget before retries) > 0"

for i in 0 1 2; do
	lib_cluster stop-node "$CLUSTER" "$i" || lib_fail "node $i did not stop"
done
for i in 0 1 2; do
	lib_cluster start-node "$CLUSTER" "$i" >/dev/null ||
		lib_fail "node $i did not restart: $(tail -5 "$CLUSTER/n$i/ternd.log")"
done
lib_bench_memif after "$CLUSTER" --records "$COUNT" --timeout-ms 240000 \
	--producer-id 2
lib_bench_check after "$COUNT" 3
lib_check "after: the first run's records survived the restart on all replicas" \
	"$(lib_jget after foreign_records) == 3 * $COUNT"

# One node alone: node 0 serves the memif links to nodes 1 and 2, whose
# clients reconnect only when their ports restart (ternd relinks a port
# whose link stayed down for a second).
lib_cluster stop-node "$CLUSTER" 0 || lib_fail "node 0 did not stop"
lib_cluster start-node "$CLUSTER" 0 >/dev/null ||
	lib_fail "node 0 did not restart: $(tail -5 "$CLUSTER/n0/ternd.log")"
lib_bench_memif single "$CLUSTER" --records "$COUNT" --timeout-ms 240000 \
	--producer-id 3
lib_bench_check single "$COUNT" 3
lib_check "single: both earlier runs' records are on every replica" \
	"$(lib_jget single foreign_records) == 6 * $COUNT"
lib_cluster_down_compare "$CLUSTER" 3
