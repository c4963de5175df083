#!/bin/bash
# The AF_PACKET transport of local clusters: 3 nodes with 2 workers each,
# every ternd in its own network namespace with net_af_packet on a veth
# to a Linux bridge (scripts/local-cluster.sh --transport afpacket, which
# `ternctl local up` passes on). tern-bench over a kernel UDP socket in
# the client namespace writes 50,000 records to 6 partitions, reads each
# back from its 3 replicas, and every partition's log must be the same on
# the three nodes, byte for byte.
. "$(dirname "$0")/lib.sh"

COUNT=${TERN_IT_COUNT:-50000}
CLUSTER=$TERNIT_DIR/c
lib_cluster_up "$CLUSTER" --transport afpacket --workers 2
grep -q '^port = net_af_packet0,iface=.*,qpairs=2$' "$CLUSTER/cluster.ini" ||
	lib_fail "the cluster file has no AF_PACKET ports with 2 queue pairs"
lib_chain_udp_verify "$CLUSTER" 10.77.0.3:7000 "$COUNT"
