#!/bin/bash
# The README's two commands.
#   quickstart.sh run   install what is missing, build, run Tern's main job
#   quickstart.sh test  install what is missing, build, run the whole suite
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
run)
	scripts/setup.sh
	scripts/build.sh build
	exec scripts/main-job.sh build
	;;
test)
	# One ordered stream, so that the summary is the last line wherever
	# the output goes; a failed install still ends with that line.
	exec 2>&1
	if ! scripts/setup.sh; then
		echo "setup: installing the packages failed"
		echo "0 passed, 1 failed"
		exit 1
	fi
	exec scripts/run-tests.sh
	;;
*)
	echo "usage: $0 run|test" >&2
	exit 2
	;;
esac
