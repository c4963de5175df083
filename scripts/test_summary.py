#!/usr/bin/env python3
"""Sum meson's test logs of several build directories. The last line printed
is "N passed, N failed", the line CI reads; skipped tests are counted on the
line before it. A build that failed counts as one failed test, and so does a
step stopped before it finished (out of time, or by a signal; the tests
that ran are counted too). Exits 1 when anything failed, so CI fails with
it.

  test_summary.py DIR... --failed-builds [DIR...] --stopped [NAME...]"""
import json
import os
import sys

PASSED = {"OK", "EXPECTEDFAIL"}
SKIPPED = {"SKIP"}


def count(build_dir):
    passed = failed = skipped = 0
    log = os.path.join(build_dir, "meson-logs", "testlog.json")
    if not os.path.exists(log):
        print(f"{build_dir}: no test log, counted as one failure")
        return 0, 1, 0
    # Test output is logged in it: never let a stray byte or a cut line
    # stop the summary (CI reads its last line to know that tests ran).
    with open(log, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                result = json.loads(line)["result"]
            except (ValueError, KeyError, TypeError):
                print(f"{build_dir}: unreadable test log line, counted "
                      "as one failure")
                failed += 1
                continue
            if result in PASSED:
                passed += 1
            elif result in SKIPPED:
                skipped += 1
            else:
                failed += 1
    print(f"{build_dir}: passed {passed}, failed {failed}, skipped {skipped}")
    return passed, failed, skipped


def lists(argv):
    """The build dirs, then the names after each flag."""
    groups, key = {"dirs": [], "--failed-builds": [], "--stopped": []}, "dirs"
    for arg in argv:
        if arg in groups:
            key = arg
        else:
            groups[key].append(arg)
    return groups["dirs"], groups["--failed-builds"], groups["--stopped"]


def main(argv):
    dirs, failed_builds, stopped = lists(argv)
    totals = [0, len(failed_builds) + len(stopped), 0]
    for name in failed_builds:
        print(f"{name}: build FAILED, counted as one failure")
    for name in stopped:
        print(f"{name}: stopped before it finished, counted as one failure")
    for d in dirs:
        for i, n in enumerate(count(d)):
            totals[i] += n
    print(f"skipped: {totals[2]}")
    print(f"{totals[0]} passed, {totals[1]} failed", flush=True)
    return 1 if totals[1] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
