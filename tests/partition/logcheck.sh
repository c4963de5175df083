#!/bin/bash
# Proves tern-logcheck's contract: exit 0 on a clean partition directory
# (made by a few rounds of the crash test), 1 with the corruption named
# when a byte in the middle of a segment is flipped, valid JSON with
# --json, and 2 on usage errors or a missing directory.
set -u
logcheck="${1:?usage: logcheck.sh TERN_LOGCHECK TEST_PARTITION_CRASH}"
crash="${2:?usage: logcheck.sh TERN_LOGCHECK TEST_PARTITION_CRASH}"
dir=$(mktemp -d /tmp/tern-logcheck-XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$crash" --rounds 3 --seed 7 --keep "$dir" >/dev/null || fail "crash run"
part="$dir/crash-0"
out=$("$logcheck" --torn-window 65536 "$part"); rc=$?
echo "$out"
[ "$rc" -eq 0 ] || fail "clean log: exit $rc"
echo "$out" | grep -q ': clean$' || fail "clean log not reported clean"
"$logcheck" --json --torn-window 65536 "$part" | python3 -m json.tool >/dev/null ||
	fail "--json is not JSON"

# Flip a byte 20 KB into the first segment: a batch with valid data after.
seg="$part/00000000000000000000.log"
size=$(stat -c %s "$seg")
[ "$size" -gt 300000 ] || fail "segment too small for the test"
byte=$(od -An -tu1 -j 20000 -N1 "$seg" | tr -d ' ')
printf "$(printf '\\%03o' $(( (byte + 1) % 256 )))" |
	dd of="$seg" bs=1 seek=20000 conv=notrunc status=none
out=$("$logcheck" --torn-window 65536 "$part"); rc=$?
echo "$out"
[ "$rc" -eq 1 ] || fail "corrupt log: exit $rc"
echo "$out" | grep -q 'CORRUPT batch' || fail "corruption not named"
"$logcheck" --json --torn-window 65536 "$part" |
	python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if not d["clean"] and any(f["kind"]=="corrupt" for f in d["findings"]) else 1)' ||
	fail "--json does not report the corruption"

"$logcheck" >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] || fail "no argument: exit $rc"
"$logcheck" "$dir/missing" >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] || fail "missing dir: exit $rc"
echo "tern-logcheck: clean 0, corrupt 1, usage 2, JSON valid"
