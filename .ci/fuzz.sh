#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) in build-fuzz, runs each once over
# its regression inputs and seed corpus (ctest), then fuzzes each for FUZZ_SECONDS
# (default 60) on a copy of its corpus, two at a time, so the checkout is never written.
# Fails on any crash, leak, undefined behaviour, time-out or broken invariant, printing
# the log's end and the input (base64); prints each target's runs, exec/s and coverage.
#   FUZZ_SECONDS=300 bash .ci/fuzz.sh      # longer
#   FUZZ_TARGETS="frame request" ...       # some targets only
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
dir=${FUZZ_BUILD_DIR:-build-fuzz}
jobs=$(nproc)

echo "== configure and build: $dir (clang++, DURATIOND_FUZZ=ON)"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DDURATIOND_FUZZ=ON -DDURATIOND_TESTS=OFF -DDURATIOND_BENCH=OFF >/dev/null
cmake --build "$dir" -j "$jobs" --target fuzzers

echo "== fuzz targets over their regression inputs and seed corpora"
ctest --test-dir "$dir" -j "$jobs" --output-on-failure --timeout 600

targets=${FUZZ_TARGETS:-$(cd "$dir/tests/fuzz" && ls fuzz_* | sed 's/^fuzz_//' | tr '\n' ' ')}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fuzz_one() {  # fuzz_one TARGET: fuzzes a copy of its corpus; the exit status is libFuzzer's
  local t=$1 w=$work/$1
  mkdir -p "$w/corpus" "$w/artifacts"
  cp tests/fuzz/corpus/"$t"/* "$w/corpus/"
  if [[ -d tests/fuzz/regressions/$t ]]; then cp tests/fuzz/regressions/"$t"/* "$w/corpus/"; fi
  # fuzz_request: no leak check (tests/fuzz/CMakeLists.txt says why).
  local leaks=1
  if [[ $t == request ]]; then leaks=0; fi
  ASAN_OPTIONS="detect_leaks=$leaks${ASAN_OPTIONS:+:$ASAN_OPTIONS}" "$dir/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$w/artifacts/" "$w/corpus" >"$w/log" 2>&1
}

echo "== fuzzing each target for ${seconds} s, $jobs at a time: $targets"
started=$SECONDS
running=0
for t in $targets; do
  ( if fuzz_one "$t"; then echo 0; else echo $?; fi >"$work/$t.rc" ) &
  if (( ++running >= jobs )); then wait -n || true; running=$((running - 1)); fi
done
wait

failed=0
for t in $targets; do
  log=$work/$t/log
  rc=$(cat "$work/$t.rc" 2>/dev/null || echo 1)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -1)
  if [[ $rc == 0 ]]; then
    printf 'fuzz_%s: ok, %s runs, %s exec/s, %s\n' "$t" "${runs:-?}" "${rate:-?}" "${cov:-?}"
  else
    failed=1
    printf 'fuzz_%s: FAILED (exit %s)\n' "$t" "$rc"
    tail -n 60 "$log"
    for a in "$work/$t/artifacts"/*; do
      [[ -f $a ]] || continue
      echo "input $(basename "$a") (base64; keep it in tests/fuzz/regressions/$t/):"
      base64 -w0 "$a"
      echo
    done
  fi
done
echo "== fuzzing took $((SECONDS - started)) s"
if ((failed)); then
  echo "== fuzzing FAILED"
  exit 1
fi
echo "== fuzzing passed"
