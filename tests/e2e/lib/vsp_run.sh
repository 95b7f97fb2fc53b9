# shellcheck shell=bash
# Helpers shared by vsp's end-to-end tests and the demo: start the Vault
# emulator and the plugin (as a legacy plugin) for a sandbox run. Source
# after lib/sandbox.sh and call after sandbox_init. Every process started
# here is stopped by PID when the run ends.

VSP_PYTHON=${SANDBOX_PYTHON:-/usr/bin/python3}
_vsp_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VSP_SOURCE_DIR=$(cd "$_vsp_lib_dir/../../.." && pwd)

# For the test scripts: messages prefixed with the script's name, a failure
# that shows the end of the plugin's log and exits 1, a clock in ms, and a
# container command that idles until it is stopped.
VSP_E2E_NAME=$(basename "$0" .sh)
fail() {
  printf '%s: FAIL: %s\n' "$VSP_E2E_NAME" "$*" >&2
  if [ -s "${T:-}/log/plugin.err" ]; then
    printf -- '--- plugin log (stderr):\n' >&2
    tail -20 "$T/log/plugin.err" >&2 || true
  fi
  exit 1
}
step() { printf '%s: %s\n' "$VSP_E2E_NAME" "$*" >&2; }
now_ms() { date +%s%3N; }
IDLE=(sh -c 'trap "exit 0" TERM; sleep 3600 & wait')

# Starts the emulator with the JSON config in FILE on 127.0.0.1, waits for
# it and sets VAULT_EMU_ADDR, VAULT_EMU_ROOT and VAULT_EMU_PID.
vsp_start_emulator() {
  local config=$1 ready=$T/emulator.ready
  "$VSP_PYTHON" "$VSP_SOURCE_DIR/tests/emulator/vault_emulator.py" \
    --listen 127.0.0.1:0 --config "$config" --ready-file "$ready" \
    --audit-log "$T/log/emulator-audit.jsonl" \
    >"$T/log/emulator.log" 2>&1 </dev/null &
  VAULT_EMU_PID=$!
  sandbox_on_exit sandbox_stop_process "$VAULT_EMU_PID"
  _sandbox_wait_until 15 test -s "$ready" \
    || { sandbox_log "the Vault emulator did not start:"; \
         tail -5 "$T/log/emulator.log" >&2; return 1; }
  VAULT_EMU_ADDR=$("$VSP_PYTHON" -c \
    'import json,sys; print(json.load(open(sys.argv[1]))["address"])' "$ready")
  VAULT_EMU_ROOT=$("$VSP_PYTHON" -c \
    'import json,sys; print(json.load(open(sys.argv[1]))["root_token"])' "$ready")
}

# Starts BINARY as the legacy plugin NAME on its socket in
# /run/docker/plugins, with VAR=VALUE settings (on top of a clean
# environment), and waits until it answers. Its ledger is $T/ledger.db
# unless a VSP_LEDGER setting says otherwise: never the host's default.
# Sets VSP_PLUGIN_SOCKET and VSP_PLUGIN_PID; its stdout and stderr go to
# $T/log/plugin.{out,err}.
vsp_start_plugin() {
  local binary=$1 name=$2
  shift 2
  VSP_PLUGIN_SOCKET=$(sandbox_legacy_socket "$name")
  sandbox_register_legacy_plugin "$name" "$VSP_PLUGIN_SOCKET"
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin VSP_SOCKET="$VSP_PLUGIN_SOCKET" \
    VSP_LEDGER="$T/ledger.db" "$@" "$binary" \
    >"$T/log/plugin.out" 2>"$T/log/plugin.err" </dev/null &
  VSP_PLUGIN_PID=$!
  sandbox_on_exit sandbox_stop_process "$VSP_PLUGIN_PID"
  _sandbox_wait_until 10 test -S "$VSP_PLUGIN_SOCKET" \
    || { sandbox_log "the plugin did not listen:"; \
         tail -5 "$T/log/plugin.err" >&2; return 1; }
}

# The set-up of a scenario where the plugin watches Swarm's tasks: needs
# the sandbox and python3-hvac (a skip otherwise), then the caller's
# write_vault_config and write_rules, the emulator, the plugin NAME with
# its ledger in $T/ledger (VSP_LEDGER, exported), polling every $POLL_S
# and reusing for $WINDOW_S seconds, and dockerd.
vsp_start_watched_scenario() {
  sandbox_require
  "$VSP_PYTHON" -c 'import hvac' 2>/dev/null \
    || { echo "SKIP: python3-hvac missing"; exit 77; }
  sandbox_init
  write_vault_config
  write_rules
  vsp_start_emulator "$T/emulator.json"
  NAME=$(sandbox_name vsp)
  export VSP_LEDGER=$T/ledger/ledger.db
  vsp_start_plugin "$PLUGIN_BIN" "$NAME" \
    VSP_RULES="$T/rules.yaml" VSP_TOKEN_FILE="$T/plugin-token" \
    VAULT_ADDR="$VAULT_EMU_ADDR" VSP_LEDGER="$VSP_LEDGER" \
    VSP_POLL_INTERVAL="${POLL_S}s" VSP_REUSE_WINDOW="${WINDOW_S}s" \
    DOCKER_HOST="$DOCKER_HOST"
  sandbox_start
}

# The text of dockerd's debug lines "failed to fetch secret", one per line,
# as the plugin sent them (logrus quotes them Go-style).
vsp_fetch_errors() {
  "$VSP_PYTHON" - "$(sandbox_dockerd_log)" <<'PY'
import json, re, sys
for line in open(sys.argv[1], errors="replace"):
    if "failed to fetch secret" not in line:
        continue
    m = re.search(r'error="((?:[^"\\]|\\.)*)"', line)
    if m:
        print(json.loads('"' + m.group(1) + '"'))
PY
}
