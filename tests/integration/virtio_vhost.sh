#!/bin/bash
# Proves that tern-linktest moves 1,000,000 frames between the virtio PMD and
# a vhost-user backend, the pair a Tern node meets in a VM: the receiver runs
# net_vhost as the vhost-user server (it creates the unix socket), the sender
# net_virtio_user as its client. virtio-user shares its memory with the
# backend by file descriptor, so the sender runs on 2 MiB hugepages with
# --single-file-segments from a private hugetlbfs mount; the test reserves
# hugepages if too few are free and gives them back afterwards. Every frame
# must arrive exactly once and intact, and both processes must exit 0.
. "$(dirname "$0")/lib.sh"

COUNT=${TERN_IT_COUNT:-1000000}
MEM_MB=256
lib_hugepages_setup 512

SOCK=$TERNIT_DIR/vhost.sock
lib_register file "$SOCK"

lib_linktest recv recv --port "net_vhost0,iface=$SOCK,queues=1,client=0"
lib_wait_file "$SOCK" recv 30
lib_linktest send send \
	--port "net_virtio_user0,path=$SOCK,queues=1,server=0" \
	--hugepages --huge-dir "$TERNIT_HUGE_DIR" --single-file-segments \
	--mem-mb "$MEM_MB" --count "$COUNT"

lib_wait send 240
lib_expect_rc send 0
lib_wait recv 60
lib_expect_rc recv 0
lib_json send
lib_json recv

lib_check "sender sent $COUNT" "$(lib_jget send sent) == $COUNT"
lib_check_clean_recv recv "$COUNT"
lib_report recv send
