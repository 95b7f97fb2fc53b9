#!/usr/bin/env bash
# vsp installed the way Docker users install plugins, on a real Swarm
# (lib/sandbox.sh), against a Vault set up by deploy/vault/setup.sh:
#
#   1. `docker plugin create` from the bundle; every documented setting
#      (config.json's settable env and mounts) accepted by `docker plugin
#      set` on the disabled plugin; VAULT_TOKEN and VSP_SOCKET refused
#      (sugar-org#26); `docker plugin enable` within 10 s
#   2. `docker plugin inspect` shows no credential (moby#30796)
#   3. a service's tasks each get a wrapped token through the managed
#      plugin (which receives no Plugin.Activate), checked with hvac
#   4. the bundle pushed with `docker plugin push` to a registry on
#      loopback in the sandbox, installed with `docker plugin install`,
#      upgraded with `docker plugin upgrade` to a second build, serving a
#      service after each step
#
#   managed_plugin_e2e.sh PLUGIN_BIN VSP_BIN
#
# Exit 0 on success, 77 when the machine cannot run it, 1 otherwise.
# Prints the bundle's size and the enable time.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib/sandbox.sh
. "$here/lib/sandbox.sh"
# shellcheck source=tests/e2e/lib/test_vault.sh
. "$here/lib/test_vault.sh"
# shellcheck source=tests/e2e/lib/managed_plugin.sh
. "$here/lib/managed_plugin.sh"

MP_PLUGIN_BIN=${1:?usage: $0 PLUGIN_BIN VSP_BIN}
VSP_BIN=${2:?usage: $0 PLUGIN_BIN VSP_BIN}
REGISTRY=127.0.0.1:5000
IDLE=(sh -c 'trap "exit 0" TERM; sleep 1000 & wait')

fail() {
  printf 'managed_plugin_e2e: FAIL: %s\n' "$*" >&2
  exit 1
}

step() { printf 'managed_plugin_e2e: %s\n' "$*" >&2; }

skip_unless_possible() {
  sandbox_require
  local why
  why=$(mp_missing)
  command -v docker-registry >/dev/null 2>&1 \
    || why=${why:-"missing docker-registry (apt-get install docker-registry)"}
  if [ -n "$why" ]; then
    echo "SKIP: $why" >&2
    exit 77
  fi
}

# ---- 1. create, every knob, enable -------------------------------------------

# A valid value for each documented knob, so that enabling with all of
# them set proves they are read and accepted; knobs not listed here keep
# config.json's value (still set, so still proved settable).
declare -A SAMPLE=(
  [VSP_APPROLE_MOUNT]=approle [VSP_DEADLINE]=4s [VSP_REUSE_WINDOW]=2m
  [VSP_WORKERS]=8 [VSP_LOG_LEVEL]=debug [VSP_SOCKET_MODE]=0660
  [VSP_SOCKET_GROUP]=root [VSP_SECRET_ID_WRAPPED]=false
  [VAULT_SKIP_VERIFY]=false [VAULT_MAX_RETRIES]=2 [VAULT_CLIENT_TIMEOUT]=3s
)

# NAME<tab>VALUE of every settable env entry of plugin $1.
settable_env() {
  sandbox_docker plugin inspect --format \
    '{{range .Config.Env}}{{if .Settable}}{{.Name}}{{"\t"}}{{.Value}}
{{end}}{{end}}' \
    "$1" | sed '/^$/d'
}

settable_mounts() {
  sandbox_docker plugin inspect --format \
    '{{range .Config.Mounts}}{{if .Settable}}{{.Name}}{{"\n"}}{{end}}{{end}}' \
    "$1" | sed '/^$/d'
}

