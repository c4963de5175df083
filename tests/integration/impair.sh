#!/bin/bash
# Proves that the seeded link impairment does what it says and that the
# receiver accounts for it: over memif, the receiver drops 5%, duplicates 1%
# and reorders 2% of its received frames (seed TERN_IT_SEED, default 7, so a
# failure replays), with --allow-loss. Of 200,000 frames the lost fraction
# must lie in [0.04, 0.06], the duplicate fraction in [0.005, 0.015], nothing
# may be corrupt, and every lost frame must be counted as an impairment drop.
# Impairment hits every received frame, the few control frames too (ARP,
# LINK_END), so: lost <= drops.impaired <= lost + (control frames received),
# where control frames received = rx_frames - expected (memif loses nothing
# before the impairment stage).
. "$(dirname "$0")/lib.sh"

COUNT=${TERN_IT_COUNT:-200000}
SEED=${TERN_IT_SEED:-7}
lib_log "impairment seed $SEED (replay with TERN_IT_SEED=$SEED)"
SOCK=$TERNIT_DIR/memif.sock
lib_register file "$SOCK"
PORT="socket=$SOCK,socket-abstract=no,id=0"

lib_linktest recv recv --port "net_memif0,role=server,$PORT" \
	--impair "drop=0.05,dup=0.01,reorder=0.02,seed=$SEED" --allow-loss
lib_wait_file "$SOCK" recv 30
lib_linktest send send --port "net_memif0,role=client,$PORT" --count "$COUNT"

lib_wait send 180
lib_expect_rc send 0
lib_wait recv 60
lib_expect_rc recv 0
lib_json send
lib_json recv

expected=$(lib_jget recv expected)
lost=$(lib_jget recv lost)
dup=$(lib_jget recv duplicates)
corrupt=$(lib_jget recv corrupt)
impaired=$(lib_jget recv drops.impaired 0)
rx_frames=$(lib_jget recv rx_frames)
control=$((rx_frames - expected))
lib_check "expected == $COUNT" "$expected == $COUNT"
lib_check "lost/expected = $lost/$expected in [0.04, 0.06]" \
	"0.04 <= $lost / $expected <= 0.06"
lib_check "duplicates/expected = $dup/$expected in [0.005, 0.015]" \
	"0.005 <= $dup / $expected <= 0.015"
lib_check "corrupt == 0" "$corrupt == 0"
lib_check "lost ($lost) <= drops.impaired ($impaired) <= lost + control frames ($control)" \
	"$lost <= $impaired <= $lost + $control"
lib_report recv send
