#!/usr/bin/env bash
# Credentials end with their task, on a real Swarm: a service scaled from 3
# to 1 replica has the two removed tasks' tokens revoked (checked through
# Vault with hvac) within the poll interval plus a margin, the remaining
# task's token stays valid, and `vsp audit` shows exactly that; then `vsp
# rotate` replaces the last task and its credential the same way.
#
#   lifecycle_e2e.sh VSP_PLUGIN VSP_CLI
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/sandbox.sh"
. "$HERE/lib/vsp_run.sh"
. "$HERE/lib/lifecycle.sh"

PLUGIN_BIN=${1:?usage: $0 VSP_PLUGIN VSP_CLI}
CLI_BIN=${2:?usage: $0 VSP_PLUGIN VSP_CLI}
POLL_S=2
MARGIN_S=8 # container stop (1 s grace), Swarm's own bookkeeping, hvac

fail() { echo "FAIL: $*" >&2; exit 1; }

sandbox_require
"$VSP_PYTHON" -c 'import hvac' 2>/dev/null \
  || { echo "SKIP: python3-hvac missing"; exit 77; }
sandbox_init
VSP_PLUGIN=$(sandbox_name vsp)
lifecycle_start "$PLUGIN_BIN" "$VSP_PLUGIN" "${POLL_S}s"
sandbox_start

# --- three replicas, each with its own token --------------------------------
sandbox_secret_create_driver app-token "$VSP_PLUGIN" >/dev/null
sandbox_service_create --name app --replicas 3 --secret app-token \
  "$SANDBOX_IMAGE" sleep 1000 >/dev/null
sandbox_wait_replicas app 3 60

audit=$(lifecycle_cli audit --service app --format json)
[ "$(lifecycle_json 'len(d["entries"])' <<<"$audit")" = 3 ] \
  || fail "expected 3 issuances, audit says: $audit"
# task ID -> accessor, one line each
pairs=$(lifecycle_json \
  '"\n".join(e["task_id"]+" "+e["accessor"] for e in d["entries"])' \
  <<<"$audit")
mapfile -t accessors < <(awk '{print $2}' <<<"$pairs")
check=$(lifecycle_vault_check "${accessors[@]}")
for a in "${accessors[@]}"; do
  [ "$(lifecycle_json "d['$a']" <<<"$check")" = live ] || fail "$a not live: $check"
done
echo "3 tasks, 3 live tokens: ${accessors[*]}"

# What the tasks received, and what it unwraps to, is nowhere in the
# ledger's bytes. Uses a fourth task, so the three above keep theirs.
sandbox_service_create --name probe --secret app-token \
  "$SANDBOX_IMAGE" sleep 1000 >/dev/null
sandbox_wait_replicas probe 1 60
probe=$(lifecycle_running_tasks probe)
scan=$(sandbox_exec_in_task "$probe" cat /run/secrets/app-token \
  | VAULT_ADDR=$VAULT_EMU_ADDR "$VSP_PYTHON" "$HERE/lib/ledger_scan.py" \
      "$VSP_LEDGER") || fail "a token is in the ledger's files: $scan"
echo "ledger scan: $scan"
sandbox_docker service rm probe >/dev/null

# --- scale 3 -> 1 --------------------------------------------------------------
started=$(lifecycle_now_ms)
sandbox_docker service scale --detach app=1 >/dev/null
sandbox_wait_replicas app 1 60
running=$(lifecycle_running_tasks app)
[ "$(wc -w <<<"$running")" = 1 ] || fail "running tasks: $running"
keep=$(awk -v t="$running" '$1 == t {print $2}' <<<"$pairs")
[ -n "$keep" ] || fail "no issuance for the remaining task $running"
mapfile -t removed < <(awk -v t="$running" '$1 != t {print $2}' <<<"$pairs")

# Wait for the two removed tasks' tokens to go, as hvac sees them.
deadline=$((started + (POLL_S + MARGIN_S) * 1000 + 30000))
terminal_ms=0
revoked_ms=0
while :; do
  now=$(lifecycle_now_ms)
  # The removed tasks ended once their containers stopped (Swarm then
  # deletes the tasks, so `service ps` races with it).
  if [ "$terminal_ms" = 0 ] && \
     [ "$(sandbox_docker ps -q --filter name=app. | wc -l)" -le 1 ]; then
    terminal_ms=$now
  fi
  check=$(lifecycle_vault_check "${removed[@]}")
  if [ "$(lifecycle_json "d['${removed[0]}']+d['${removed[1]}']" <<<"$check")" \
       = gonegone ]; then
    revoked_ms=$now
    break
  fi
  [ "$now" -lt "$deadline" ] || fail "not revoked in time: $check"
  sleep 0.2
