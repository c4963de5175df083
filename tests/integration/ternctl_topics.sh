#!/bin/bash
# Topics created at run time (#5): `ternctl topic create|list|describe|
# delete` on a 3-node AF_XDP cluster; records produced to and consumed from
# the new topic (its partitions travel as global ids after the cluster
# file's, found by METADATA); the refusals (a topic that exists, a layout
# the cluster cannot hold, a node that is down: nothing changed); a node
# restarted keeps its topics (DATA_DIR/topics.json) and serves them; a
# delete removes the data on every node. Then on a memif cluster with 2
# workers per node: a new topic's replicas open on both workers (their
# counters show in /metrics) and close again.
. "$(dirname "$0")/lib.sh"

TERNCTL=$TERN_BUILD_ROOT/cli/ternctl/ternctl
CTLJSON=$TERN_SOURCE_ROOT/tests/integration/ctl_json.py
lib_require_af_xdp

expect_out() { # what expected actual
	[ "$2" = "$3" ] || lib_fail "$1: expected [$2], got [$3]"
	lib_log "ok: $1"
}
expect_fail() { # WHAT CODE PATTERN CMD...
	local what=$1 code=$2 pattern=$3 rc
	shift 3
	"$@" >"$TERNIT_DIR/out" 2>"$TERNIT_DIR/err"
	rc=$?
	[ "$rc" = "$code" ] || lib_fail "$what: exit $rc, expected $code ($(cat "$TERNIT_DIR/err"))"
	grep -q -- "$pattern" "$TERNIT_DIR/err" ||
		lib_fail "$what: stderr lacks '$pattern': $(cat "$TERNIT_DIR/err")"
	lib_log "ok: $what (exit $code: $(head -1 "$TERNIT_DIR/err"))"
}
up() { # DIR ARGS...: a local cluster through ternctl, cleaned up whatever
	local dir=$1
	shift
	lib_register cluster "$TERNIT_CLUSTER_SH" "$dir"
	"$TERNCTL" local up "$dir" "$@" >"$TERNIT_DIR/up.out" 2>&1 || {
		cat "$TERNIT_DIR/up.out" "$dir"/n*/ternd.log >&2
		lib_fail "ternctl local up failed"
	}
	lib_log "$(tail -1 "$TERNIT_DIR/up.out")"
}

A=$TERNIT_DIR/a
up "$A" --transport afxdp --partitions 4
ctl() { "$TERNCTL" --cluster "$A/cluster.ini" "$@"; }
client() {
	bash "$TERNIT_CLUSTER_SH" client-exec "$A" "$TERNCTL" \
		--cluster "$A/cluster.ini" "$@"
}
# The same in the background, as one process (client-exec and ip netns
# exec exec): its pid is ternctl's, for signals.
client_bg() { # OUT ERR ARGS...
	local out=$1 err=$2
	shift 2
	(exec bash "$TERNIT_CLUSTER_SH" client-exec "$A" "$TERNCTL" \
		--cluster "$A/cluster.ini" "$@" >"$out" 2>"$err") &
}
topic_names() {
	ctl --json topic list | "$TERNIT_PY" -c '
import json, sys
print(" ".join("%s:%d+%d/%d" % (t["topic"], t["base"], t["partitions"],
                               t["replication"])
               for t in json.load(sys.stdin)["topics"]))'
}

out=$(ctl topic create orders --partitions 3 --replication 2) ||
	lib_fail "topic create exited $?: $out"
expect_out "create says where the topic lives" \
	"topic orders created: 3 partitions (global 4..6), replication 2, durability disk, on 3 nodes" "$out"
expect_out "the topics after the file's" "bench:0+4/3 orders:4+3/2" "$(topic_names)"

# Records in and out of the new topic, by key and by partition.
out=$(client produce --topic orders --key user-9 a b c | cut -d' ' -f2 | sort -u)
[ -n "$out" ] || lib_fail "produce --topic printed no partition"
kp=$out
client produce --topic orders --partition 1 x y >/dev/null || lib_fail "produce exited $?"
out=$(client consume --topic orders --partition "$kp" --count 3 | cut -f2,3)
expect_out "the keyed records, in order" "user-9	a
user-9	b
user-9	c" "$out"
out=$(client --json consume --topic orders --partition 1 --from 1 --count 1)
expect_out "one record of partition 1" '{"partition":1,"offset":1,"key":"","value":"y"}' "$out"
expect_fail "consume past a topic's partitions" 2 "topic orders has partitions 0 to 2" \
	client consume --topic orders --partition 3
