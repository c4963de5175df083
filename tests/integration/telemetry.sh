#!/bin/bash
# Proves that tern-linktest's DPDK telemetry commands work from outside the
# process: after a small memif run the receiver lingers (--linger-ms 3000),
# and dpdk-telemetry.py, attached by file prefix, must list the workers with
# /tern/workers and report for them, with /tern/worker_stats,<index>, the
# counters (rx/tx frames and bytes, drops_total, drop_* reasons) with
# rx_frames >= the frames sent.
. "$(dirname "$0")/lib.sh"

COUNT=${TERN_IT_COUNT:-10000}
TELEMETRY=${TERN_DPDK_TELEMETRY:-$(command -v dpdk-telemetry.py)}
[ -x "$TELEMETRY" ] || lib_fail "dpdk-telemetry.py not found (package dpdk-dev)"
SOCK=$TERNIT_DIR/memif.sock
lib_register file "$SOCK"
PORT="socket=$SOCK,socket-abstract=no,id=0"

lib_linktest recv recv --port "net_memif0,role=server,$PORT" --linger-ms 3000
lib_wait_file "$SOCK" recv 30
lib_linktest send send --port "net_memif0,role=client,$PORT" --count "$COUNT"
lib_wait send 120
lib_expect_rc send 0
lib_alive recv || lib_fail "receiver did not linger after the run"

# Queries the receiver's telemetry socket; prints one JSON reply a line.
# TERNIT_PREFIX_recv is set by lib_linktest.
# shellcheck disable=SC2154
telemetry() {
	printf '%s\n' "$@" |
		timeout 10 "$TERNIT_PY" "$TELEMETRY" -f "$TERNIT_PREFIX_recv"
}

# Judges one round of replies: /tern/workers, then /tern/worker_stats for
# each listed worker and for worker 0. Prints "workers rx_frames_total" and
# exits 0, or prints why not and exits 1.
judge() {
	"$TERNIT_PY" - "$1" <<'PY'
import json, sys
replies = []
for line in open(sys.argv[1]):
    line = line.strip()
    if line.startswith("{"):
        replies.append(json.loads(line))
if not replies or not isinstance(replies[0].get("/tern/workers"), list):
    sys.exit("no /tern/workers list in the replies")
workers = replies[0]["/tern/workers"]
if not workers:
    sys.exit("/tern/workers lists no worker")
stats = [r.get("/tern/worker_stats") for r in replies[1:]]
if len(stats) != len(workers) + 1 or not all(isinstance(s, dict) for s in stats):
    sys.exit("expected %d /tern/worker_stats replies" % (len(workers) + 1))
need = {"rx_frames", "rx_bytes", "tx_frames", "tx_bytes", "drops_total"}
for s in stats:
    if not need <= s.keys() or not any(k.startswith("drop_") for k in s):
        sys.exit("a /tern/worker_stats reply lacks %s or drop_* reasons"
                 % sorted(need - s.keys()))
print(" ".join(map(str, workers)), sum(s["rx_frames"] for s in stats[:-1]))
PY
}

# The receiver may still be counting its last frames: poll for up to 2 s.
workers=$(telemetry /tern/workers 2>&1)
list=$(echo "$workers" | "$TERNIT_PY" -c '
import json, sys
for line in sys.stdin:
    if line.startswith("{"):
        print(" ".join(map(str, json.loads(line)["/tern/workers"])))
' 2>/dev/null) || lib_fail "bad /tern/workers reply: $workers"
cmds=(/tern/workers)
for w in $list; do cmds+=("/tern/worker_stats,$w"); done
cmds+=("/tern/worker_stats,0")
rx=0
deadline=$((SECONDS + 2))
while :; do
	lib_alive recv || lib_fail "the receiver was gone before telemetry showed $COUNT frames"
	telemetry "${cmds[@]}" > "$TERNIT_DIR/telemetry.json" 2>&1
	verdict=$(judge "$TERNIT_DIR/telemetry.json" 2>&1) ||
		lib_fail "telemetry: $verdict; replies: $(cat "$TERNIT_DIR/telemetry.json")"
	rx=${verdict##* }
	[ "$rx" -ge "$COUNT" ] && break
	[ "$SECONDS" -lt "$deadline" ] || break
	sleep 0.2
done
lib_log "telemetry replies: $(cat "$TERNIT_DIR/telemetry.json")"
lib_check "/tern/workers lists workers (${verdict% *}); each /tern/worker_stats has rx/tx frames and bytes, drops_total and drop_* reasons" True
lib_check "telemetry rx_frames ($rx) >= $COUNT" "$rx >= $COUNT"

lib_wait recv 30
lib_expect_rc recv 0
lib_json send
lib_json recv
lib_check_clean_recv recv "$COUNT"
lib_check "summary rx_frames ($(lib_jget recv rx_frames)) >= telemetry rx_frames ($rx)" \
	"$(lib_jget recv rx_frames) >= $rx"
lib_report recv send
