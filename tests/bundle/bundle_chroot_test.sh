#!/usr/bin/env bash
# The managed-plugin bundle is complete: vsp-plugin, chrooted into the
# bundle's rootfs with the mounts Docker would give it, reaches an https
# Vault (the emulator, with a throw-away CA) by host name and serves a
# wrapped token. Proves the rootfs has every shared library, the
# name-service modules and a CA store libcurl uses.
#
#   bundle_chroot_test.sh PLUGIN_BIN VSP_BIN
#
# 1. the rootfs holds exactly ldd's libraries plus libnss_files/libnss_dns
# 2. Vault's CA appended to the rootfs's CA bundle: a wrapped token, checked
#    with hvac (default trust store, name from the rootfs's /etc/hosts)
# 3. the rootfs as built (CA unknown): the request fails closed, saying why
# 4. VAULT_CACERT naming a CA file in the credentials mount: a token again
#
# Exit 0 on success, 77 when the machine cannot run it (not root, no
# chroot/unshare/openssl/python3-hvac), 1 with a message otherwise.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
# shellcheck source=tests/e2e/lib/test_vault.sh
. "$src/tests/e2e/lib/test_vault.sh"

plugin_bin=${1:?usage: $0 PLUGIN_BIN VSP_BIN}
vsp_bin=${2:?usage: $0 PLUGIN_BIN VSP_BIN}
host_name=vault.vsp.test

fail() {
  printf 'bundle_chroot: FAIL: %s\n' "$*" >&2
  exit 1
}

step() { printf 'bundle_chroot: %s\n' "$*" >&2; }

skip_unless_possible() {
  local why tool
  [ "$(id -u)" = 0 ] || why="needs root (chroot, mount namespace)"
  for tool in chroot unshare mount ldd strip; do
    command -v "$tool" >/dev/null 2>&1 || why=${why:-"missing $tool"}
  done
  why=${why:-$(test_vault_missing)}
  if [ -n "$why" ]; then
    echo "SKIP: $why" >&2
    exit 77
  fi
}

PLUGIN_PID=''
cleanup() {
  stop_plugin
  emu_stop
  [ -z "${T:-}" ] || rm -rf "$T"
}

# ---- the bundle --------------------------------------------------------------

build_bundle() {
  "$src/plugin/bundle/make_bundle.sh" --plugin "$plugin_bin" \
    --config "$src/plugin/bundle/config.json" --version test \
    --out "$T/bundle" >&2
  root=$T/bundle/rootfs
}

# The shared objects in the rootfs are ldd's list plus the two NSS modules,
# each at the path ldd gave.
check_exact_libraries() {
  local want got
  local libc
  libc=$(ldd "$plugin_bin" | awk '$1 == "libc.so.6" { print $3 }')
  want=$( (ldd "$plugin_bin" \
             | awk '$2 == "=>" { print $3 } $1 ~ /^\// { print $1 }'
           echo "$(dirname "$libc")/libnss_files.so.2"
           echo "$(dirname "$libc")/libnss_dns.so.2") | sort -u)
  got=$(cd "$root" && find . -type f \( -name '*.so' -o -name '*.so.*' \) \
    | sed 's|^\.||' | sort)
  [ "$want" = "$got" ] \
    || fail "rootfs libraries differ from ldd's:"$'\n'"$(diff \
         <(echo "$want") <(echo "$got"))"
  step "rootfs: $(wc -l <<<"$got") shared objects, exactly ldd's plus NSS"
}

# ---- Vault -------------------------------------------------------------------

write_emulator_config() {
  cat >"$T/emu.json" <<EOF
{
  "policies": {
    "app-read": {"path": {"secret/data/app/*": {"capabilities": ["read"]}}},
    "vsp-plugin": {"path": {
      "auth/token/create/vsp-task": {"capabilities": ["update"]}}}
  },
  "token_roles": {
    "vsp-task": {"allowed_policies": ["app-read"], "orphan": true,
                 "renewable": true}
  },
  "tokens": [
    {"policies": ["vsp-plugin"], "ttl": "1h", "renewable": true,
     "display_name": "vsp-plugin", "write_to": "$T/credentials/token"}
  ]
}
EOF
}

write_rules() {
  cat >"$T/rules.yaml" <<'EOF'
defaults:
  token_role: vsp-task
  wrap_ttl: 5m
rules:
  - name: app
    match:
      secret: "app-*"
    allowed_policies: [app-read]
    policies: [app-read]
    ttl: 1h
EOF
}

# ---- the plugin in the rootfs ------------------------------------------------

# The environment Docker gives the plugin: config.json's env entries that
# have a value, as NAME=VALUE lines.
config_env() {
  "$TEST_VAULT_PYTHON" -c '
import json, sys
for e in json.load(open(sys.argv[1]))["env"]:
    if e.get("value") is not None:
        print("%s=%s" % (e["name"], e["value"]))' "$T/bundle/config.json"
}

