#!/bin/bash
# ternctl produce and consume against a 3-node AF_XDP cluster, from the
# client namespace over a kernel UDP socket, with the partition map from
# a node (--bootstrap). Checks the printed offsets and records (text and
# JSON), keys hashed to their partition, stdin lines with tab-separated
# keys, a --follow consumer that prints records as they are produced and
# stops cleanly on SIGINT, and the exit codes of the error paths.
. "$(dirname "$0")/lib.sh"

CLUSTER=$TERNIT_DIR/c
TERNCTL=$TERN_BUILD_ROOT/cli/ternctl/ternctl
lib_require_af_xdp
lib_cluster_up "$CLUSTER" --transport afxdp

ctl() {
	bash "$TERNIT_CLUSTER_SH" client-exec "$CLUSTER" "$TERNCTL" \
		--bootstrap 10.77.0.1 "$@"
}
expect_out() { # what expected actual
	[ "$2" = "$3" ] || lib_fail "$1: expected [$2], got [$3]"
	lib_log "ok: $1"
}

out=$(ctl --json produce --partition 2 one two three) || lib_fail "produce exited $?"
expect_out "three records at offsets 0-2 of partition 2" \
	'{"partition":2,"offset":0}
{"partition":2,"offset":1}
{"partition":2,"offset":2}' "$out"
out=$(ctl consume --partition 2) || lib_fail "consume exited $?"
expect_out "consume prints offset, key and value" "0		one
1		two
2		three" "$out"
out=$(ctl --json consume --partition 2 --from 1 --count 1)
expect_out "consume --from 1 --count 1 in JSON" \
	'{"partition":2,"offset":1,"key":"","value":"two"}' "$out"

# Keys: each goes to its hashed partition (partition/keyhash.h golden
# values are unit-tested; here the same key twice lands on one partition).
p1=$(ctl produce --key user-7 a | cut -d' ' -f2)
[ -n "$p1" ] || lib_fail "produce --key printed no partition"
p2=$(printf 'user-7\tb\nuser-7\tc\n' | ctl produce --tab-keys | cut -d' ' -f2 | sort -u)
expect_out "one key, one partition" "$p1" "$p2"
out=$(ctl consume --partition "$p1" | cut -f2,3)
expect_out "the keyed records in order" "user-7	a
user-7	b
user-7	c" "$out"

# --follow: records produced after it started show up, SIGINT ends it.
ctl consume --partition 4 --follow >"$TERNIT_DIR/follow.out" 2>&1 &
follower=$!
lib_register pid "$follower" "$(ternit_starttime "$follower")"
sleep 1
ctl produce --partition 4 late1 late2 >/dev/null || lib_fail "produce exited $?"
for _ in $(seq 50); do
	[ "$(wc -l <"$TERNIT_DIR/follow.out")" -ge 2 ] && break
	sleep 0.1
done
expect_out "the follower printed the new records" "0		late1
1		late2" "$(cat "$TERNIT_DIR/follow.out")"
pkill -INT -f "$TERNCTL --bootstrap 10.77.0.1 consume --partition 4 --follow"
wait "$follower"
expect_out "the follower exits 0 on SIGINT" 0 "$?"

# Error paths: usage 2, refused 1, unreachable 3; nothing written.
ctl nosuch >/dev/null 2>&1
expect_out "an unknown command exits 2" 2 "$?"
ctl consume --partition 99 >/dev/null 2>&1
expect_out "a partition out of range exits 2" 2 "$?"
ctl consume --partition 2 --from 100 >/dev/null 2>&1
expect_out "an offset past the end exits 1" 1 "$?"
bash "$TERNIT_CLUSTER_SH" client-exec "$CLUSTER" "$TERNCTL" \
	--bootstrap 10.77.0.99 --timeout-ms 500 consume --partition 0 >/dev/null 2>&1
expect_out "a node that does not answer exits 3" 3 "$?"
out=$(ctl consume --partition 2 | wc -l)
expect_out "partition 2 still holds its 3 records" 3 "$out"
# A bad line: what came before it is written, then exit 2.
out=$(printf 'k\tgood\nno-tab-here\n' | ctl produce --tab-keys 2>/dev/null)
expect_out "a line without a tab exits 2" 2 "$?"
expect_out "the line before it was written" 1 "$(echo "$out" | grep -c offset)"
# UTF-8 passes through JSON as it is.
p3=$(ctl produce --key utf "héllo" | cut -d' ' -f2)
out=$(ctl --json consume --partition "$p3" | grep -c '"value":"héllo"')
expect_out "UTF-8 values print as they are in JSON" 1 "$out"
lib_cluster down "$CLUSTER" || lib_fail "the cluster did not stop cleanly"