expect_fail "a topic nobody has" 1 "no topic 'nope'" client produce --topic nope v

# Refusals: nothing changes.
expect_fail "a topic that exists" 1 "topic orders exists; nothing changed" \
	ctl topic create orders --partitions 3
expect_fail "a replication the nodes cannot hold" 1 "replication 4 of topic wide is not within 1..3" \
	ctl topic create wide --partitions 2 --replication 4
expect_fail "a name that is not one" 1 "not 1 to 200" \
	ctl topic create 'bad/name' --partitions 1
expect_fail "the cluster file's topic cannot go" 1 "it goes with the file" \
	ctl topic delete bench
lib_cluster stop-node "$A" 2 || lib_fail "stop-node failed"
expect_fail "create with a node down" 3 "nothing changed" \
	ctl topic create more --partitions 2
expect_fail "delete with a node down" 3 "nothing changed" ctl topic delete orders
lib_cluster start-node "$A" 2 || lib_fail "start-node failed"
expect_out "the topics are as before" "bench:0+4/3 orders:4+3/2" "$(topic_names)"

# A restarted node reads its topics back and serves them.
lib_cluster stop-node "$A" 0 || lib_fail "stop-node failed"
lib_cluster start-node "$A" 0 || lib_fail "start-node failed"
grep -q '"name": "orders"' "$A/n0/data/topics.json" || lib_fail "node 0 lost topics.json"
expect_out "node 0 lists the topic after its restart" "bench:0+4/3 orders:4+3/2" "$(topic_names)"
# Partition 2 of orders (global 6) has its chain on nodes 0 and 1.
client produce --topic orders --partition 2 after-restart >/dev/null ||
	lib_fail "produce after the restart exited $?"
out=$(client consume --topic orders --partition 2 | cut -f3)
expect_out "the restarted node serves the topic" "after-restart" "$out"
"$TERNCTL" check "$A/n0/data/orders-2" >/dev/null || lib_fail "node 0's orders-2 is not clean"

# A follower of a topic that is deleted learns it: the nodes stop serving
# its partitions, METADATA no longer knows it, and it exits 1.
client_bg "$TERNIT_DIR/f1.out" "$TERNIT_DIR/f1.err" consume --topic orders --partition 0 --follow
f1=$!
lib_register pid "$f1" "$(ternit_starttime "$f1")"
sleep 1

# Delete: gone from every node, data included.
out=$(ctl topic delete orders) || lib_fail "delete exited $?"
expect_out "delete reports every node" "topic orders deleted on 3 nodes" "$out"
expect_out "only the file's topic is left" "bench:0+4/3" "$(topic_names)"
for i in 0 1 2; do
	ls -d "$A/n$i/data/"orders-* "$A/n$i/data/".deleted-* 2>/dev/null &&
		lib_fail "node $i still holds data of orders"
done
lib_log "ok: no node holds data of the deleted topic"
wait "$f1"
expect_out "the follower of a deleted topic exits 1" 1 "$?"
grep -q "topic orders was deleted" "$TERNIT_DIR/f1.err" ||
	lib_fail "the follower did not say why: $(cat "$TERNIT_DIR/f1.err")"
expect_fail "consume from the deleted topic" 1 "no topic 'orders'" \
	client consume --topic orders --partition 0
# The same name again: a new, empty topic.
ctl topic create orders --partitions 1 --replication 3 >/dev/null || lib_fail "re-create exited $?"
out=$(client consume --topic orders --partition 0 | wc -l)
expect_out "a topic created again starts empty" 0 "$out"
# A follower stopped while the topic is deleted, its partition ids given
# to another topic and the topic created again elsewhere: its frames
# carry the old topic's epoch, so the new owner of the ids refuses them
# (STALE_EPOCH) instead of serving another topic's records, and the
# follower finds the topic's new place and reads it from its start.
client produce --topic orders --partition 0 old >/dev/null || lib_fail "produce exited $?"
client_bg "$TERNIT_DIR/f2.out" "$TERNIT_DIR/f2.err" consume --topic orders --partition 0 --follow
f2=$!
lib_register pid "$f2" "$(ternit_starttime "$f2")"
for _ in $(seq 50); do
	grep -q old "$TERNIT_DIR/f2.out" && break
	sleep 0.1
