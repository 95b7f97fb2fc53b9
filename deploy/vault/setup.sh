#!/bin/sh
# Sets Vault (or OpenBao) up for vsp over its HTTP API, with curl only:
#
#   1. every policy in policies/*.hcl (the ones rules may grant, and
#      vsp-plugin, the plugin's own);
#   2. the token role per-task tokens are minted through: orphans, bounded
#      to the policies rules may grant;
#   3. the plugin's login, written into a credentials directory (the
#      managed plugin's `credentials` mount):
#        token DIR    a periodic orphan token with vsp-plugin -> DIR/token
#        approle DIR  an AppRole role -> DIR/role_id and DIR/secret_id
#                     (with VSP_WRAP_SECRET_ID=TTL, the secret_id is
#                     response-wrapped: set VSP_SECRET_ID_WRAPPED=true)
#
#   VAULT_ADDR=https://vault:8200 VAULT_TOKEN=<admin token> \
#     deploy/vault/setup.sh token /etc/vsp/credentials
#
# Safe to run again: policies and roles are rewritten, and a new login is
# written. VAULT_CACERT and VAULT_NAMESPACE are honoured. The admin token
# is read from VAULT_TOKEN and never written anywhere.
#
# Knobs: VSP_ROLE (vsp-task), VSP_TOKEN_MAX_TTL (24h: the most a task's
# token may live, renewals included), VSP_PLUGIN_PERIOD (24h: the plugin
# token's period), VSP_POLICIES (the directory of .hcl files).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
role=${VSP_ROLE:-vsp-task}
policies_dir=${VSP_POLICIES:-$here/policies}
plugin_period=${VSP_PLUGIN_PERIOD:-24h}

say() { printf 'vsp setup: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

usage() {
  die "usage: $0 token DIR | approle DIR   (VAULT_ADDR, VAULT_TOKEN set)"
}

[ "$#" -eq 2 ] || usage
mode=$1 out=$2
case $mode in token | approle) ;; *) usage ;; esac
[ -n "${VAULT_ADDR:-}" ] || die "VAULT_ADDR is not set"
[ -n "${VAULT_TOKEN:-}" ] || die "VAULT_TOKEN (an admin token) is not set"
command -v curl >/dev/null 2>&1 || die "needs curl"
addr=${VAULT_ADDR%/}

work=$(mktemp -d "${TMPDIR:-/tmp}/vsp-setup.XXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 0700 "$work"
# The admin token goes to curl in a header file, not on its command line.
{
  printf 'X-Vault-Token: %s\n' "$VAULT_TOKEN"
  [ -z "${VAULT_NAMESPACE:-}" ] ||
    printf 'X-Vault-Namespace: %s\n' "$VAULT_NAMESPACE"
} >"$work/headers"

# vault METHOD PATH [BODY] [EXTRA_HEADER]: calls /v1/PATH; prints the
# answer; fails with Vault's errors on an HTTP error.
vault() {
  printf '%s' "${3:-}" >"$work/body"
  cp "$work/headers" "$work/call-headers"
  [ -z "${4:-}" ] || printf '%s\n' "$4" >>"$work/call-headers"
  status=$(curl -sS -o "$work/answer" -w '%{http_code}' -X "$1" \
    -H @"$work/call-headers" -H 'Content-Type: application/json' \
    ${3:+--data-binary @"$work/body"} \
    ${VAULT_CACERT:+--cacert "$VAULT_CACERT"} "$addr/v1/$2") ||
    die "cannot reach $addr"
  case $status in
    2??) cat "$work/answer" ;;
    *) die "$1 $2: HTTP $status: $(cat "$work/answer")" ;;
  esac
}

# The value of string KEY in a one-line JSON answer on stdin.
json_string() {
  sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p" |
    head -n 1
}

# FILE's text as a JSON string (comments dropped).
json_text() {
  sed -e '/^[[:space:]]*#/d' -e 's/\\/\\\\/g' -e 's/"/\\"/g' "$1" |
    awk 'BEGIN { printf "\"" } { printf "%s\\n", $0 } END { printf "\"" }'
}

write_policies() {
  granted=''
  for file in "$policies_dir"/*.hcl; do
    [ -e "$file" ] || die "no policies in $policies_dir"
    name=$(basename "$file" .hcl)
    vault PUT "sys/policies/acl/$name" "{\"policy\":$(json_text "$file")}" \
      >/dev/null
    [ "$name" = vsp-plugin ] || granted="$granted${granted:+,}\"$name\""
    say "policy $name"
  done
}

# Orphans, so a task's token does not die with the plugin's login;
# allowed_policies bounds every rule; the explicit max TTL bounds renewals.
write_role() {
  vault POST "auth/token/roles/$role" "{\"allowed_policies\":[$granted],
    \"orphan\":true,\"renewable\":true,
    \"token_explicit_max_ttl\":\"${VSP_TOKEN_MAX_TTL:-24h}\",
    \"token_type\":\"service\"}" >/dev/null
  say "token role $role (allowed: $granted)"
}

prepare_out() {
  mkdir -p "$out"
  chmod 0700 "$out"
  umask 077
}

# A periodic orphan token: it lives as long as the plugin renews it.
plugin_token() {
  answer=$(vault POST auth/token/create-orphan "{\"policies\":[\"vsp-plugin\"],
    \"period\":\"$plugin_period\",\"display_name\":\"vsp-plugin\",
    \"meta\":{\"vsp\":\"plugin\"}}")
  token=$(printf '%s' "$answer" | json_string client_token)
  [ -n "$token" ] || die "no token in Vault's answer"
  printf '%s\n' "$token" >"$out/token"
  say "plugin token -> $out/token"
}

plugin_approle() {
  if ! vault GET sys/auth | grep -q '"approle/"'; then
    vault POST sys/auth/approle '{"type":"approle"}' >/dev/null
  fi
  vault POST auth/approle/role/vsp-plugin '{"token_policies":["vsp-plugin"],
    "token_ttl":"1h","token_max_ttl":"24h","secret_id_ttl":"0",
    "token_type":"service"}' >/dev/null
  vault GET auth/approle/role/vsp-plugin/role-id | json_string role_id \
    >"$out/role_id"
  if [ -n "${VSP_WRAP_SECRET_ID:-}" ]; then
    vault POST auth/approle/role/vsp-plugin/secret-id '{}' \
      "X-Vault-Wrap-TTL: $VSP_WRAP_SECRET_ID" | json_string token \
      >"$out/secret_id"
  else
    vault POST auth/approle/role/vsp-plugin/secret-id '{}' |
      json_string secret_id >"$out/secret_id"
  fi
  if [ ! -s "$out/role_id" ] || [ ! -s "$out/secret_id" ]; then
    die "no role_id or secret_id in Vault's answers"
  fi
  say "AppRole vsp-plugin -> $out/role_id, $out/secret_id"
}

write_policies
write_role
prepare_out
case $mode in
  token) plugin_token ;;
  approle) plugin_approle ;;
esac
