#!/bin/bash
# The whole test suite, as CI runs it (.ci/run) and the README's test
# command does: three builds, each running the suites it exists for.
#   build-ci    gcc, -Dwerror=true: fast + integration suites
#   build-asan  gcc, ASan+UBSan:    fast suite
#   build-fuzz  clang, libFuzzer:   fuzz suite (bounded time)
# Ends with the line "N passed, N failed" over every test (skips on the
# line before).
set -uo pipefail
cd "$(dirname "$0")/.."

dirs=()
failed_builds=()

run_suites() {
	local dir="$1" suites="$2"
	shift 2
	echo "=== $dir: build ($*)"
	if ! scripts/build.sh "$dir" "$@"; then
		failed_builds+=("$dir")
		return
	fi
	dirs+=("$dir")
	local args=()
	for suite in $suites; do args+=(--suite "$suite"); done
	echo "=== $dir: meson test ${args[*]}"
	meson test -C "$dir" "${args[@]}" --print-errorlogs
}

run_suites build-ci "fast integration" -Dwerror=true
run_suites build-asan "fast" -Dwerror=true -Db_sanitize=address,undefined \
	-Db_lundef=false -Dbenchmarks=false -Dintegration=false
CC=clang CXX=clang++ run_suites build-fuzz "fuzz" -Dfuzz=true \
	-Dbenchmarks=false -Dintegration=false

python3 scripts/test_summary.py "${dirs[@]}" --failed-builds "${failed_builds[@]}"
