#!/bin/bash
# The wire protocol against a second, independent implementation of its
# client side (probe.py, Python over a kernel UDP socket), on 4 nodes with
# replication 2 over AF_XDP on a bridge, so that some node holds no replica
# of a partition. Well-formed, retried and misrouted requests get the
# answers docs/protocol.md specifies, field by field: OK with offsets, the
# same offsets for a retry, NOT_HEAD from a replica that is not the head
# and from a node without a replica, BAD_BATCH (with the producer and
# sequence) for a bad CRC, OUT_OF_ORDER, no answer to another epoch's
# PRODUCE, the batch itself from the tail, NOT_SERVED_HERE, STALE_EPOCH,
# OUT_OF_RANGE with the log end, a long poll that waits, the partition map
# (METADATA), and an ACK forged with a node's id from the client's address
# ignored. Then each refused frame must appear in the nodes' counters.
. "$(dirname "$0")/lib.sh"

CLUSTER=$TERNIT_DIR/c
lib_require_af_xdp
lib_cluster_up "$CLUSTER" --transport afxdp --nodes 4 --replication 2 --partitions 4
lib_cluster client-exec "$CLUSTER" "$TERNIT_PY" \
	"$TERN_SOURCE_ROOT/tests/integration/probe.py" "$CLUSTER/cluster.ini" \
	>"$TERNIT_DIR/probe.out" 2>&1
rc=$?
sed 's/^/[probe] /' "$TERNIT_DIR/probe.out" >&2
[ "$rc" -eq 0 ] || lib_fail "probe.py exited $rc"
lib_cluster down "$CLUSTER" || lib_fail "the cluster did not stop cleanly"

# counter NAME: the sum over the nodes' exit summaries.
counter() {
	cat "$CLUSTER"/n*/ternd.log | sed -n "s/^ternd: worker [0-9]* rejected $1=//p" |
		awk '{ s += $1 } END { print s + 0 }'
}
lib_check "the bad batch was counted" "$(counter bad_batch) >= 1"
lib_check "the stale PRODUCE and FETCH were counted" "$(counter stale_epoch) >= 2"
lib_check "the misrouted frames were counted" "$(counter not_served) >= 2"
lib_check "the forged ACK was refused" "$(counter unknown_peer) >= 1"