done
[ "$terminal_ms" != 0 ] || terminal_ms=$revoked_ms
after_scale=$((revoked_ms - started))
after_terminal=$((revoked_ms - terminal_ms))
echo "scale 3->1: revoked ${after_scale} ms after the scale command," \
     "${after_terminal} ms after their containers stopped" \
     "(poll interval ${POLL_S}s, margin ${MARGIN_S}s)"
[ "$after_scale" -le $(((POLL_S + MARGIN_S) * 1000)) ] \
  || fail "revocation took ${after_scale} ms"

check=$(lifecycle_vault_check "$keep")
[ "$(lifecycle_json "d['$keep']" <<<"$check")" = live ] \
  || fail "the remaining task's token $keep is not live: $check"
[ "$(lifecycle_json "d['meta']['$keep']['vsp_task_id']" <<<"$check")" = "$running" ] \
  || fail "the live token is not the remaining task's: $check"

# vsp audit shows exactly that.
audit=$(lifecycle_cli audit --service app --check --format json)
summary=$(lifecycle_json '"\n".join(sorted(
  e["state"]+" "+e["vault"]+" "+str(e["swarm"])+" "+",".join(e["flags"])
  for e in d["entries"]))' <<<"$audit")
# Swarm deletes tasks a scale-down removed once they are shut down.
expected=$'issued live running \nrevoked gone gone \nrevoked gone gone '
[ "$summary" = "$expected" ] || fail "audit after scale: $summary"
[ "$(lifecycle_json 'd["checked_swarm"]' <<<"$audit")" = True ] \
  || fail "audit did not check swarm"
lifecycle_cli audit --service app --check
[ -z "$(lifecycle_cli audit --service app --check --problems --format json \
        | lifecycle_json '"".join(e["issuance_id"] for e in d["entries"])')" ] \
  || fail "audit flags problems"

# --- vsp rotate: the last task and its credential are replaced ----------------
lifecycle_cli rotate --service app --dry-run
started=$(lifecycle_now_ms)
lifecycle_cli rotate --service app --wait --timeout 60
fresh=$(lifecycle_running_tasks app)
[ -n "$fresh" ] && [ "$fresh" != "$running" ] || fail "not replaced: $fresh"
while :; do
  check=$(lifecycle_vault_check "$keep")
  [ "$(lifecycle_json "d['$keep']" <<<"$check")" = gone ] && break
  [ "$(lifecycle_now_ms)" -lt $((started + 60000)) ] \
    || fail "the replaced task's token is still live"
  sleep 0.2
done
echo "rotate: old token revoked $(($(lifecycle_now_ms) - started)) ms after the" \
     "rotate command"
audit=$(lifecycle_cli audit --service app --check --format json)
new=$(lifecycle_json '[e["accessor"] for e in d["entries"] if e["task_id"] ==
  "'"$fresh"'"][0]' <<<"$audit")
check=$(lifecycle_vault_check "$new")
[ "$(lifecycle_json "d['$new']" <<<"$check")" = live ] || fail "new token: $check"
summary=$(lifecycle_json '"\n".join(sorted(e["state"]+" "+e["vault"]
  for e in d["entries"]))' <<<"$audit")
[ "$summary" = $'issued live\nrevoked gone\nrevoked gone\nrevoked gone' ] \
  || fail "audit after rotate: $summary"

# The probe's service was removed: its task is gone, its token goes too.
for _ in $(seq 1 100); do
  left=$(lifecycle_cli audit --check --live-after-task --format json \
         | lifecycle_json 'len(d["entries"])')
  [ "$left" = 0 ] && break
  sleep 0.2
done
[ "$left" = 0 ] || fail "credentials live after their task: $left"

grep -q "task watcher started engine=unix://" "$T/log/plugin.out" \
  || fail "the plugin did not use the engine API"
echo OK
