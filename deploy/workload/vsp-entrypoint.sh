#!/bin/sh
# vsp-entrypoint: the workload side of a vsp wrapped token. Unwraps the
# task's token from its Swarm secret, keeps it renewed while the task runs,
# and starts the application with it.
#
#   vsp-entrypoint.sh APP [ARG...]        (as a service's entrypoint)
#
# Needs a POSIX sh, sed, and curl (or wget: GNU wget for https; busybox
# wget for plain http only, as it cannot verify a certificate).
#
# Environment:
#   VAULT_ADDR        Vault's address (required), e.g. https://vault:8200
#   VAULT_CACERT      a CA bundle to trust for Vault (default: the system's)
#   VSP_SECRET        the secret file (default /run/secrets/vault-token)
#   VSP_EXPECT_PATH   the creation path the wrapping token must have
#                     (default auth/token/create/vsp-task); a token
#                     wrapped elsewhere was intercepted and replaced, so it
#                     is refused. Empty skips the check.
#   VSP_TOKEN_FILE    also write the token to this file (mode 0600)
#   VSP_TOKEN_ENV     "no": do not export VAULT_TOKEN to the application
#   VSP_RENEW_EVERY   seconds between renewals (default: half the TTL)
#
# The application gets VAULT_TOKEN (and VAULT_ADDR). A renewer runs beside
# it and stops when it ends; a failed renewal is logged and retried, and
# the token dies at its TTL if the task outlives what Vault allows.
# Exit status 1, before the application starts, when the token cannot be
# unwrapped: a token is single use, so a restarted task needs a new one
# (Swarm's restart policy schedules a new task, which gets one).
set -eu

prog=vsp-entrypoint
secret=${VSP_SECRET:-/run/secrets/vault-token}
expect_path=${VSP_EXPECT_PATH-auth/token/create/vsp-task}

say() { printf '%s: %s\n' "$prog" "$*" >&2; }
# Leaves nothing behind: the work directory may hold a token.
die() {
  say "$*"
  [ -z "${work:-}" ] || rm -rf "$work"
  exit 1
}

[ "$#" -gt 0 ] || die "usage: $0 APP [ARG...]"
[ -n "${VAULT_ADDR:-}" ] || die "VAULT_ADDR is not set"
addr=${VAULT_ADDR%/}

# Headers and bodies go through files in a private directory, so no token
# shows in a process's command line.
work=$(mktemp -d "${TMPDIR:-/tmp}/vsp.XXXXXX") || die "cannot make a temp dir"
chmod 0700 "$work"

pick_client() {
  if command -v curl >/dev/null 2>&1; then
    client=curl
  elif command -v wget >/dev/null 2>&1; then
    client=wget
    if ! wget --help 2>&1 | grep -q -- '--ca-certificate'; then
      client=busybox-wget
      case $addr in
        https://*) die "busybox wget cannot verify Vault's certificate;" \
                       "install curl" ;;
      esac
    fi
  else
    die "needs curl or wget"
  fi
}

# vault_post PATH TOKEN BODY: POSTs BODY (JSON) to /v1/PATH with TOKEN as
# X-Vault-Token (none when empty); prints the response; fails on an HTTP
# error or no answer.
vault_post() {
  : >"$work/headers"
  [ -z "$2" ] || printf 'X-Vault-Token: %s\n' "$2" >"$work/headers"
  printf '%s' "$3" >"$work/body"
  case $client in
    curl)
      curl -sS -f -X POST -H @"$work/headers" \
        -H 'Content-Type: application/json' --data-binary @"$work/body" \
        ${VAULT_CACERT:+--cacert "$VAULT_CACERT"} "$addr/v1/$1"
      ;;
    wget | busybox-wget)
      # wget takes headers only as arguments: the token is visible to
      # processes of the same container while the call runs.
      set -- "$1" "$(cat "$work/headers")"
      wget -q -O - ${2:+--header "$2"} \
        --header 'Content-Type: application/json' \
        --post-file "$work/body" \
        ${VAULT_CACERT:+--ca-certificate="$VAULT_CACERT"} "$addr/v1/$1"
      ;;
  esac
  posted=$?
  # Emptied at once: between calls the files hold no token.
  : >"$work/headers"
  : >"$work/body"
  return "$posted"
}

