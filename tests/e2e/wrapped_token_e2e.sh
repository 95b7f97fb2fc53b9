#!/usr/bin/env bash
# End to end, the main job: a real Docker engine in Swarm mode schedules a
# three-replica service whose secret uses vsp as its driver. Each task must
# find in /run/secrets a response-wrapped Vault token of its own, which
# python3-hvac (an independent Vault client) unwraps, once, to an orphan
# token with exactly the policies the rule allows and metadata naming the
# task. A secret asking for more than the rule allows must fail its task
# with the plugin's exact Err in dockerd's debug log, and the plugin keeps
# answering.
#
#   wrapped_token_e2e.sh VSP_PLUGIN VSP_CLI
#
# Exit 0 on success, 77 when the machine cannot run a sandbox, 1 otherwise.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/sandbox.sh
. "$here/lib/sandbox.sh"
# shellcheck source=lib/vsp_run.sh
. "$here/lib/vsp_run.sh"

PLUGIN_BIN=${1:?usage: $0 VSP_PLUGIN VSP_CLI}
CLI_BIN=${2:?usage: $0 VSP_PLUGIN VSP_CLI}
IDLE=(sh -c 'trap "exit 0" TERM; sleep 1000 & wait')

fail() {
  printf 'wrapped_token_e2e: FAIL: %s\n' "$*" >&2
  printf -- '--- plugin log (stderr):\n' >&2
  tail -20 "$T/log/plugin.err" >&2 || true
  exit 1
}
step() { printf 'wrapped_token_e2e: %s\n' "$*" >&2; }

write_vault_config() {
  cat >"$T/emulator.json" <<JSON
{
  "policies": {
    "app-read":  {"path": {"secret/data/app/*": {"capabilities": ["read"]}}},
    "app-write": {"path": {"secret/data/app/*": {"capabilities": ["create", "update"]}}},
    "admin":     {"path": {"*": {"capabilities": ["sudo", "read", "update"]}}},
    "vsp-plugin": {"path": {"auth/token/create/vsp-task": {"capabilities": ["update"]}}}
  },
  "token_roles": {
    "vsp-task": {"allowed_policies": ["app-read", "app-write"], "orphan": true,
                 "renewable": true, "token_explicit_max_ttl": "24h"}
  },
  "tokens": [
    {"policies": ["vsp-plugin"], "ttl": "1h", "renewable": true,
     "display_name": "vsp-plugin", "write_to": "$T/plugin-token"}
  ]
}
JSON
}

write_rules() {
  cat >"$T/rules.yaml" <<'YAML'
defaults:
  token_role: vsp-task
  wrap_ttl: 10m
rules:
  - name: app
    match:
      secret: "app-*"
    allowed_policies: [app-read, app-write]
    policies: [app-read]
    ttl: 1h
YAML
}

# Reads each running task's secret into $T/values/<task id>.
collect_values() {
  local task
  mkdir -p "$T/values"
  mapfile -t TASKS < <(sandbox_tasks_in_state app running)
  [ "${#TASKS[@]}" = 3 ] || fail "expected 3 running tasks, got ${TASKS[*]}"
  for task in "${TASKS[@]}"; do
    sandbox_exec_in_task "$task" cat /run/secrets/app-token \
      >"$T/values/$task"
  done
}

check_denied_secret() {
  local want task got
  want='vsp: secret "app-admin" of service "admin" refused: rule "app" does not allow policy "admin" (allowed: app-read, app-write)'
  sandbox_secret_create_driver app-admin "$NAME" \
    --label vsp.policies=admin >/dev/null
  sandbox_service_create --name admin --replicas 1 --secret app-admin \
    --restart-condition none "$SANDBOX_IMAGE" "${IDLE[@]}" >/dev/null
  sandbox_wait_task_state admin failed 60 \
    || fail "the task of a refused secret did not fail"
  sandbox_wait_log "failed to fetch secret" 20 \
    || fail "dockerd logged no failed fetch"
  got=$(vsp_fetch_errors)
  grep -qxF "$want" <<<"$got" \
    || fail "dockerd's debug log has not the plugin's Err: '$got'"
  task=$(sandbox_tasks_in_state admin failed | head -1)
  got=$(grep -F "refused task=$task" "$T/log/plugin.err" || true)
  [ -n "$got" ] || fail "the plugin's log does not name task $task"
  grep -qF 'does not allow policy \"admin\"' <<<"$got" \
    || fail "the plugin's log line for task $task has no reason: $got"
  step "refused secret: task $task failed, dockerd's debug log and the"
  step "  plugin's log give the reason"
}

check_still_answers() {
  local out
  out=$("$CLI_BIN" simulate --socket "$VSP_PLUGIN_SOCKET" --secret app-next \
          --service later --task-id t-after --format json) \
    || fail "the plugin did not answer after the refusal: $out"
  grep -q '"ok": true' <<<"$out" || fail "unexpected answer: $out"
  step "the plugin still answers"
}

main() {
  sandbox_require
  sandbox_init
  write_vault_config
  write_rules
  vsp_start_emulator "$T/emulator.json"
  step "emulator at $VAULT_EMU_ADDR"

  NAME=$(sandbox_name vsp)
  vsp_start_plugin "$PLUGIN_BIN" "$NAME" \
    VSP_RULES="$T/rules.yaml" VSP_TOKEN_FILE="$T/plugin-token" \
    VAULT_ADDR="$VAULT_EMU_ADDR" VSP_LOG_LEVEL=debug \
    VSP_LEDGER="$T/ledger.db"
  step "plugin $NAME on $VSP_PLUGIN_SOCKET"

  sandbox_start
  sandbox_debug_log on

  sandbox_secret_create_driver app-token "$NAME" \
    --label vsp.policies=app-read >/dev/null
  sandbox_service_create --name app --replicas 3 --secret app-token \
    "$SANDBOX_IMAGE" "${IDLE[@]}" >/dev/null
  sandbox_wait_replicas app 3 90 || fail "the service did not reach 3/3"
  collect_values
  sandbox_service_tasks app | cut -f1 >"$T/service-tasks"

  "$VSP_PYTHON" "$here/check_wrapped_tokens.py" "$VAULT_EMU_ADDR" \
    "$T/values" "$T/service-tasks" "$T/log/plugin.out" vsp-task \
    "app-read,default" \
    || fail "the tokens are not what the rule grants"

  check_denied_secret
  check_still_answers
  step "OK"
}

main "$@"
