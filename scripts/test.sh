#!/usr/bin/env bash
# Runs every test of vsp: unit tests, tests against the Vault emulator
# (with python3-hvac proving the emulator faithful) and end-to-end tests on
# a real Docker engine in Swarm mode, sandboxed in its own network
# namespace. Installs what it needs from Debian's archive first.
#
#   scripts/test.sh              # everything (run as root for the Swarm tests)
#   scripts/test.sh -L unit      # extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."

build=${VSP_BUILD_DIR:-build/test}

scripts/install-deps.sh all
cmake -S . -B "$build" -DVSP_WERROR=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
scripts/check-format.sh
ctest --test-dir "$build" --output-on-failure -j2 "$@"