# json_string KEY: the value of string KEY in the JSON on stdin (Vault
# answers on one line; the last KEY of a line wins).
json_string() {
  sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p" | head -n 1
}

# json_scalar KEY: the value of number or boolean KEY.
json_scalar() {
  sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\([0-9a-z]*\).*/\1/p" | head -n 1
}

# The "auth" object of a Vault answer and everything after it.
auth_part() { sed -n 's/.*"auth"[[:space:]]*:[[:space:]]*{/{/p'; }

read_wrapping_token() {
  [ -r "$secret" ] || die "cannot read $secret"
  wrapping=$(tr -d ' \t\r\n' <"$secret")
  [ -n "$wrapping" ] || die "$secret is empty"
}

check_creation_path() {
  [ -n "$expect_path" ] || return 0
  info=$(vault_post sys/wrapping/lookup '' "{\"token\":\"$wrapping\"}") ||
    die "the wrapping token is unknown to Vault (expired, or already used)"
  path=$(printf '%s' "$info" | json_string creation_path)
  [ "$path" = "$expect_path" ] ||
    die "the wrapping token was made by \"$path\", not \"$expect_path\":" \
        "refusing it (it may have been intercepted and replaced)"
}

unwrap() {
  answer=$(vault_post sys/wrapping/unwrap "$wrapping" '') ||
    die "cannot unwrap the token (expired, or already used)"
  auth=$(printf '%s' "$answer" | auth_part)
  token=$(printf '%s' "$auth" | json_string client_token)
  ttl=$(printf '%s' "$auth" | json_scalar lease_duration)
  renewable=$(printf '%s' "$auth" | json_scalar renewable)
  [ -n "$token" ] || die "the wrapped answer holds no token"
  unset answer auth wrapping
}

# Renews the token until the process PID ends, every half TTL (of the
# renewed TTL) unless VSP_RENEW_EVERY says otherwise. Looks for PID's end
# every second, so it never outlives the application by more.
renew_while() {
  pid=$1 every=$2
  while :; do
    waited=0
    while [ "$waited" -lt "$every" ]; do
      kill -0 "$pid" 2>/dev/null || { rm -rf "$work"; return 0; }
      sleep 1
      waited=$((waited + 1))
    done
    if answer=$(vault_post auth/token/renew-self "$token" '{}'); then
      next=$(printf '%s' "$answer" | auth_part | json_scalar lease_duration)
      every=${VSP_RENEW_EVERY:-$(half "${next:-$every}")}
    else
      say "renewal failed; retrying in ${every}s"
    fi
  done
}

half() {
  h=$(($1 / 2))
  [ "$h" -ge 1 ] || h=1
  echo "$h"
}

pick_client
read_wrapping_token
check_creation_path
unwrap

if [ -n "${VSP_TOKEN_FILE:-}" ]; then
  (umask 077 && printf '%s\n' "$token" >"$VSP_TOKEN_FILE") ||
    die "cannot write $VSP_TOKEN_FILE"
fi
if [ "$renewable" = true ] && [ "${ttl:-0}" -gt 0 ]; then
  renew_while $$ "${VSP_RENEW_EVERY:-$(half "$ttl")}" </dev/null >/dev/null &
  say "token unwrapped; renewing it every ${VSP_RENEW_EVERY:-$(half "$ttl")}s"
else
  say "token unwrapped (not renewable)"
  rm -rf "$work"
fi
if [ "${VSP_TOKEN_ENV:-yes}" != no ]; then
  VAULT_TOKEN=$token
  export VAULT_TOKEN
fi
export VAULT_ADDR
unset token
exec "$@"
