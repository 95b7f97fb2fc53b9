#!/usr/bin/env bash
# The shipped deploy examples, end to end on a real Swarm (lib/sandbox.sh):
# Vault set up by deploy/vault/setup.sh, vsp as a managed plugin with
# deploy/rules/rules.yaml, and `docker stack deploy` of
# deploy/stack/docker-compose.yml (compose 3.8, secrets with `driver:` and
# `labels:`), merged with data/stack-sandbox.yml (host network, fast
# renewals). The services' image runs deploy/workload/vsp-entrypoint.sh.
#
#   1. the stack's secrets carry their labels and the stack namespace, and
#      the rules that match on the stack decide (the token's vsp_rule)
#   2. each task unwrapped its own token, with the policies its secret's
#      vsp.policies label chose within its rule, and reached what they
#      allow: its KV config, a TLS certificate (web), a database login (api)
#   3. the labels' TTLs held: web's token lives 2 h (vsp.ttl), api's was
#      wrapped for 15 min (vsp.wrap-ttl)
#   4. each running task renews its token (the emulator's audit log)
#
#   stack_deploy_e2e.sh PLUGIN_BIN VSP_BIN
#
# Exit 0 on success, 77 when the machine cannot run it, 1 otherwise.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib/sandbox.sh
. "$here/lib/sandbox.sh"
# shellcheck source=tests/e2e/lib/test_vault.sh
. "$here/lib/test_vault.sh"
# shellcheck source=tests/e2e/lib/managed_plugin.sh
. "$here/lib/managed_plugin.sh"

MP_PLUGIN_BIN=${1:?usage: $0 PLUGIN_BIN VSP_BIN}
WORKLOAD_IMAGE=local/vsp-workload
STACK=shop

fail() {
  printf 'stack_deploy_e2e: FAIL: %s\n' "$*" >&2
  exit 1
}

step() { printf 'stack_deploy_e2e: %s\n' "$*" >&2; }

skip_unless_possible() {
  sandbox_require
  local why
  why=$(mp_missing)
  if [ -n "$why" ]; then
    echo "SKIP: $why" >&2
    exit 77
  fi
}

