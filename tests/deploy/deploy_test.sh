#!/usr/bin/env bash
# The deploy/ examples without Docker, against the Vault emulator:
#
#   1. deploy/vault/setup.sh, token and AppRole (wrapped secret_id) modes
#   2. vsp-plugin with deploy/rules/rules.yaml and each login: the stack's
#      services get the policies their rules and labels allow, others none
#   3. deploy/workload/vsp-entrypoint.sh: unwraps (curl over https with a
#      CA; busybox wget over http), renews while the application runs and
#      stops with it; refuses a token wrapped elsewhere, a used token, and
#      https through busybox wget
#   4. deploy/systemd/vsp-plugin.service passes `systemd-analyze verify`
#
#   deploy_test.sh PLUGIN_BIN VSP_BIN [MAN_DIR]
#
# Exit 0 on success, 77 without python3-hvac/openssl/curl, 1 otherwise.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
# shellcheck source=tests/e2e/lib/test_vault.sh
. "$src/tests/e2e/lib/test_vault.sh"

plugin_bin=$(realpath "${1:?usage: $0 PLUGIN_BIN VSP_BIN [MAN_DIR]}")
vsp_bin=$(realpath "${2:?usage: $0 PLUGIN_BIN VSP_BIN [MAN_DIR]}")
man_dir=${3:-}
entrypoint=$src/deploy/workload/vsp-entrypoint.sh

fail() {
  printf 'deploy_test: FAIL: %s\n' "$*" >&2
  exit 1
}

step() { printf 'deploy_test: %s\n' "$*" >&2; }

PLUGIN_PID=''
cleanup() {
  stop_plugin
  emu_stop
  [ -z "${T:-}" ] || rm -rf "$T"
}

# ---- 1. Vault ----------------------------------------------------------------

setup_vault() {
  test_ca "$T/ca" 127.0.0.1
  printf '{"mounts": {"database/": {"type": "database", "roles":
    {"billing": {"default_ttl": "1h", "max_ttl": "2h"}}},
    "pki/": {"type": "pki", "roles": {"web": {"allowed_domains":
    ["example.test"], "allow_subdomains": true, "generate_lease": true}}}},
    "kv": {"secret/shop/api/config": {"db_host": "db.internal",
    "api_key": "k-1 2"}}}' >"$T/emu.json"
  emu_start "$T" --listen 127.0.0.1:0 --config "$T/emu.json" \
    --tls-cert "$T/ca/server.pem" --tls-key "$T/ca/server.key"
  export VAULT_CACERT=$T/ca/ca.pem
  VAULT_ADDR=$EMU_ADDR VAULT_TOKEN=$EMU_ROOT_TOKEN \
    "$src/deploy/vault/setup.sh" token "$T/token-login" 2>"$T/setup.log" \
    || fail "setup.sh token: $(cat "$T/setup.log")"
  VAULT_ADDR=$EMU_ADDR VAULT_TOKEN=$EMU_ROOT_TOKEN VSP_WRAP_SECRET_ID=5m \
    "$src/deploy/vault/setup.sh" approle "$T/approle-login" \
    2>>"$T/setup.log" || fail "setup.sh approle: $(cat "$T/setup.log")"
  [ "$(stat -c %a "$T/token-login")" = 700 ] || fail "credentials dir mode"
  [ "$(stat -c %a "$T/token-login/token")" = 600 ] || fail "token file mode"
  step "1. setup.sh: policies, role, a plugin token and an AppRole login"
}

# ---- 2. the plugin with the example rules ------------------------------------

start_plugin() {
  rm -f "$T/vsp.sock"
  env -i PATH=/usr/bin:/bin VSP_SOCKET="$T/vsp.sock" \
    VSP_RULES="$src/deploy/rules/rules.yaml" VAULT_ADDR="$EMU_ADDR" \
    VAULT_CACERT="$VAULT_CACERT" "$@" "$plugin_bin" >"$T/plugin.log" 2>&1 &
  PLUGIN_PID=$!
  for _ in $(seq 1 100); do
    [ -S "$T/vsp.sock" ] && return 0
    kill -0 "$PLUGIN_PID" 2>/dev/null || fail "plugin: $(cat "$T/plugin.log")"
    sleep 0.1
  done
  fail "plugin did not listen"
}

stop_plugin() {
  [ -n "$PLUGIN_PID" ] || return 0
  kill -TERM "$PLUGIN_PID" 2>/dev/null || true
  wait "$PLUGIN_PID" 2>/dev/null || true
  PLUGIN_PID=''
}

