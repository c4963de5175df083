#!/bin/bash
# Proves invariant 7 at the frame level: bad input is counted and rejected,
# never crashes the receiver or disturbs good traffic. Over memif the sender
# first sends 20,000 malformed frames of many classes (truncated, random,
# wrong lengths and checksums, bad magic/version/type, fragments, IP options,
# non-IPv4, wrong MAC/IP/port), then 100,000 good ones. The receiver must
# verify every good frame (lost=0, duplicates=0, corrupt=0), count exactly
# 20,000 drops, and spread them over several distinct drop reasons.
. "$(dirname "$0")/lib.sh"

COUNT=${TERN_IT_COUNT:-100000}
GARBAGE=20000
MIN_REASONS=4
SOCK=$TERNIT_DIR/memif.sock
lib_register file "$SOCK"
PORT="socket=$SOCK,socket-abstract=no,id=0"

lib_linktest recv recv --port "net_memif0,role=server,$PORT"
lib_wait_file "$SOCK" recv 30
lib_linktest send send --port "net_memif0,role=client,$PORT" \
	--garbage "$GARBAGE" --count "$COUNT"

lib_wait send 180
lib_expect_rc send 0
lib_wait recv 60
lib_expect_rc recv 0
lib_json send
lib_json recv

lib_check "sender sent $COUNT good frames" "$(lib_jget send sent) == $COUNT"
lib_check "sender sent $GARBAGE garbage frames" "$(lib_jget send garbage) == $GARBAGE"
lib_check "receiver learnt garbage_sent == $GARBAGE" \
	"$(lib_jget recv garbage_sent) == $GARBAGE"
lib_check_clean_recv recv "$COUNT"
lib_check "drops_total == $GARBAGE" "$(lib_jget recv drops_total) == $GARBAGE"
drops=$(lib_jget recv drops)
lib_log "drop reasons: $drops"
lib_check "sum of drop reasons == drops_total" \
	"sum(__import__('json').loads('''$drops''').values()) == $(lib_jget recv drops_total)"
lib_check "at least $MIN_REASONS distinct drop reasons are non-zero" \
	"sum(1 for v in __import__('json').loads('''$drops''').values() if v) >= $MIN_REASONS"
lib_report recv send
