#!/bin/bash
# Proves that tern-linktest moves 1,000,000 frames over a memif link between
# two processes with every frame delivered exactly once and intact: the
# receiver is the memif server (it creates the socket), the sender the client;
# both must exit 0 and the receiver must count unique=1000000, lost=0,
# duplicates=0, corrupt=0.
. "$(dirname "$0")/lib.sh"

COUNT=${TERN_IT_COUNT:-1000000}
SOCK=$TERNIT_DIR/memif.sock
lib_register file "$SOCK"
PORT="socket=$SOCK,socket-abstract=no,id=0"

lib_linktest recv recv --port "net_memif0,role=server,$PORT"
lib_wait_file "$SOCK" recv 30
lib_linktest send send --port "net_memif0,role=client,$PORT" --count "$COUNT"

lib_wait send 180
lib_expect_rc send 0
lib_wait recv 60
lib_expect_rc recv 0
lib_json send
lib_json recv

lib_check "sender sent $COUNT" "$(lib_jget send sent) == $COUNT"
lib_check_clean_recv recv "$COUNT"
lib_report recv send