done
kill -STOP "$f2"
ctl topic delete orders >/dev/null || lib_fail "delete exited $?"
ctl topic create pad --partitions 1 --replication 3 >/dev/null || lib_fail "create pad exited $?"
client produce --topic pad --partition 0 not-for-orders >/dev/null || lib_fail "produce exited $?"
ctl topic create orders --partitions 1 --replication 2 >/dev/null || lib_fail "re-create exited $?"
client produce --topic orders --partition 0 new >/dev/null || lib_fail "produce exited $?"
kill -CONT "$f2"
for _ in $(seq 100); do
	grep -q new "$TERNIT_DIR/f2.out" && break
	sleep 0.1
done
kill -INT "$f2"
wait "$f2"
expect_out "the follower read the old topic, then the new one, never pad's" "0		old
0		new" "$(cat "$TERNIT_DIR/f2.out")"
grep -q "topic orders was created again" "$TERNIT_DIR/f2.err" ||
	lib_fail "the follower did not say it moved: $(cat "$TERNIT_DIR/f2.err")"
expect_out "pad took the freed ids" "bench:0+4/3 pad:4+1/3 orders:5+1/2" "$(topic_names)"
# A producer whose topic moves while it reads its input: its batch goes to
# the old ids in the old epoch, is answered NOT_HEAD, and ternctl asks
# METADATA again and writes it where the topic is now.
(echo one; sleep 2; echo two) | client produce --topic orders --partition 0 \
	>"$TERNIT_DIR/p.out" 2>"$TERNIT_DIR/p.err" &
producer=$!
sleep 0.5
ctl topic delete orders >/dev/null || lib_fail "delete exited $?"
ctl topic create pad2 --partitions 1 --replication 3 >/dev/null || lib_fail "create pad2 exited $?"
ctl topic create orders --partitions 1 --replication 2 >/dev/null || lib_fail "re-create exited $?"
wait "$producer" || lib_fail "the producer exited $?: $(cat "$TERNIT_DIR/p.err")"
grep -q "topic orders was created again (global partitions 6..6); writing there" "$TERNIT_DIR/p.err" ||
	lib_fail "the producer did not say it moved: $(cat "$TERNIT_DIR/p.err")"
out=$(client consume --topic orders --partition 0 | cut -f3 | tr '\n' ' ')
expect_out "the moved producer's records are in the new topic" "one two " "$out"
out=$(client consume --topic pad2 --partition 0 | wc -l)
expect_out "and none in the topic that took the old ids" 0 "$out"
lib_cluster down "$A" || lib_fail "the cluster did not stop cleanly"

# Two workers per node: a topic's replicas open on both, then close.
B=$TERNIT_DIR/b
up "$B" --workers 2 --partitions 4
"$TERNCTL" --cluster "$B/cluster.ini" topic create logs --partitions 4 >/dev/null ||
	lib_fail "topic create on 2 workers exited $?"
control=$(sed -n 's/^control = //p' "$B/cluster.ini" | head -1)
sleep 0.3 # views are republished every 100 ms
curl -sf "http://$control/metrics" >"$TERNIT_DIR/metrics.txt" || lib_fail "GET /metrics failed"
workers=$(grep '^tern_partition_log_end{' "$TERNIT_DIR/metrics.txt" |
	grep -E 'partition="[4-7]"' | sed 's/.*worker="\([0-9]\)".*/\1/' | sort -u | tr '\n' ' ')
expect_out "node 0 serves the new topic on both workers" "0 1 " "$workers"
"$TERNCTL" --cluster "$B/cluster.ini" topic delete logs >/dev/null || lib_fail "delete exited $?"
sleep 0.3
curl -sf "http://$control/metrics" >"$TERNIT_DIR/metrics.txt" || lib_fail "GET /metrics failed"
grep -E '^tern_partition_log_end\{.*partition="[4-7]"' "$TERNIT_DIR/metrics.txt" &&
	lib_fail "node 0 still shows the deleted topic's partitions"
lib_log "ok: the deleted topic's replicas are closed on both workers"
lib_cluster down "$B" || lib_fail "the cluster did not stop cleanly"
