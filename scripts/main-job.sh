#!/bin/bash
# Tern's main job on the local embedded default. Until the chain exists,
# two dataplane processes exchange numbered frames over memif: the receiver
# verifies every frame and both print their rate.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
count="${TERN_MAIN_COUNT:-10000000}"
linktest="$build/node/tern-linktest"
work=$(mktemp -d /tmp/tern-main.XXXXXX)
prefix="tern-main-$$"
recv_pid=""

cleanup() {
	[ -n "$recv_pid" ] && kill "$recv_pid" 2>/dev/null && wait "$recv_pid" 2>/dev/null
	rm -rf "$work" "/var/run/dpdk/$prefix-recv" "/var/run/dpdk/$prefix-send"
}
trap cleanup EXIT INT TERM

port="socket=$work/memif.sock,socket-abstract=no,id=0"
# Receiver's worker on lcore 1, sender's on lcore 0: one busy poller a core.
"$linktest" --role recv --port "net_memif0,role=server,$port" \
	--file-prefix "$prefix-recv" --lcores 0,1 --main-lcore 0 --idle busy \
	--count "$count" 2>"$work/recv.log" &
recv_pid=$!
"$linktest" --role send --port "net_memif0,role=client,$port" \
	--file-prefix "$prefix-send" --lcores 0,1 --main-lcore 1 --idle busy \
	--count "$count" 2>"$work/send.log" || {
	cat "$work/send.log" >&2
	exit 1
}
status=0
wait "$recv_pid" || status=$?
recv_pid=""
if [ "$status" -ne 0 ]; then
	cat "$work/recv.log" >&2
	echo "main job: verification FAILED (receiver exit $status)" >&2
	exit 1
fi
echo "main job: $count frames over memif, every frame verified"
