# bash completion for vsp                                  -*- shell-script -*-
# Installed as share/bash-completion/completions/vsp. Relays to
# `vsp __complete`, so it offers exactly the subcommands and flags of the
# vsp it runs, and rule names and task IDs where a flag takes them.

_vsp() {
  # shellcheck disable=SC2034 # prev: set by _init_completion
  local cur prev words cword
  if declare -F _init_completion >/dev/null; then
    # "=" stays inside words: --format=json is one word here.
    _init_completion -n = || return
  else
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
    cur=${COMP_WORDS[COMP_CWORD]}
  fi

  local reply line
  reply=$("${words[0]}" __complete -- "${words[@]:1:cword}" 2>/dev/null) \
    || return
  COMPREPLY=()
  case ${reply%%$'\n'*} in
    files)
      if declare -F _filedir >/dev/null; then
        _filedir
      else
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
      fi
      ;;
    directories)
      if declare -F _filedir >/dev/null; then
        _filedir -d
      else
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
      fi
      ;;
    words)
      while IFS= read -r line; do
        [ -n "$line" ] && COMPREPLY+=("${line%%$'\t'*}")
      done <<<"${reply#*$'\n'}"
      # Readline replaces only what follows the "=" of --flag=value.
      if [[ $cur == *=* && $COMP_WORDBREAKS == *=* ]]; then
        COMPREPLY=("${COMPREPLY[@]#*=}")
      fi
      ;;
  esac
}

complete -F _vsp vsp
