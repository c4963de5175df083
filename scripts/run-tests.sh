#!/bin/bash
# The whole test suite, as CI runs it (.ci/run) and the README's test
# command does: three builds, each running the suites it exists for.
#   build-ci    gcc, -Dwerror=true: fast + integration suites
#   build-asan  gcc, ASan+UBSan:    fast suite
#   build-fuzz  clang, libFuzzer:   fuzz suite (bounded time)
# Ends with the line "N passed, N failed" over every test (skips on the
# line before), also when a build's tests overrun their time budget (meson
# is stopped, what ran is counted, and the overrun counts as one failure)
# or the summary script cannot run: CI reads that line to know tests ran,
# and its limit is 90 minutes.
set -uo pipefail
cd "$(dirname "$0")/.."

dirs=()
failed_builds=()
overran=()

run_suites() {
	local dir="$1" suites="$2" budget="$3" rc
	shift 3
	echo "=== $dir: build ($*)"
	if ! scripts/build.sh "$dir" "$@"; then
		failed_builds+=("$dir")
		return
	fi
	dirs+=("$dir")
	local args=()
	for suite in $suites; do args+=(--suite "$suite"); done
	echo "=== $dir: meson test ${args[*]} (at most $budget)"
	timeout --kill-after=30s "$budget" \
		meson test -C "$dir" "${args[@]}" --print-errorlogs
	rc=$?
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		echo "=== $dir: meson test stopped after $budget"
		overran+=("$dir")
	fi
}

# Budgets far above what the suites take (about 5, 1 and 2 minutes here),
# together under CI's 90.
run_suites build-ci "fast integration" 45m -Dwerror=true
run_suites build-asan "fast" 15m -Dwerror=true \
	-Db_sanitize=address,undefined -Db_lundef=false -Dbenchmarks=false \
	-Dintegration=false
CC=clang CXX=clang++ run_suites build-fuzz "fuzz" 10m -Dfuzz=true \
	-Dbenchmarks=false -Dintegration=false

python3 scripts/test_summary.py "${dirs[@]}" --failed-builds "${failed_builds[@]}" \
	--overran "${overran[@]}"
rc=$?
if [ "$rc" -gt 1 ]; then
	echo "test summary: scripts/test_summary.py failed ($rc)"
	echo "0 passed, 1 failed"
fi
exit "$rc"
