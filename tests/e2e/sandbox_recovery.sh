#!/usr/bin/env bash
# Recovery test of the Swarm sandbox: a run whose shell and processes are
# SIGKILLed (what CTest does on a TIMEOUT) cannot tear down. The next run's
# sandbox_init calls sandbox_clean_stale, which must remove everything the
# dead run left: $T, its cgroups, the sockets of its killed shims, its
# legacy plugin socket and .spec file, and its markers in the shared host
# directories.
#
# Exit 0 on success, 77 when the machine cannot run it, 1 otherwise.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
PYTHON=${SANDBOX_PYTHON:-/usr/bin/python3}
# shellcheck source=lib/sandbox.sh
. "$here/lib/sandbox.sh"

fail() {
  printf 'sandbox_recovery: FAIL: %s\n' "$*" >&2
  exit 1
}

step() { printf 'sandbox_recovery: %s\n' "$*" >&2; }

# The run to be killed: a service with two tasks, a legacy plugin found by
# socket and one found by a .spec file, and an enabled managed plugin; then
# it waits to be killed.
write_victim() {
  cat >"$1" <<'EOF'
set -euo pipefail
. "$1/lib/sandbox.sh"
sandbox_init
sock=$(sandbox_legacy_socket "$(sandbox_name stubsock)")
sandbox_register_legacy_plugin "$(sandbox_name stubsock)" "$sock"
sandbox_register_legacy_plugin "$(sandbox_name stubspec)" "$T/spec.sock"
"${SANDBOX_PYTHON:-/usr/bin/python3}" "$1/lib/stub_secretprovider.py" \
  "$sock" "$T/stub.log" &
sandbox_start
sandbox_service_create --name t --replicas 2 "$SANDBOX_IMAGE" sleep 1000 \
  >/dev/null
sandbox_plugin_skeleton "$T/managed"
cp "$1/lib/stub_secretprovider.py" "$T/managed/rootfs/"
cat >"$T/managed/config.json" <<JSON
{"description": "stub", "documentation": "https://example.invalid",
 "entrypoint": ["/usr/bin/python3", "/stub_secretprovider.py",
                "/run/docker/plugins/stub.sock", "/tmp/requests.log"],
 "interface": {"types": ["docker.secretprovider/1.0"], "socket": "stub.sock"},
 "network": {"type": "none"},
 "mounts": [{"name": "usr", "source": "/usr", "destination": "/usr",
             "type": "bind", "options": ["rbind", "ro"]}]}
JSON
sandbox_docker plugin create stubm "$T/managed" >/dev/null
sandbox_docker plugin enable stubm >/dev/null
sandbox_wait_replicas t 2 60
printf '%s %s %s\n' "$SANDBOX_ID" "$T" \
  "$(sandbox_docker plugin inspect --format '{{.Id}}' stubm)" >"$2"
sleep 1000
EOF
}

# Prints PID and all its descendants.
tree_of() {
  local pids=("$1") i=0 child
  while ((i < ${#pids[@]})); do
    for child in $(ps -o pid= --ppid "${pids[i]}"); do pids+=("$child"); done
    i=$((i + 1))
  done
  echo "${pids[@]}"
}

# What dead run ID with run dir DIR and managed plugin PLUGIN may leave;
# prints what it finds.
leftovers_of() {
  local id=$1 dir=$2 plugin=$3 hex=${1#vsps-}
  find /sys/fs/cgroup -type d \( -name "$id" -o -name "$plugin" \) || true
  [ ! -e "/run/docker/plugins/$plugin" ] || echo "/run/docker/plugins/$plugin"
  [ ! -e "$dir" ] || echo "$dir"
  find /run/docker /run/containerd /etc/docker /run/vsp-sandbox \
    \( -name "*$hex*" -o -name "*$id*" \) 2>/dev/null || true
  printf '%s\n' "${SHIM_SOCKETS[@]}" | while read -r s; do
    [ ! -e "$s" ] || echo "$s"
  done
}

main() {
  local reaper victims p id dir plugin pids left
  sandbox_require
  [ -x "$PYTHON" ] || { echo "SKIP: no $PYTHON" >&2; exit 77; }
  # shellcheck disable=SC2119 # a fresh directory
  sandbox_init   # cleans stale runs first; our own run stays registered
  write_victim "$T/victim.sh"
  # Under a subreaper of ours, so the killed processes are reaped, not left
  # as zombies to a PID 1 that may reap late.
  "$PYTHON" "$here/lib/subreaper.py" \
    bash "$T/victim.sh" "$here" "$T/victim.run" >"$T/log/victim.log" 2>&1 &
  reaper=$!
  sandbox_on_exit _sandbox_kill_wait "$reaper" "victim run" 30
  _sandbox_wait_until 90 test -s "$T/victim.run" \
    || { cat "$T/log/victim.log" >&2; fail "victim run did not start"; }
  read -r id dir plugin <"$T/victim.run"
  mapfile -t SHIM_SOCKETS < <(_sandbox_shim_sockets "$dir")
  ((${#SHIM_SOCKETS[@]} >= 2)) || fail "victim has no shim sockets"

  read -ra victims <<<"$(tree_of "$reaper")"
  kill -KILL "${victims[@]:1}"   # all but the reaper, as CTest's timeout would
  _sandbox_wait_until 10 _sandbox_gone "$reaper" \
    || fail "subreaper did not exit"
  wait "$reaper" 2>/dev/null || true
  for p in "${victims[@]}"; do
    [ ! -e "/proc/$p" ] || fail "killed process $p not reaped"
  done
  left=$(leftovers_of "$id" "$dir" "$plugin" | xargs)
  [ -n "$left" ] || fail "the killed run left nothing?"
  step "killed run $id left: $left"

  sandbox_clean_stale
  left=$(leftovers_of "$id" "$dir" "$plugin" | xargs)
  [ -z "$left" ] || fail "left after sandbox_clean_stale: $left"
  pids=$(grep -lsF "$dir" /proc/[0-9]*/cmdline || true)
  [ -z "$pids" ] || fail "processes of the dead run: $pids"
  step "PASS"
}

main "$@"