# ask SERVICE SECRET_LABEL...: the plugin's answer (vsp simulate, JSON) for
# a shop stack secret.
ask() {
  local service=$1 labels=() l
  shift
  for l in com.docker.stack.namespace=shop "$@"; do
    labels+=(--secret-label "$l")
  done
  "$vsp_bin" simulate --socket "$T/vsp.sock" --secret shop_vault-token \
    --service "$service" --task-id "t-$service-$RANDOM" "${labels[@]}" \
    --show-value --format json 2>/dev/null || true
}

policies_of() {
  "$TEST_VAULT_PYTHON" -c '
import json, sys
a = json.load(sys.stdin)
print(a["value"] if a["ok"] else "refused: " + a["err"])' \
    | { read -r v; case $v in refused:*) echo "$v" ;; *)
        hvac_probe unwrap --addr "$EMU_ADDR" --ca "$VAULT_CACERT" <<<"$v" \
          | "$TEST_VAULT_PYTHON" -c '
import json, sys
print(",".join(json.load(sys.stdin)["policies"]))' ;; esac; }
}

expect_policies() {
  local got
  got=$(policies_of <<<"$2")
  [ "$got" = "$1" ] || fail "$3: got $got, wanted $1"
}

check_rules_with() {
  local login=$1
  shift
  start_plugin "$@"
  expect_policies default,shop-web,web-pki "$(ask shop_web)" "$login: web"
  expect_policies default,shop-api "$(ask shop_api)" "$login: api"
  expect_policies billing-db,default,shop-api \
    "$(ask shop_api vsp.policies=shop-api,billing-db)" "$login: api+db"
  case $(policies_of <<<"$(ask shop_api vsp.policies=web-pki)") in
    refused:*) ;;
    *) fail "$login: a label widened the api's policies" ;;
  esac
  case $(policies_of <<<"$(ask shop_admin)") in
    refused:*) ;;
    *) fail "$login: a service no rule names got a token" ;;
  esac
  stop_plugin
}

check_plugin_with_examples() {
  check_rules_with token VSP_TOKEN_FILE="$T/token-login/token"
  check_rules_with approle VSP_ROLE_ID_FILE="$T/approle-login/role_id" \
    VSP_SECRET_ID_FILE="$T/approle-login/secret_id" VSP_SECRET_ID_WRAPPED=true
  step "2. example rules: per-service policies, labels narrow, others refused"
}

# value SERVICE SECRET LABEL...: what the plugin delivers for a shop stack
# secret, or "refused: ..."
value_of() {
  local service=$1 secret=$2 labels=() l
  shift 2
  for l in com.docker.stack.namespace=shop "$@"; do
    labels+=(--secret-label "$l")
  done
  "$vsp_bin" simulate --socket "$T/vsp.sock" --secret "shop_$secret" \
    --service "$service" --task-id "t-$service-$RANDOM" "${labels[@]}" \
    --show-value --format json 2>/dev/null \
    | "$TEST_VAULT_PYTHON" -c '
import json, sys
a = json.load(sys.stdin)
print(a["value"] if a["ok"] else "refused: " + a["err"])'
}

check_value_rules() {
  "$vsp_bin" rules check "$src/deploy/rules/values.yaml" >/dev/null \
    || fail "vsp rules check deploy/rules/values.yaml"
  start_plugin VSP_TOKEN_FILE="$T/token-login/token" \
    VSP_RULES="$src/deploy/rules/values.yaml" \
    VSP_LEDGER="$T/values-ledger.db"
  local env db tls
  env=$(value_of shop_api api-env)
  [ "$env" = "DB_HOST=db.internal
API_KEY='k-1 2'" ] || fail "api-env is not the rendered .env file"
  db=$(value_of shop_api billing-db)
  case $db in
    refused:*) fail "billing-db: $db" ;;
    ?*:?*) ;;
    *) fail "billing-db is not user:password" ;;
  esac
  tls=$(value_of shop_web web-tls vsp.param.alt-names=shop.example.test)
  case $tls in
    refused:*) fail "web-tls: $tls" ;;
    '') fail "web-tls: no value" ;;
  esac
  "$TEST_VAULT_PYTHON" -c '
import hvac, sys
c = hvac.Client(url=sys.argv[1], verify=sys.argv[2],
                token=sys.stdin.read().strip())
data = c.sys.unwrap()["data"]
sys.exit(0 if "BEGIN CERTIFICATE" in data["certificate"] else 1)' \
    "$EMU_ADDR" "$VAULT_CACERT" <<<"$tls" || fail "web-tls holds no certificate"
  case $(value_of shop_web web-tls vsp.param.alt-names=evil.example.com) in
    refused:*) ;;
    *) fail "web-tls: a label asked for a name outside example.test" ;;
  esac
  case $(value_of shop_web billing-db) in
    refused:*) ;;
    *) fail "the web service got the api's database login" ;;
  esac
  stop_plugin
  step "2b. value rules: a .env from KV, a database login, a certificate"
}