# Runs vsp-plugin chrooted into ROOTFS in a private mount namespace, with
# config.json's environment and Docker's mounts: the socket directory,
# /etc/hosts, the credentials directory and the rules file. Extra
# NAME=VALUE settings follow, as `docker plugin set` would give them.
start_plugin() {
  local rootfs=$1 env; shift
  rm -rf "$T/sock" && mkdir -p "$T/sock"
  mapfile -t env < <(config_env)
  # shellcheck disable=SC2016 # expanded by the inner sh
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "${env[@]}" VSP_LOG_LEVEL=debug \
    VAULT_ADDR="https://$host_name:${EMU_ADDR##*:}" "$@" \
    unshare --mount --propagation private -- sh -c '
      r=$1
      mount --bind "$2" "$r/run/docker/plugins"
      mount --bind "$3" "$r/etc/hosts"
      mount --bind -o ro "$4" "$r/etc/vsp/credentials"
      mount --bind -o ro "$5" "$r/etc/vsp/rules.yaml"
      exec chroot "$r" /usr/bin/vsp-plugin' sh \
    "$rootfs" "$T/sock" "$T/hosts" "$T/credentials" "$T/rules.yaml" \
    >"$T/plugin.log" 2>&1 &
  PLUGIN_PID=$!
  for _ in $(seq 1 100); do
    [ -S "$T/sock/vsp.sock" ] && return 0
    kill -0 "$PLUGIN_PID" 2>/dev/null \
      || fail "plugin exited: $(cat "$T/plugin.log")"
    sleep 0.1
  done
  fail "no socket after 10 s: $(cat "$T/plugin.log")"
}

stop_plugin() {
  [ -n "$PLUGIN_PID" ] || return 0
  kill -TERM "$PLUGIN_PID" 2>/dev/null || true
  wait "$PLUGIN_PID" 2>/dev/null || true
  PLUGIN_PID=''
}

# Asks the plugin for secret NAME as Docker would; prints vsp simulate's
# JSON. A refusal is not an error here: callers look at "ok".
get_secret() {
  "$vsp_bin" simulate --socket "$T/sock/vsp.sock" --secret "$1" \
    --service app --task-id "task-$1" --task-name "app.1.task-$1" \
    --show-value --format json 2>>"$T/simulate.err" || true
}

json_field() {
  "$TEST_VAULT_PYTHON" -c \
    'import json, sys; print(json.load(sys.stdin).get(sys.argv[1], ""))' "$1"
}

# The value of a successful answer is a wrapping token minted through the
# role; hvac unwraps it over https with the test CA (by address: the host
# cannot resolve the name).
expect_wrapped_token() {
  local answer=$1 what=$2 info
  [ "$(json_field ok <<<"$answer")" = True ] \
    || fail "$what: plugin refused: $answer"$'\n'"$(tail -5 "$T/plugin.log")"
  info=$(json_field value <<<"$answer" \
    | hvac_probe unwrap --addr "$EMU_ADDR" \
        --ca "$T/ca/ca.pem") || fail "$what: hvac could not unwrap"
  grep -q '"creation_path": "auth/token/create/vsp-task"' <<<"$info" \
    || fail "$what: unexpected token: $info"
  grep -q '"policies": \["app-read", "default"\]' <<<"$info" \
    || fail "$what: unexpected policies: $info"
  step "$what: wrapped token for app-read"
}

main() {
  skip_unless_possible
  T=$(mktemp -d /tmp/vsp-bundle.XXXXXX)
  trap cleanup EXIT
  mkdir -p "$T/credentials" && chmod 0700 "$T/credentials"

  build_bundle
  check_exact_libraries

  test_ca "$T/ca" "$host_name" 127.0.0.1
  write_emulator_config
  write_rules
  emu_start "$T" --listen 127.0.0.1:0 --config "$T/emu.json" \
    --tls-cert "$T/ca/server.pem" --tls-key "$T/ca/server.key"
  # The name resolves only inside the rootfs, through its /etc/hosts and
  # libnss_files: the host knows nothing of it.
  printf '127.0.0.1 %s\n' "$host_name" >"$T/hosts"
  if getent hosts "$host_name" >/dev/null; then
    fail "$host_name resolves on the host; pick another name"
  fi

  # A copy whose default CA bundle also trusts the test CA.
  cp -a "$root" "$T/rootfs-ca"
  cat "$T/ca/ca.pem" >>"$T/rootfs-ca/etc/ssl/certs/ca-certificates.crt"
  start_plugin "$T/rootfs-ca"
  expect_wrapped_token "$(get_secret app-one)" "default CA store"
  stop_plugin

  start_plugin "$root"
  local answer
  answer=$(get_secret app-two)
  [ "$(json_field ok <<<"$answer")" = False ] \
    || fail "an unknown CA was trusted: $answer"
  grep -qiE 'certificate|tls|ssl' <<<"$answer$(cat "$T/plugin.log")" \
    || fail "the refusal does not say why: $answer"
  step "unknown CA: refused ($(json_field err <<<"$answer" | cut -c1-80))"
  stop_plugin

  cp "$T/ca/ca.pem" "$T/credentials/ca.pem"
  start_plugin "$root" VAULT_CACERT=/etc/vsp/credentials/ca.pem
  expect_wrapped_token "$(get_secret app-three)" "VAULT_CACERT"
  stop_plugin
  step "PASS"
}

main "$@"
