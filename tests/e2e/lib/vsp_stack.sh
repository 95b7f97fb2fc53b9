# shellcheck shell=bash
# vsp's side of an end-to-end run, for tests that source lib/sandbox.sh:
# the Vault emulator and vsp-plugin as a legacy plugin, both on the host's
# loopback, the plugin reading Swarm's tasks through the sandbox's socket.
#
#   vsp_stack_start NAME [EXTRA PLUGIN ENV...]   after sandbox_init
#
# Sets VSP_PLUGIN (the driver name), VAULT_ADDR, VSP_ROOT_TOKEN_FILE,
# VSP_LEDGER (exported, for the CLI), VSP_PLUGIN_LOG, VSP_AUDIT_LOG,
# VSP_PLUGIN_PID. VSP_BIN is the build's bin dir (default: ../../build).

VSP_SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
VSP_BUILD_DIR=${VSP_BUILD_DIR:-$VSP_SOURCE_DIR/build}
VSP_PYTHON=${SANDBOX_PYTHON:-/usr/bin/python3}
VSP_POLL=${VSP_POLL:-2s}

# The CLI as an operator runs it: the root token in VAULT_TOKEN (never in
# the plugin's environment, which refuses it).
vsp_cli() {
  VAULT_TOKEN=$(cat "$VSP_ROOT_TOKEN_FILE") "$VSP_BUILD_DIR/cli/vsp" "$@"
}

# Fails the test unless the build and python3-hvac are there (skip: 77).
vsp_stack_require() {
  [ -x "$VSP_BUILD_DIR/plugin/vsp-plugin" ] && [ -x "$VSP_BUILD_DIR/cli/vsp" ] \
    || { echo "SKIP: no vsp build in $VSP_BUILD_DIR"; exit 77; }
  "$VSP_PYTHON" -c 'import hvac' 2>/dev/null \
    || { echo "SKIP: python3-hvac missing"; exit 77; }
}

_vsp_emulator_config() {
  cat <<JSON
{"policies": {
   "app-read": {"path": {"secret/data/app/*": {"capabilities": ["read"]}}},
   "vsp-plugin": {"path": {
     "auth/token/create/vsp-task": {"capabilities": ["update"]},
     "auth/token/revoke-accessor": {"capabilities": ["update"]},
     "sys/leases/revoke": {"capabilities": ["update"]}${VSP_EXTRA_POLICY:-}}}},
 "token_roles": {"vsp-task": {"allowed_policies": ["app-read"],
   "orphan": true, "renewable": true}},
 "tokens": [{"policies": ["vsp-plugin"], "ttl": "1h", "renewable": true,
   "display_name": "vsp-plugin", "write_to": "$T/vault/plugin.token"}]}
JSON
}

_vsp_rules() {
  cat <<'YAML'
defaults:
  token_role: vsp-task
  wrap_ttl: 10m
rules:
  - name: app
    match: {secret: "app-*"}
    allowed_policies: [app-read]
    policies: [app-read]
    ttl: 1h
YAML
}

# Starts the emulator; waits for its ready file.
vsp_emulator_start() {
  mkdir -p "$T/vault"
  _vsp_emulator_config >"$T/vault/config.json"
  od -An -N16 -tx1 /dev/urandom | tr -d ' \n' | sed 's/^/hvs.root/' \
    >"$T/vault/root.token"
  VSP_ROOT_TOKEN_FILE=$T/vault/root.token
  VSP_AUDIT_LOG=$T/vault/audit.jsonl
  "$VSP_PYTHON" "$VSP_SOURCE_DIR/tests/emulator/vault_emulator.py" \
    --listen 127.0.0.1:0 --config "$T/vault/config.json" \
    --root-token-file "$VSP_ROOT_TOKEN_FILE" --audit-log "$VSP_AUDIT_LOG" \
    --ready-file "$T/vault/ready.json" >"$T/log/emulator.log" 2>&1 &
  sandbox_on_exit sandbox_stop_process "$!"
  local _
  for _ in $(seq 1 100); do
    [ -s "$T/vault/ready.json" ] && break
    sleep 0.1
  done
  VAULT_ADDR=$("$VSP_PYTHON" -c \
    'import json,sys; print(json.load(open(sys.argv[1]))["address"])' \
    "$T/vault/ready.json")
  export VAULT_ADDR
}

# Starts vsp-plugin as the legacy plugin NAME (a sandbox_name).
vsp_plugin_start() {
  local name=$1; shift
  VSP_PLUGIN=$name
  local sock
  sock=$(sandbox_legacy_socket "$name")
  sandbox_register_legacy_plugin "$name" "$sock"
  _vsp_rules >"$T/rules.yaml"
  export VSP_LEDGER=$T/ledger/ledger.db
  VSP_PLUGIN_LOG=$T/log/plugin.log
  env VSP_SOCKET="$sock" VSP_RULES="$T/rules.yaml" \
    VSP_TOKEN_FILE="$T/vault/plugin.token" VSP_LEDGER="$VSP_LEDGER" \
    VSP_POLL_INTERVAL="$VSP_POLL" VAULT_ADDR="$VAULT_ADDR" \
    DOCKER_HOST="$DOCKER_HOST" "$@" \
    "$VSP_BUILD_DIR/plugin/vsp-plugin" >>"$VSP_PLUGIN_LOG" 2>&1 &
  VSP_PLUGIN_PID=$!
  sandbox_on_exit sandbox_stop_process "$VSP_PLUGIN_PID"
  local _
  for _ in $(seq 1 100); do
    [ -S "$sock" ] && return 0
    sleep 0.1
  done
  echo "vsp-plugin did not listen on $sock:" >&2
  cat "$VSP_PLUGIN_LOG" >&2
  return 1
}

vsp_stack_start() {
  vsp_emulator_start
  vsp_plugin_start "$@"
}

# Prints {"<accessor>": "live"|"gone", "meta": {...}} as hvac sees it.
vsp_vault_check() {
  "$VSP_PYTHON" "$VSP_SOURCE_DIR/tests/e2e/lib/vault_check.py" \
    "$VAULT_ADDR" "$VSP_ROOT_TOKEN_FILE" "$@"
}

# Reads field EXPR (python, `d` is the parsed JSON) from JSON on stdin.
vsp_json() {
  "$VSP_PYTHON" -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

vsp_now_ms() { date +%s%3N; }
