#!/bin/bash
# Proves STYLE.md habit 1: the library folders (dataplane/, replication/,
# partition/) never print to stdout/stderr nor end the process; they log
# through dataplane/tern_log.{c,h} and return errors. Fails listing each
# offending line.
set -u
root="${1:?usage: library_output.sh SOURCE_ROOT}"
pattern='\b(printf|fprintf|vprintf|vfprintf|puts|fputs|putchar|perror|exit|_exit|_Exit|abort|rte_exit|rte_panic)[[:space:]]*\('
status=0
for dir in dataplane replication partition; do
	[ -d "$root/$dir" ] || continue
	while IFS= read -r hit; do
		echo "library output or exit outside the logging module: $hit"
		status=1
	done < <(grep -rnE --include='*.c' --include='*.h' "$pattern" "$root/$dir" |
		grep -vE "^$root/dataplane/tern_log\.(c|h):")
done
if [ "$status" -eq 0 ]; then
	echo "library folders are free of printing and exiting calls"
fi
exit "$status"
