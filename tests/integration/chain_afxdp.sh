#!/bin/bash
# A 3-node chain on a real L2 network: each ternd in its own network
# namespace with AF_XDP on a veth whose other end is on a Linux bridge
# (scripts/local-cluster.sh --transport afxdp). Nodes find each other by
# ARP. The producer is tern-bench over a kernel UDP socket in a fourth
# namespace on the same bridge, with no cluster file: it asks node 1 for
# the partition map (METADATA). 100,000 records, each read back from all
# three replicas; then every partition's log must be identical on the
# three nodes, byte for byte.
. "$(dirname "$0")/lib.sh"

COUNT=${TERN_IT_COUNT:-100000}
CLUSTER=$TERNIT_DIR/c
lib_require_af_xdp
lib_cluster_up "$CLUSTER" --transport afxdp
lib_chain_udp_verify "$CLUSTER" 10.77.0.2:7000 "$COUNT"
