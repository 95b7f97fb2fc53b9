#!/usr/bin/env bash
# A burst of tasks: `docker service create --replicas 300` of an idle
# busybox whose secret is a vsp response-wrapped token. Every task must
# reach running with a credential of its own: 300 distinct TaskIDs in the
# ledger, 300 distinct token accessors minted by Vault (its audit log) and
# live (hvac), each naming its task in its metadata; no request refused, no
# task failed or replaced. In a sample of the containers, the secret file
# unwraps (hvac) to exactly the token the ledger and the plugin's log name
# for that task. Then the service is removed and the task watcher must
# revoke all 300 (the ledger says so, and hvac finds none live).
#
# Prints: time to all running, requests answered, failures, peak RSS of the
# plugin, time for the revocations.
#
#   burst_e2e.sh VSP_PLUGIN VSP_CLI
#
# BURST_REPLICAS (default 300) and BURST_SAMPLE (20) change the sizes.
# Exit 0 on success, 77 when the machine cannot run a sandbox, 1 otherwise.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/sandbox.sh
. "$here/lib/sandbox.sh"
# shellcheck source=lib/vsp_run.sh
. "$here/lib/vsp_run.sh"

PLUGIN_BIN=${1:?usage: $0 VSP_PLUGIN VSP_CLI}
CLI_BIN=${2:?usage: $0 VSP_PLUGIN VSP_CLI}
REPLICAS=${BURST_REPLICAS:-300}
SAMPLE=${BURST_SAMPLE:-20}
POLL_S=2
WINDOW_S=300
RUNNING_S=420

seconds_since() { awk -v a="$1" -v b="$(now_ms)" 'BEGIN {printf "%.1f", (b - a) / 1000}'; }

