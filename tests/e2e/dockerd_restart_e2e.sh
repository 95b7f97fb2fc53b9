#!/usr/bin/env bash
# dockerd restarted under a running service: a three-replica service holds
# two vsp secrets, a response-wrapped token and database credentials (a
# lease with an orphan holder token). dockerd is stopped by its PID and
# started again on the same data root and swarm, with the plugin and
# containerd left running.
#
# What Docker 20.10 (no live restore) does here, as measured by this test:
# stopping dockerd stops the service's containers. When it comes back,
# Swarm's dispatcher asks the plugin again for the secrets of the same
# TaskIDs (once more per task and secret), then the node finds their
# containers gone; the tasks fail ("No such container") and Swarm starts
# replacement tasks with new TaskIDs after the restart delay, which ask for
# their own secrets. While dockerd is down the plugin's task watcher cannot
# list tasks and revokes nothing.
#
# What vsp promises, and this test checks from the plugin's log, its ledger
# (`vsp audit`), the Vault emulator's audit log and Vault itself (hvac):
# every request is answered with a value; a repeat within the reuse window
# gets the credential minted first, so each TaskID has at most one
# credential per secret; the ended tasks' credentials are revoked by the
# task watcher; each running task holds exactly one live credential per
# secret; the service converges to its replicas.
#
#   dockerd_restart_e2e.sh VSP_PLUGIN VSP_CLI
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
REPLICAS=3
POLL_S=2
WINDOW_S=300
CONVERGE_S=120

write_vault_config() {
  cat >"$T/emulator.json" <<JSON
{
  "policies": {
    "app-read": {"path": {"secret/data/app/*": {"capabilities": ["read"]}}},
    "db-read": {"path": {"database/creds/*": {"capabilities": ["read"]}}},
    "vsp-plugin": {"path": {
      "auth/token/create/vsp-task": {"capabilities": ["update"]},
      "auth/token/revoke-accessor": {"capabilities": ["update"]},
      "sys/leases/revoke": {"capabilities": ["update"]},
      "sys/leases/renew": {"capabilities": ["update"]}}}
  },
  "token_roles": {
    "vsp-task": {"allowed_policies": ["app-read", "db-read"], "orphan": true,
                 "renewable": true}
  },
  "tokens": [
    {"policies": ["vsp-plugin"], "ttl": "1h", "renewable": true,
     "display_name": "vsp-plugin", "write_to": "$T/plugin-token"}
  ],
  "mounts": {
    "database/": {"type": "database",
                  "roles": {"readonly": {"default_ttl": "1h", "max_ttl": "24h"}}}
  }
}
JSON
}

write_rules() {
  cat >"$T/rules.yaml" <<'YAML'
defaults:
  token_role: vsp-task
  wrap_ttl: 10m
rules:
  - name: app-db
    match: {secret: "*db_creds"}
    kind: dynamic
    allowed_policies: [db-read]
    path_prefix: database/creds/
    path: readonly
    template: "{{ username }}:{{ password }}"
    ttl: 1h
  - name: app
    match: {secret: "app-*"}
    allowed_policies: [app-read]
    policies: [app-read]
    ttl: 1h
YAML
}

vsp_cli() {
  VAULT_ADDR=$VAULT_EMU_ADDR VAULT_TOKEN=$VAULT_EMU_ROOT "$CLI_BIN" "$@"
}

# IDs of the service's running tasks, from one `service ps`.
running_tasks() {
  sandbox_docker service ps --no-trunc --filter desired-state=running \
    --format '{{.ID}} {{.CurrentState}}' app | awk '$2 == "Running" {print $1}'
}

answers() { grep -cE ' (issued|reissued|refused) task=' \
  "$T/log/plugin.out" "$T/log/plugin.err" | awk -F: '{n += $2} END {print n}'; }

# Number of ledger entries flagged live-after-task (vsp audit, with Vault
# and Swarm checked).
live_after_task() {
  vsp_cli audit --service app --check --live-after-task --format json \
    | "$VSP_PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)["entries"]))'
}

converged() {
  local running
  running=$(running_tasks)
  [ "$(wc -w <<<"$running")" = "$REPLICAS" ] || return 1
  # The old tasks must be gone from the running set.
  ! grep -qxF -f "$T/tasks-before" <<<"$running" || return 1
  # Swarm may list an old task as running a moment after its end; the
  # ledger holds one issued row per new task and secret once the watcher
  # has revoked the old ones.
  [ "$(issued_rows)" = $((REPLICAS * 2)) ] || return 1
  [ "$(live_after_task)" = 0 ]
}

