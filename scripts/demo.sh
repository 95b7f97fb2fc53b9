#!/usr/bin/env bash
# The main job, shown: a real Docker engine in Swarm mode (sandboxed in its
# own loopback-only network namespace) asks vsp for a secret once per task;
# each task receives a response-wrapped Vault token of its own.
#
#   scripts/demo.sh            # run, show, tear down
#   scripts/demo.sh --keep     # leave it running until Ctrl-C
#
# Vault: a local Vault-compatible emulator unless VAULT_ADDR is set. With a
# real Vault, set VSP_TOKEN_FILE to the plugin's token and have the token
# role and policies of README's "Vault setup" in place (VSP_DEMO_ROLE,
# default vsp-task; the rules allow app-read and app-write).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

keep=0
case "${1:-}" in
  --keep) keep=1 ;;
  "") ;;
  *) echo "usage: $0 [--keep]" >&2; exit 2 ;;
esac

scripts/install-deps.sh all
echo "demo: building vsp (log in build/demo/build.log)"
mkdir -p build/demo
if ! { cmake -S . -B build/demo -DBUILD_TESTING=OFF &&
       cmake --build build/demo -j"$(nproc)" --target vsp-plugin vsp; } \
     >build/demo/build.log 2>&1; then
  tail -30 build/demo/build.log >&2
  exit 1
fi
PLUGIN_BIN=$top/build/demo/plugin/vsp-plugin
CLI_BIN=$top/build/demo/cli/vsp

# shellcheck source=../tests/e2e/lib/sandbox.sh
. tests/e2e/lib/sandbox.sh
# shellcheck source=../tests/e2e/lib/vsp_run.sh
. tests/e2e/lib/vsp_run.sh

say() { printf '\n== %s\n' "$*"; }
IDLE=(sh -c 'trap "exit 0" TERM; sleep 100000 & wait')

start_vault() {
  if [ -n "${VAULT_ADDR:-}" ]; then
    : "${VSP_TOKEN_FILE:?with VAULT_ADDR set, VSP_TOKEN_FILE must name the plugin token}"
    DEMO_VAULT=$VAULT_ADDR
    DEMO_TOKEN_FILE=$VSP_TOKEN_FILE
    say "using the Vault at $DEMO_VAULT"
    return
  fi
  DEMO_TOKEN_FILE=$T/plugin-token
  sed "s|@TOKEN_FILE@|$DEMO_TOKEN_FILE|" deploy/demo/emulator.json \
    >"$T/emulator.json"
  vsp_start_emulator "$T/emulator.json"
  DEMO_VAULT=$VAULT_EMU_ADDR
  say "started a local Vault emulator at $DEMO_VAULT"
}

start_plugin() {
  local role=${VSP_DEMO_ROLE:-vsp-task}
  sed "s|token_role: vsp-task|token_role: $role|" deploy/demo/rules.yaml \
    >"$T/rules.yaml"
  NAME=$(sandbox_name vsp)
  vsp_start_plugin "$PLUGIN_BIN" "$NAME" VSP_RULES="$T/rules.yaml" \
    VSP_TOKEN_FILE="$DEMO_TOKEN_FILE" VAULT_ADDR="$DEMO_VAULT" \
    VSP_LEDGER="$T/ledger.db" DOCKER_HOST="$DOCKER_HOST"
  say "vsp-plugin runs as the secrets driver \"$NAME\" ($VSP_PLUGIN_SOCKET)"
}

deploy() {
  say "docker secret create --driver $NAME --label vsp.policies=app-read app-token"
  sandbox_secret_create_driver app-token "$NAME" \
    --label vsp.policies=app-read >/dev/null
  say "docker service create --name demo --replicas 3 --secret app-token ..."
  sandbox_service_create --name demo --replicas 3 --secret app-token \
    "$SANDBOX_IMAGE" "${IDLE[@]}" >/dev/null
  sandbox_wait_replicas demo 3 90
}

# What each task found in /run/secrets/app-token, opened with `vsp unwrap`
# as the task itself would (which uses the wrapping token up).
show_tasks() {
  local task wrapped
  say "what each task received"
  printf '%-27s %-44s %s\n' TASK "RECEIVED (/run/secrets/app-token)" \
    "UNWRAPS TO"
  for task in $(sandbox_tasks_in_state demo running); do
    wrapped=$(sandbox_exec_in_task "$task" cat /run/secrets/app-token)
    VAULT_ADDR=$DEMO_VAULT "$CLI_BIN" unwrap --format json <<<"$wrapped" \
      >"$T/unwrapped-$task.json"
    "$VSP_PYTHON" - "$task" "$T/unwrapped-$task.json" "${#wrapped}" <<'PY'
import json, sys
task, path, size = sys.argv[1], sys.argv[2], sys.argv[3]
d = json.load(open(path))
meta = d["metadata"]
print(f"{task:<27} {'wrapping token, ' + size + ' bytes':<44} "
      f"token {d['accessor'][:8]}... policies={','.join(d['policies'])} "
      f"ttl={d['ttl']}s orphan={str(d['orphan']).lower()} "
      f"task={meta.get('vsp_task_name', '?')}")
PY
  done
}

show_policies() {
  [ -n "${VAULT_EMU_ROOT:-}" ] || return 0
  say "what those tokens allow (the app-read policy)"
  "$VSP_PYTHON" - "$DEMO_VAULT" "$VAULT_EMU_ROOT" <<'PY'
import json, sys, urllib.request
addr, root = sys.argv[1:3]
req = urllib.request.Request(addr + "/v1/sys/policies/acl/app-read",
                             headers={"X-Vault-Token": root})
policy = json.load(urllib.request.urlopen(req))["data"]["policy"]
for path, rule in json.loads(policy)["path"].items():
    print(f"  {path}: {', '.join(rule['capabilities'])}")
PY
}

show_refusal() {
  local task
  say "a secret asking for more than the rule allows (vsp.policies=admin)"
  sandbox_secret_create_driver app-admin "$NAME" \
    --label vsp.policies=admin >/dev/null
  sandbox_service_create --name greedy --replicas 1 --secret app-admin \
    --restart-condition none "$SANDBOX_IMAGE" "${IDLE[@]}" >/dev/null
  sandbox_wait_task_state greedy failed 60
  task=$(sandbox_tasks_in_state greedy failed | head -1)
  echo "docker service ps greedy: $(sandbox_service_tasks greedy | cut -f2,4 | head -1)"
  echo "vsp-plugin's log says why:"
  grep -F "refused task=$task" "$T/log/plugin.err" | sed 's/^/  /'
}

main() {
  sandbox_require
  sandbox_init
  start_vault
  start_plugin
  sandbox_start
  deploy
  show_tasks
  show_policies
  show_refusal
  if [ "$keep" = 1 ]; then
    say "still running; DOCKER_HOST=$DOCKER_HOST /usr/bin/docker service ls"
    echo "press Ctrl-C to tear it all down"
    while sleep 3600; do :; done
  fi
  say "tearing down"
}

main
