#!/usr/bin/env bash
# Runs vsp's benchmarks and prints their figures; bench/RESULTS.md records
# them with the machine and the date.
#
#   bench/run.sh [BUILD_DIR]     (default build/bench, built if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/bench}
if [ ! -x "$build/bench/vault_connections" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j"$(nproc)" --target vault_connections >/dev/null
fi

echo "== Vault connections for 1,000 sequential requests (emulator's count)"
"$build/bench/vault_connections" 1000