# ---- 3. the workload entrypoint ----------------------------------------------

# A wrapping token for a task token of the vsp-task role, into FILE; TTL
# of the task token.
mint_wrapped() {
  curl -sS -f --cacert "$VAULT_CACERT" -H "X-Vault-Token: $EMU_ROOT_TOKEN" \
    -H 'X-Vault-Wrap-TTL: 5m' -X POST \
    -d "{\"policies\":[\"billing-db\"],\"ttl\":\"${2:-1h}\"}" \
    "$EMU_ADDR/v1/auth/token/create/vsp-task" \
    | "$TEST_VAULT_PYTHON" -c \
      'import json, sys; print(json.load(sys.stdin)["wrap_info"]["token"])' \
      >"$1"
}

renewals_by() {
  hvac_probe audit --addr "$EMU_ADDR" --ca "$VAULT_CACERT" \
    --root-token "$EMU_ROOT_TOKEN" --path auth/token/renew-self \
    | grep -c "\"accessor\": \"$1\"" || true
}

# The application: records its token's accessor and a database login its
# token reaches, runs 3 s.
write_app() {
  cat >"$T/app.sh" <<'EOF'
#!/bin/sh
out=$1
[ -n "$VAULT_TOKEN" ] || { echo "no token" >"$out"; exit 1; }
curl -sS -f --cacert "$VAULT_CACERT" -H "X-Vault-Token: $VAULT_TOKEN" \
  "$VAULT_ADDR/v1/auth/token/lookup-self" >"$out.self"
curl -sS -f --cacert "$VAULT_CACERT" -H "X-Vault-Token: $VAULT_TOKEN" \
  "$VAULT_ADDR/v1/database/creds/billing" >"$out.db"
sleep 3
echo done >"$out"
EOF
  chmod +x "$T/app.sh"
}

accessor_in() {
  "$TEST_VAULT_PYTHON" -c \
    'import json, sys
print(json.load(open(sys.argv[1]))["data"]["accessor"])' \
    "$1"
}

check_entrypoint_curl() {
  local accessor before
  mint_wrapped "$T/secret1"
  # Its temporary files (tokens in headers and bodies) go here, to be
  # checked: nothing may stay once it is done or has refused.
  export TMPDIR=$T/eptmp
  mkdir -p "$TMPDIR"
  VAULT_ADDR=$EMU_ADDR VSP_SECRET=$T/secret1 VSP_RENEW_EVERY=1 \
    "$entrypoint" "$T/app.sh" "$T/run1" 2>"$T/ep1.log" \
    || fail "entrypoint: $(cat "$T/ep1.log")"
  [ "$(cat "$T/run1")" = "done" ] || fail "the application did not run"
  grep -q '"username"' "$T/run1.db" || fail "no database login"
  accessor=$(accessor_in "$T/run1.self")
  before=$(renewals_by "$accessor")
  [ "$before" -ge 1 ] || fail "the token was not renewed while the app ran"
  sleep 2.5
  [ "$(renewals_by "$accessor")" = "$before" ] \
    || fail "renewals went on after the application ended"
  step "3a. curl over https: unwrapped, $before renewals while it ran," \
    "none after"

  if VAULT_ADDR=$EMU_ADDR VSP_SECRET=$T/secret1 "$entrypoint" true \
      2>"$T/ep2.log"; then
    fail "a used wrapping token was accepted"
  fi
  grep -q "unknown to Vault" "$T/ep2.log" || fail "$(cat "$T/ep2.log")"

  # A token wrapped by another path (sys/wrapping/wrap) is refused unread.
  curl -sS -f --cacert "$VAULT_CACERT" -H "X-Vault-Token: $EMU_ROOT_TOKEN" \
    -H 'X-Vault-Wrap-TTL: 5m' -X POST -d '{"fake":"token"}' \
    "$EMU_ADDR/v1/sys/wrapping/wrap" | "$TEST_VAULT_PYTHON" -c \
    'import json, sys; print(json.load(sys.stdin)["wrap_info"]["token"])' \
    >"$T/secret3"
  if VAULT_ADDR=$EMU_ADDR VSP_SECRET=$T/secret3 "$entrypoint" \
      touch "$T/ran3" 2>"$T/ep3.log"; then
    fail "a token wrapped by sys/wrapping/wrap was accepted"
  fi
  grep -q 'made by "sys/wrapping/wrap"' "$T/ep3.log" \
    || fail "$(cat "$T/ep3.log")"
  [ ! -e "$T/ran3" ] || fail "the application ran with a refused token"
  [ -z "$(ls -A "$TMPDIR")" ] \
    || fail "the entrypoint left files behind: $(ls -A "$TMPDIR")"
  unset TMPDIR
  step "3b. used token and foreign creation path refused before the app runs"
}

