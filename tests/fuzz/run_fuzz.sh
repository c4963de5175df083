#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# Runs a libFuzzer target as a test: first replays every committed
# regression input, then fuzzes for TERN_FUZZ_SECONDS (default 30) from the
# committed seed corpus. New corpus entries go to a temporary directory, so
# the committed corpus never changes. A crash fails the test and is copied
# into the build directory, named so that it can be committed under
# tests/fuzz/regressions/.
#
# usage: run_fuzz.sh FUZZER CORPUS_DIR REGRESSIONS_DIR OUT_DIR
#
# Runs longer than the meson timeout (120 s) need
# `meson test --suite fuzz --timeout-multiplier N`.

set -eu

if [ $# -ne 4 ]; then
	echo "usage: $0 FUZZER CORPUS_DIR REGRESSIONS_DIR OUT_DIR" >&2
	exit 2
fi
fuzzer=$1
corpus=$2
regressions=$3
out_dir=$4
seconds=${TERN_FUZZ_SECONDS:-30}
name=$(basename "$fuzzer")

work=$(mktemp -d "${TMPDIR:-/tmp}/tern-$name.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
mkdir "$work/corpus" "$work/artifacts"

# libFuzzer exits 77 on a crash by default, which meson reads as "skipped";
# -error_exitcode makes every finding an ordinary failure. Inputs may grow
# past the largest jumbo frame (14 + 9000 bytes), so length limits are hit.
common="-error_exitcode=1 -timeout=10 -rss_limit_mb=2048 -max_len=9216"

if [ -d "$regressions" ]; then
	for f in "$regressions"/*; do
		[ -f "$f" ] || continue
		# shellcheck disable=SC2086 # $common is a list of flags
		if ! "$fuzzer" $common -artifact_prefix="$work/replay-" "$f" \
			>"$work/replay.log" 2>&1; then
			cat "$work/replay.log" >&2
			echo "FAIL: $name crashes on regression input $f" >&2
			exit 1
		fi
		echo "regression ok: $f"
	done
fi

status=0
# shellcheck disable=SC2086
"$fuzzer" $common -max_total_time="$seconds" -print_final_stats=1 \
	-artifact_prefix="$work/artifacts/" "$work/corpus" "$corpus" ||
	status=$?

# Each artifact (crash, leak, timeout, oom) is reported and kept.
crashes=0
for f in "$work"/artifacts/*; do
	[ -f "$f" ] || continue
	crashes=$((crashes + 1))
	keep="$out_dir/$name-$(basename "$f")"
	cp "$f" "$keep"
	echo "FAIL: $name found a crashing input: $keep" >&2
	echo "      replay it: $fuzzer $keep" >&2
	echo "      then commit it under tests/fuzz/regressions/" >&2
done
if [ "$crashes" -gt 0 ]; then
	exit 1
fi
if [ "$status" -ne 0 ]; then
	echo "FAIL: $name exited with status $status and left no input" >&2
	exit 1
fi
echo "$name: no crash in ${seconds}s"
