#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# catchup.sh: how long a node takes to join back (`ternctl node add`) with
# RECORDS records in the log, and what the copy does to a producer's
# latency meanwhile, at catchup_mb_s MB_S (0: unpaced).
#
#   bench/catchup.sh [BUILD] [RECORDS] [MB_S]     (as root)
#
# A local 3-node memif cluster gets RECORDS records (closed loop); node 2 is
# killed, removed and started again; a producer then writes 5,000
# records/s for 14 s, and 5 s in node 2 is added back. Prints the add's
# duration, the producer's per-second batch latency (p50, p99 in us), and
# checks that the three logs end equal. Everything goes in a temporary
# directory, removed at the end with the benches' EAL runtime dirs.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$here/build}" && pwd)
records=${2:-1000000}
mb_s=${3:-100}
dir=$(mktemp -d /tmp/tern-catchup.XXXXXX)
cluster="$here/scripts/local-cluster.sh"
ternctl="$build/cli/ternctl/ternctl"
bench="$build/bench/tern-bench/tern-bench"
prefix=tern-catchup-$$
load=""
cleanup() {
	[ -n "$load" ] && kill "$load" 2>/dev/null && wait "$load"
	bash "$cluster" down "$dir/c" >/dev/null 2>&1 || true
	rm -rf "$dir" "/var/run/dpdk/$prefix-fill" "/var/run/dpdk/$prefix-load"
}
trap cleanup EXIT

bash "$cluster" up "$dir/c" --build "$build" >/dev/null
mapfile -t ports < <(bash "$cluster" client-ports "$dir/c" | tr " " "\n")
"$bench" --cluster "$dir/c/cluster.ini" "${ports[@]}" --records "$records" \
	--producer-id 11 --file-prefix "$prefix-fill" --json 2>/dev/null >"$dir/fill.json"
bash "$cluster" kill-node "$dir/c" 2
"$ternctl" --cluster "$dir/c/cluster.ini" node remove 2 >/dev/null
bash "$cluster" start-node "$dir/c" 2 >/dev/null
"$ternctl" --cluster "$dir/c/cluster.ini" config set catchup_mb_s "$mb_s" >/dev/null
"$bench" --cluster "$dir/c/cluster.ini" "${ports[@]}" --records 100000000 \
	--rate 5000 --duration-ms 14000 --producer-id 12 \
	--file-prefix "$prefix-load" --json 2>/dev/null >"$dir/load.json" &
load=$!
sleep 5
start=$(date +%s%N)
"$ternctl" --cluster "$dir/c/cluster.ini" node add 2 >/dev/null
end=$(date +%s%N)
wait "$load"
load=""
echo "node add with $records records in the log, catchup_mb_s $mb_s:" \
	"$(((end - start) / 1000000)) ms"
python3 -c '
import json, sys
for s in json.load(open(sys.argv[1]))["series"]:
    print("second %2d: p50 %8.1f us, p99 %9.1f us"
          % (s["second"], s["p50_us"], s["p99_us"]))
' "$dir/load.json"
bash "$cluster" down "$dir/c" >/dev/null
python3 "$here/tests/integration/compare_replicas.py" \
	"$build/cli/logcheck/tern-logcheck" "$dir"/c/n{0,1,2}/data