# The entrypoint under busybox alone (sh, sed, wget...): plain http works,
# https is refused (busybox wget verifies no certificate).
check_entrypoint_busybox() {
  local bb applet
  bb=$(command -v busybox) || { step "3c. skipped: no busybox"; return 0; }
  mkdir -p "$T/bb"
  for applet in $("$bb" --list); do ln -sf "$bb" "$T/bb/$applet"; done
  EMU_PID_TLS=$EMU_PID EMU_ADDR_TLS=$EMU_ADDR
  EMU_PID=''
  mkdir -p "$T/plain"
  emu_start "$T/plain" --listen 127.0.0.1:0 --config "$T/emu.json"
  local plain=$EMU_ADDR root=$EMU_ROOT_TOKEN plain_pid=$EMU_PID
  curl -sS -f -H "X-Vault-Token: $root" -H 'X-Vault-Wrap-TTL: 5m' -X POST \
    -d '{"policies":["billing-db"]}' "$plain/v1/auth/token/create" \
    | "$TEST_VAULT_PYTHON" -c \
      'import json, sys; print(json.load(sys.stdin)["wrap_info"]["token"])' \
    >"$T/secret4"
  # shellcheck disable=SC2016 # expanded by the application's shell
  env -i PATH="$T/bb" VAULT_ADDR="$plain" VSP_SECRET="$T/secret4" \
    VSP_EXPECT_PATH=auth/token/create "$T/bb/sh" "$entrypoint" \
    "$T/bb/sh" -c 'test -n "$VAULT_TOKEN" && echo ok >"$0"' "$T/run4" \
    2>"$T/ep4.log" || fail "busybox: $(cat "$T/ep4.log")"
  [ "$(cat "$T/run4")" = ok ] || fail "busybox: the app got no token"
  mkdir -p "$T/bbtmp"
  if env -i PATH="$T/bb" VAULT_ADDR="$EMU_ADDR_TLS" VSP_SECRET="$T/secret4" \
      TMPDIR="$T/bbtmp" "$T/bb/sh" "$entrypoint" true 2>"$T/ep5.log"; then
    fail "busybox wget was allowed over https"
  fi
  grep -q "cannot verify" "$T/ep5.log" || fail "$(cat "$T/ep5.log")"
  [ -z "$(ls -A "$T/bbtmp")" ] \
    || fail "busybox: the entrypoint left files behind"
  kill -TERM "$plain_pid"
  wait "$plain_pid" 2>/dev/null || true
  EMU_PID=$EMU_PID_TLS EMU_ADDR=$EMU_ADDR_TLS
  step "3c. busybox only: wget over http works, https refused"
}

# ---- 4. systemd --------------------------------------------------------------

check_systemd_unit() {
  if ! command -v systemd-analyze >/dev/null 2>&1; then
    step "4. skipped: no systemd-analyze"
    return 0
  fi
  mkdir -p "$T/systemd"
  sed "s|^ExecStart=.*|ExecStart=$plugin_bin|" \
    "$src/deploy/systemd/vsp-plugin.service" >"$T/systemd/vsp-plugin.service"
  if [ -z "$man_dir" ] || [ ! -e "$man_dir/man8/vsp-plugin.8" ]; then
    sed -i '/^Documentation=/d' "$T/systemd/vsp-plugin.service"
  fi
  MANPATH=${man_dir:-} systemd-analyze verify \
    "$T/systemd/vsp-plugin.service" >"$T/verify.log" 2>&1 \
    || fail "systemd-analyze verify: $(cat "$T/verify.log")"
  ! grep -v '^$' "$T/verify.log" \
    || fail "systemd-analyze verify warned: $(cat "$T/verify.log")"
  step "4. systemd unit verified"
}

main() {
  local why
  why=$(test_vault_missing)
  command -v curl >/dev/null 2>&1 || why=${why:-missing curl}
  if [ -n "$why" ]; then
    echo "SKIP: $why" >&2
    exit 77
  fi
  T=$(mktemp -d /tmp/vsp-deploy.XXXXXX)
  trap cleanup EXIT
  setup_vault
  check_plugin_with_examples
  check_value_rules
  write_app
  check_entrypoint_curl
  check_entrypoint_busybox
  check_systemd_unit
  step "PASS"
}

main "$@"
