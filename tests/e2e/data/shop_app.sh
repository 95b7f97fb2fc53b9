#!/bin/sh
# Stand-in for the shop stack's applications in stack_deploy_e2e.sh: started
# by deploy/workload/vsp-entrypoint.sh with VAULT_TOKEN set, it records in
# /tmp/status what its token is and reaches (its KV config, a TLS
# certificate or a database login, as its policies allow), then idles
# until SIGTERM.
set -eu

headers=$(mktemp)
printf 'X-Vault-Token: %s\n' "$VAULT_TOKEN" >"$headers"

vault() {
  curl -sS -f -H @"$headers" --cacert "$VAULT_CACERT" "$@"
}

first() { grep -o "\"$1\":\"[^\"]*\"" | head -n 1; }

self=$(vault "$VAULT_ADDR/v1/auth/token/lookup-self")
{
  echo "self $self"
  case $self in
    *'"shop-web"'*)
      echo "kv $(vault "$VAULT_ADDR/v1/secret/data/shop/web/config" |
        first greeting)" ;;
  esac
  case $self in
    *'"shop-api"'*)
      echo "kv $(vault "$VAULT_ADDR/v1/secret/data/shop/api/config" |
        first greeting)" ;;
  esac
  case $self in
    *'"web-pki"'*)
      echo "tls $(vault -X POST -d '{"common_name":"web.shop.example.test"}' \
        "$VAULT_ADDR/v1/pki/issue/web" | first serial_number)" ;;
  esac
  case $self in
    *'"billing-db"'*)
      echo "db $(vault "$VAULT_ADDR/v1/database/creds/billing" |
        first username)" ;;
  esac
} >/tmp/status.new 2>&1 || echo "error" >>/tmp/status.new
mv /tmp/status.new /tmp/status
rm -f "$headers"

trap 'exit 0' TERM
sleep 100000 &
wait
