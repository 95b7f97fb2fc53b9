# shellcheck shell=bash
# For the lifecycle end-to-end tests, on top of lib/vsp_run.sh: the
# emulator set up with the privileges revocation needs, the plugin with a
# ledger and the sandbox's Engine API, the CLI as an operator runs it, and
# Vault's view through python3-hvac (an independent client).

# Emulator config: the role, and a plugin policy that may mint and revoke.
lifecycle_emulator_config() {
  cat <<JSON
{"policies": {
   "app-read": {"path": {"secret/data/app/*": {"capabilities": ["read"]}}},
   "vsp-plugin": {"path": {
     "auth/token/create/vsp-task": {"capabilities": ["update"]},
     "auth/token/revoke-accessor": {"capabilities": ["update"]},
     "sys/leases/revoke": {"capabilities": ["update"]}}}},
 "token_roles": {"vsp-task": {"allowed_policies": ["app-read"],
   "orphan": true, "renewable": true}},
 "tokens": [{"policies": ["vsp-plugin"], "ttl": "1h", "renewable": true,
   "display_name": "vsp-plugin", "write_to": "$T/plugin-token"}]}
JSON
}

lifecycle_rules() {
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

# Starts the emulator and PLUGIN_BIN as the legacy plugin NAME, polling
# Swarm every POLL. Exports VSP_LEDGER for the CLI.
lifecycle_start() {
  local plugin_bin=$1 name=$2 poll=$3
  lifecycle_emulator_config >"$T/emulator.json"
  lifecycle_rules >"$T/rules.yaml"
  vsp_start_emulator "$T/emulator.json"
  export VSP_LEDGER=$T/ledger/ledger.db
  vsp_start_plugin "$plugin_bin" "$name" \
    VSP_RULES="$T/rules.yaml" VSP_TOKEN_FILE="$T/plugin-token" \
    VAULT_ADDR="$VAULT_EMU_ADDR" VSP_LEDGER="$VSP_LEDGER" \
    VSP_POLL_INTERVAL="$poll" DOCKER_HOST="$DOCKER_HOST"
}

# The CLI CLI_BIN with the emulator's root token, as an operator would.
lifecycle_cli() {
  VAULT_ADDR=$VAULT_EMU_ADDR VAULT_TOKEN=$VAULT_EMU_ROOT "$CLI_BIN" "$@"
}

# {"<accessor>": "live"|"gone", "meta": {...}}, as hvac sees it.
lifecycle_vault_check() {
  VAULT_ADDR=$VAULT_EMU_ADDR VAULT_TOKEN=$VAULT_EMU_ROOT \
    "$VSP_PYTHON" "$VSP_SOURCE_DIR/tests/e2e/lib/vault_check.py" "$@"
}

# Prints EXPR (python; `d` is the JSON read from stdin).
lifecycle_json() {
  "$VSP_PYTHON" -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

lifecycle_now_ms() { date +%s%3N; }

# IDs of SERVICE's running tasks. `sandbox_tasks_in_state` inspects each
# task after listing it, which races with Swarm deleting the tasks a
# scale-down removed; `service ps` alone reads them in one go.
lifecycle_running_tasks() {
  sandbox_docker service ps --no-trunc --filter desired-state=running \
    --format '{{.ID}} {{.CurrentState}}' "$1" | awk '$2 == "Running" {print $1}'
}
