#!/usr/bin/env bash
# Prints, one a line, what bash with Debian's bash-completion offers when
# TAB is pressed at the end of LINE. vsp's completion is found as an
# installed one is: DIR/completions/vsp, through BASH_COMPLETION_USER_DIR.
#
#   bash_complete.sh DIR LINE
set -uo pipefail

export BASH_COMPLETION_USER_DIR=$1
line=$2
# shellcheck source=/dev/null
. /usr/share/bash-completion/bash_completion

# The words readline would make of LINE: split at blanks, and at "=",
# which COMP_WORDBREAKS lists, as a word of its own.
COMP_WORDS=()
for token in $line; do
  while [[ $token == *=* ]]; do
    [ -n "${token%%=*}" ] && COMP_WORDS+=("${token%%=*}")
    COMP_WORDS+=("=")
    token=${token#*=}
  done
  [ -n "$token" ] && COMP_WORDS+=("$token")
done
[[ $line == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE=$line
COMP_POINT=${#line}

# _command_offset finds and runs the completion of COMP_WORDS[0], as
# bash does for `sudo vsp ...`; compopt complains outside a real TAB.
_command_offset 0 2>/dev/null
printf '%s\n' "${COMPREPLY[@]}"
