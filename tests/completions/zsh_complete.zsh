#!/usr/bin/env zsh
# Prints, one a line, what zsh's completion system offers when TAB is
# pressed at the end of LINE: an interactive `zsh -f` in a pseudo-terminal
# (zsh/zpty) runs compinit with DIR first in $fpath, so _vsp is found as
# an installed one is, and a compadd wrapper prints every match it adds.
#
#   zsh_complete.zsh DIR LINE
emulate -L zsh
zmodload zsh/zpty || exit 2
local dir=$1 line=$2 out

# Runs in the child shell, which echoes it: the markers are written split
# ("<<""done>>") so that only their output matches. compadd calls that
# only compute matches (-O, -A, -D before the words) go straight through;
# the others are recorded with -A (the matches as they will be offered)
# and then made.
local setup='
PS1="" PROMPT="" RPROMPT=""
unsetopt beep
fpath=("$VSP_COMPLETION_DIR" $fpath)
autoload -Uz compinit && compinit -u -D
compadd() {
  local -i i
  for (( i = 1; i <= $#; i++ )); do
    [[ ${@[i]} == -- ]] && break
    if [[ ${@[i]} == -[OAD]* ]]; then
      builtin compadd "$@"
      return
    fi
  done
  local -a matches
  builtin compadd -A matches "$@"
  local m
  for m in $matches; do
    print -rn -- "<<""match>>$m<<""/match>>"
  done
  builtin compadd "$@"
}
vsp-done() { print -n -- "\n<<""done>>\n" }
zle -N vsp-done
bindkey "^I" complete-word
bindkey "^T" vsp-done
'

export VSP_COMPLETION_DIR=$dir
zpty vsp zsh -f -i
zpty -w vsp "$setup"
zpty -w -n vsp "$line"$'\t\x14'
# Reads until the marker, for at most 20 s, so that a broken completion
# fails the test instead of hanging it; `zpty -d` ends the child shell.
local chunk
integer deadline=$(( SECONDS + 20 ))
while [[ $out != *'<<done>>'* ]]; do
  if (( SECONDS > deadline )); then
    zpty -d vsp
    print -u2 "zsh_complete: no answer after 20 s; got: $out"
    exit 1
  fi
  if zpty -r -t vsp chunk; then
    out+=$chunk
  else
    sleep 0.02
  fi
done
zpty -d vsp
print -r -- "$out" | grep -o '<<match>>[^<]*<</match>>' \
  | sed -e 's/^<<match>>//' -e 's|<</match>>$||' | sort -u