# The services' image: static busybox for the shell tools, the host's curl
# with exactly the libraries it needs, the example entrypoint and the
# stand-in application. Imported, never pulled.
build_workload_image() {
  local root=$T/workload applet lib
  mkdir -p "$root/bin" "$root/tmp" "$root/usr/bin" "$root/usr/local/bin" \
    "$root/etc"
  cp "$SANDBOX_BUSYBOX" "$root/bin/busybox"
  for applet in $("$SANDBOX_BUSYBOX" --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
  done
  cp "$(command -v curl)" "$root/usr/bin/curl"
  for lib in $(ldd "$(command -v curl)" \
      | awk '$2 == "=>" { print $3 } $1 ~ /^\// { print $1 }'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
  cp "$MP_SRC/deploy/workload/vsp-entrypoint.sh" "$root/usr/local/bin/"
  cp "$here/data/shop_app.sh" "$root/usr/local/bin/app"
  tar -C "$root" -c . | sandbox_docker import \
    --change 'ENTRYPOINT ["/usr/local/bin/vsp-entrypoint.sh"]' \
    --change 'CMD ["/usr/local/bin/app"]' - "$WORKLOAD_IMAGE" >/dev/null
}

deploy_stack() {
  mkdir -p "$T/stack"
  cp "$MP_SRC/deploy/stack/docker-compose.yml" "$T/stack/"
  cp "$here/data/stack-sandbox.yml" "$T/stack/"
  cp "$T/ca/ca.pem" "$T/stack/vault-ca.pem"
  (cd "$T/stack" \
    && SHOP_WEB_IMAGE=$WORKLOAD_IMAGE SHOP_API_IMAGE=$WORKLOAD_IMAGE \
       VAULT_ADDR=$MP_VAULT_ADDR sandbox_docker stack deploy \
         --resolve-image never -c docker-compose.yml -c stack-sandbox.yml \
         "$STACK" >"$T/log/stack.log" 2>&1) \
    || fail "stack deploy: $(cat "$T/log/stack.log")"
  sandbox_wait_replicas "${STACK}_web" 2 90 \
    || fail "web: $(sandbox_service_tasks "${STACK}_web")"
  sandbox_wait_replicas "${STACK}_api" 2 90 \
    || fail "api: $(sandbox_service_tasks "${STACK}_api")"
}

check_secret_labels() {
  local labels
  labels=$(sandbox_docker secret inspect --format '{{json .Spec.Labels}}' \
    "${STACK}_web-vault-token")
  grep -qF '"com.docker.stack.namespace":"shop"' <<<"$labels" \
    || fail "web secret labels: $labels"
  grep -qF '"vsp.ttl":"2h"' <<<"$labels" || fail "web secret labels: $labels"
  [ "$(sandbox_docker secret inspect --format '{{.Spec.Driver.Name}}' \
    "${STACK}_api-vault-token")" = vsp ] || fail "api secret has no driver"
}

# The status file of TASK's stand-in application, once it is written.
task_status() {
  local i
  for i in $(seq 1 50); do
    if sandbox_exec_in_task "$1" cat /tmp/status 2>/dev/null; then
      return 0
    fi
    [ "$i" -lt 50 ] && sleep 0.2
  done
  fail "task $1 wrote no status: $(sandbox_docker service logs "$1" 2>&1 \
    | tail -5)"
}

# The token lookup-self data in a status, as KEY=VALUE lines.
self_fields() {
  sed -n 's/^self //p' <<<"$1" | "$TEST_VAULT_PYTHON" -c '
import json, sys
d = json.load(sys.stdin)["data"]
print("policies=" + ",".join(sorted(d["policies"])))
print("accessor=" + d["accessor"])
print("creation_ttl=%d" % d["creation_ttl"])
for k, v in sorted((d.get("meta") or {}).items()):
    print("meta.%s=%s" % (k, v))'
}

field() { sed -n "s/^$1=//p" <<<"$2"; }

# SERVICE's tasks: each its own token from RULE with POLICIES, reaching
# what WANT (grep patterns of the status) says.
check_service() {
  local service=$1 rule=$2 policies=$3 ttl=$4 task status fields want n=0
  shift 4
  for task in $(sandbox_tasks_in_state "${STACK}_$service" running); do
    status=$(task_status "$task")
    fields=$(self_fields "$status") || fail "$service: status: $status"
    [ "$(field policies "$fields")" = "$policies" ] \
      || fail "$service: policies $(field policies "$fields")"
    [ "$(field meta.vsp_rule "$fields")" = "$rule" ] \
      || fail "$service: rule $(field meta.vsp_rule "$fields")"
    [ "$(field meta.vsp_task_id "$fields")" = "$task" ] \
      || fail "$service: token of task $(field meta.vsp_task_id "$fields")"
    [ "$(field creation_ttl "$fields")" = "$ttl" ] \
      || fail "$service: ttl $(field creation_ttl "$fields")"
    for want in "$@"; do
      grep -q "$want" <<<"$status" || fail "$service: no '$want' in $status"
    done
    ACCESSORS+=("$(field accessor "$fields")")
    n=$((n + 1))
  done
  [ "$n" = 2 ] || fail "$service: $n running tasks, wanted 2"
}

# Every task's token renewed at least once (entrypoint's renewer).
check_renewals() {
  local accessor renewals i
  [ "${#ACCESSORS[@]}" = 4 ] || fail "${#ACCESSORS[@]} tokens, wanted 4"
  sleep 5
  renewals=$(sandbox_netns_exec "$TEST_VAULT_PYTHON" \
    "$here/lib/hvac_probe.py" audit --addr "$MP_VAULT_ADDR" \
    --ca "$T/ca/ca.pem" --root-token "$EMU_ROOT_TOKEN" \
    --path auth/token/renew-self)
  for accessor in "${ACCESSORS[@]}"; do
    i=$(grep -c "\"accessor\": \"$accessor\".*\"status\": 200" \
      <<<"$renewals" || true)
    [ "$i" -ge 1 ] || fail "token $accessor was never renewed"
  done
}

# api's secret asked for a 15-minute wrapping TTL: every mint of the api's
# tokens went to Vault with it.
check_wrap_ttls() {
  local mints
  mints=$(sandbox_netns_exec "$TEST_VAULT_PYTHON" \
    "$here/lib/hvac_probe.py" audit --addr "$MP_VAULT_ADDR" \
    --ca "$T/ca/ca.pem" --root-token "$EMU_ROOT_TOKEN" \
    --path auth/token/create/vsp-task)
  [ "$(grep -c '"wrap_ttl": 900' <<<"$mints" || true)" -ge 2 ] \
    || fail "no mint with the api's wrap TTL: $mints"
  [ "$(grep -c '"wrap_ttl": 600' <<<"$mints" || true)" -ge 2 ] \
    || fail "no mint with the default wrap TTL: $mints"
}

main() {
  skip_unless_possible
  sandbox_init ""
  mp_bundle "$T/bundle" e2e
  sandbox_start
  mp_vault
  mp_install vsp "$T/bundle" || fail "plugin: $(mp_plugin_log vsp | tail -3)"
  build_workload_image

  deploy_stack
  check_secret_labels
  step "1. stack deployed; secrets labelled, stack namespace included"
  ACCESSORS=()
  check_service web shop-web default,shop-web,web-pki 7200 \
    'kv "greeting":"hello from shop/web"' 'tls "serial_number"'
  check_service api shop-api billing-db,default,shop-api 1800 \
    'kv "greeting":"hello from shop/api"' 'db "username"'
  step "2. 4 tasks unwrapped their own tokens: KV, TLS, database as allowed"
  check_wrap_ttls
  step "3. label TTLs: web's token 2h, api's wrapping 15m"
  check_renewals
  step "4. every task renews its token while it runs"
  sandbox_stop
  step "PASS"
}

main "$@"
