#!/bin/bash
# Chain reconfiguration: a node dies (SIGKILL) under a pipelined producer
# and `ternctl node remove` takes it out of its chains, in a new epoch; the
# producer goes on by itself (it asks METADATA when its head stops
# answering or answers from another epoch) and every record it was told
# is written survives. With 3 nodes and replication 3 every node heads two
# partitions, is the middle of two and the tail of two, so each kill takes
# out a head, a middle and a tail at once; the test kills node 0, then, on
# a fresh cluster, node 1, then node 2. tern-bench's verify is the history
# checker: each acknowledged record exactly once at its acknowledged
# offset on both remaining replicas, no gap, nothing of the producer's
# unacknowledged; the survivors' logs must be equal byte for byte. The
# removal is idempotent, and a survivor restarted afterwards keeps the new
# map (its topics.json) and serves in it. Then the dead node is started
# again on its old data and added back (`ternctl node add`): it learns
# each chain from its tail and becomes its tail; a producer's records
# then reach all three replicas, and the three logs are equal byte for
# byte, the older records included. Heartbeats: before the kill no
# node suspects another; after it both survivors suspect the dead node,
# and after the removal they hold the same, newer map epoch; idle for
# longer than the suspicion time, the survivors still suspect only it.
. "$(dirname "$0")/lib.sh"

COUNT=${TERN_IT_COUNT:-60000}
RATE=${TERN_IT_RATE:-20000}
TERNCTL=$TERN_BUILD_ROOT/cli/ternctl/ternctl

# cluster_view DIR WHAT: from `cluster status --json`, "suspects" (pairs
# a>b of a node suspecting b) or "epochs" (each up node's map epoch).
cluster_view() {
	"$TERNCTL" --cluster "$1/cluster.ini" --json cluster status 2>/dev/null |
		"$TERNIT_PY" -c '
import json, sys
s, what = json.load(sys.stdin), sys.argv[1]
up = [n for n in s["nodes"] if n["state"] == "up"]
if what == "suspects":
    print(" ".join("%d>%d" % (n["node"], x["node"])
                   for n in up for x in n["suspects"]))
else:
    print(" ".join(str(n["map_epoch"]) for n in up))' "$2"
}

for victim in 0 1 2; do
	cluster=$TERNIT_DIR/c$victim
	survivors=()
	for i in 0 1 2; do [ "$i" = "$victim" ] || survivors+=("$i"); done
	lib_cluster_up "$cluster"
	lib_bench_memif "load$victim" "$cluster" --records "$COUNT" \
		--rate "$RATE" --timeout-ms 120000
	sleep 1 # a third of the records written
	lib_check "before the kill no node suspects another" \
		"'$(cluster_view "$cluster" suspects)' == ''"
	epochs_before=$(cluster_view "$cluster" epochs)
	lib_cluster kill-node "$cluster" "$victim" ||
		lib_fail "node $victim did not die"
	"$TERNCTL" --cluster "$cluster/cluster.ini" node remove "$victim" \
		>"$TERNIT_DIR/remove$victim.out" 2>&1 || {
		cat "$TERNIT_DIR/remove$victim.out" >&2
		lib_fail "node remove $victim failed"
	}
	lib_log "$(cat "$TERNIT_DIR/remove$victim.out")"
	want="${survivors[0]}>$victim ${survivors[1]}>$victim"
	for _ in $(seq 50); do
		suspects=$(cluster_view "$cluster" suspects)
		[ "$suspects" = "$want" ] && break
		sleep 0.1
	done
	lib_check "both survivors suspect node $victim ($suspects)" \
		"'$suspects' == '$want'"
	epochs=($(cluster_view "$cluster" epochs))
	lib_check "the survivors hold the same newer map (${epochs[*]}, were $epochs_before)" \
		"${epochs[0]} == ${epochs[1]} and ${epochs[0]} > ${epochs_before%% *}"
	lib_bench_check "load$victim" "$COUNT" 2
	lib_check "load$victim: the producer followed the new map" \
		"$(lib_jget "load$victim" map_updates) >= 1"

	# Again: every survivor has the map, nothing changes.
	"$TERNCTL" --cluster "$cluster/cluster.ini" --json node remove \
		"$victim" >"$TERNIT_DIR/again$victim.json" 2>/dev/null ||
		lib_fail "node remove $victim again failed"
	lib_check "a second removal of node $victim changes no map" \
		"$("$TERNIT_PY" -c 'import json,sys; print(json.load(sys.stdin)["maps_changed"])' \
			<"$TERNIT_DIR/again$victim.json") == 0"

	# A survivor restarted keeps the map it accepted.
	lib_cluster stop-node "$cluster" "${survivors[0]}" ||
		lib_fail "node ${survivors[0]} did not stop"
	lib_cluster start-node "$cluster" "${survivors[0]}" >/dev/null ||
		lib_fail "node ${survivors[0]} did not restart: $(tail -5 "$cluster/n${survivors[0]}/ternd.log")"
	lib_bench_memif "after$victim" "$cluster" --records 5000 \
		--timeout-ms 60000
	lib_bench_check "after$victim" 5000 2
	lib_check "after$victim: the first run's records are on both replicas" \
		"$(lib_jget "after$victim" foreign_records) == 2 * $COUNT"
	# Idle for more than the suspicion time: heartbeats alone keep the
	# survivors from suspecting each other; the dead node stays suspect.
	sleep 1.5
	lib_check "idle, only node $victim is suspected" \
		"'$(cluster_view "$cluster" suspects)' == '$want'"

	# The dead node back, on the data it had: node add empties its
	# copies, the tails feed it, and it becomes their tail.
	lib_cluster start-node "$cluster" "$victim" >/dev/null ||
		lib_fail "node $victim did not restart: $(tail -5 "$cluster/n$victim/ternd.log")"
	"$TERNCTL" --cluster "$cluster/cluster.ini" node add "$victim" \
		>"$TERNIT_DIR/add$victim.out" 2>&1 || {
		cat "$TERNIT_DIR/add$victim.out" >&2
		lib_fail "node add $victim failed"
	}
	lib_log "$(cat "$TERNIT_DIR/add$victim.out")"
	lib_bench_memif "back$victim" "$cluster" --records 5000 \
		--timeout-ms 60000
	lib_bench_check "back$victim" 5000 3
	lib_check "back$victim: every earlier record is on all three replicas" \
		"$(lib_jget "back$victim" foreign_records) == 3 * ($COUNT + 5000)"
	for _ in $(seq 30); do
		suspects=$(cluster_view "$cluster" suspects)
		[ -z "$suspects" ] && break
		sleep 0.1
	done
	lib_check "with node $victim back nobody is suspected ($suspects)" \
		"'$suspects' == ''"
	lib_cluster_down_compare "$cluster" 3
done
lib_log "RESULT $TERNIT_TEST: records=$COUNT rate=$RATE" \
	"p99_us_with_failover=$(lib_jget load2 latency_us.p99)"
