# shellcheck shell=bash
# vsp as a managed plugin in the sandbox: its bundle, a Vault set up the
# way deploy/ tells operators to, and the host side of the plugin's mounts.
# Source after lib/sandbox.sh and lib/test_vault.sh; call everything from
# the test's shell after sandbox_start (mp_bundle may come earlier).
#
#   mp_bundle DIR VERSION      the bundle (plugin/bundle/make_bundle.sh)
#   mp_vault                   the emulator over https on 127.0.0.1:8200 in
#                              the sandbox's network namespace, set up by
#                              deploy/vault/setup.sh; the plugin's token and
#                              Vault's CA in $MP_HOST/credentials
#   mp_settings                `docker plugin set` arguments for this run
#   mp_install NAME DIR        create, set and enable; sets MP_ENABLE_MS
#   mp_socket NAME             the plugin's socket on the host
#   mp_unwrap                  hvac's view (JSON) of the wrapping token on
#                              stdin, from inside the namespace

_mp_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MP_SRC=$(cd "$_mp_lib/../../.." && pwd)
MP_PLUGIN_BIN=${MP_PLUGIN_BIN:-}
MP_VAULT_ADDR=https://127.0.0.1:8200
MP_HOST='' MP_ENABLE_MS=''

# Prints why these tests cannot run, or nothing (after sandbox_require).
mp_missing() {
  [ -x "$MP_PLUGIN_BIN" ] || { echo "no vsp-plugin binary given"; return; }
  command -v curl >/dev/null 2>&1 \
    || { echo "missing curl (apt-get install curl)"; return; }
  test_vault_missing
}

mp_bundle() {
  "$MP_SRC/plugin/bundle/make_bundle.sh" --plugin "$MP_PLUGIN_BIN" \
    --config "$MP_SRC/plugin/bundle/config.json" --version "$2" \
    --out "$1" >&2
}

# The host side of the mounts: credentials, rules (the deploy example plus
# the test's own rules), ledger.
_mp_host_dirs() {
  MP_HOST=$T/host
  mkdir -p "$MP_HOST/credentials" "$MP_HOST/ledger"
  chmod 0700 "$MP_HOST/credentials" "$MP_HOST/ledger"
  {
    cat "$MP_SRC/deploy/rules/rules.yaml"
    cat <<'EOF'

  # The end-to-end tests' own services.
  - name: e2e-app
    match:
      secret: "app-*"
    allowed_policies: [shop-web]
EOF
  } >"$MP_HOST/rules.yaml"
}

# What the shop stack's tasks may reach: a KV value per service, the
# database and pki engines of the deploy examples.
_mp_emulator_config() {
  cat >"$T/emulator.json" <<'EOF'
{
  "mounts": {
    "secret/": {"type": "kv", "options": {"version": "2"}},
    "database/": {"type": "database", "roles": {
      "billing": {"default_ttl": "1h", "max_ttl": "24h"}}},
    "pki/": {"type": "pki", "roles": {"web": {
      "allowed_domains": ["shop.example.test"], "allow_subdomains": true,
      "max_ttl": "72h", "generate_lease": true}}}
  },
  "kv": {"secret/shop/web/config": {"greeting": "hello from shop/web"},
         "secret/shop/api/config": {"greeting": "hello from shop/api"}}
}
EOF
}

mp_vault() {
  _mp_host_dirs
  _mp_emulator_config
  test_ca "$T/ca" 127.0.0.1
  # shellcheck disable=SC2034 # read by emu_start
  EMU_LAUNCH=(nsenter --target "$SANDBOX_CONTAINERD_PID" --net --)
  emu_start "$T" --listen 127.0.0.1:8200 --config "$T/emulator.json" \
    --tls-cert "$T/ca/server.pem" --tls-key "$T/ca/server.key" \
    --audit-log "$T/log/emulator-audit.jsonl"
  sandbox_on_exit emu_stop
  sandbox_netns_exec env VAULT_ADDR="$MP_VAULT_ADDR" \
    VAULT_TOKEN="$EMU_ROOT_TOKEN" VAULT_CACERT="$T/ca/ca.pem" \
    "$MP_SRC/deploy/vault/setup.sh" token "$MP_HOST/credentials" \
    2>"$T/log/vault-setup.log" \
    || { cat "$T/log/vault-setup.log" >&2; return 1; }
  cp "$T/ca/ca.pem" "$MP_HOST/credentials/vault-ca.pem"
}

# One `docker plugin set` argument a line: the mounts' host sides, Vault's
# address and CA, the sandbox's Engine API socket.
mp_settings() {
  printf '%s\n' \
    "credentials.source=$MP_HOST/credentials" \
    "rules.source=$MP_HOST/rules.yaml" \
    "ledger.source=$MP_HOST/ledger" \
    "docker-socket.source=$T/docker.sock" \
    "VAULT_ADDR=$MP_VAULT_ADDR" \
    "VAULT_CACERT=/etc/vsp/credentials/vault-ca.pem"
}

# Milliseconds since the epoch.
_mp_now_ms() { echo $(($(date +%s%N) / 1000000)); }

# `docker plugin enable NAME`, timed into MP_ENABLE_MS.
mp_enable() {
  local start
  start=$(_mp_now_ms)
  sandbox_docker plugin enable "$1" >/dev/null || return 1
  # shellcheck disable=SC2034 # for the caller
  MP_ENABLE_MS=$(($(_mp_now_ms) - start))
}

mp_install() {
  local settings
  mapfile -t settings < <(mp_settings)
  sandbox_docker plugin create "$1" "$2" >/dev/null
  sandbox_docker plugin set "$1" "${settings[@]}"
  mp_enable "$1"
}

mp_socket() {
  local id
  id=$(sandbox_docker plugin inspect --format '{{.Id}}' "$1") || return 1
  echo "/run/docker/plugins/$id/vsp.sock"
}

mp_unwrap() {
  sandbox_netns_exec "$TEST_VAULT_PYTHON" "$_mp_lib/hvac_probe.py" \
    unwrap --addr "$MP_VAULT_ADDR" --ca "$T/ca/ca.pem"
}

# The plugin's log lines (dockerd forwards its stdout and stderr).
mp_plugin_log() {
  local id
  id=$(sandbox_docker plugin inspect --format '{{.Id}}' "$1") || return 1
  grep -F "plugin=$id" "$(sandbox_dockerd_log)" || true
}
