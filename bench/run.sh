#!/usr/bin/env bash
# Runs vsp's six benchmarks for real and prints their figures: one JSON
# object per benchmark on stdout (also kept in BUILD_DIR/bench-results/),
# a summary on stderr. bench/RESULTS.md records them with the machine, the
# date and the spread.
#
#   bench/run.sh [BUILD_DIR]     (default build/bench; a new directory is
#                                 configured as a Release build; built if
#                                 needed)
#
# Settings: BENCH_ONLY="startup added_latency ..." runs a subset;
# BENCH_NO_BUILD=1 skips configuring and building;
# BENCH_LATENCY_MS (10) is the stand-in Vault's delay for benchmarks 1-2;
# BENCH_SCALEOUT="100 300" and BENCH_SCALEOUT_ROUNDS (2) size benchmark 4,
# which needs root and docker.io (it is skipped otherwise).
#
# Everything runs on loopback, Unix sockets and the Swarm sandbox of
# tests/e2e/lib/sandbox.sh; the machine is shared, so each comparison runs
# its two sides alternately in one run and reports their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/bench}
only=${BENCH_ONLY:-"added_latency request_cost vault_requests swarm_scaleout startup vault_connections"}
latency=${BENCH_LATENCY_MS:-10}

targets=(vsp-plugin fake_vault added_latency request_cost vault_requests
         startup vault_connections)
# An existing build directory keeps its own build type (RelWithDebInfo
# and Release are both -O2 or more); a new one is a Release build.
# BENCH_NO_BUILD=1 runs the binaries already in BUILD_DIR as they are.
if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
  if [ -f "$build/CMakeCache.txt" ]; then
    cmake -S . -B "$build" >/dev/null
  else
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" >/dev/null
fi

plugin=$build/plugin/vsp-plugin
bin=$build/bench
out_dir=$build/bench-results
mkdir -p "$out_dir"
out=$out_dir/$(date -u +%Y%m%dT%H%M%SZ).jsonl

note() { printf 'bench: %s\n' "$*" >&2; }
record() { tee -a "$out"; }
wanted() { [[ " $only " == *" $1 "* ]]; }

{
  printf '{"benchmark": "machine", "date": "%s", "nproc": %s, ' \
    "$(date -u +%FT%TZ)" "$(nproc)"
  printf '"cpu": "%s", "kernel": "%s", "load_before": "%s", ' \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" \
    "$(uname -r)" "$(cut -d' ' -f1-3 /proc/loadavg)"
  printf '"mem_gib": %s, "commit": "%s"}\n' \
    "$(awk '/MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)" \
    "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
} | record

if wanted added_latency; then
  note "1. added latency: plugin vs direct, ${latency} ms backend, 1/16/64 clients"
  "$bin/added_latency" --plugin "$plugin" --fake-vault "$bin/fake_vault" \
    --latency-ms "$latency" --seconds 2 --rounds 5 --concurrency 1,16,64 \
    | record
fi
if wanted request_cost; then
  note "2. cost per request: callgrind, cpu time, resident memory"
  "$bin/request_cost" --plugin "$plugin" --fake-vault "$bin/fake_vault" \
    --latency-ms "$latency" --seconds 3 --concurrency 64 \
    --tasks 5000 --callgrind 50,550 | record
fi
if wanted vault_requests; then
  note "3. Vault requests per task, by kind (the emulator counts)"
  "$bin/vault_requests" --plugin "$plugin" --tasks 20 | record
fi
if wanted swarm_scaleout; then
  note "4. Swarm scale-out: vsp vs a fixed-value driver"
  rc=0
  bench/swarm_scaleout.sh "$plugin" "${BENCH_SCALEOUT:-100 300}" \
    "${BENCH_SCALEOUT_ROUNDS:-2}" | record || rc=$?
  [ "$rc" = 0 ] || [ "$rc" = 77 ] || exit "$rc"
  [ "$rc" = 0 ] || note "   skipped: needs root and docker.io"
fi
if wanted startup; then
  note "5. start-up: exec to an answered Plugin.Activate"
  "$bin/startup" --plugin "$plugin" --fake-vault "$bin/fake_vault" \
    --runs 50 | record
fi
if wanted vault_connections; then
  note "6. Vault connections per 1,000 requests (the emulator counts)"
  "$bin/vault_connections" --plugin "$plugin" --requests 1000 \
    --concurrency 1,16,64 | record
fi
note "results in $out"
