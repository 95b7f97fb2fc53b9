# shellcheck shell=bash
#
# Swarm sandbox: a private Docker engine (Debian docker.io 20.10) in Swarm
# mode, for vsp's end-to-end tests and its demo. Source this file, then:
#
#   sandbox_require           # exit 77 (CTest skip) unless root and tools
#   sandbox_init [DIR]        # $T, DOCKER_HOST, one cleanup trap
#   sandbox_start             # containerd + dockerd + local/busybox + swarm
#   ...                       # /usr/bin/docker, sandbox_* helpers
#   sandbox_stop              # optional: the EXIT trap does the same
#
# Safety (README.md has the reasons): containerd and dockerd run in their
# own network namespace holding only `lo` and in a private mount namespace,
# Swarm binds 127.0.0.1, nothing is pulled, every process is tracked in a
# cgroup of the run and stopped by PID, and every file outside $T is
# created through a helper that removes exactly what it created.
#
# All functions must run in the shell that called sandbox_init (not in a
# subshell or $(...)): they keep state in shell variables and the daemons
# are that shell's children.

# ---- settings (environment) ------------------------------------------------

SANDBOX_DOCKER=${SANDBOX_DOCKER:-/usr/bin/docker}   # CLI 20.10 (API 1.41)
SANDBOX_DOCKERD=${SANDBOX_DOCKERD:-/usr/sbin/dockerd}
SANDBOX_CONTAINERD=${SANDBOX_CONTAINERD:-/usr/bin/containerd}
SANDBOX_BUSYBOX=${SANDBOX_BUSYBOX:-/bin/busybox}    # busybox-static
SANDBOX_TINI=${SANDBOX_TINI:-/usr/bin/tini}         # docker.io depends on it
SANDBOX_TMPDIR=${SANDBOX_TMPDIR:-/tmp}              # parent of a fresh $T
SANDBOX_KEEP=${SANDBOX_KEEP:-0}                     # 1: keep $T for debugging
SANDBOX_DEBUG=${SANDBOX_DEBUG:-0}                   # 1: dockerd debug log on
SANDBOX_START_TIMEOUT=${SANDBOX_START_TIMEOUT:-60}  # seconds
SANDBOX_STOP_TIMEOUT=${SANDBOX_STOP_TIMEOUT:-30}    # seconds, per daemon

# Applets linked in local/busybox; tests may rely on exactly these.
SANDBOX_IMAGE_APPLETS=(sh sleep cat ls wc env grep base64 echo printf test
                       stat id head tail tr true false touch mkdir rm)
SANDBOX_IMAGE=local/busybox

# ---- state (set by sandbox_init / sandbox_start, read-only for callers) ----

SANDBOX_DIR=${SANDBOX_DIR:-}        # $T
SANDBOX_ID=${SANDBOX_ID:-}          # run id: names, cgroup, markers
SANDBOX_DOCKERD_PID=""
SANDBOX_CONTAINERD_PID=""
_SANDBOX_REAPER_PID=""              # tini -s, parent of containerd and shims
SANDBOX_REAPED=0                    # leftovers sandbox_stop had to kill
_SANDBOX_OWNER=""                   # $BASHPID of the shell that owns the run
_SANDBOX_CLEANUPS=()                # shell-quoted commands, run newest first
_SANDBOX_CG_TRACK=""                # cgroup dir holding the run's processes
_SANDBOX_DIR_CREATED=0              # 1: sandbox_init created $T
_SANDBOX_DOCKERD_STOP_REGISTERED=0
_SANDBOX_SPAWNED=""                 # PID set by _sandbox_spawn
declare -gA _SANDBOX_DIR_REFS=()    # fixed host dir -> acquisitions by us

# ---- messages ----------------------------------------------------------------

sandbox_log() { printf 'sandbox: %s\n' "$*" >&2; }
_sandbox_warn() { printf 'sandbox: warning: %s\n' "$*" >&2; }

# Prints an error and makes the caller fail. Under `set -e` the script stops
# and the EXIT trap cleans up; without it, callers test the status.
_sandbox_error() {
  printf 'sandbox: error: %s\n' "$*" >&2
  return 1
}

# Microseconds since the epoch, for deadlines and measurements.
_sandbox_now_us() { echo "${EPOCHREALTIME/./}"; }

# Seconds (one decimal) elapsed since START_US.
sandbox_elapsed() {
  local us=$(($(_sandbox_now_us) - $1))
  printf '%d.%d' $((us / 1000000)) $((us % 1000000 / 100000))
}

# Runs CMD... every 0.1 s until it succeeds; fails after TIMEOUT seconds.
_sandbox_wait_until() {
  local timeout=$1; shift
  local deadline=$(($(_sandbox_now_us) + timeout * 1000000))
  until "$@"; do
    (($(_sandbox_now_us) < deadline)) || return 1
    sleep 0.1
  done
}

# ---- requirements ------------------------------------------------------------

# Exits with 77 (CTest's skip code) and one line of reason if the machine
# cannot run a sandbox. CI runs as root with everything installed, so there
# a skip means the setup is broken.
sandbox_require() {
  local why
  why=$(_sandbox_missing)
  if [ -n "$why" ]; then
    printf 'SKIP: %s\n' "$why" >&2
    exit 77
  fi
}

