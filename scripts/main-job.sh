#!/bin/bash
# Tern's main job on the local embedded default: a 3-node chain on this
# machine (memif mesh, 6 partitions, replication 3, durability disk, two
# worker lcores per node, each serving its share of the partitions),
# tern-bench producing keyed records through it and reading every one back
# from every replica, then the cluster stops and nothing is left running.
#   main-job.sh [BUILD]      TERN_MAIN_COUNT=N sets the record count
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
count="${TERN_MAIN_COUNT:-200000}"
work=$(mktemp -d /tmp/tern-main.XXXXXX)
prefix="tern-main-$$"

cleanup() {
	scripts/local-cluster.sh down "$work/cluster" >/dev/null 2>&1 || true
	rm -rf "$work" "/var/run/dpdk/$prefix"
}
trap cleanup EXIT INT TERM

scripts/local-cluster.sh up "$work/cluster" --build "$build" --workers 2 || {
	cat "$work"/cluster/n*/ternd.log >&2
	exit 1
}
# shellcheck disable=SC2046 # one --port word pair per node
"$build/bench/tern-bench/tern-bench" --cluster "$work/cluster/cluster.ini" \
	$(scripts/local-cluster.sh client-ports "$work/cluster") \
	--records "$count" --verify --file-prefix "$prefix" \
	2>"$work/bench.log" || {
	status=$?
	cat "$work/bench.log" >&2
	echo "main job: FAILED (tern-bench exit $status)" >&2
	exit 1
}
echo "main job: $count records through a 3-node chain (2 workers a node)," \
	"acknowledged once every replica held them durably, and read back" \
	"intact from all three"
