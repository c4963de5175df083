#!/bin/bash
# Chaos: 20 rounds of random failures and repairs on a 4-node cluster
# (replication 3, 8 partitions) while one producer writes at a steady rate.
# A round either kills a running node (SIGKILL) and removes it (`ternctl
# node remove`), or starts a dead node again on the data it had and adds it
# back (`ternctl node add`: it learns each chain from its tail and becomes
# its tail); at most two nodes are down at once, so every chain keeps a
# replica. Then every dead node is added back. tern-bench's verify is the
# history checker: every acknowledged record exactly once at its offset on
# every replica of its chain, no gap, nothing unacknowledged; every
# partition's three copies must then be equal byte for byte, and no node
# may suspect another. TERN_IT_SEED replays a run's choices.
. "$(dirname "$0")/lib.sh"

ROUNDS=${TERN_IT_ROUNDS:-20}
RATE=${TERN_IT_RATE:-4000}
SEED=${TERN_IT_SEED:-$((RANDOM * 32768 + RANDOM))}
TERNCTL=$TERN_BUILD_ROOT/cli/ternctl/ternctl
CLUSTER=$TERNIT_DIR/c
RANDOM=$SEED
lib_log "seed $SEED (TERN_IT_SEED=$SEED replays these choices)"

lib_cluster_up "$CLUSTER" --nodes 4 --replication 3 --partitions 8
# About as long as the rounds take here (a kill 1.5 s, an add 2 s); the
# records it did not send by then are not asked for (--duration-ms).
lib_bench_memif load "$CLUSTER" --records 10000000 --rate "$RATE" \
	--duration-ms $((ROUNDS * 2000 + 10000)) --timeout-ms 300000
sleep 1

ctl() {
	"$TERNCTL" --cluster "$CLUSTER/cluster.ini" "$@" \
		>>"$TERNIT_DIR/ternctl.out" 2>&1
}

up=(0 1 2 3) down=()
kill_one() {
	local k=$((RANDOM % ${#up[@]})) victim
	victim=${up[$k]}
	up=("${up[@]:0:$k}" "${up[@]:$((k + 1))}")
	down+=("$victim")
	lib_cluster kill-node "$CLUSTER" "$victim" ||
		lib_fail "round $round: node $victim did not die"
	ctl node remove "$victim" ||
		lib_fail "round $round: node remove $victim failed: $(tail -3 "$TERNIT_DIR/ternctl.out")"
	lib_log "round $round: node $victim killed and removed (up: ${up[*]})"
}

add_one() {
	local k=$((RANDOM % ${#down[@]})) node
	node=${down[$k]}
	down=("${down[@]:0:$k}" "${down[@]:$((k + 1))}")
	up+=("$node")
	lib_cluster start-node "$CLUSTER" "$node" >/dev/null ||
		lib_fail "round $round: node $node did not restart: $(tail -5 "$CLUSTER/n$node/ternd.log")"
	ctl node add "$node" ||
		lib_fail "round $round: node add $node failed: $(tail -3 "$TERNIT_DIR/ternctl.out")"
	lib_log "round $round: node $node restarted and added back (up: ${up[*]})"
}

loaded=0
for ((round = 1; round <= ROUNDS; round++)); do
	lib_alive load && loaded=$round
	if [ ${#down[@]} -eq 0 ] ||
		{ [ ${#down[@]} -lt 2 ] && [ $((RANDOM % 2)) -eq 0 ]; }; then
		kill_one
	else
		add_one
	fi
done
while [ ${#down[@]} -gt 0 ]; do
	add_one
	round=$((round + 1))
done

lib_log "the producer ran through round $loaded of $ROUNDS"
lib_wait load 300
lib_expect_rc load 0
lib_json load
lib_check "load: no batch refused" "$(lib_jget load failed_batches) == 0"
lib_check "load: every record sent was acknowledged" \
	"$(lib_jget load records) == $(lib_jget load records_sent)"
lib_check "load: every acknowledged record on all three replicas" \
	"$(lib_jget load verified_records) == 3 * $(lib_jget load records)"
lib_check "load: no verification error" "$(lib_jget load verify_errors) == 0"
lib_check "load: the producer followed the maps" \
	"$(lib_jget load map_updates) >= $ROUNDS"
"$TERNCTL" --cluster "$CLUSTER/cluster.ini" --json cluster status \
	>"$TERNIT_DIR/status.json" 2>/dev/null ||
	lib_fail "cluster status: not every node up at the end"
lib_check "at the end no node suspects another" \
	"sum(len(n['suspects']) for n in __import__('json').load(open('$TERNIT_DIR/status.json'))['nodes']) == 0"
lib_cluster down "$CLUSTER" || lib_fail "the cluster did not stop cleanly"
"$TERNIT_PY" "$TERN_SOURCE_ROOT/tests/integration/compare_replicas.py" \
	--replicas 3 "$TERN_BUILD_ROOT/cli/logcheck/tern-logcheck" \
	"$CLUSTER"/n{0,1,2,3}/data >"$TERNIT_DIR/compare.out" 2>&1 || {
	cat "$TERNIT_DIR/compare.out" >&2
	lib_fail "replicas differ"
}
lib_log "ok: $(cat "$TERNIT_DIR/compare.out")"
lib_log "RESULT $TERNIT_TEST: rounds=$ROUNDS under_load=$loaded seed=$SEED" \
	"records=$(lib_jget load records) p99_us=$(lib_jget load latency_us.p99)"
