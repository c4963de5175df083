#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# chain_rate.sh: records/s and latency of a local 3-node chain (memif mesh,
# replication 3) measured with tern-bench, beside the raw memif rate
# measured in the same run.
#
# Each run measures the baseline first (bench/memif_rate.sh --raw-only: a
# bare DPDK pair moving frames of the size the chain's batches fill), then
# every configuration once, each on a fresh cluster. A configuration is
# PARTITIONS/IN_FLIGHT/DURABILITY[/WORKERS] (batches in flight per
# partition; worker lcores per node, default 1); the default set is
#
#   1/1/memory 1/64/memory 1/1/disk 1/64/disk 6/16/memory 6/16/disk
#
# and prints, per configuration, the median over the runs of records/s and
# of the batch latency percentiles, and the chain's frame rate as a share of
# the raw memif rate (each batch is 6 frames through a chain of 3: PRODUCE,
# 2 APPEND, 2 ACK, PRODUCE_ACK). Records are keyed, with --value-bytes of
# value (default 128).
#
# Usage: bench/chain_rate.sh [--build DIR] [--runs R] [--records N]
#                            [--value-bytes B] [--configs "C ..."] [--json]
set -u -o pipefail
cd "$(dirname "$0")/.."

build=build
runs=3
records=200000
value_bytes=128
json=0
frames_per_batch=6
configs="1/1/memory 1/64/memory 1/1/disk 1/64/disk 6/16/memory 6/16/disk"

while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--records) records=$2; shift 2 ;;
	--value-bytes) value_bytes=$2; shift 2 ;;
	--configs) configs=$2; shift 2 ;;
	--json) json=1; shift ;;
	*) sed -n '/^# Usage:/,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
	esac
done

work=$(mktemp -d /tmp/tern-chain-rate.XXXXXX)
prefix="tern-chain-rate-$$"
cleanup() {
	[ -f "$work/c/nodes" ] && scripts/local-cluster.sh down "$work/c" >/dev/null 2>&1
	rm -rf "$work" "/var/run/dpdk/$prefix"
}
trap cleanup EXIT INT TERM

# One configuration: partitions in-flight durability workers records ->
# a JSON line.
run_chain() {
	local parts=$1 inflight=$2 dur=$3 workers=$4 count=$5 out
	rm -rf "$work/c"
	scripts/local-cluster.sh up "$work/c" --build "$build" --partitions "$parts" \
		--durability "$dur" --workers "$workers" >/dev/null || return 1
	# shellcheck disable=SC2046 # one --port word pair per node
	out=$("$build/bench/tern-bench/tern-bench" --cluster "$work/c/cluster.ini" \
		$(scripts/local-cluster.sh client-ports "$work/c") \
		--records "$count" --value-bytes "$value_bytes" \
		--in-flight "$inflight" --json --file-prefix "$prefix" 2>/dev/null |
		grep '^{')
	scripts/local-cluster.sh down "$work/c" >/dev/null
	rm -rf "/var/run/dpdk/$prefix"
	echo "{\"partitions\":$parts,\"in_flight\":$inflight,\"durability\":\"$dur\",\"workers\":$workers,\"bench\":$out}"
}

# The raw pair carries frames as long as the chain's full batches.
frame_body=$((1500 - 20 - 8 - 32))
: >"$work/results"
for ((r = 1; r <= runs; r++)); do
	raw=$(bench/memif_rate.sh --build "$build" --raw-only --runs 1 \
		--count 2000000 --body "$frame_body" --json | grep '^{')
	echo "{\"run\":$r,\"raw\":$raw}" >>"$work/results"
	for cfg in $configs; do
		IFS=/ read -r c_parts c_inflight c_dur c_workers <<<"$cfg"
		c_workers=${c_workers:-1}
		count=$records
		[ "$c_inflight" -eq 1 ] && count=$((records / 10))
		line=$(run_chain "$c_parts" "$c_inflight" "$c_dur" "$c_workers" \
			"$count") || {
			echo "chain_rate: run $r, $cfg failed" >&2
			exit 1
		}
		echo "{\"run\":$r,\"chain\":$line}" >>"$work/results"
		[ "$json" -eq 1 ] || echo "run $r: $cfg done" >&2
	done
done

python3 - "$work/results" "$json" "$frames_per_batch" <<'EOF'
import json, statistics, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
as_json, fpb = sys.argv[2] == "1", int(sys.argv[3])
raw = [l["raw"]["raw_median"] for l in lines if "raw" in l]
raw_med = statistics.median(raw)
configs = {}
for l in lines:
    if "chain" not in l:
        continue
    c = l["chain"]
    key = (c["partitions"], c["in_flight"], c["durability"], c["workers"])
    configs.setdefault(key, []).append(c["bench"])
rows = []
for key, runs in configs.items():
    med = lambda f: statistics.median(f(b) for b in runs)
    rec = med(lambda b: b["records_per_s"])
    bps = med(lambda b: b["batches"] / b["seconds"] if b["seconds"] else 0)
    rows.append({
        "partitions": key[0], "in_flight": key[1], "durability": key[2],
        "workers": key[3],
        "records_per_s": rec,
        "records_per_s_runs": [b["records_per_s"] for b in runs],
        "p50_us": med(lambda b: b["latency_us"]["p50"]),
        "p99_us": med(lambda b: b["latency_us"]["p99"]),
        "p99_9_us": med(lambda b: b["latency_us"]["p99_9"]),
        "frames_vs_raw": bps * fpb / raw_med if raw_med else 0,
        "errors": sum(b["failed_batches"] + b["verify_errors"] for b in runs),
    })
if as_json:
    print(json.dumps({"raw_memif_frames_per_s": raw_med, "raw_runs": raw,
                      "configs": rows}))
    sys.exit(0)
print(f"raw memif pair: {raw_med:,.0f} frames/s (median of {len(raw)})")
print(f"{'P':>2} {'W':>2} {'in flight':>9} {'durability':>10} {'records/s':>10} "
      f"{'p50 us':>8} {'p99 us':>8} {'p99.9 us':>9} {'frames/raw':>10}  runs")
for r in rows:
    print(f"{r['partitions']:>2} {r['workers']:>2} {r['in_flight']:>9} {r['durability']:>10} "
          f"{r['records_per_s']:>10,.0f} {r['p50_us']:>8.1f} {r['p99_us']:>8.1f} "
          f"{r['p99_9_us']:>9.1f} {r['frames_vs_raw']:>10.3f}  "
          + " ".join(f"{x:,.0f}" for x in r["records_per_s_runs"]))
EOF