write_vault_config() {
  cat >"$T/emulator.json" <<JSON
{
  "policies": {
    "app-read": {"path": {"secret/data/app/*": {"capabilities": ["read"]}}},
    "vsp-plugin": {"path": {
      "auth/token/create/vsp-task": {"capabilities": ["update"]},
      "auth/token/revoke-accessor": {"capabilities": ["update"]}}}
  },
  "token_roles": {
    "vsp-task": {"allowed_policies": ["app-read"], "orphan": true,
                 "renewable": true}
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
  wrap_ttl: 30m
rules:
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

json_len() {
  "$VSP_PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)["entries"]))'
}

# The plugin's peak resident set so far (VmHWM), in KiB.
plugin_peak_rss() { awk '/^VmHWM:/ {print $2}' "/proc/$VSP_PLUGIN_PID/status"; }

# Every task of the service, one `service ps`: ID and current state.
all_tasks() {
  sandbox_docker service ps --no-trunc --format '{{.ID}} {{.CurrentState}}' app
}

no_containers() { [ -z "$(sandbox_docker ps -q)" ]; }

none_issued() {
  [ "$(vsp_cli audit --state issued --format json | json_len)" = 0 ]
}

# Reads the secret of SAMPLE running tasks, spread over the service, into
# $T/values/<task>.
sample_values() {
  local task i=0 every
  every=$((REPLICAS / SAMPLE))
  ((every > 0)) || every=1
  mkdir -p "$T/values"
  while read -r task; do
    if ((i % every == 0)) && (($(find "$T/values" -type f | wc -l) < SAMPLE)); then
      sandbox_exec_in_task "$task" cat /run/secrets/app-token >"$T/values/$task" \
        || fail "cannot read the secret of task $task"
    fi
    i=$((i + 1))
  done <"$T/tasks-running"
}

main() {
  local started to_running rss requests refused removed stopped revoked live
  local -a accessors
  vsp_start_watched_scenario
  step "plugin RSS before the burst: $(plugin_peak_rss) KiB (peak)"

  sandbox_secret_create_driver app-token "$NAME" >/dev/null
  started=$(now_ms)
  sandbox_service_create --name app --replicas "$REPLICAS" \
    --restart-condition none --secret app-token \
    "$SANDBOX_IMAGE" "${IDLE[@]}" >/dev/null
  sandbox_wait_replicas app "$REPLICAS" "$RUNNING_S" \
    || fail "not all running after ${RUNNING_S}s: $(all_tasks \
         | awk '{print $2}' | sort | uniq -c | xargs)"
  to_running=$(seconds_since "$started")
  rss=$(plugin_peak_rss)
  all_tasks >"$T/tasks-all"
  awk '$2 == "Running" {print $1}' "$T/tasks-all" >"$T/tasks-running"
  [ "$(wc -l <"$T/tasks-all")" = "$REPLICAS" ] \
    || fail "$(wc -l <"$T/tasks-all") tasks for $REPLICAS replicas: some" \
            "failed and were replaced"
  requests=$(grep -cE ' (issued|reissued) task=' "$T/log/plugin.out" || true)
  refused=$(grep -c ' refused ' "$T/log/plugin.err" || true)
  step "$REPLICAS/$REPLICAS running ${to_running} s after service create;" \
       "$requests requests answered, $refused refused; plugin peak RSS $rss KiB"

  vsp_cli audit --service app --format json >"$T/ledger.json"
  VAULT_ADDR=$VAULT_EMU_ADDR VAULT_TOKEN=$VAULT_EMU_ROOT \
    "$VSP_PYTHON" "$here/check_task_credentials.py" \
      --plugin-out "$T/log/plugin.out" --plugin-err "$T/log/plugin.err" \
      --ledger "$T/ledger.json" --vault-audit "$T/log/emulator-audit.jsonl" \
      --running "$T/tasks-running" --secrets app-token \
      --window "$WINDOW_S" --expect-running "$REPLICAS" \
    || fail "the credentials do not add up"

  # In SAMPLE containers: the file unwraps to the token logged and
  # recorded for that very task.
  sample_values
  cut -d' ' -f1 "$T/tasks-all" >"$T/service-tasks"
  "$VSP_PYTHON" "$here/check_wrapped_tokens.py" "$VAULT_EMU_ADDR" \
    "$T/values" "$T/service-tasks" "$T/log/plugin.out" vsp-task \
    "app-read,default" >"$T/sample.txt" \
    || fail "a sampled task's secret is not its own token"
  "$VSP_PYTHON" - "$T/values" "$T/ledger.json" <<'PY' \
    || fail "a sampled task's token is not its ledger row"
import json, os, sys
rows = {e["task_id"]: e["accessor"] for e in json.load(open(sys.argv[2]))["entries"]}
for line in open(os.path.join(os.path.dirname(sys.argv[1]), "sample.txt")):
    task = line.split()[1].rstrip(":")
    accessor = line.split("accessor ")[1].split()[0]
    if rows.get(task) != accessor:
        sys.exit(f"task {task}: container holds {accessor}, ledger {rows.get(task)}")
PY
  step "$(wc -l <"$T/sample.txt") sampled containers: the secret unwraps to" \
       "the task's own token, as the ledger records it"

  # The end of the burst: every credential revoked by the task watcher.
  removed=$(now_ms)
  sandbox_docker service rm app >/dev/null
  _sandbox_wait_until 180 no_containers \
    || fail "containers still running 180 s after service rm"
  stopped=$(seconds_since "$removed")
  # Swarm marks a task ended a moment after its container went; the
  # watcher revokes at its next poll after that.
  _sandbox_wait_until 120 none_issued \
    || fail "$(vsp_cli audit --state issued --format json | json_len) of" \
            "$REPLICAS credentials still issued 120 s after service rm"
  revoked=$(seconds_since "$removed")
  mapfile -t accessors < <("$VSP_PYTHON" -c '
import json, sys
for e in json.load(open(sys.argv[1]))["entries"]:
    print(e["accessor"])' "$T/ledger.json")
  live=$(VAULT_ADDR=$VAULT_EMU_ADDR VAULT_TOKEN=$VAULT_EMU_ROOT \
    "$VSP_PYTHON" "$here/lib/vault_check.py" "${accessors[@]}" \
    | "$VSP_PYTHON" -c 'import json,sys
print(sum(v == "live" for k, v in json.load(sys.stdin).items() if k != "meta"))')
  [ "$live" = 0 ] || fail "$live of ${#accessors[@]} tokens still live in Vault"
  [ "$(vsp_cli audit --check --live-after-task --format json | json_len)" = 0 ] \
    || fail "vsp audit lists credentials live after their task"
  step "service rm: containers gone after ${stopped} s, all $REPLICAS" \
       "credentials revoked after ${revoked} s; plugin peak RSS" \
       "$(plugin_peak_rss) KiB"
  step OK
}

main "$@"
