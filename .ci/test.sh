#!/usr/bin/env bash
# Sets up a Debian 12 machine and runs the whole test suite three times: a normal build,
# an AddressSanitizer + UndefinedBehaviorSanitizer build and a ThreadSanitizer build.
# This is the README's test command and what .ci/run calls. Needs root for the package
# install (skipped when all present).
set -euo pipefail
cd "$(dirname "$0")/.."

bash packaging/install-deps.sh

jobs=$(nproc)
run_suite() {  # run_suite BUILD_DIR [cmake args...]
  local dir=$1; shift
  echo "== configure and build: $dir $*"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  echo "== tests: $dir"
  ctest --test-dir "$dir" -j "$jobs" --output-on-failure --timeout 300
}

run_suite build
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite build-asan -DDURATIOND_SANITIZE=ON
# The event loop, the worker pool and one group committer per database are threads.
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  run_suite build-tsan -DDURATIOND_TSAN=ON
bash .ci/fuzz.sh  # libFuzzer targets: regression inputs, then FUZZ_SECONDS (60) each
echo "== all test suites passed"