check_every_knob() {
  local name=vsp line knob value count=0 settings
  sandbox_docker plugin create "$name" "$T/bundle1" >/dev/null
  while IFS=$'\t' read -r knob value; do
    value=${SAMPLE[$knob]-$value}
    sandbox_docker plugin set "$name" "$knob=$value" \
      || fail "docker plugin set $knob refused on a disabled plugin"
    count=$((count + 1))
  done < <(settable_env "$name")
  while read -r line; do
    sandbox_docker plugin set "$name" "$line.source=/dev/null" \
      || fail "mount $line: source not settable"
    count=$((count + 1))
  done < <(settable_mounts "$name")
  [ "$count" -ge 30 ] || fail "only $count settable knobs"

  refused "$name" VAULT_TOKEN=hvs.notatoken "not found"
  refused "$name" VSP_SOCKET=/tmp/x.sock "not settable"

  mapfile -t settings < <(mp_settings)
  sandbox_docker plugin set "$name" "${settings[@]}"
  mp_enable "$name" || fail "enable failed: $(mp_plugin_log "$name" | tail -3)"
  ((MP_ENABLE_MS < 10000)) || fail "enable took ${MP_ENABLE_MS} ms"
  wait_plugin_log "$name" "deadline=4000ms"
  step "1. $count knobs set on the disabled plugin; enabled in" \
    "${MP_ENABLE_MS} ms; VAULT_TOKEN and VSP_SOCKET refused"
}

refused() {
  local out
  if out=$(sandbox_docker plugin set "$1" "$2" 2>&1); then
    fail "docker plugin set $2 was accepted"
  fi
  grep -q "$3" <<<"$out" || fail "docker plugin set $2: $out"
}

# Waits until plugin NAME has logged TEXT.
wait_plugin_log() {
  local i
  for i in $(seq 1 50); do
    grep -qF -- "$2" <<<"$(mp_plugin_log "$1")" && return 0
    [ "$i" -lt 50 ] && sleep 0.2
  done
  fail "plugin $1 never logged '$2': $(mp_plugin_log "$1" | tail -3)"
}

# ---- 2. inspect --------------------------------------------------------------

check_inspect_has_no_credential() {
  local out token
  out=$(sandbox_docker plugin inspect vsp)
  token=$(tr -d '\n' <"$MP_HOST/credentials/token")
  [ -n "$token" ] || fail "no plugin token was written"
  ! grep -qF -- "$token" <<<"$out" || fail "inspect shows the plugin's token"
  ! grep -qF -- "$EMU_ROOT_TOKEN" <<<"$out" || fail "inspect shows a token"
  ! grep -qE '(hvs|hvb)\.[A-Za-z0-9]{8,}' <<<"$out" \
    || fail "inspect shows something token-shaped"
  grep -qF "$MP_VAULT_ADDR" <<<"$out" || fail "inspect lost the settings"
  step "2. docker plugin inspect: settings, no credential"
}

# ---- 3. a service ------------------------------------------------------------

# SERVICE's 2 tasks each read a wrapping token for themselves (meta names
# the task), minted through the role with the rule's policies.
check_service_gets_tokens() {
  local plugin=$1 service=$2 secret=$3 task info n=0
  sandbox_secret_create_driver "$secret" "$plugin" --label vsp.ttl=30m \
    >/dev/null
  sandbox_service_create --name "$service" --replicas 2 --secret "$secret" \
    "$SANDBOX_IMAGE" "${IDLE[@]}" >/dev/null
  sandbox_wait_replicas "$service" 2 60 \
    || fail "$service: $(sandbox_service_tasks "$service")"
  for task in $(sandbox_tasks_in_state "$service" running); do
    info=$(sandbox_exec_in_task "$task" cat "/run/secrets/$secret" \
      | mp_unwrap) || fail "$service: hvac could not unwrap task $task's token"
    expect_json "$info" creation_path auth/token/create/vsp-task
    expect_json "$info" policies '["default", "shop-web"]'
    expect_json "$info" meta.vsp_task_id "$task"
    expect_json "$info" meta.vsp_rule e2e-app
    n=$((n + 1))
  done
  [ "$n" = 2 ] || fail "$service: $n running tasks"
}

