# shellcheck shell=bash
# A Vault for script tests: the emulator (tests/emulator) started as a
# child of the calling shell, a throw-away CA for https, and python3-hvac
# checks of what a task received (hvac_probe.py). Sourced; works under
# `set -euo pipefail`. Call the functions that start processes from the
# test's own shell, never from `$(...)`.
#
#   test_ca DIR NAME...        DIR/ca.pem and DIR/server.{pem,key} for NAMEs
#   emu_start DIR ARGS...      emulator in the background; sets EMU_PID,
#                              EMU_ADDR, EMU_ROOT_TOKEN; EMU_LAUNCH (array)
#                              runs it through e.g. `nsenter ...`
#   emu_stop                   SIGTERM by PID, waits
#   hvac_probe ARGS...         hvac_probe.py with the test's python

_test_vault_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TEST_VAULT_PYTHON=${TEST_VAULT_PYTHON:-${SANDBOX_PYTHON:-/usr/bin/python3}}
if [ -z "${TEST_VAULT_EMULATOR:-}" ]; then
  TEST_VAULT_EMULATOR=$_test_vault_lib/../../emulator/vault_emulator.py
fi
EMU_LAUNCH=()
EMU_PID='' EMU_ADDR='' EMU_ROOT_TOKEN=''

# Prints why these helpers cannot run here, or nothing.
test_vault_missing() {
  [ -x "$TEST_VAULT_PYTHON" ] || { echo "missing $TEST_VAULT_PYTHON"; return; }
  command -v openssl >/dev/null 2>&1 \
    || { echo "missing openssl (apt-get install openssl)"; return; }
  "$TEST_VAULT_PYTHON" -c 'import hvac' 2>/dev/null \
    || echo "missing python3-hvac (apt-get install python3-hvac)"
}

# Writes a CA (DIR/ca.pem) and a server certificate it signed
# (DIR/server.pem, DIR/server.key) for NAMEs: host names or IPv4
# addresses. Valid for two days.
test_ca() {
  local dir=$1 name san=''; shift
  for name in "$@"; do
    if [[ $name =~ ^[0-9.]+$ ]]; then
      san+="${san:+,}IP:$name"
    else
      san+="${san:+,}DNS:$name"
    fi
  done
  mkdir -p "$dir"
  local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  openssl req -x509 "${ec[@]}" -keyout "$dir/ca.key" -out "$dir/ca.pem" \
    -days 2 -subj "/CN=vsp test CA" 2>/dev/null
  openssl req "${ec[@]}" -keyout "$dir/server.key" -out "$dir/server.csr" \
    -subj "/CN=$1" 2>/dev/null
  printf 'subjectAltName=%s\n' "$san" >"$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" \
    -CAkey "$dir/ca.key" -CAcreateserial -out "$dir/server.pem" -days 2 \
    -extfile "$dir/server.ext" 2>/dev/null
}

# Starts the emulator with ARGS (--config, --listen, --tls-*, ...) and a
# ready file in DIR, through EMU_LAUNCH when set; waits until it listens.
emu_start() {
  local dir=$1 i; shift
  rm -f "$dir/emu.ready"
  "${EMU_LAUNCH[@]}" "$TEST_VAULT_PYTHON" "$TEST_VAULT_EMULATOR" \
    --ready-file "$dir/emu.ready" "$@" >"$dir/emu.log" 2>&1 &
  EMU_PID=$!
  for i in $(seq 1 200); do
    [ -s "$dir/emu.ready" ] && break
    if ! kill -0 "$EMU_PID" 2>/dev/null; then
      echo "emulator exited at start-up:" >&2
      cat "$dir/emu.log" >&2
      return 1
    fi
    [ "$i" -lt 200 ] || { echo "emulator not ready after 20 s" >&2; return 1; }
    sleep 0.1
  done
  # shellcheck disable=SC2034 # for the caller
  EMU_ADDR=$(_emu_ready_field "$dir/emu.ready" address)
  # shellcheck disable=SC2034 # for the caller
  EMU_ROOT_TOKEN=$(_emu_ready_field "$dir/emu.ready" root_token)
}

_emu_ready_field() {
  "$TEST_VAULT_PYTHON" -c \
    'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]] or "")' \
    "$1" "$2"
}

# Stops the emulator this shell started, by PID.
emu_stop() {
  [ -n "$EMU_PID" ] || return 0
  kill -TERM "$EMU_PID" 2>/dev/null || true
  wait "$EMU_PID" 2>/dev/null || true
  EMU_PID=''
}

# Runs hvac_probe.py (see its --help) with the test's python; prefix it
# with a launcher to run in another network namespace.
hvac_probe() {
  "$TEST_VAULT_PYTHON" "$_test_vault_lib/hvac_probe.py" "$@"
}
