#!/usr/bin/env bash
# End to end, the other kinds: a real Docker engine in Swarm mode runs a
# two-replica service with two vsp secrets, a KV v2 value (one field, its
# path built from the stack namespace label) and database credentials (a
# dynamic secret rendered as user:password). Every task must find the KV
# value as stored, shared, and credentials of its own whose lease is live
# in Vault and held by an orphan token tagged with the task, checked with
# python3-hvac. Then `vsp rules explain` and `vsp simulate --socket` must
# tell the same story for a secret the rules refuse.
#
#   kinds_e2e.sh VSP_PLUGIN VSP_CLI
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
KV_VALUE=shop-db-password-42

write_vault_config() {
  cat >"$T/emulator.json" <<JSON
{
  "policies": {
    "kv-read": {"path": {"secret/data/shop/*": {"capabilities": ["read"]}}},
    "db-read": {"path": {"database/creds/*": {"capabilities": ["read"]}}},
    "vsp-plugin": {"path": {"auth/token/create/vsp-task": {"capabilities": ["update"]}}}
  },
  "token_roles": {
    "vsp-task": {"allowed_policies": ["kv-read", "db-read"], "orphan": true,
                 "renewable": true}
  },
  "tokens": [
    {"policies": ["vsp-plugin"], "ttl": "1h", "renewable": true,
     "display_name": "vsp-plugin", "write_to": "$T/plugin-token"}
  ],
  "mounts": {
    "secret/": {"type": "kv", "options": {"version": "2"}},
    "database/": {"type": "database",
                  "roles": {"readonly": {"default_ttl": "1h", "max_ttl": "24h"}}}
  },
  "kv": {"secret/shop/db": {"user": "shop", "password": "$KV_VALUE"}}
}
JSON
}

write_rules() {
  cat >"$T/rules.yaml" <<'YAML'
defaults:
  token_role: vsp-task
rules:
  - name: shop-db-creds
    match: {secret: "*db_creds"}
    kind: dynamic
    allowed_policies: [db-read]
    path_prefix: database/creds/
    path: readonly
    template: "{{ username }}:{{ password }}"
    ttl: 2h
  - name: shop-kv
    match: {stack: shop}
    kind: kv
    allowed_policies: [kv-read]
    path_prefix: "secret/{stack}/"
    path: db
    field: password
YAML
}

# Reads each running task's two secrets into $T/values/<task>.{kv,db}.
collect_values() {
  local task
  mkdir -p "$T/values"
  mapfile -t TASKS < <(sandbox_tasks_in_state shop_app running)
  [ "${#TASKS[@]}" = 2 ] || fail "expected 2 running tasks, got ${TASKS[*]}"
  for task in "${TASKS[@]}"; do
    sandbox_exec_in_task "$task" cat /run/secrets/db_password \
      >"$T/values/$task.kv"
    sandbox_exec_in_task "$task" cat /run/secrets/db_creds \
      >"$T/values/$task.db"
  done
}

# A refused secret: explain, the plugin's answer and dockerd agree.
check_refusal() {
  local explained answered want
  explained=$("$CLI_BIN" rules explain --rules "$T/rules.yaml" --format json \
                --secret shop_db_password --service shop_admin \
                --secret-label com.docker.stack.namespace=shop \
                --secret-label vsp.reuse=maybe 2>>"$T/log/refusal.err" || true)
  answered=$("$CLI_BIN" simulate --socket "$VSP_PLUGIN_SOCKET" --format json \
               --secret shop_db_password --service shop_admin \
               --secret-label com.docker.stack.namespace=shop \
               --secret-label vsp.reuse=maybe 2>>"$T/log/refusal.err" || true)
  want='secret \"shop_db_password\" of service \"shop_admin\" refused: label vsp.reuse must be true or false, not \"maybe\"'
  grep -qF "\"error\": \"$want\"" <<<"$explained" \
    || fail "explain does not give the refusal: $explained"
  grep -qF "\"err\": \"vsp: $want\"" <<<"$answered" \
    || fail "the plugin does not give the refusal: $answered"
  step "a refused request: explain and the plugin give the same reason"
}

main() {
  sandbox_require
  sandbox_init
  write_vault_config
  write_rules
  "$CLI_BIN" rules check "$T/rules.yaml" >/dev/null \
    || fail "the rules file does not check"
  vsp_start_emulator "$T/emulator.json"
  step "emulator at $VAULT_EMU_ADDR"

  NAME=$(sandbox_name vsp)
  vsp_start_plugin "$PLUGIN_BIN" "$NAME" \
    VSP_RULES="$T/rules.yaml" VSP_TOKEN_FILE="$T/plugin-token" \
    VAULT_ADDR="$VAULT_EMU_ADDR" VSP_LOG_LEVEL=debug \
    VSP_LEDGER="$T/ledger.db"
  step "plugin $NAME on $VSP_PLUGIN_SOCKET"

  sandbox_start
  # As `docker stack deploy` names and labels a stack's secrets.
  sandbox_secret_create_driver shop_db_password "$NAME" \
    --label com.docker.stack.namespace=shop >/dev/null
  sandbox_secret_create_driver shop_db_creds "$NAME" >/dev/null
  sandbox_service_create --name shop_app --replicas 2 \
    --label com.docker.stack.namespace=shop \
    --secret source=shop_db_password,target=db_password \
    --secret source=shop_db_creds,target=db_creds \
    "$SANDBOX_IMAGE" "${IDLE[@]}" >/dev/null
  sandbox_wait_replicas shop_app 2 90 || fail "the service did not reach 2/2"
  collect_values
  step "2 tasks hold their secrets"

  "$VSP_PYTHON" "$here/check_kinds.py" "$VAULT_EMU_ADDR" "$VAULT_EMU_ROOT" \
    "$T/values" "$T/log/plugin.out" "$KV_VALUE" database/creds/readonly \
    || fail "the secrets are not what the rules grant"

  check_refusal
  step "OK"
}

main "$@"