# Prints why the sandbox cannot run, or nothing.
_sandbox_missing() {
  local tool applet applets
  if [ "$(id -u)" != 0 ]; then
    echo "needs root (namespaces, mounts, cgroups, /run/docker/plugins)"
    return
  fi
  for tool in "$SANDBOX_DOCKERD" "$SANDBOX_DOCKER" "$SANDBOX_CONTAINERD" \
      "$SANDBOX_TINI" containerd-shim-runc-v2 runc unshare nsenter ip \
      findmnt flock timeout; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "missing $tool (apt-get install docker.io iproute2 util-linux)"
      return
    fi
  done
  if [ ! -x "$SANDBOX_BUSYBOX" ]; then
    echo "missing $SANDBOX_BUSYBOX (apt-get install busybox-static)"
    return
  fi
  # A dynamic busybox cannot run in an image without a libc. (No `a | grep
  # -q` here or below: under the caller's pipefail, a writer killed by
  # SIGPIPE when grep exits early turns a match into a failure.)
  if grep -qa 'ld-linux' < <(head -c 4096 "$SANDBOX_BUSYBOX"); then
    echo "$SANDBOX_BUSYBOX is not static (apt-get install busybox-static)"
    return
  fi
  applets=$("$SANDBOX_BUSYBOX" --list)
  for applet in "${SANDBOX_IMAGE_APPLETS[@]}"; do
    if ! grep -qx "$applet" <<<"$applets"; then
      echo "$SANDBOX_BUSYBOX has no $applet applet"
      return
    fi
  done
}

# ---- run directory, cleanups, trap -------------------------------------------

