#!/usr/bin/env bash
# Credentials end with their task, on a real Swarm: a service scaled from 3
# to 1 replica has the two removed tasks' tokens revoked (checked through
# Vault with hvac) within the poll interval plus a margin, the remaining
# task's token stays valid, and `vsp audit` shows exactly that; then `vsp
# rotate` replaces the last task and its credential the same way.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/sandbox.sh"
. "$HERE/lib/vsp_stack.sh"

POLL_S=2
MARGIN_S=8 # container stop (1 s grace), Swarm's own bookkeeping, hvac
VSP_POLL=${POLL_S}s

fail() { echo "FAIL: $*" >&2; exit 1; }

sandbox_require
vsp_stack_require
sandbox_init
vsp_stack_start "$(sandbox_name vsp)"
sandbox_start

# --- three replicas, each with its own token --------------------------------
sandbox_secret_create_driver app-token "$VSP_PLUGIN" >/dev/null
sandbox_service_create --name app --replicas 3 --secret app-token \
  "$SANDBOX_IMAGE" sleep 1000 >/dev/null
sandbox_wait_replicas app 3 60

audit=$(vsp_cli audit --service app --format json)
[ "$(vsp_json 'len(d["entries"])' <<<"$audit")" = 3 ] \
  || fail "expected 3 issuances, audit says: $audit"
# task ID -> accessor, one line each
pairs=$(vsp_json \
  '"\n".join(e["task_id"]+" "+e["accessor"] for e in d["entries"])' \
  <<<"$audit")
mapfile -t accessors < <(awk '{print $2}' <<<"$pairs")
check=$(vsp_vault_check "${accessors[@]}")
for a in "${accessors[@]}"; do
  [ "$(vsp_json "d['$a']" <<<"$check")" = live ] || fail "$a not live: $check"
done
echo "3 tasks, 3 live tokens: ${accessors[*]}"

# --- scale 3 -> 1 --------------------------------------------------------------
started=$(vsp_now_ms)
sandbox_docker service scale --detach app=1 >/dev/null
sandbox_wait_replicas app 1 60
running=$(sandbox_tasks_in_state app running)
[ "$(wc -w <<<"$running")" = 1 ] || fail "running tasks: $running"
keep=$(awk -v t="$running" '$1 == t {print $2}' <<<"$pairs")
[ -n "$keep" ] || fail "no issuance for the remaining task $running"
mapfile -t removed < <(awk -v t="$running" '$1 != t {print $2}' <<<"$pairs")

# Wait for the two removed tasks' tokens to go, as hvac sees them.
deadline=$((started + (POLL_S + MARGIN_S) * 1000 + 30000))
terminal_ms=0
revoked_ms=0
while :; do
  now=$(vsp_now_ms)
  if [ "$terminal_ms" = 0 ] && \
     [ "$(sandbox_service_tasks app | awk -F '\t' '$2 == "shutdown"' | wc -l)" \
       -ge 2 ]; then
    terminal_ms=$now
  fi
  check=$(vsp_vault_check "${removed[@]}")
  if [ "$(vsp_json "d['${removed[0]}']+d['${removed[1]}']" <<<"$check")" \
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
     "${after_terminal} ms after Swarm marked the tasks shut down" \
     "(poll interval ${POLL_S}s, margin ${MARGIN_S}s)"
[ "$after_scale" -le $(((POLL_S + MARGIN_S) * 1000)) ] \
  || fail "revocation took ${after_scale} ms"

check=$(vsp_vault_check "$keep")
[ "$(vsp_json "d['$keep']" <<<"$check")" = live ] \
  || fail "the remaining task's token $keep is not live: $check"
[ "$(vsp_json "d['meta']['$keep']['vsp_task_id']" <<<"$check")" = "$running" ] \
  || fail "the live token is not the remaining task's: $check"

# vsp audit shows exactly that.
audit=$(vsp_cli audit --service app --check --format json)
summary=$(vsp_json '"\n".join(sorted(
  e["state"]+" "+e["vault"]+" "+str(e["swarm"])+" "+",".join(e["flags"])
  for e in d["entries"]))' <<<"$audit")
# Swarm deletes tasks a scale-down removed once they are shut down.
expected=$'issued live running \nrevoked gone gone \nrevoked gone gone '
[ "$summary" = "$expected" ] || fail "audit after scale: $summary"
[ "$(vsp_json 'd["checked_swarm"]' <<<"$audit")" = True ] \
  || fail "audit did not check swarm"
vsp_cli audit --service app --check
[ -z "$(vsp_cli audit --check --problems --format json \
        | vsp_json '"".join(e["issuance_id"] for e in d["entries"])')" ] \
  || fail "audit flags problems"

# --- vsp rotate: the last task and its credential are replaced ----------------
vsp_cli rotate --service app --dry-run
started=$(vsp_now_ms)
vsp_cli rotate --service app --wait --timeout 60
fresh=$(sandbox_tasks_in_state app running)
[ -n "$fresh" ] && [ "$fresh" != "$running" ] || fail "not replaced: $fresh"
while :; do
  check=$(vsp_vault_check "$keep")
  [ "$(vsp_json "d['$keep']" <<<"$check")" = gone ] && break
  [ "$(vsp_now_ms)" -lt $((started + 60000)) ] \
    || fail "the replaced task's token is still live"
  sleep 0.2
done
echo "rotate: old token revoked $(($(vsp_now_ms) - started)) ms after the" \
     "rotate command"
audit=$(vsp_cli audit --service app --check --format json)
new=$(vsp_json '[e["accessor"] for e in d["entries"] if e["task_id"] ==
  "'"$fresh"'"][0]' <<<"$audit")
check=$(vsp_vault_check "$new")
[ "$(vsp_json "d['$new']" <<<"$check")" = live ] || fail "new token: $check"
summary=$(vsp_json '"\n".join(sorted(e["state"]+" "+e["vault"]
  for e in d["entries"]))' <<<"$audit")
[ "$summary" = $'issued live\nrevoked gone\nrevoked gone\nrevoked gone' ] \
  || fail "audit after rotate: $summary"

grep -q "task watcher started engine=unix://" "$VSP_PLUGIN_LOG" \
  || fail "the plugin did not use the engine API"
echo OK
