#!/bin/bash
# ternctl's bash completion: commands, verbs, settings and options
# complete as docs/operations.md says.
set -u
file=${1:?usage: completion.sh COMPLETION_FILE}
# shellcheck disable=SC1091 # Debian's bash-completion (scripts/setup.sh)
source /usr/share/bash-completion/bash_completion || exit 1
# shellcheck disable=SC1090
source "$file" || exit 1
fails=0
expect() { # "WORDS..." EXPECTED
	local -a words
	read -r -a words <<<"$1"
	[[ $1 == *" " ]] && words+=("")
	COMP_WORDS=("${words[@]}")
	COMP_CWORD=$((${#words[@]} - 1))
	COMP_LINE=$1
	COMP_POINT=${#1}
	COMPREPLY=()
	_ternctl
	got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ')
	if [ "$got" = "$2" ]; then
		echo "ok: '$1' -> $got"
	else
		echo "FAIL: '$1' -> '$got', expected '$2'"
		fails=$((fails + 1))
	fi
}
expect "ternctl con" "config consume "
expect "ternctl --cluster c.ini top" "topic "
expect "ternctl topic " "--help create delete describe list "
expect "ternctl config get sleep" "sleep_us_max "
expect "ternctl local " "--help down status up "
expect "ternctl topic create t --part" "--partitions "
expect "ternctl consume --to" "--topic "
expect "ternctl local up d --transport " "afpacket afxdp memif virtio "
expect "ternctl stats --w" "--watch "
expect "ternctl no" "node "
expect "ternctl node " "--help add drain remove "
exit $((fails > 0))
