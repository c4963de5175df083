#!/bin/bash
# scripts/test_summary.py, whose last line CI reads: it must end with
# "N passed, N failed" summing every build's tests, a failed build and a
# step stopped before it finished as one failure each, a missing
# or damaged log too.
set -u
summary=${1:?usage: test_summary.sh SOURCE_ROOT}/scripts/test_summary.py
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
expect() { # WHAT EXPECTED_LAST_LINE EXPECTED_RC ARGS...
	local what=$1 want=$2 want_rc=$3 out rc
	shift 3
	out=$(python3 "$summary" "$@")
	rc=$?
	if [ "$(tail -1 <<<"$out")" = "$want" ] && [ "$rc" = "$want_rc" ]; then
		echo "ok: $what"
	else
		echo "FAIL: $what: last line '$(tail -1 <<<"$out")' rc $rc, expected '$want' rc $want_rc"
		fails=$((fails + 1))
	fi
}
log() { # DIR RESULT...
	mkdir -p "$tmp/$1/meson-logs"
	local d=$1
	shift
	for r in "$@"; do
		printf '{"name": "t", "result": "%s"}\n' "$r"
	done >"$tmp/$d/meson-logs/testlog.json"
}
log a OK OK SKIP EXPECTEDFAIL
log b OK FAIL TIMEOUT
expect "two builds summed" "4 passed, 2 failed" 1 "$tmp/a" "$tmp/b" --failed-builds --stopped
expect "all passed" "3 passed, 0 failed" 0 "$tmp/a" --failed-builds --stopped
expect "a failed build" "3 passed, 1 failed" 1 "$tmp/a" --failed-builds x --stopped
expect "a stopped step" "3 passed, 1 failed" 1 "$tmp/a" --failed-builds --stopped "$tmp/a"
expect "no log" "0 passed, 1 failed" 1 "$tmp/none" --failed-builds --stopped
printf 'not json\n{"result": "OK"}\n' >"$tmp/a/meson-logs/testlog.json"
expect "a damaged line" "1 passed, 1 failed" 1 "$tmp/a" --failed-builds --stopped
exit $((fails > 0))
