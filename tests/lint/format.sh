#!/bin/bash
# Proves the C, C++ and header files follow .clang-format (STYLE.md: one C
# style, enforced). Lists every file that does not; fix with
#   clang-format -i FILE
set -u
root="${1:?usage: format.sh SOURCE_ROOT}"
cd "$root"
status=0
while IFS= read -r -d '' file; do
	if ! clang-format --dry-run --Werror "$file" >/dev/null 2>&1; then
		echo "not formatted: $file (run clang-format -i $file)"
		status=1
	fi
done < <(find bench cli dataplane node partition replication tests \
	-type f \( -name '*.c' -o -name '*.h' -o -name '*.cc' \) -print0 2>/dev/null)
[ "$status" -eq 0 ] && echo "every source file follows .clang-format"
exit "$status"