issued_rows() {
  vsp_cli audit --service app --state issued --format json \
    | "$VSP_PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)["entries"]))'
}

main() {
  local task n before started up_ms converged_ms problems
  vsp_start_watched_scenario
  # A fetch Docker gave up on shows only in its debug log (kept on across
  # the restart: it is in daemon.json).
  sandbox_debug_log on

  sandbox_secret_create_driver app-token "$NAME" >/dev/null
  sandbox_secret_create_driver db_creds "$NAME" >/dev/null
  sandbox_service_create --name app --replicas "$REPLICAS" \
    --restart-delay 1s --secret app-token --secret db_creds \
    "$SANDBOX_IMAGE" "${IDLE[@]}" >/dev/null
  sandbox_wait_replicas app "$REPLICAS" 90 \
    || fail "the service did not reach $REPLICAS/$REPLICAS"
  running_tasks >"$T/tasks-before"
  [ "$(wc -l <"$T/tasks-before")" = "$REPLICAS" ] \
    || fail "running before the restart: $(cat "$T/tasks-before")"
  before=$(answers)
  step "$REPLICAS tasks running, $before requests answered"

  started=$(now_ms)
  sandbox_restart_dockerd || fail "dockerd did not come back"
  up_ms=$(($(now_ms) - started))
  _sandbox_wait_until "$CONVERGE_S" converged \
    || fail "no convergence within ${CONVERGE_S}s: running $(running_tasks |
         tr '\n' ' '), issued: $(issued_rows), live after task: $(live_after_task)"
  converged_ms=$(($(now_ms) - started))
  step "dockerd back after ${up_ms} ms; $REPLICAS new tasks running and the" \
       "old tasks' credentials revoked ${converged_ms} ms after the restart"
  step "$(($(answers) - before)) requests answered since the restart"

  running_tasks >"$T/tasks-after"
  vsp_cli audit --service app --format json >"$T/ledger.json"
  VAULT_ADDR=$VAULT_EMU_ADDR VAULT_TOKEN=$VAULT_EMU_ROOT \
    "$VSP_PYTHON" "$here/check_task_credentials.py" \
      --plugin-out "$T/log/plugin.out" --plugin-err "$T/log/plugin.err" \
      --ledger "$T/ledger.json" --vault-audit "$T/log/emulator-audit.jsonl" \
      --running "$T/tasks-after" --secrets app-token,db_creds \
      --window "$WINDOW_S" --expect-running "$REPLICAS" --require-repeats \
    || fail "the credentials do not add up"

  # What the new tasks hold is the token the plugin logged for them.
  mkdir -p "$T/values"
  while read -r task; do
    sandbox_exec_in_task "$task" cat /run/secrets/app-token >"$T/values/$task" \
      || fail "cannot read the secret of task $task"
  done <"$T/tasks-after"
  sandbox_docker service ps -q --no-trunc app >"$T/service-tasks"
  # check_wrapped_tokens.py reads one "issued" line per task.
  grep -F ' secret=app-token ' "$T/log/plugin.out" >"$T/app-token.log"
  "$VSP_PYTHON" "$here/check_wrapped_tokens.py" "$VAULT_EMU_ADDR" \
    "$T/values" "$T/service-tasks" "$T/app-token.log" vsp-task \
    "app-read,default" || fail "a new task's secret is not its own token"

  # The old TaskIDs are the ones asked again.
  while read -r task; do
    n=$(grep -c " reissued task=$task " "$T/log/plugin.out" || true)
    [ "$n" -ge 1 ] || fail "task $task was not asked again after the restart"
  done <"$T/tasks-before"

  # Docker's side: no fetch failed, no task failed other than the three
  # whose containers the restart took.
  [ -z "$(vsp_fetch_errors)" ] \
    || fail "dockerd failed to fetch secrets: $(vsp_fetch_errors)"
  n=$(sandbox_docker service ps -q app | wc -l)
  [ "$n" = $((REPLICAS * 2)) ] \
    || fail "$n tasks, expected $REPLICAS old and $REPLICAS replacements"

  problems=$(vsp_cli audit --service app --check --problems --format json \
    | "$VSP_PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)["entries"]))')
  [ "$problems" = 0 ] || fail "vsp audit --check --problems lists $problems"
  step OK
}

main "$@"
