#!/bin/bash
# The whole test suite, as CI runs it (.ci/run) and the README's test
# command does: three builds, each running the suites it exists for.
#   build-ci    gcc, -Dwerror=true: fast + integration suites
#   build-asan  gcc, ASan+UBSan:    fast suite
#   build-fuzz  clang, libFuzzer:   fuzz suite (bounded time)
# Ends with the line "N passed, N failed" over every test (skips on the
# line before): CI reads that line to know tests ran. It comes whatever
# happens: a build or a build's tests that overrun their time budget are
# stopped, what ran is counted and the stopped step counts as one failure;
# every step ends within 70 minutes of the start (CI's limit is 90, and
# setup comes before); SIGTERM, SIGINT or SIGHUP stop the running step and
# sum what ran; a summary script that cannot run still leaves the line.
set -uo pipefail
cd "$(dirname "$0")/.."

dirs=()
failed_builds=()
stopped=()
step_pid=""
step_dir=""
total_budget=$((70 * 60))
python=/usr/bin/python3
[ -x "$python" ] || python=python3

summarize_and_exit() {
	"$python" scripts/test_summary.py "${dirs[@]}" \
		--failed-builds "${failed_builds[@]}" --stopped "${stopped[@]}"
	local rc=$?
	if [ "$rc" -gt 1 ]; then
		echo "test summary: scripts/test_summary.py failed ($rc)"
		echo "0 passed, 1 failed"
	fi
	exit "$rc"
}

on_signal() {
	trap '' TERM INT HUP
	echo "=== stopped by SIG$1: summing what ran"
	if [ -n "$step_pid" ]; then
		kill -TERM "$step_pid" 2>/dev/null
		wait "$step_pid"
	fi
	# The steps not run yet are not counted: the stop itself fails the run.
	stopped+=("${step_dir:-run-tests.sh}")
	summarize_and_exit
}
trap 'on_signal TERM' TERM
trap 'on_signal INT' INT
trap 'on_signal HUP' HUP

# step DIR SECONDS COMMAND...: runs COMMAND for at most SECONDS and no
# later than the total budget; returns its status, 124 when it was
# stopped. In the background, so that a signal reaches the trap at once.
step() {
	local budget=$2 rc
	step_dir=$1
	shift 2
	[ "$budget" -le $((total_budget - SECONDS)) ] ||
		budget=$((total_budget - SECONDS))
	[ "$budget" -gt 0 ] || return 124
	timeout --kill-after=30s "$budget" "$@" &
	step_pid=$!
	wait "$step_pid"
	rc=$?
	step_pid=""
	[ "$rc" -eq 137 ] && rc=124
	return "$rc"
}

run_suites() {
	local dir="$1" suites="$2" budget="$3" rc
	shift 3
	echo "=== $dir: build ($*)"
	step "$dir" $((20 * 60)) scripts/build.sh "$dir" "$@"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		[ "$rc" -eq 124 ] && echo "=== $dir: build stopped, out of time"
		failed_builds+=("$dir")
		return
	fi
	dirs+=("$dir")
	local args=()
	for suite in $suites; do args+=(--suite "$suite"); done
	echo "=== $dir: meson test ${args[*]} (at most $((budget / 60)) min)"
	step "$dir" "$budget" meson test -C "$dir" "${args[@]}" --print-errorlogs
	if [ $? -eq 124 ]; then
		echo "=== $dir: meson test stopped, out of time"
		stopped+=("$dir")
	fi
}

# Test budgets far above what the suites take (about 6, 1 and 2 minutes
# here); the total budget caps them too.
run_suites build-ci "fast integration" $((45 * 60)) -Dwerror=true
run_suites build-asan "fast" $((15 * 60)) -Dwerror=true \
	-Db_sanitize=address,undefined -Db_lundef=false -Dbenchmarks=false \
	-Dintegration=false
CC=clang CXX=clang++ run_suites build-fuzz "fuzz" $((10 * 60)) -Dfuzz=true \
	-Dbenchmarks=false -Dintegration=false
summarize_and_exit