# expect_json JSON DOTTED.KEY WANT: the value at KEY, as JSON unless a
# string, equals WANT.
expect_json() {
  local got
  got=$("$TEST_VAULT_PYTHON" -c '
import json, sys
v = json.loads(sys.argv[1])
for k in sys.argv[2].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2")
  [ "$got" = "$3" ] || fail "$2 is $got, wanted $3 (in $1)"
}

# ---- 4. push, install, upgrade -----------------------------------------------

start_registry() {
  mkdir -p "$T/registry"
  cat >"$T/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $T/registry
http:
  addr: $REGISTRY
EOF
  # nsenter execs the registry, so $! is its PID (a backgrounded shell
  # function would fork a subshell first).
  nsenter --target "$SANDBOX_CONTAINERD_PID" --net -- \
    docker-registry serve "$T/registry.yml" \
    >"$T/log/registry.log" 2>&1 </dev/null &
  REGISTRY_PID=$!
  sandbox_on_exit sandbox_stop_process "$REGISTRY_PID"
  local i
  for i in $(seq 1 50); do
    sandbox_netns_exec curl -sf "http://$REGISTRY/v2/" >/dev/null && return 0
    [ "$i" -lt 50 ] && sleep 0.2
  done
  fail "registry did not start: $(tail -3 "$T/log/registry.log")"
}

# Pushes bundle DIR as $REGISTRY/vsp:latest and forgets it locally.
push_bundle() {
  local ref=$REGISTRY/vsp:latest
  sandbox_docker plugin create "$ref" "$1" >/dev/null
  sandbox_docker plugin push "$ref" >"$T/log/push.log" 2>&1 \
    || fail "push: $(tail -3 "$T/log/push.log")"
  sandbox_docker plugin rm "$ref" >/dev/null
}

description_of() {
  sandbox_docker plugin inspect --format '{{.Config.Description}}' "$1"
}

# A request through plugin NAME's socket, as Docker sends it.
simulate_through() {
  "$VSP_BIN" simulate --socket "$(mp_socket "$1")" --secret app-simulated \
    --service app --task-id "task-$1" --format json >/dev/null \
    || fail "plugin $1 refused a request: $(mp_plugin_log "$1" | tail -3)"
}

check_push_install_upgrade() {
  local settings mounts_before
  mapfile -t settings < <(mp_settings)
  start_registry
  push_bundle "$T/bundle2"
  sandbox_docker plugin install --grant-all-permissions --alias vsp-r \
    "$REGISTRY/vsp:latest" "${settings[@]}" >"$T/log/install.log" 2>&1 \
    || fail "install: $(tail -3 "$T/log/install.log")"
  grep -q "vsp $VERSION1:" <<<"$(description_of vsp-r)" \
    || fail "installed: $(description_of vsp-r)"
  simulate_through vsp-r
  step "4a. pushed to $REGISTRY, installed as vsp-r, answering"

  push_bundle "$T/bundle3"
  sandbox_docker plugin disable vsp-r >/dev/null
  sandbox_docker plugin upgrade --grant-all-permissions vsp-r \
    >"$T/log/upgrade.log" 2>&1 \
    || fail "upgrade: $(tail -3 "$T/log/upgrade.log")"
  grep -q "vsp $VERSION2:" <<<"$(description_of vsp-r)" \
    || fail "upgraded: $(description_of vsp-r)"
  # dockerd 20.10 keeps env settings across an upgrade but takes mount
  # sources from the new config.json: set them again (vsp-plugin(8)).
  mounts_before=$(sandbox_docker plugin inspect --format \
    '{{range .Config.Mounts}}{{.Source}} {{end}}' vsp-r)
  sandbox_docker plugin set vsp-r "${settings[@]}"
  mp_enable vsp-r \
    || fail "enable after upgrade: $(mp_plugin_log vsp-r | tail -3)"
  check_service_gets_tokens vsp-r upgraded app-upgraded
  step "4b. upgraded to $VERSION2 (mount sources after upgrade:" \
    "$mounts_before), enabled in ${MP_ENABLE_MS} ms, tasks get tokens"
}

main() {
  skip_unless_possible
  sandbox_init ""
  # dockerd 20.10 refuses to create a plugin whose config it already holds
  # ("content ... already exists"), so each build differs by its version.
  VERSION1=e2e-2 VERSION2=e2e-3
  mp_bundle "$T/bundle1" e2e-1
  mp_bundle "$T/bundle2" "$VERSION1"
  mp_bundle "$T/bundle3" "$VERSION2"
  step "bundle: $(du -sk "$T/bundle1" | cut -f1) KiB"
  sandbox_start
  mp_vault

  check_every_knob
  check_inspect_has_no_credential
  check_service_gets_tokens vsp app app-token
  step "3. a service's 2 tasks got their own wrapped tokens (hvac)"
  check_push_install_upgrade
  sandbox_stop
  ! kill -0 "$REGISTRY_PID" 2>/dev/null || fail "the registry outlived the run"
  step "PASS"
}

main "$@"
