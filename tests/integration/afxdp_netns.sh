#!/bin/bash
# Proves that tern-linktest moves 1,000,000 frames over AF_XDP on a real L2
# link: two network namespaces joined by a veth pair, each process in its own
# namespace with net_af_xdp on its veth end. The sender resolves the
# receiver's MAC with ARP over the link. Every frame must arrive exactly once
# and intact, and both processes must exit 0.
#
# AF_XDP on veth: each DPDK port attaches libxdp's default XSK program to its
# veth end (native veth XDP). Because both ends carry an XDP program, the veth
# peers run NAPI and frames sent by one XSK reach the other's program, so no
# GRO setting is needed. `ip netns exec` remounts /sys, so libxdp finds no
# bpffs and loads the program without its dispatcher (it says so on stderr):
# that is expected. The test skips (77) only if the kernel has no AF_XDP or
# veth; a failing port set-up is a failure.
. "$(dirname "$0")/lib.sh"

COUNT=${TERN_IT_COUNT:-1000000}
lib_require_af_xdp

NS_R=$TERNIT_NAME-r
NS_S=$TERNIT_NAME-s
IF_R=$(lib_ifname r)
IF_S=$(lib_ifname s)
lib_netns_add "$NS_R"
lib_netns_add "$NS_S"
lib_veth_add "$IF_R" "$NS_R" "$IF_S" "$NS_S" 1500
# One queue each: the af_xdp port uses queue 0 only.
ip netns exec "$NS_R" ethtool -L "$IF_R" rx 1 tx 1 >/dev/null 2>&1
ip netns exec "$NS_S" ethtool -L "$IF_S" rx 1 tx 1 >/dev/null 2>&1

TERNIT_NETNS=$NS_R lib_linktest recv recv \
	--port "net_af_xdp0,iface=$IF_R,start_queue=0,queue_count=1"
lib_wait_xdp "$NS_R" "$IF_R" recv 30
TERNIT_NETNS=$NS_S lib_linktest send send \
	--port "net_af_xdp0,iface=$IF_S,start_queue=0,queue_count=1" \
	--count "$COUNT"

lib_wait send 240
lib_expect_rc send 0
lib_wait recv 60
lib_expect_rc recv 0
lib_json send
lib_json recv

lib_check "sender sent $COUNT" "$(lib_jget send sent) == $COUNT"
lib_check_clean_recv recv "$COUNT"
lib_report recv send
