#!/usr/bin/env bash
# Runs clang-tidy with the repository's .clang-tidy files over every C++
# source of vsp, as compiled in BUILD_DIR (its compile_commands.json), and
# fails on any finding.
#   scripts/clang-tidy.sh [BUILD_DIR] [FILE...]   (default: build/test, all)
#
# Scope: what builds core/, plugin/, cli/ and bench/ (the benchmarks link
# the helpers of tests/support they share with the tests), and fuzz/.
# bench/ and fuzz/ cost little (15 of 90 files) and a finding there is a
# wrong figure or a fuzzer that misses bugs. tests/unit and the Catch2
# helpers are left out: 49 more files, each heavier to analyse than the
# product's (Catch2's macros expand under clang-analyzer), would lengthen
# an already long CI stage by more than half for little. fuzz/ needs
# clang and -DVSP_FUZZ=ON, so it is not in a GCC build's database;
# clang-tidy takes its flags from the nearest file that is, which suffices
# (the fuzzers include only the core's headers and the standard library);
# fuzz/.clang-tidy allows libFuzzer's entry point name.
#
# Long (nearly all of it clang-analyzer; figures in
# docs/reliability.md#clang-tidy): while fixing, name the files instead.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/test}
shift || true
if [ ! -f "$build/compile_commands.json" ]; then
  echo "clang-tidy: no $build/compile_commands.json; configure $build first" >&2
  exit 1
fi
tidy=$(command -v clang-tidy || command -v clang-tidy-14 || true)
if [ -z "$tidy" ]; then
  echo "clang-tidy: clang-tidy not found (Debian package clang-tidy)" >&2
  exit 1
fi
if [ "$#" -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(
    python3 - "$build/compile_commands.json" <<'PY'
import json, os, re, sys
root = os.getcwd() + "/"
build = os.path.dirname(os.path.abspath(sys.argv[1]))
seen = set()
for entry in json.load(open(sys.argv[1])):
    # The object's path from the build directory names its directory of
    # the tree, whichever generator wrote the database (Ninja runs every
    # command from the build directory, Make from each subdirectory).
    target = re.search(r" -o (\S+)", entry["command"]).group(1)
    obj = os.path.relpath(os.path.join(entry["directory"], target), build)
    if obj.split("/")[0] in ("core", "plugin", "cli", "bench"):
        seen.add(os.path.relpath(entry["file"], root))
print("\n".join(sorted(seen)))
PY
    git ls-files 'fuzz/*.cpp')
  # Every product source must be there: a database read wrongly would
  # otherwise pass by checking nothing.
  missing=$(comm -23 <(git ls-files 'core/*.cpp' 'plugin/*.cpp' 'cli/*.cpp' \
    | sort) <(printf '%s\n' "${files[@]}" | sort))
  if [ -n "$missing" ]; then
    echo "clang-tidy: not in $build/compile_commands.json:" $missing >&2
    exit 1
  fi
fi
root=$(pwd)
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# Headers are reported once per source that includes them, so findings
# are deduplicated below. The filter is anchored at this checkout: the
# one in .clang-tidy cannot be (it serves editors wherever the tree is).
run_one() {
  local out
  out=$2/$(printf '%s' "$3" | tr / _).log
  if ! "$1" -quiet -p "$build" --warnings-as-errors='*' \
    --header-filter="^$root/(core|plugin|cli|bench|fuzz|tests/support)/" \
    "$3" >"$out" 2>&1; then
    echo "$3" >>"$2/failed"
  fi
}
export -f run_one
export build root
# shellcheck disable=SC2016 # $0, $1, $2 are expanded by the inner shell
printf '%s\n' "${files[@]}" |
  xargs -P "$(nproc)" -I{} bash -c 'run_one "$0" "$1" "$2"' "$tidy" "$logs" {}

if [ -s "$logs/failed" ]; then
  if ! cat "$logs"/*.log | grep -E '(warning|error):' | sed "s|^$root/||" \
    | sort -u >&2; then
    cat "$logs"/*.log >&2
  fi
  echo "clang-tidy: findings above in $(wc -l <"$logs/failed") file(s)" \
    "(fix them; narrow a check or NOLINT(check) only with a reason)" >&2
  exit 1
fi
echo "clang-tidy: clean (${#files[@]} files)"
