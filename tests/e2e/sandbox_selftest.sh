#!/usr/bin/env bash
# Self-test of the Swarm sandbox (lib/sandbox.sh): a real dockerd 20.10 in
# swarm mode calls a stub secretprovider plugin; then the run is torn down
# and nothing of it may be left on the host.
#
#   1. legacy stub plugins, one found by socket, one by .spec file
#   2. isolation: own network (lo only) and mount namespace, swarm on
#      127.0.0.1 only
#   3. a driver secret read by both replicas of a service, whose containers
#      run under our containerd, in the run's cgroup, reaped by the run
#   4. a secret whose fetch fails: the task fails, the stub's Err text is in
#      dockerd's debug log
#   5. the stub as a managed plugin on the sandbox's "host" network
#   6. dockerd restarted: the replacement tasks get the secret
#   7. after sandbox_stop: no process, zombie, mount, cgroup or file of the
#      run, the fixed host directories as before, the host's links,
#      addresses and sysctls unchanged
#
# Exit 0 on success, 77 when the machine cannot run it, 1 with a message
# otherwise. Knobs: SANDBOX_KEEP=1 keeps $T; SELFTEST_RESTART=0 skips the
# dockerd restart step.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/sandbox.sh
. "$here/lib/sandbox.sh"

PYTHON=${SANDBOX_PYTHON:-/usr/bin/python3}
# A task command that ends at once on SIGTERM (a bare `sleep` as PID 1
# ignores it and waits out the stop grace period).
IDLE=(sh -c 'trap "exit 0" TERM; sleep 1000 & wait')
SELFTEST_RESTART=${SELFTEST_RESTART:-1}

fail() {
  printf 'sandbox_selftest: FAIL: %s\n' "$*" >&2
  exit 1
}

step() { printf 'sandbox_selftest: %s\n' "$*" >&2; }

# ---- host state --------------------------------------------------------------

host_net() { ip -o link show; ip -o addr show; }

# Host-wide settings dockerd may change: it raises the root key quota when
# it is below 1000000 keys / 25000000 bytes; forwarding is per namespace
# and off for our dockerd, so the host's must not move either.
host_sysctls() {
  grep -H . /proc/sys/kernel/keys/root_max* /proc/sys/net/ipv4/ip_forward \
    /proc/sys/net/ipv6/conf/all/forwarding 2>/dev/null || true
}

net_ns_of() { stat -L -c %i "/proc/$1/ns/net"; }

shim_hash() {
  printf '%s' "$T/containerd/containerd.sock/moby/$1" | sha256sum \
    | cut -d' ' -f1
}

ppid_of() { sed 's/^.*) //' "/proc/$1/stat" | cut -d' ' -f2; }

# Prints the PIDs of all processes in the network namespace with inode NS.
pids_in_net_ns() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(stat -L -c %i "$p/ns/net" 2>/dev/null)" = "$1" ] && echo "${p#/proc/}"
  done
  return 0
}

# Top-level cgroups of every hierarchy, except those of sandbox runs (ours
# is checked by name; others may come and go) and of managed plugins, which
# dockerd 20.10 puts at /<plugin id> (ours is checked by ID).
host_cgroups() {
  find /sys/fs/cgroup -mindepth 1 -maxdepth 2 -type d \
    -regextype posix-extended ! -name 'vsps-*' ! -regex '.*/[0-9a-f]{64}' \
    | sort
}

# ---- the stub plugins --------------------------------------------------------

# Starts the stub as legacy plugin NAME on SOCKET; adds its PID to RUN_PIDS.
# (Not in $(...): the cleanup must be registered in this shell.)
start_stub() {
  local name=$1 sock=$2 pid
  sandbox_register_legacy_plugin "$name" "$sock"
  "$PYTHON" "$here/lib/stub_secretprovider.py" "$sock" "$T/stub-$name.log" \
    "$VALUE" >"$T/log/stub-$name.out" 2>&1 &
  pid=$!
  sandbox_on_exit sandbox_stop_process "$pid"
  RUN_PIDS+=("$pid")
  _sandbox_wait_until 10 test -S "$sock" || fail "stub $name did not listen"
}

