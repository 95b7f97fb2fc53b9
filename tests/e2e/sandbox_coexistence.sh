#!/usr/bin/env bash
# Coexistence test of the Swarm sandbox: two self-tests run overlapping
# (the second starts while the first runs, the first tears down while the
# second runs) next to a containerd on the default socket, which dockerd
# 20.10 would use on its own if we let it. Both self-tests must pass, the
# neighbouring containerd must stay untouched and unused, and the shared
# host directories must end up as they were.
#
# With no containerd on /run/containerd/containerd.sock, a stand-in one is
# started (by PID, its state under $T, CRI off, no TCP) and stopped again.
# A real system containerd is left alone and not queried.
#
# Exit 0 on success, 77 when the machine cannot run it, 1 otherwise.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/sandbox.sh
. "$here/lib/sandbox.sh"

SYS_SOCK=/run/containerd/containerd.sock
STAGGER=${COEXIST_STAGGER:-3}   # seconds between the two self-tests

fail() {
  printf 'sandbox_coexistence: FAIL: %s\n' "$*" >&2
  exit 1
}

step() { printf 'sandbox_coexistence: %s\n' "$*" >&2; }

# Starts a containerd that looks like the system's to dockerd (default
# socket) but keeps its state under $T; sets STANDIN_PID.
start_standin() {
  local dir=$T/standin
  mkdir -p "$dir"
  [ -e /run/containerd ] || sandbox_on_exit rmdir_if_empty /run/containerd
  cat >"$dir/config.toml" <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$SYS_SOCK"
[ttrpc]
  address = "$SYS_SOCK.ttrpc"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/opt"
TOML
  containerd --config "$dir/config.toml" >"$T/log/standin.log" 2>&1 </dev/null &
  STANDIN_PID=$!
  sandbox_on_exit stop_standin
  _sandbox_wait_until 20 test -S "$SYS_SOCK" \
    || fail "stand-in containerd did not listen on $SYS_SOCK"
  step "stand-in system containerd pid $STANDIN_PID on $SYS_SOCK"
}

stop_standin() {
  _sandbox_kill_wait "$STANDIN_PID" "stand-in containerd" 20
  rm -f "$SYS_SOCK" "$SYS_SOCK.ttrpc"
}

rmdir_if_empty() { rmdir "$1" 2>/dev/null || true; }

# Nothing of either sandbox reached the stand-in: no namespace (dockerd
# would have created "moby" and "plugins.moby").
check_standin_unused() {
  local ns
  _sandbox_alive "$STANDIN_PID" || fail "stand-in containerd died"
  ns=$(ctr --address "$SYS_SOCK" namespaces ls -q)
  [ -z "$ns" ] || fail "stand-in containerd has namespaces: $ns"
  step "stand-in containerd unused (no namespaces)"
}

declare -A SELFTEST_PID=()

# Runs the self-test as NAME in the background. If we fail first, it is
# stopped (its own trap cleans up) before our cleanups run.
run_selftest() {
  SELFTEST_RESTART=0 "$here/sandbox_selftest.sh" >"$T/log/$1.log" 2>&1 &
  SELFTEST_PID[$1]=$!
  sandbox_on_exit _sandbox_kill_wait "$!" "self-test $1" 60
}

# Waits for self-test NAME; prints its log on failure.
finish_selftest() {
  local rc=0
  wait "${SELFTEST_PID[$1]}" || rc=$?
  if [ "$rc" != 0 ]; then
    sed "s/^/  $1: /" "$T/log/$1.log" >&2
    [ "$rc" = 77 ] && exit 77
    fail "self-test $1 exited with $rc"
  fi
  step "self-test $1: $(tail -n 1 "$T/log/$1.log")"
}

fixed_dirs_state() {
  local d
  for d in /run/docker /run/docker/plugins /run/containerd /run/containerd/s \
      /etc/docker /etc/docker/plugins; do
    if [ -e "$d" ]; then echo "$d present"; else echo "$d absent"; fi
  done
}

main() {
  local before after
  sandbox_require
  # The fixed directories as they were before anything of ours ran.
  before=$(fixed_dirs_state)
  # shellcheck disable=SC2119 # a fresh directory
  sandbox_init
  if [ -S "$SYS_SOCK" ]; then
    step "a system containerd listens on $SYS_SOCK; using it as the neighbour"
    STANDIN_PID=""
  else
    start_standin
  fi

  run_selftest first
  sleep "$STAGGER"
  _sandbox_alive "${SELFTEST_PID[first]}" \
    || fail "first self-test ended before the second began"
  run_selftest second
  finish_selftest first
  _sandbox_alive "${SELFTEST_PID[second]}" \
    || step "warning: second self-test ended before the first one's teardown"
  finish_selftest second

  [ -z "$STANDIN_PID" ] || check_standin_unused
  sandbox_stop
  after=$(fixed_dirs_state)
  [ "$after" = "$before" ] || fail "fixed directories changed:" \
    "$(diff <(echo "$before") <(echo "$after"))"
  step "PASS"
}

main "$@"
