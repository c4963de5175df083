#!/bin/bash
# The virtio transport of local clusters, the pair a node meets in a VM:
# every link between two nodes is a vhost-user backend (net_vhost) on one
# side and virtio-user on the other, over a unix socket, and tern-bench
# reaches each node through one more such link (scripts/local-cluster.sh
# --transport virtio, which `ternctl local up` passes on). `up` reserves
# and mounts the hugepages virtio-user shares its memory through; 50,000
# records are read back from their 3 replicas, the logs must be equal,
# and `down` must give the hugepages and the mount back.
. "$(dirname "$0")/lib.sh"

COUNT=${TERN_IT_COUNT:-50000}
CLUSTER=$TERNIT_DIR/c
HUGE_NR=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
[ -w "$HUGE_NR" ] || lib_skip "the kernel has no 2 MiB hugepages"
before=$(cat "$HUGE_NR")
lib_cluster_up "$CLUSTER" --transport virtio --partitions 4
grep -q '^port = net_vhost0,iface=' "$CLUSTER/cluster.ini" &&
	grep -q '^port = net_virtio_user0,path=' "$CLUSTER/cluster.ini" ||
	lib_fail "the cluster file has no vhost / virtio-user ports"
mountpoint -q "$CLUSTER/huge" || lib_fail "no hugetlbfs mounted for the cluster"
lib_bench_memif bench "$CLUSTER" --records "$COUNT" --timeout-ms 240000
lib_bench_check bench "$COUNT" 3
lib_cluster_down_compare "$CLUSTER" 3
mountpoint -q "$CLUSTER/huge" 2>/dev/null && lib_fail "down left the hugetlbfs mount"
expect=$(cat "$HUGE_NR")
[ "$expect" = "$before" ] || lib_fail "down left nr_hugepages at $expect (was $before)"
lib_log "ok: down unmounted the hugepages and set nr_hugepages back to $before"
lib_log "RESULT $TERNIT_TEST: records=$COUNT" \
	"records_per_s=$(lib_jget bench records_per_s)" \
	"p50_us=$(lib_jget bench latency_us.p50)"