# Starts a run: picks $T (DIR, which must be absent or empty, or a fresh
# directory under $SANDBOX_TMPDIR), exports DOCKER_HOST, and installs the
# EXIT/INT/TERM trap that runs every registered cleanup, newest first.
sandbox_init() {
  if [ -n "$_SANDBOX_OWNER" ]; then
    _sandbox_error "sandbox_init called twice"
    return 1
  fi
  _SANDBOX_OWNER=$BASHPID
  _SANDBOX_CLEANUPS=()
  trap '_sandbox_on_exit_trap $?' EXIT
  trap '_sandbox_on_signal 130' INT
  trap '_sandbox_on_signal 143' TERM

  sandbox_clean_stale
  SANDBOX_ID=vsps-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
  _sandbox_make_dir "${1:-}" || return 1
  T=$SANDBOX_DIR
  # The run's record for sandbox_clean_stale; removed last.
  _sandbox_fixed_dir_acquire /run/vsp-sandbox || return 1
  sandbox_on_exit _sandbox_fixed_dir_release /run/vsp-sandbox
  sandbox_on_exit _sandbox_remove_dir

  # Every socket path a daemon derives from $T must fit in sun_path (108).
  if ((${#T} > 60)); then
    _sandbox_error "sandbox dir too long for Unix socket paths: $T"
    return 1
  fi
  printf '%s\n' "$SANDBOX_ID" >"$T/sandbox-id"
  mkdir -p "$T/log" "$T/cli"
  export DOCKER_HOST=unix://$T/docker.sock
  export DOCKER_CONFIG=$T/cli   # never the user's ~/.docker (contexts, creds)
  unset DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH
  sandbox_log "run $SANDBOX_ID in $T"
}

_sandbox_make_dir() {
  local dir=$1
  if [ -z "$dir" ]; then
    SANDBOX_DIR=$(mktemp -d "$SANDBOX_TMPDIR/$SANDBOX_ID.XXXXXX") || return 1
    _SANDBOX_DIR_CREATED=1
  elif [ ! -e "$dir" ]; then
    mkdir -p "$dir" || return 1
    _SANDBOX_DIR_CREATED=1
  elif [ -n "$(ls -A "$dir")" ]; then
    _sandbox_error "sandbox dir $dir is not empty"
    return 1
  fi
  SANDBOX_DIR=$(realpath "${dir:-$SANDBOX_DIR}")
}

# Registers CMD... to run at teardown (sandbox_stop or exit), before the
# cleanups registered earlier. Tests use it to stop their plugin and servers.
sandbox_on_exit() {
  if [ -z "$_SANDBOX_OWNER" ]; then
    _sandbox_error "sandbox_on_exit before sandbox_init"
    return 1
  fi
  _SANDBOX_CLEANUPS+=("$(printf '%q ' "$@")")
}

# Runs every registered cleanup now, newest first, and empties the list:
# services, plugins, swarm, dockerd, containerd, leftovers, host files, $T.
sandbox_stop() {
  local start
  start=$(_sandbox_now_us)
  _sandbox_run_cleanups
  sandbox_log "stopped in $(sandbox_elapsed "$start") s"
}

# Each cleanup runs once even if it fails or the trap fires again; errexit
# is off here whatever the caller set, and INT/TERM wait until the end since
# every step is bounded.
_sandbox_run_cleanups() {
  local - cmd
  set +e
  trap '' INT TERM
  while ((${#_SANDBOX_CLEANUPS[@]} > 0)); do
    cmd=${_SANDBOX_CLEANUPS[-1]}
    unset '_SANDBOX_CLEANUPS[-1]'
    eval "$cmd" || _sandbox_warn "cleanup failed: $cmd"
  done
  trap '_sandbox_on_signal 130' INT
  trap '_sandbox_on_signal 143' TERM
}

_sandbox_on_exit_trap() {
  local rc=$1
  # Subshells do not inherit the trap, but be sure a child never tears down.
  [ "$BASHPID" = "$_SANDBOX_OWNER" ] || return 0
  _sandbox_run_cleanups
  exit "$rc"
}

_sandbox_on_signal() {
  _sandbox_warn "interrupted, cleaning up"
  exit "$1"   # the EXIT trap runs the cleanups
}

# Removes $T unless SANDBOX_KEEP=1. Refuses while anything is mounted below
# it, and never crosses into another file system.
_sandbox_remove_dir() {
  if [ "$SANDBOX_KEEP" = 1 ]; then
    sandbox_log "kept $T (SANDBOX_KEEP=1)"
    return 0
  fi
  if [ -n "$(_sandbox_mounts_under "$T")" ]; then
    _sandbox_error "not removing $T: still mounted below it"
    return 1
  fi
  if [ "$_SANDBOX_DIR_CREATED" = 1 ]; then
    rm -rf --one-file-system -- "$T"
  else
    find "$T" -mindepth 1 -maxdepth 1 -exec rm -rf --one-file-system -- {} +
  fi
}

# ---- names -------------------------------------------------------------------

# Prints BASE-<run id>: a name no other run uses, for plugins and anything
# else that lives outside $T.
sandbox_name() { printf '%s-%s\n' "$1" "${SANDBOX_ID#vsps-}"; }

# ---- fixed host directories --------------------------------------------------
#
# dockerd and containerd use a few paths that no option moves:
# /run/docker/plugins (plugin sockets), /run/containerd/s (containerd-shim
# sockets) and, for spec-file discovery, /etc/docker/plugins. A run creates
# what is missing and removes it again, but several runs may share these
# directories at once. So each component a sandbox created, or that already
# carries a sandbox marker, gets a marker file `.vsp-sandbox.<run id>`
# holding "<owner pid> <$T> <1 if the run created $T> <SANDBOX_KEEP>"; a
# run removes its
# own markers, and a directory only once no marker and nothing else is left
# in it. A directory that existed without markers (a system Docker's) is
# never removed. dockerd and containerd ignore files that are neither
# sockets nor .spec/.json. Markers of runs that died are removed by
# sandbox_clean_stale, which knows what else such a run left.

_SANDBOX_FIXED_DIRS=(/run/docker/plugins /run/docker /run/containerd/s
                     /run/containerd /etc/docker/plugins /etc/docker
                     /run/vsp-sandbox)

# Makes DIR (absolute) exist for this run, marking each component the
# sandboxes own. Components directly under / are never created.
_sandbox_fixed_dir_acquire() {
  local dir=$1 top path part fd rc=0 parts
  local refs=${_SANDBOX_DIR_REFS[$dir]:-0}
  _SANDBOX_DIR_REFS[$dir]=$((refs + 1))
  ((refs == 0)) || return 0
  top=$(_sandbox_top "$dir")
  exec {fd}<"$top"
  flock -w 10 "$fd" || _sandbox_warn "no lock on $top"
  IFS=/ read -ra parts <<<"${dir#"$top"/}"
  path=$top
  for part in "${parts[@]}"; do
    path=$path/$part
    _sandbox_fixed_component_acquire "$path" || { rc=1; break; }
  done
  exec {fd}<&-
  return "$rc"
}

# The directory under / that DIR lives in; its lock serialises the runs.
_sandbox_top() { local d=${1#/}; echo "/${d%%/*}"; }

_sandbox_fixed_component_acquire() {
  local path=$1
  if [ ! -e "$path" ]; then
    mkdir -m "$(_sandbox_fixed_mode "$path")" "$path" || return 1
  elif ! compgen -G "$path/.vsp-sandbox.*" >/dev/null; then
    return 0   # not created by a sandbox: leave it alone
  fi
  printf '%s %s %s %s\n' "$_SANDBOX_OWNER" "$T" "$_SANDBOX_DIR_CREATED" \
    "$SANDBOX_KEEP" >"$path/.vsp-sandbox.$SANDBOX_ID"
}

# The modes dockerd and containerd would create these with.
_sandbox_fixed_mode() {
  case $1 in
    /run/containerd) echo 711 ;;
    /etc/*) echo 755 ;;
    *) echo 700 ;;
  esac
}

# Drops this run's claim on DIR; removes the components nobody needs.
_sandbox_fixed_dir_release() {
  local dir=$1 top path fd
  local refs=${_SANDBOX_DIR_REFS[$dir]:-0}
  ((refs > 0)) || return 0
  _SANDBOX_DIR_REFS[$dir]=$((refs - 1))
  ((refs == 1)) || return 0
  top=$(_sandbox_top "$dir")
  exec {fd}<"$top"
  flock -w 10 "$fd" || _sandbox_warn "no lock on $top"
  path=$dir
  while [ "$path" != "$top" ]; do
    _sandbox_unmark "$path" "$SANDBOX_ID"
    path=${path%/*}
  done
  exec {fd}<&-
}

# Removes run ID's marker from PATH, then PATH itself if a sandbox made it
# and nothing is left in it. The caller holds the lock.
_sandbox_unmark() {
  local path=$1 id=$2
  [ -e "$path/.vsp-sandbox.$id" ] || return 0
  rm -f "$path/.vsp-sandbox.$id"
  rmdir "$path" 2>/dev/null || true   # fails while anything else is inside
}

# ---- runs that died ----------------------------------------------------------
#
# A run whose shell was killed (a CTest timeout kills the whole process
# tree) cannot clean up; its mounts vanish with its mount namespace, but $T,
# its cgroups, markers, shim sockets of killed shims and plugin files stay.
# Every run is registered by its marker in /run/vsp-sandbox; sandbox_init
# cleans up after registered runs whose owner shell is gone.

# Cleans up after every dead run (also usable by hand:
# `bash -c '. tests/e2e/lib/sandbox.sh; sandbox_clean_stale'`).
sandbox_clean_stale() {
  local run_fd etc_fd marker owner dir created keep
  [ -d /run/vsp-sandbox ] || return 0
  exec {run_fd}</run {etc_fd}</etc
  if ! flock -w 30 "$run_fd" || ! flock -w 30 "$etc_fd"; then
    _sandbox_warn "no lock on /run and /etc"
  fi
  for marker in /run/vsp-sandbox/.vsp-sandbox.*; do
    [ -e "$marker" ] || continue
    read -r owner dir created keep <"$marker" || true
    if [ -n "$owner" ] && kill -0 "$owner" 2>/dev/null; then
      continue
    fi
    _sandbox_clean_run "${marker##*/.vsp-sandbox.}" "$dir" "$created" "$keep"
  done
  exec {run_fd}<&- {etc_fd}<&-
}

# Removes what dead run ID left: its processes, shim sockets, managed
# plugin leftovers, legacy plugin files, cgroups, run dir DIR (unless KEEP
# is 1; only DIR's contents unless CREATED is 1) and markers.
_sandbox_clean_run() {
  local id=$1 dir=$2 created=$3 keep=$4 hex=${1#vsps-} path
  _sandbox_warn "cleaning up after dead run $id ($dir)"
  _sandbox_kill_cgroup "$id"
  if [ -n "$dir" ]; then
    _sandbox_remove_shim_sockets "$dir"
    _sandbox_remove_plugin_leftovers "$dir"
  fi
  rm -f /run/docker/plugins/*"$hex"*.sock /etc/docker/plugins/*"$hex"*.spec
  _sandbox_cgroup_remove_of "$id"
  if [ -n "$dir" ] && [ "$keep" != 1 ] \
      && [ "$(cat "$dir/sandbox-id" 2>/dev/null)" = "$id" ] \
      && [ -z "$(_sandbox_mounts_under "$dir")" ]; then
    if [ "$created" = 1 ]; then
      rm -rf --one-file-system -- "$dir"
    else
      find "$dir" -mindepth 1 -maxdepth 1 -exec rm -rf --one-file-system -- {} +
    fi
  fi
  for path in "${_SANDBOX_FIXED_DIRS[@]}"; do
    _sandbox_unmark "$path" "$id"
  done
}

# SIGKILLs every process left in run ID's cgroup, by PID.
_sandbox_kill_cgroup() {
  local track pids
  for track in /sys/fs/cgroup/pids/"$1" /sys/fs/cgroup/"$1"; do
    [ -d "$track" ] || continue
    mapfile -t pids < <(find "$track" -name cgroup.procs -exec cat {} + \
                          2>/dev/null)
    ((${#pids[@]} == 0)) || kill -KILL "${pids[@]}" 2>/dev/null
    _sandbox_wait_until 10 _sandbox_no_procs_in "$track" \
      || _sandbox_warn "processes left in $track"
  done
}

_sandbox_no_procs_in() {
  [ -z "$(find "$1" -name cgroup.procs -exec cat {} + 2>/dev/null)" ]
}

# A shim listens on /run/containerd/s/sha256(<containerd address>/<ns>/<id>)
# and removes it when it exits normally; a killed shim leaves it.
_sandbox_remove_shim_sockets() {
  local sock
  for sock in $(_sandbox_shim_sockets "$1"); do
    [ ! -S "$sock" ] || rm -f "$sock"
  done
}

# dockerd 20.10 gives a managed plugin no cgroup path, so runc puts it at
# <caller's cgroup>/<plugin id> in each hierarchy, outside the run's tree,
# and its directory /run/docker/plugins/<plugin id> holds its socket and
# stdio FIFOs. Removing the plugin removes both; this catches what a killed
# run left, found by the IDs in the run's data root.
_sandbox_remove_plugin_leftovers() {
  local plugin id
  for plugin in "$1"/data/plugins/*; do
    id=${plugin##*/}
    [[ $id =~ ^[0-9a-f]{64}$ ]] || continue
    find /sys/fs/cgroup -depth -type d -name "$id" -exec rmdir {} + 2>/dev/null
    rm -rf --one-file-system -- "/run/docker/plugins/$id"
  done
}

# Prints the shim socket path of each task run DIR's containerd knows.
_sandbox_shim_sockets() {
  local task ns id
  for task in "$1"/containerd/state/io.containerd.runtime.v2.task/*/*; do
    [ -d "$task" ] || continue
    id=${task##*/} ns=${task%/*} ns=${ns##*/}
    printf '/run/containerd/s/%s\n' "$(printf '%s' \
      "$1/containerd/containerd.sock/$ns/$id" | sha256sum | cut -d' ' -f1)"
  done
}

# ---- cgroup of the run -------------------------------------------------------
#
# Containers get `--cgroup-parent=/<run id>`; the daemons run in
# /<run id>/daemons of one hierarchy (pids on cgroup v1, the unified tree on
# v2), and shims inherit it. So every process of the run, including ones
# that outlive their daemon, can be found by PID and nothing else.

_sandbox_cgroup_setup() {
  if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
    _SANDBOX_CG_TRACK=/sys/fs/cgroup/$SANDBOX_ID
  elif [ -d /sys/fs/cgroup/pids ]; then
    _SANDBOX_CG_TRACK=/sys/fs/cgroup/pids/$SANDBOX_ID
  fi
  sandbox_on_exit _sandbox_cgroup_remove
  if [ -z "$_SANDBOX_CG_TRACK" ] \
      || ! mkdir -p "$_SANDBOX_CG_TRACK/daemons"; then
    _sandbox_warn "no cgroup to track processes in; leftovers are not reaped"
    _SANDBOX_CG_TRACK=""
  fi
}

# Where a daemon launcher writes its PID to join the run's cgroup.
_sandbox_cgroup_procs() {
  if [ -n "$_SANDBOX_CG_TRACK" ]; then
    echo "$_SANDBOX_CG_TRACK/daemons/cgroup.procs"
  else
    echo /dev/null
  fi
}

# Prints the PIDs of every process of the run still alive.
sandbox_pids() {
  [ -n "$_SANDBOX_CG_TRACK" ] && [ -d "$_SANDBOX_CG_TRACK" ] || return 0
  find "$_SANDBOX_CG_TRACK" -name cgroup.procs -exec cat {} + 2>/dev/null
}

# Kills whatever is left in the run's cgroup (normally nothing: shims exit
# with their containers) and counts it in SANDBOX_REAPED.
_sandbox_reap() {
  local pid
  for pid in $(sandbox_pids); do
    _sandbox_warn "killing leftover pid $pid:" \
      "$(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null)"
    kill -KILL "$pid" 2>/dev/null
    SANDBOX_REAPED=$((SANDBOX_REAPED + 1))
  done
  _sandbox_wait_until 10 _sandbox_cgroup_empty \
    || _sandbox_warn "processes left in cgroup $_SANDBOX_CG_TRACK"
}

_sandbox_cgroup_empty() { [ -z "$(sandbox_pids)" ]; }

# Removes /<run id> in every hierarchy (runc creates it in each one).
_sandbox_cgroup_remove() { _sandbox_cgroup_remove_of "$SANDBOX_ID"; }

_sandbox_cgroup_remove_of() {
  local dir
  for dir in /sys/fs/cgroup/"$1" /sys/fs/cgroup/*/"$1"; do
    [ -d "$dir" ] || continue
    find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null \
      || _sandbox_warn "cannot remove cgroup $dir"
  done
}

# Prints the mount points at or below DIR in our (the host's) mount namespace.
_sandbox_mounts_under() {
  findmnt -rn -o TARGET | awk -v d="$1" '$0 == d || index($0, d "/") == 1'
}

# ---- daemons -----------------------------------------------------------------

# Starts the run's containerd and dockerd in a new network namespace that
# holds only `lo` and a private mount namespace, imports local/busybox and
# makes a single-node swarm on 127.0.0.1. Fails (after cleaning what it
# started, via the trap) if any step does not finish in time.
sandbox_start() {
  local start
  start=$(_sandbox_now_us)
  if [ -z "$_SANDBOX_OWNER" ]; then
    _sandbox_error "sandbox_start before sandbox_init"
    return 1
  fi
  _sandbox_write_configs
  _sandbox_cgroup_setup
  _sandbox_fixed_dir_acquire /run/docker/plugins || return 1
  sandbox_on_exit _sandbox_fixed_dir_release /run/docker/plugins
  _sandbox_fixed_dir_acquire /run/containerd/s || return 1
  sandbox_on_exit _sandbox_fixed_dir_release /run/containerd/s
  sandbox_on_exit _sandbox_sweep_mounts
  _sandbox_start_containerd || return 1
  _sandbox_start_dockerd || return 1
  _sandbox_import_image || return 1
  _sandbox_swarm_init || return 1
  sandbox_log "ready in $(sandbox_elapsed "$start") s" \
    "(dockerd $SANDBOX_DOCKERD_PID, containerd $SANDBOX_CONTAINERD_PID)"
}

_sandbox_write_configs() {
  mkdir -p "$T/data" "$T/exec" "$T/containerd"
  if [ "$SANDBOX_DEBUG" = 1 ]; then
    _sandbox_write_daemon_json true
  else
    _sandbox_write_daemon_json false
  fi
  # Our own containerd: dockerd would otherwise use a running system
  # containerd (/run/containerd/containerd.sock), which lives outside our
  # namespaces and shares its state with the system Docker. CRI is off (it
  # manages CNI networks and is unused by dockerd); metrics get no listener;
  # the snapshotters listed only log errors; `opt` would create /opt/containerd.
  cat >"$T/containerd/config.toml" <<TOML
version = 2
root = "$T/containerd/root"
state = "$T/containerd/state"
temp = "$T/containerd/tmp"
disabled_plugins = ["io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "$T/containerd/containerd.sock"
  tcp_address = ""
[ttrpc]
  address = "$T/containerd/containerd.sock.ttrpc"
[debug]
  address = "$T/containerd/debug.sock"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$T/containerd/opt"
TOML
}

# daemon.json: the trust key path has no flag in 20.10 (without it dockerd
# writes /etc/docker/key.json); debug is here so SIGHUP can toggle it.
_sandbox_write_daemon_json() {
  cat >"$T/daemon.json.new" <<JSON
{
  "deprecated-key-path": "$T/key.json",
  "debug": $1
}
JSON
  mv "$T/daemon.json.new" "$T/daemon.json"
}

# Runs CMD... in the background in its own session (Ctrl-C in a terminal
# reaches our trap, not the daemon), in the run's cgroup, with output to
# LOG, and sets _SANDBOX_SPAWNED to its PID. The wrapper writes its PID to
# PIDFILE and every later step execs, so that is the daemon's PID, and the
# daemon is a child of this shell, which reaps it. (Not from $(...): the
# daemon would be orphaned to PID 1, which may leave it a zombie.)
_sandbox_spawn() {
  local log=$1 pidfile=$2; shift 2
  _SANDBOX_SPAWNED=""
  rm -f "$pidfile"
  # shellcheck disable=SC2016 # expanded by the inner sh
  setsid sh -c \
    'cd / && echo $$ >"$1" && echo $$ >"$2" && shift 2 && exec "$@"' \
    sh "$pidfile" "$(_sandbox_cgroup_procs)" "$@" >>"$log" 2>&1 </dev/null &
  _sandbox_wait_until 5 test -s "$pidfile" || return 1
  _SANDBOX_SPAWNED=$(<"$pidfile")
}

# Environment a daemon must not inherit: sd_notify and socket activation of
# the calling service, and proxies (nothing is ever fetched).
_SANDBOX_ENV_DROP=(-u NOTIFY_SOCKET -u LISTEN_FDS -u LISTEN_PIDS
                   -u LISTEN_FDNAMES -u HTTP_PROXY -u HTTPS_PROXY -u NO_PROXY
                   -u http_proxy -u https_proxy -u no_proxy)

# containerd runs under `tini -s`, a child subreaper: containerd 1.6 is
# not one, so its shims (which daemonize) would be orphaned to PID 1, and a
# PID 1 that reaps late (or never, in some containers) leaves zombies. With
# tini they stay descendants of the test, which also lets CTest's
# process-tree kill on a timeout reach them.
_sandbox_start_containerd() {
  local sock=$T/containerd/containerd.sock
  # --propagation slave: host mounts still show up inside, but the overlay,
  # shm, secrets and netns mounts of the run never reach the host and
  # vanish with the namespace even if a daemon is killed.
  # shellcheck disable=SC2016 # expanded by the inner sh
  _sandbox_spawn "$T/log/containerd.log" "$T/reaper.pid" \
    env "${_SANDBOX_ENV_DROP[@]}" \
    unshare --net --mount --propagation slave -- \
    "$SANDBOX_TINI" -s -- \
    sh -c 'ip link set lo up && echo $$ >"$1" && shift && exec "$@"' sh \
    "$T/containerd.pid" \
    "$SANDBOX_CONTAINERD" --config "$T/containerd/config.toml" || {
    _sandbox_error "containerd launcher did not start"
    return 1
  }
  _SANDBOX_REAPER_PID=$_SANDBOX_SPAWNED
  sandbox_on_exit _sandbox_stop_containerd
  if ! _sandbox_wait_daemon "$_SANDBOX_REAPER_PID" 10 \
      test -s "$T/containerd.pid"; then
    _sandbox_error "containerd did not start; $T/log/containerd.log:"
    tail -n 15 "$T/log/containerd.log" >&2
    return 1
  fi
  SANDBOX_CONTAINERD_PID=$(<"$T/containerd.pid")
  if ! _sandbox_wait_daemon "$SANDBOX_CONTAINERD_PID" "$SANDBOX_START_TIMEOUT" \
      test -S "$sock"; then
    _sandbox_error "containerd did not come up; $T/log/containerd.log:"
    tail -n 15 "$T/log/containerd.log" >&2
    return 1
  fi
}

_sandbox_dockerd_args() {
  printf '%s\n' \
    --config-file "$T/daemon.json" -H "unix://$T/docker.sock" \
    --data-root "$T/data" --exec-root "$T/exec" --pidfile "$T/dockerd.pid" \
    --containerd "$T/containerd/containerd.sock" \
    --cgroup-parent "/$SANDBOX_ID" --exec-opt native.cgroupdriver=cgroupfs \
    --bridge=none --iptables=false --ip6tables=false --ip-forward=false \
    --ip-masq=false --storage-driver=overlay2
}

_sandbox_start_dockerd() {
  local args
  mapfile -t args < <(_sandbox_dockerd_args)
  # DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: the swarm agent uses the local
  # image instead of asking a registry first.
  _sandbox_spawn "$T/log/dockerd.log" "$T/dockerd.wrapper.pid" \
    nsenter --target "$SANDBOX_CONTAINERD_PID" --net --mount -- \
    env "${_SANDBOX_ENV_DROP[@]}" DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 \
    "$SANDBOX_DOCKERD" "${args[@]}" || {
    _sandbox_error "dockerd launcher did not start"
    return 1
  }
  SANDBOX_DOCKERD_PID=$_SANDBOX_SPAWNED
  # Registered once; a restart only changes the PID it stops.
  if [ "$_SANDBOX_DOCKERD_STOP_REGISTERED" = 0 ]; then
    sandbox_on_exit _sandbox_stop_dockerd
    _SANDBOX_DOCKERD_STOP_REGISTERED=1
  fi
  if ! _sandbox_wait_daemon "$SANDBOX_DOCKERD_PID" "$SANDBOX_START_TIMEOUT" \
      _sandbox_docker_answers; then
    _sandbox_error "dockerd did not come up; $T/log/dockerd.log:"
    tail -n 15 "$T/log/dockerd.log" >&2
    return 1
  fi
}

_sandbox_docker_answers() {
  _sandbox_docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

# Waits until CHECK... succeeds; gives up early when PID has exited.
_sandbox_wait_daemon() {
  local pid=$1 timeout=$2; shift 2
  local deadline=$(($(_sandbox_now_us) + timeout * 1000000))
  until "$@"; do
    if ! _sandbox_alive "$pid"; then
      _sandbox_warn "pid $pid exited during start-up"
      return 1
    fi
    (($(_sandbox_now_us) < deadline)) || return 1
    sleep 0.1
  done
}

# True while PID runs (a zombie counts as gone).
_sandbox_alive() {
  local state
  [ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
  state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
  [ -n "$state" ] && [ "$state" != Z ]
}

# Sends SIGTERM to PID, waits up to TIMEOUT seconds, then SIGKILL.
_sandbox_kill_wait() {
  local pid=$1 name=$2 timeout=$3
  _sandbox_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null
  if ! _sandbox_wait_until "$timeout" _sandbox_gone "$pid"; then
    _sandbox_warn "$name (pid $pid) ignored SIGTERM for ${timeout}s; SIGKILL"
    kill -KILL "$pid" 2>/dev/null
    _sandbox_wait_until 10 _sandbox_gone "$pid" \
      || _sandbox_warn "$name (pid $pid) survived SIGKILL"
  fi
  wait "$pid" 2>/dev/null || true   # reap it if it is our child
}

_sandbox_gone() { ! _sandbox_alive "$1"; }

# Stops a process the test started (its plugin, a server) by PID: SIGTERM,
# up to TIMEOUT seconds (default 10), then SIGKILL. For sandbox_on_exit.
sandbox_stop_process() {
  _sandbox_kill_wait "$1" "pid $1" "${2:-10}"
}

# Removes services, containers and managed plugins and leaves the swarm
# (dockerd would otherwise stop each container with its grace period), then
# stops dockerd by PID.
_sandbox_stop_dockerd() {
  if _sandbox_alive "$SANDBOX_DOCKERD_PID"; then
    _sandbox_docker_teardown
    _sandbox_kill_wait "$SANDBOX_DOCKERD_PID" dockerd "$SANDBOX_STOP_TIMEOUT"
  fi
  rm -f "$T/docker.sock"
}

_sandbox_docker_teardown() {
  _sandbox_docker_each "service ls -q" service rm
  _sandbox_docker_each "ps -aq" rm -f
  _sandbox_docker_each "plugin ls -q" plugin rm -f
  _sandbox_docker_bounded swarm leave --force >/dev/null 2>&1
  return 0
}

# Runs `docker ACTION... ID...` on the IDs `docker LIST` prints, if any.
_sandbox_docker_each() {
  local list ids
  read -ra list <<<"$1"; shift
  mapfile -t ids < <(_sandbox_docker_bounded "${list[@]}" 2>/dev/null)
  ((${#ids[@]} == 0)) \
    || _sandbox_docker_bounded "$@" "${ids[@]}" >/dev/null 2>&1
}

# A docker call that cannot hang teardown (a hung plugin has no timeout).
_sandbox_docker_bounded() {
  timeout 30 env DOCKER_HOST="unix://$T/docker.sock" DOCKER_CONFIG="$T/cli" \
    "$SANDBOX_DOCKER" "$@"
}

# containerd goes after dockerd, once the shims of the removed containers
# have exited (they need containerd to shut down cleanly); tini follows
# containerd. Then whatever still runs in the run's cgroup is killed.
_sandbox_stop_containerd() {
  _sandbox_wait_until 10 _sandbox_only_daemons_left \
    || _sandbox_warn "shims still running: $(_sandbox_others)"
  _sandbox_kill_wait "$SANDBOX_CONTAINERD_PID" containerd \
    "$SANDBOX_STOP_TIMEOUT"
  _sandbox_kill_wait "$_SANDBOX_REAPER_PID" tini 5
  _sandbox_reap
  _sandbox_remove_plugin_leftovers "$T"
}

# PIDs of the run other than containerd and its tini.
_sandbox_others() {
  sandbox_pids \
    | grep -vxF -e "$SANDBOX_CONTAINERD_PID" -e "$_SANDBOX_REAPER_PID" \
    | xargs
}

_sandbox_only_daemons_left() { [ -z "$(_sandbox_others)" ]; }

# Our mounts live in the private mount namespace and vanish with it; this
# only catches one made on the host below $T (e.g. by a test), deepest
# first, so that $T can be removed.
_sandbox_sweep_mounts() {
  local m
  for m in $(_sandbox_mounts_under "$T" | sort -r); do
    _sandbox_warn "unmounting $m"
    umount "$m" 2>/dev/null || umount -l "$m"
  done
}

# Restarts dockerd (same data, same swarm) without touching containerd;
# later tests use it for "the plugin after a daemon restart".
sandbox_restart_dockerd() {
  local start
  start=$(_sandbox_now_us)
  _sandbox_kill_wait "$SANDBOX_DOCKERD_PID" dockerd "$SANDBOX_STOP_TIMEOUT"
  _sandbox_start_dockerd || return 1
  sandbox_log "dockerd restarted in $(sandbox_elapsed "$start") s" \
    "(pid $SANDBOX_DOCKERD_PID)"
}

# ---- image and swarm ---------------------------------------------------------

# local/busybox: the static busybox with the applets tests use, imported
# from a tar stream so that no registry is ever asked.
_sandbox_import_image() {
  local root=$T/image-rootfs applet
  mkdir -p "$root/bin" "$root/etc" "$root/tmp"
  cp "$SANDBOX_BUSYBOX" "$root/bin/busybox"
  for applet in "${SANDBOX_IMAGE_APPLETS[@]}"; do
    ln -s busybox "$root/bin/$applet"
  done
  tar -C "$root" -c . | _sandbox_docker import - "$SANDBOX_IMAGE" >/dev/null \
    || { _sandbox_error "docker import failed"; return 1; }
  rm -rf "$root"
}

_sandbox_swarm_init() {
  _sandbox_docker swarm init --advertise-addr 127.0.0.1 \
    --listen-addr 127.0.0.1:2377 >/dev/null \
    || { _sandbox_error "docker swarm init failed"; return 1; }
}

# ---- using the sandbox -------------------------------------------------------

# Runs the 20.10 CLI against the sandbox whatever DOCKER_HOST says now.
sandbox_docker() { _sandbox_docker "$@"; }

_sandbox_docker() {
  DOCKER_HOST="unix://$T/docker.sock" DOCKER_CONFIG="$T/cli" \
    "$SANDBOX_DOCKER" "$@"
}

# Prints the path of dockerd's log (containerd's is next to it).
sandbox_dockerd_log() { echo "$T/log/dockerd.log"; }

# Waits until dockerd's log contains TEXT (fixed string); default 20 s.
sandbox_wait_log() {
  _sandbox_wait_until "${2:-20}" grep -qF -- "$1" "$T/log/dockerd.log" \
    || _sandbox_error "dockerd log has no '$1' after ${2:-20}s"
}

# sandbox_debug_log on|off: switches dockerd's debug log at runtime. A
# plugin's Err text reaches only the debug log ("failed to fetch secret").
sandbox_debug_log() {
  local want
  case ${1:-} in
    on) want=true ;;
    off) want=false ;;
    *) _sandbox_error "usage: sandbox_debug_log on|off"; return 1 ;;
  esac
  _sandbox_write_daemon_json "$want"
  kill -HUP "$SANDBOX_DOCKERD_PID"
  _sandbox_wait_until 10 _sandbox_debug_is "$want" \
    || _sandbox_error "dockerd did not reload debug=$want"
}

_sandbox_debug_is() {
  [ "$(_sandbox_docker info --format '{{.Debug}}' 2>/dev/null)" = "$1" ]
}

# Runs CMD... in the sandbox's network namespace (the one dockerd, its
# containers on the host network and managed plugins with network "host"
# see), in the host's mount namespace. A server a managed plugin must reach
# is started this way; in the background, $! is the server's PID.
sandbox_netns_exec() {
  nsenter --target "$SANDBOX_CONTAINERD_PID" --net -- "$@"
}

# Creates a secret whose value comes from the plugin DRIVER; extra ARGS
# (e.g. --label k=v) go to `docker secret create`. Prints the secret ID.
sandbox_secret_create_driver() {
  local name=$1 driver=$2; shift 2
  _sandbox_docker secret create --driver "$driver" "$@" "$name" </dev/null
}

# `docker service create` that never pulls and stops quickly: --detach,
# --no-resolve-image, --stop-grace-period 1s (later ARGS may override it).
# Prints the service ID.
sandbox_service_create() {
  _sandbox_docker service create --detach --no-resolve-image \
    --stop-grace-period 1s "$@"
}

# Waits until SERVICE has N running replicas out of N; default 30 s.
sandbox_wait_replicas() {
  local service=$1 n=$2 timeout=${3:-30}
  _sandbox_wait_until "$timeout" _sandbox_replicas_are "$service" "$n" \
    || _sandbox_error "service $service: $(_sandbox_replicas "$service")" \
         "replicas after ${timeout}s, wanted $n/$n"
}

_sandbox_replicas() {
  _sandbox_docker service ls --format '{{.Name}} {{.Replicas}}' \
    | awk -v s="$1" '$1 == s { print $2 }'
}

_sandbox_replicas_are() { [ "$(_sandbox_replicas "$1")" = "$2/$2" ]; }

# Prints one line per task of SERVICE, newest first:
#   TASK_ID <tab> STATE <tab> DESIRED_STATE <tab> ERROR
# STATE is swarm's (new ... running, complete, failed, rejected, ...).
sandbox_service_tasks() {
  local ids tab='{{"\t"}}'
  ids=$(_sandbox_docker service ps -q --no-trunc "$1") || return 1
  [ -n "$ids" ] || return 0
  # shellcheck disable=SC2086 # one ID per word
  _sandbox_docker inspect --type task --format \
    "{{.ID}}$tab{{.Status.State}}$tab{{.DesiredState}}$tab{{.Status.Err}}" \
    $ids
}

# Prints the IDs of SERVICE's tasks in STATE (e.g. running, failed).
sandbox_tasks_in_state() {
  sandbox_service_tasks "$1" | awk -F '\t' -v s="$2" '$2 == s { print $1 }'
}

# Waits until at least one task of SERVICE is in STATE; default 30 s.
sandbox_wait_task_state() {
  local service=$1 state=$2 timeout=${3:-30}
  _sandbox_wait_until "$timeout" _sandbox_has_task_in "$service" "$state" \
    || _sandbox_error "service $service: no task $state after ${timeout}s"
}

_sandbox_has_task_in() { [ -n "$(sandbox_tasks_in_state "$1" "$2")" ]; }

# Prints the ID of the container that runs TASKID (fails if it has none).
sandbox_container_of_task() {
  local id
  id=$(_sandbox_docker inspect --type task \
         --format '{{.Status.ContainerStatus.ContainerID}}' "$1") || return 1
  [ -n "$id" ] || { _sandbox_error "task $1 has no container"; return 1; }
  echo "$id"
}

# Runs CMD... in the container of TASKID (`docker exec`).
sandbox_exec_in_task() {
  local task=$1 cid; shift
  cid=$(sandbox_container_of_task "$task") || return 1
  _sandbox_docker exec "$cid" "$@"
}

# ---- managed plugins ---------------------------------------------------------

# Creates DIR/rootfs as the skeleton of a managed (v2) plugin that runs a
# Debian binary from the host: empty usr/, tmp/, etc/, run/ and the usual
# /bin, /lib... links into usr. config.json must bind-mount the host's /usr
# (read-only) there; see README.md. Then `sandbox_docker plugin create NAME
# DIR`; teardown removes every managed plugin.
sandbox_plugin_skeleton() {
  local root=$1/rootfs link
  mkdir -p "$root/usr" "$root/tmp" "$root/etc" "$root/run/docker/plugins"
  for link in bin sbin lib lib64; do
    ln -s "usr/$link" "$root/$link"
  done
}

# ---- legacy plugins ----------------------------------------------------------

# Prints the socket path at which a legacy plugin NAME is found without a
# spec file: /run/docker/plugins/NAME.sock.
sandbox_legacy_socket() { echo "/run/docker/plugins/$1.sock"; }

# Makes the legacy plugin NAME, listening on SOCKET_PATH, discoverable by
# dockerd. NAME must come from sandbox_name (discovery dirs are shared with
# every other dockerd). SOCKET_PATH = $(sandbox_legacy_socket NAME) needs
# nothing more; any other path gets /etc/docker/plugins/NAME.spec. Call it
# before starting the plugin; teardown removes exactly what it created
# (and a socket the plugin left in /run/docker/plugins).
sandbox_register_legacy_plugin() {
  local name=$1 sock=$2
  case $name in
    *"${SANDBOX_ID#vsps-}"*) ;;
    *) _sandbox_error "plugin name $name is not unique to the run" \
         "(use sandbox_name)"; return 1 ;;
  esac
  if [ "$sock" = "$(sandbox_legacy_socket "$name")" ]; then
    _sandbox_register_socket "$name" "$sock"
  else
    _sandbox_register_spec "$name" "$sock"
  fi
}

_sandbox_register_socket() {
  local sock=$2
  [ ! -e "$sock" ] || { _sandbox_error "$sock already exists"; return 1; }
  _sandbox_fixed_dir_acquire /run/docker/plugins || return 1
  sandbox_on_exit _sandbox_fixed_dir_release /run/docker/plugins
  sandbox_on_exit rm -f -- "$sock"
}

_sandbox_register_spec() {
  local name=$1 sock=$2 spec=/etc/docker/plugins/$1.spec
  [ ! -e "$spec" ] || { _sandbox_error "$spec already exists"; return 1; }
  _sandbox_fixed_dir_acquire /etc/docker/plugins || return 1
  sandbox_on_exit _sandbox_fixed_dir_release /etc/docker/plugins
  printf 'unix://%s\n' "$sock" >"$spec"
  sandbox_on_exit rm -f -- "$spec"
}
