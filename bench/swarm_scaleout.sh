#!/usr/bin/env bash
# Benchmark 4, a real Swarm scale-out: the time for a service to reach N
# running replicas when its secret comes from vsp (backed by the Vault
# emulator), against the same service whose secret comes from a trivial
# driver returning a fixed value (bench/fixed_value_plugin.py). Both run in
# one sandbox, alternating (vsp first, then the reference first, ...), so
# drift on a shared machine hits both; each pair gives a ratio.
#
#   swarm_scaleout.sh VSP_PLUGIN [REPLICAS [ROUNDS]]   (default "100 300", 2)
#
# REPLICAS is a space- or comma-separated list. Prints one JSON object on
# stdout, progress on stderr. Exit 0, 77 when no sandbox can run here (not
# root, no docker.io), 1 on failure.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../tests/e2e/lib/sandbox.sh
. "$here/../tests/e2e/lib/sandbox.sh"
# shellcheck source=../tests/e2e/lib/vsp_run.sh
. "$here/../tests/e2e/lib/vsp_run.sh"

PLUGIN_BIN=${1:?usage: $0 VSP_PLUGIN [REPLICAS [ROUNDS]]}
read -r -a SIZES <<<"${2:-100 300}"
[ "${#SIZES[@]}" -gt 1 ] || IFS=, read -r -a SIZES <<<"${2:-100,300}"
ROUNDS=${3:-2}
# A task that stops at once on SIGTERM, so removals are quick.
IDLE=(sh -c 'trap "exit 0" TERM; sleep 100000 & wait')
TIMEOUT=${SCALEOUT_TIMEOUT:-600}

step() { printf 'swarm_scaleout: %s\n' "$*" >&2; }
fail() {
  step "FAIL: $*"
  tail -5 "$T/log/plugin.err" >&2 || true
  exit 1
}

write_vault_config() {
  cat >"$T/emulator.json" <<JSON
{
  "policies": {
    "app-read": {"path": {"secret/data/app/*": {"capabilities": ["read"]}}},
    "vsp-plugin": {"path": {"auth/token/create/vsp-task": {"capabilities": ["update"]}}}
  },
  "token_roles": {
    "vsp-task": {"allowed_policies": ["app-read"], "orphan": true,
                 "renewable": true, "token_explicit_max_ttl": "24h"}
  },
  "tokens": [
    {"policies": ["vsp-plugin"], "ttl": "24h", "renewable": true,
     "display_name": "vsp-plugin", "write_to": "$T/plugin-token"}
  ]
}
JSON
  cat >"$T/rules.yaml" <<'YAML'
defaults:
  token_role: vsp-task
  wrap_ttl: 10m
rules:
  - name: app
    match:
      secret: "app-*"
    allowed_policies: [app-read]
    policies: [app-read]
    ttl: 1h
YAML
}

start_reference() {
  REF_NAME=$(sandbox_name vspref)
  local sock
  sock=$(sandbox_legacy_socket "$REF_NAME")
  sandbox_register_legacy_plugin "$REF_NAME" "$sock"
  "$VSP_PYTHON" "$here/fixed_value_plugin.py" "$sock" \
    >"$T/log/reference.out" 2>&1 </dev/null &
  REF_PID=$!
  sandbox_on_exit sandbox_stop_process "$REF_PID"
  _sandbox_wait_until 10 test -S "$sock" || fail "the reference did not start"
}

replicas_of() {
  sandbox_docker service ls --filter "name=$1" --format '{{.Name}} {{.Replicas}}' \
    | awk -v s="$1" '$1 == s { print $2 }'
}

# Seconds (with microseconds) until SERVICE has N of N running.
time_to_running() {
  local service=$1 n=$2 secret=$3 start now
  start=$(_sandbox_now_us)
  sandbox_service_create --name "$service" --replicas "$n" \
    --secret "$secret" --restart-delay 1s "$SANDBOX_IMAGE" "${IDLE[@]}" \
    >/dev/null
  while [ "$(replicas_of "$service")" != "$n/$n" ]; do
    now=$(_sandbox_now_us)
    [ $(((now - start) / 1000000)) -lt "$TIMEOUT" ] \
      || fail "$service: $(replicas_of "$service") after ${TIMEOUT}s"
    sleep 0.2
  done
  now=$(_sandbox_now_us)
  printf '%d.%06d\n' $(((now - start) / 1000000)) $(((now - start) % 1000000))
}

no_containers() { [ -z "$(sandbox_docker ps -aq)" ]; }

# Removes SERVICE and waits until its containers are gone.
remove_service() {
  sandbox_docker service rm "$1" >/dev/null
  _sandbox_wait_until 300 no_containers \
    || fail "containers of $1 still there after 300s"
}

run_one() {
  local driver=$1 n=$2 round=$3 secret service seconds
  secret=$([ "$driver" = vsp ] && echo app-token || echo ref-token)
  service="s-$driver-$n-$round"
  seconds=$(time_to_running "$service" "$n" "$secret")
  remove_service "$service"
  step "$driver: $n replicas running after ${seconds}s"
  RESULTS+=("{\"driver\": \"$driver\", \"replicas\": $n, \"round\": $round, \"seconds\": $seconds}")
}

main() {
  sandbox_require
  sandbox_init
  write_vault_config
  vsp_start_emulator "$T/emulator.json"
  NAME=$(sandbox_name vsp)
  vsp_start_plugin "$PLUGIN_BIN" "$NAME" \
    VSP_RULES="$T/rules.yaml" VSP_TOKEN_FILE="$T/plugin-token" \
    VSP_LEDGER="$T/ledger.db" VAULT_ADDR="$VAULT_EMU_ADDR"
  start_reference
  sandbox_start
  sandbox_secret_create_driver app-token "$NAME" >/dev/null
  sandbox_secret_create_driver ref-token "$REF_NAME" >/dev/null

  RESULTS=()
  local n round
  for n in "${SIZES[@]}"; do
    for ((round = 1; round <= ROUNDS; round++)); do
      if ((round % 2 == 1)); then
        run_one vsp "$n" "$round"
        run_one ref "$n" "$round"
      else
        run_one ref "$n" "$round"
        run_one vsp "$n" "$round"
      fi
    done
  done
  local refused
  refused=$(grep -c "refused" "$T/log/plugin.err" || true)
  local IFS=,
  "$VSP_PYTHON" - "${RESULTS[*]}" "$refused" <<'PY'
import json, statistics, sys
runs = json.loads("[" + sys.argv[1] + "]")
out = {"benchmark": "swarm_scaleout", "runs": runs,
       "plugin_refusals": int(sys.argv[2]), "ratio": {}}
for n in sorted({r["replicas"] for r in runs}):
    ratios = []
    for rnd in sorted({r["round"] for r in runs if r["replicas"] == n}):
        pick = {r["driver"]: r["seconds"] for r in runs
                if r["replicas"] == n and r["round"] == rnd}
        ratios.append(pick["vsp"] / pick["ref"])
    out["ratio"][str(n)] = {"median": round(statistics.median(ratios), 3),
                            "min": round(min(ratios), 3),
                            "max": round(max(ratios), 3)}
print(json.dumps(out))
PY
}

main "$@"
