#!/usr/bin/env bash
# Runs every test of vsp: after the build, the format check and clang-tidy
# over all of the C++ (scripts/clang-tidy.sh); then unit tests, tests
# against the Vault emulator (with python3-hvac proving the emulator
# faithful) and end-to-end tests on a real Docker engine in Swarm mode,
# sandboxed in its own network namespace. Then the unit and emulator tests
# again and a short run of each libFuzzer target, all under
# AddressSanitizer (with LeakSanitizer) and UndefinedBehaviorSanitizer.
# Installs what it needs from Debian's archive first.
#
#   scripts/test.sh              # everything (run as root for the Swarm tests)
#   scripts/test.sh -L unit      # extra arguments go to the first ctest
#
# VSP_TEST_ASAN=0 leaves out the sanitized unit and emulator tests,
# VSP_TEST_FUZZ=0 the fuzzers and VSP_TEST_TIDY=0 clang-tidy (16 minutes
# on 2 cores: docs/reliability.md#clang-tidy); VSP_FUZZ_SECONDS (default
# 60) is each fuzzer's time.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${VSP_BUILD_DIR:-build/test}
asan=${VSP_ASAN_BUILD_DIR:-build/asan}

stage() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

scripts/install-deps.sh all
stage build
cmake -S . -B "$build" -DVSP_WERROR=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
scripts/check-format.sh
if [ "${VSP_TEST_TIDY:-1}" != 0 ]; then
  stage clang-tidy
  scripts/clang-tidy.sh "$build"
fi
stage tests
ctest --test-dir "$build" --output-on-failure -j2 "$@"

# One clang build serves both: every object carries address and undefined
# sanitizers plus libFuzzer's coverage hooks, so the unit and emulator tests
# run sanitized and the fuzzers link the same objects, compiled once.
# Any sanitizer report fails the test that caused it, leaks included.
asan_on=${VSP_TEST_ASAN:-1} fuzz_on=${VSP_TEST_FUZZ:-1}
if [ "$asan_on" != 0 ] || [ "$fuzz_on" != 0 ]; then
  stage "sanitized build (clang, address+undefined, fuzzers)"
  cmake -S . -B "$asan" -DCMAKE_CXX_COMPILER=clang++ -DVSP_WERROR=ON \
    -DVSP_SANITIZE=address,undefined -DVSP_FUZZ=ON \
    -DVSP_FUZZ_SECONDS="${VSP_FUZZ_SECONDS:-60}" >/dev/null
  if [ "$asan_on" != 0 ]; then
    cmake --build "$asan" -j"$(nproc)"
    stage "unit and emulator tests under address and undefined sanitizers"
    ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
      ctest --test-dir "$asan" --output-on-failure -j2 -L 'unit|emulator'
  else
    cmake --build "$asan" -j"$(nproc)" --target vsp_fuzzers
  fi
  if [ "$fuzz_on" != 0 ]; then
    stage "fuzzers, ${VSP_FUZZ_SECONDS:-60} s each"
    ctest --test-dir "$asan" --output-on-failure -j2 -L fuzz
  fi
fi
stage done