# Prints the TaskIDs of the GetSecret calls in stub log LOG for SECRET.
requested_tasks() {
  "$PYTHON" - "$1" "$2" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["path"] == "/SecretProvider.GetSecret" and \
            r["body"].get("SecretName") == sys.argv[2]:
        print(r["body"].get("TaskID", ""))
PY
}

# ---- steps -------------------------------------------------------------------

check_isolation() {
  local host_ns ns l listeners
  host_ns=$(net_ns_of $$)
  ns=$(net_ns_of "$SANDBOX_DOCKERD_PID")
  [ "$ns" != "$host_ns" ] || fail "dockerd runs in the host's network namespace"
  [ "$(net_ns_of "$SANDBOX_CONTAINERD_PID")" = "$ns" ] \
    || fail "containerd and dockerd are in different network namespaces"
  check_only_lo
  listeners=$(sandbox_netns_exec ss -Hltun | awk '{ print $1 "/" $5 }' \
                | sort -u)
  for l in $listeners; do
    case $l in
      */127.0.0.1:*) ;;
      udp/0.0.0.0:4789) ;;   # the kernel's VXLAN socket; only lo to reach it
      *) fail "sandbox listens on $l" ;;
    esac
  done
  check_mounts_contained "$T/data"
  # shellcheck disable=SC2086 # one line
  step "isolation ok: netns $ns (lo only), listening on" $listeners
}

# The run's mounts (dockerd's bind mount of its data root; with tasks, the
# nsfs mounts of network sandboxes and the overlay roots) exist only in the
# sandbox's mount namespace. Checks that each of PATHS is one of them.
check_mounts_contained() {
  local inner path
  [ -z "$(_sandbox_mounts_under "$T")" ] || fail "run's mounts visible on host"
  inner=$(nsenter --target "$SANDBOX_DOCKERD_PID" --mount findmnt -rn -o TARGET)
  for path in "$@"; do
    grep -qx "$path" <<<"$inner" || fail "no mount $path in the sandbox"
  done
}

# dockerd and containerd's tini are children of this shell, which reaps
# them; the shims are orphaned to tini, which reaps them. So no zombie is
# left for a PID 1 that may not reap.
check_process_tree() {
  local reaper p shims=0
  [ "$(ppid_of "$SANDBOX_DOCKERD_PID")" = $$ ] \
    || fail "dockerd is not a child of the test"
  reaper=$(ppid_of "$SANDBOX_CONTAINERD_PID")
  [ "$(ppid_of "$reaper")" = $$ ] \
    || fail "containerd's parent is not a child of the test"
  for p in $(sandbox_pids); do
    case $(tr '\0' ' ' <"/proc/$p/cmdline") in
      *containerd-shim*)
        [ "$(ppid_of "$p")" = "$reaper" ] || fail "shim $p is not under tini"
        shims=$((shims + 1)) ;;
    esac
  done
  ((shims >= 2)) || fail "expected the shims of 2 tasks, found $shims"
}

ns_links() { sandbox_netns_exec ip -o link show | awk -F'[:@]' '{ print $2 }'; }

# Right after start the namespace holds only lo.
check_only_lo() {
  local links
  links=$(ns_links | xargs)
  [ "$links" = lo ] || fail "sandbox namespace holds more than lo: $links"
}

# Swarm's first task adds docker_gwbridge and a veth pair to the ingress
# sandbox; all of them stay inside the namespace.
check_only_docker_links() {
  local l
  for l in $(ns_links); do
    case $l in
      lo | docker_gwbridge | veth*) ;;
      *) fail "unexpected link $l in the sandbox namespace" ;;
    esac
  done
}

