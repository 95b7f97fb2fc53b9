#!/usr/bin/env bash
# Runs clang-tidy with the repository's .clang-tidy over the sources of
# core/, plugin/ and cli/, as compiled in BUILD_DIR (its
# compile_commands.json). Fails on any finding.
#   scripts/clang-tidy.sh [BUILD_DIR]    (default: build/test)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/test}
if [ ! -f "$build/compile_commands.json" ]; then
  echo "clang-tidy: no $build/compile_commands.json; configure $build first" >&2
  exit 1
fi
runner=$(command -v run-clang-tidy || true)
if [ -z "$runner" ]; then
  echo "clang-tidy: run-clang-tidy not found (Debian package clang-tidy)" >&2
  exit 1
fi
root=$(pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Paths are matched against the absolute file names in the database.
status=0
"$runner" -quiet -p "$build" -j "$(nproc)" -warnings-as-errors='*' \
  "^${root}/(core|plugin|cli)/.*\.cpp$" >"$log" 2>&1 || status=$?
if [ "$status" != 0 ]; then
  grep -E 'warning:|error:' "$log" | grep -v '^[0-9]* warnings* generated' \
    | sort -u >&2 || cat "$log" >&2
  echo "clang-tidy: findings above (fix them, or NOLINT with a reason)" >&2
  exit 1
fi
echo "clang-tidy: clean"
