#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time, in-process (no network).
#   fuzz/run.sh FUZZER WORKDIR SEEDS SECONDS [extra libFuzzer flags]
# New corpus entries are written under WORKDIR/corpus, crashes under
# WORKDIR/artifacts; SEEDS is only read. Exits non-zero on a finding.
set -euo pipefail
fuzzer=$1 work=$2 seeds=$3 seconds=$4
shift 4
mkdir -p "$work/corpus" "$work/artifacts"
exec "$fuzzer" "$work/corpus" "$seeds" \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -max_len=65536 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" "$@"