check_secret_service() {
  local tasks task got cid requested
  sandbox_secret_create_driver mysecret "$SOCK_PLUGIN" --label a=b >/dev/null
  sandbox_service_create --name t --replicas 2 --secret mysecret \
    --restart-delay 1s \
    "$SANDBOX_IMAGE" "${IDLE[@]}" >/dev/null
  sandbox_wait_replicas t 2 60
  mapfile -t tasks < <(sandbox_tasks_in_state t running)
  [ "${#tasks[@]}" = 2 ] || fail "expected 2 running tasks, got ${tasks[*]}"
  for task in "${tasks[@]}"; do
    got=$(sandbox_exec_in_task "$task" cat /run/secrets/mysecret)
    [ "$got" = "$VALUE" ] || fail "task $task read '$got', not '$VALUE'"
    requested=$(requested_tasks "$T/stub-$SOCK_PLUGIN.log" mysecret)
    grep -qx "$task" <<<"$requested" \
      || fail "stub saw no GetSecret for task $task"
    cid=$(sandbox_container_of_task "$task")
    check_container_runtime "$cid"
  done
  check_mounts_contained "$T/exec/netns/ingress_sbox" \
    "$(sandbox_docker inspect --format '{{.GraphDriver.Data.MergedDir}}' "$cid")"
  step "secret ok: both replicas read the value"
}

# The container runs under our containerd, in the run's cgroup, in a
# network namespace that is not the host's.
check_container_runtime() {
  local cid=$1 pid shim_sock
  pid=$(sandbox_docker inspect --format '{{.State.Pid}}' "$cid")
  grep -q ":/$SANDBOX_ID/" "/proc/$pid/cgroup" \
    || fail "container $cid is not in cgroup /$SANDBOX_ID"
  [ "$(net_ns_of "$pid")" != "$(net_ns_of $$)" ] \
    || fail "container $cid is in the host's network namespace"
  # The shim's socket is named after our containerd's address and the ID.
  shim_sock=$(_sandbox_shim_sockets "$T" | grep -F "$(shim_hash "$cid")") \
    || fail "our containerd has no task $cid"
  [ -S "$shim_sock" ] || fail "no shim socket of our containerd for $cid"
  SHIM_SOCKETS+=("$shim_sock")
}

check_failing_secret() {
  local err line
  sandbox_debug_log on
  sandbox_secret_create_driver errsecret "$SPEC_PLUGIN" >/dev/null
  sandbox_service_create --name e --restart-condition none \
    --secret errsecret "$SANDBOX_IMAGE" "${IDLE[@]}" >/dev/null
  _sandbox_wait_until 60 has_failed_task e || fail "task of e did not fail"
  err=$(sandbox_service_tasks e | awk -F '\t' '{ print $4; exit }')
  case $err in
    *"secret"*"not found"*) ;;
    *) fail "unexpected task error: $err" ;;
  esac
  sandbox_wait_log "failed to fetch secret" \
    || fail "dockerd debug log lacks 'failed to fetch secret'"
  line=$(grep -F "failed to fetch secret" "$(sandbox_dockerd_log)")
  grep -qF 'error="stub: refusing errsecret"' <<<"$line" \
    || fail "dockerd debug log lacks the stub's Err text"
  step "failing secret ok: task error '$err'"
}

has_failed_task() {
  sandbox_service_tasks "$1" \
    | awk -F '\t' '$2 == "failed" || $2 == "rejected" { f = 1 } END { exit !f }'
}

# The stub as a managed plugin with network "host": it shares the
# sandbox's network namespace, and dockerd dials it at
# /run/docker/plugins/<plugin id>/ on the host whatever --exec-root says.
check_managed_plugin() {
  local dir=$T/managed pid got task
  sandbox_plugin_skeleton "$dir"
  mkdir -p "$dir/rootfs/plugin" "$T/managed-log"
  cp "$here/lib/stub_secretprovider.py" "$dir/rootfs/plugin/"
  write_managed_config "$dir/config.json"
  sandbox_docker plugin create stubm "$dir" >/dev/null
  sandbox_docker plugin enable stubm >/dev/null
  PLUGIN_ID=$(sandbox_docker plugin inspect --format '{{.Id}}' stubm)
  [ -S "/run/docker/plugins/$PLUGIN_ID/stub.sock" ] \
    || fail "no socket in /run/docker/plugins/$PLUGIN_ID"
  pid=$(plugin_pid "$PLUGIN_ID") || fail "no process for plugin $PLUGIN_ID"
  [ "$(net_ns_of "$pid")" = "$SANDBOX_NETNS" ] \
    || fail "host-network plugin is not in the sandbox namespace"

  sandbox_secret_create_driver msecret stubm >/dev/null
  sandbox_service_create --name m --secret msecret "$SANDBOX_IMAGE" \
    "${IDLE[@]}" >/dev/null
  sandbox_wait_replicas m 1 60
  task=$(sandbox_tasks_in_state m running)
  got=$(sandbox_exec_in_task "$task" cat /run/secrets/msecret)
  [ "$got" = "$VALUE-managed" ] || fail "managed: task read '$got'"
  step "managed plugin ok: $PLUGIN_ID in the sandbox namespace"
}

