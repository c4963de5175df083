#!/bin/bash
# Proves that tern-linktest moves 1,000,000 frames between the virtio PMD and
# a vhost-user backend, the pair a Tern node meets in a VM: the receiver runs
# net_vhost as the vhost-user server (it creates the unix socket), the sender
# net_virtio_user as its client. virtio-user shares its memory with the
# backend by file descriptor, so the sender runs on 2 MiB hugepages with
# --single-file-segments from a private hugetlbfs mount; the test reserves
# hugepages if too few are free and gives them back afterwards. Every frame
# must arrive exactly once and intact, and both processes must exit 0.
# With TERN_IT_RX_INTR=1 both sides run the adaptive idle policy with Rx
# interrupts (virtio-user and vhost can arm them), and the receiver must
# have slept in them at least once: its idle periods (before the first
# frame, the end-of-run grace) are far longer than the spin and pause
# phases, so a worker that never waited on an interrupt did not use them.
. "$(dirname "$0")/lib.sh"

RX_INTR=()
[ "${TERN_IT_RX_INTR:-0}" = 1 ] && RX_INTR=(--rx-intr)

COUNT=${TERN_IT_COUNT:-1000000}
MEM_MB=256
lib_hugepages_setup 512

SOCK=$TERNIT_DIR/vhost.sock
lib_register file "$SOCK"

lib_linktest recv recv --port "net_vhost0,iface=$SOCK,queues=1,client=0" \
	"${RX_INTR[@]}"
lib_wait_file "$SOCK" recv 30
lib_linktest send send \
	--port "net_virtio_user0,path=$SOCK,queues=1,server=0" \
	--hugepages --huge-dir "$TERNIT_HUGE_DIR" --single-file-segments \
	--mem-mb "$MEM_MB" --count "$COUNT" "${RX_INTR[@]}"

lib_wait send 240
lib_expect_rc send 0
lib_wait recv 60
lib_expect_rc recv 0
lib_json send
lib_json recv

lib_check "sender sent $COUNT" "$(lib_jget send sent) == $COUNT"
lib_check_clean_recv recv "$COUNT"
if [ ${#RX_INTR[@]} -gt 0 ]; then
	waits=$(sed -n 's/.*worker 0 rx_interrupt_waits=\([0-9]*\).*/\1/p' \
		"$TERNIT_DIR/recv.err" | tail -n 1)
	lib_check "receiver waited on Rx interrupts (${waits:-0} times)" \
		"${waits:-0} > 0"
fi
lib_report recv send