write_managed_config() {
  cat >"$1" <<JSON
{
  "description": "sandbox self-test stub secret provider",
  "documentation": "https://example.invalid/vsp",
  "entrypoint": ["/usr/bin/python3", "/plugin/stub_secretprovider.py",
                 "/run/docker/plugins/stub.sock", "/plugin-log/requests.log",
                 "$VALUE-managed"],
  "interface": {"types": ["docker.secretprovider/1.0"], "socket": "stub.sock"},
  "network": {"type": "host"},
  "mounts": [
    {"name": "usr", "source": "/usr", "destination": "/usr",
     "type": "bind", "options": ["rbind", "ro"]},
    {"name": "log", "source": "$T/managed-log", "destination": "/plugin-log",
     "type": "bind", "options": ["rbind", "rw"]}
  ]
}
JSON
}

# The PID of the process a managed plugin runs: the run's process whose
# pids cgroup is named after the plugin.
plugin_pid() {
  local p
  for p in $(sandbox_pids); do
    if grep -q ":pids:.*/$1\$\|^0::.*/$1\$" "/proc/$p/cgroup"; then
      echo "$p"
      return
    fi
  done
  return 1
}

# dockerd restarts on the same data. 20.10 has no live restore here: the
# old tasks fail ("No such container") and swarm replaces them after the
# restart delay; the replacements must get the secret too. (The stub also
# sees Activate again and GetSecret again for the old TaskIDs.)
check_restart() {
  local old new task got
  old=$(sandbox_tasks_in_state t running)
  sandbox_restart_dockerd
  _sandbox_wait_until 60 replaced_tasks_running t "$old" \
    || fail "service t has no 2 new running tasks after the restart"
  mapfile -t new < <(sandbox_tasks_in_state t running)
  for task in "${new[@]}"; do
    got=$(sandbox_exec_in_task "$task" cat /run/secrets/mysecret)
    [ "$got" = "$VALUE" ] || fail "new task $task read '$got'"
  done
  step "restart ok: replacement tasks read the value"
}

# True when SERVICE runs 2 tasks and none of them is in OLD (IDs).
replaced_tasks_running() {
  local running
  running=$(sandbox_tasks_in_state "$1" running)
  [ "$(wc -w <<<"$running")" = 2 ] || return 1
  ! grep -qxF -f <(printf '%s\n' "$2") <<<"$running"
}

# ---- what must be gone after sandbox_stop ----------------------------------

check_nothing_left() {
  local p left
  for p in "${RUN_PIDS[@]}"; do
    [ ! -e "/proc/$p" ] || fail "process $p still exists after stop:" \
      "$(ps -o pid=,stat=,cmd= -p "$p")"
  done
  left=$(pids_in_net_ns "$SANDBOX_NETNS")
  [ -z "$left" ] || fail "processes left in the sandbox netns: $left"
  ! grep -lsF "$T" /proc/[0-9]*/cmdline >/dev/null \
    || fail "a process still names $T"
  ((SANDBOX_REAPED == 0)) \
    || fail "teardown had to kill $SANDBOX_REAPED leftovers"
  if compgen -G "/sys/fs/cgroup/*/$SANDBOX_ID" >/dev/null \
      || [ -e "/sys/fs/cgroup/$SANDBOX_ID" ]; then
    fail "cgroup $SANDBOX_ID left"
  fi
  [ "$(host_cgroups)" = "$CGROUPS_BEFORE" ] \
    || fail "cgroups changed: $(diff <(echo "$CGROUPS_BEFORE") <(host_cgroups))"
  [ -z "$(_sandbox_mounts_under "$T")" ] || fail "mounts left under $T"
  [ "$(findmnt -rn -t nsfs -o TARGET)" = "$NSFS_BEFORE" ] \
    || fail "nsfs mounts on the host changed"
  [ ! -e "$T" ] || [ "$SANDBOX_KEEP" = 1 ] || fail "$T still exists"
  check_no_host_files
  [ "$(host_net)" = "$NET_BEFORE" ] || fail "host links or addresses changed"
  [ "$(host_sysctls)" = "$SYSCTLS_BEFORE" ] || fail "host sysctls changed"
  step "teardown ok: no process, mount, cgroup or file left;" \
    "host network and sysctls unchanged"
}

check_no_host_files() {
  local f d left
  for f in "$(sandbox_legacy_socket "$SOCK_PLUGIN")" \
      "/etc/docker/plugins/$SPEC_PLUGIN.spec" "${SHIM_SOCKETS[@]}" \
      "/run/docker/plugins/$PLUGIN_ID" /sys/fs/cgroup/*/"$PLUGIN_ID"; do
    [ ! -e "$f" ] || fail "$f left behind"
  done
  left=$(find /run/docker /run/containerd /etc/docker -name "*$SANDBOX_ID*" \
           2>/dev/null || true)
  [ -z "$left" ] || fail "left in a fixed directory: $left"
  # A directory the host did not have may only remain for another live run
  # (whose marker is in it).
  for d in "${ABSENT_BEFORE[@]}"; do
    [ ! -e "$d" ] || compgen -G "$d/.vsp-sandbox.*" >/dev/null \
      || fail "$d created by the run and left behind"
  done
}

# ---- main --------------------------------------------------------------------

record_host_state() {
  local d
  NET_BEFORE=$(host_net)
  SYSCTLS_BEFORE=$(host_sysctls)
  CGROUPS_BEFORE=$(host_cgroups)
  NSFS_BEFORE=$(findmnt -rn -t nsfs -o TARGET || true)
  ABSENT_BEFORE=()
  for d in /run/docker /run/docker/plugins /run/containerd /run/containerd/s \
      /etc/docker /etc/docker/plugins; do
    [ -e "$d" ] || ABSENT_BEFORE+=("$d")
  done
}

main() {
  local start
  start=$(_sandbox_now_us)
  sandbox_require
  [ -x "$PYTHON" ] || { echo "SKIP: no $PYTHON" >&2; exit 77; }
  record_host_state
  RUN_PIDS=() SHIM_SOCKETS=()
  VALUE=selftest-$RANDOM$RANDOM

  # shellcheck disable=SC2119 # a fresh directory
  sandbox_init
  SOCK_PLUGIN=$(sandbox_name stubsock)
  SPEC_PLUGIN=$(sandbox_name stubspec)
  start_stub "$SOCK_PLUGIN" "$(sandbox_legacy_socket "$SOCK_PLUGIN")"
  start_stub "$SPEC_PLUGIN" "$T/$SPEC_PLUGIN.sock"
  sandbox_start
  SANDBOX_NETNS=$(net_ns_of "$SANDBOX_CONTAINERD_PID")

  check_isolation
  check_secret_service
  check_process_tree
  check_failing_secret
  check_managed_plugin
  [ "$SELFTEST_RESTART" = 0 ] || check_restart

  RUN_PIDS+=("$SANDBOX_DOCKERD_PID" "$SANDBOX_CONTAINERD_PID")
  mapfile -t -O "${#RUN_PIDS[@]}" RUN_PIDS < <(sandbox_pids)
  check_only_docker_links
  sandbox_stop
  check_nothing_left
  step "PASS in $(sandbox_elapsed "$start") s"
}

main "$@"
