#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with clang (ASan + UBSan) in their own build dir
# and runs each one from its seed corpus for SECONDS_PER_TARGET (default 30). Fails on the
# first target that crashes, leaks, times out or trips a sanitizer; the crashing input is kept
# as BUILD_DIR/crashes/<target>/crash-* (reproduce: BUILD_DIR/fuzz_<target> that-file).
#   tools/fuzz/run_fuzzers.sh [SECONDS_PER_TARGET] [TARGET...]
# Env: MVL_FUZZ_BUILD_DIR (default build-fuzz), CXX/CC (default clang++-14/clang-14),
#      MVL_FUZZ_JOBS (build jobs, default nproc), MVL_FUZZ_CORPUS_OUT (if set, new corpus
#      entries are written there instead of being thrown away).
# Needs clang-14 and libclang-rt-14-dev (packaging/bootstrap.sh fuzz installs them).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
seconds="${1:-30}"
[ $# -gt 0 ] && shift
case "$seconds" in ''|*[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]" >&2; exit 2 ;; esac
build="${MVL_FUZZ_BUILD_DIR:-$root/build-fuzz}"
jobs="${MVL_FUZZ_JOBS:-$(nproc)}"
cxx="${CXX:-clang++-14}"
cc="${CC:-clang-14}"
command -v "$cxx" >/dev/null || { echo "run_fuzzers: $cxx not found (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 2; }

t0=$SECONDS
cmake -S "$root/tests/fuzz" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_C_COMPILER="$cc" >/dev/null
cmake --build "$build" -j "$jobs"
echo "== fuzz targets built in $((SECONDS - t0)) s"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for src in "$root"/tests/fuzz/fuzz_*.cpp; do
    name="$(basename "$src" .cpp)"; name="${name#fuzz_}"
    [ "$name" = util ] && continue
    targets+=("$name")
  done
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1:handle_abort=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=()
for t in "${targets[@]}"; do
  bin="$build/fuzz_$t"
  seeds="$root/tests/fuzz/corpus/$t"
  [ -x "$bin" ] || { echo "run_fuzzers: no target fuzz_$t" >&2; exit 2; }
  crashes="$build/crashes/$t"
  mkdir -p "$crashes"
  # New inputs go to a scratch corpus (or MVL_FUZZ_CORPUS_OUT); the repo's seeds stay as they are.
  work="${MVL_FUZZ_CORPUS_OUT:+$MVL_FUZZ_CORPUS_OUT/$t}"
  work="${work:-$build/corpus/$t}"
  mkdir -p "$work"
  dict=()
  [ -f "$root/tests/fuzz/dict/$t.dict" ] && dict=("-dict=$root/tests/fuzz/dict/$t.dict")
  echo "== fuzz_$t: ${seconds} s from $(ls "$seeds" | wc -l) seeds"
  log="$build/fuzz_$t.log"
  # The sanitizers write their reports to files: a crash while the image decoder has fd 2
  # redirected (vision/image/quiet_stderr.h) would otherwise lose the report.
  if ASAN_OPTIONS="$ASAN_OPTIONS:log_path=$crashes/report" UBSAN_OPTIONS="$UBSAN_OPTIONS:log_path=$crashes/report" \
      "$bin" "$work" "$seeds" "${dict[@]}" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=3072 \
      -max_len=1048576 -artifact_prefix="$crashes/" -print_final_stats=1 >"$log" 2>&1; then
    grep -E "^(#[0-9]+.*DONE|stat::number_of_executed_units)" "$log" | tail -2 || true
  else
    echo "!! fuzz_$t FAILED; last lines of $log:"
    tail -40 "$log"
    for r in "$crashes"/report.*; do [ -f "$r" ] && { echo "-- sanitizer report $r:"; head -60 "$r"; }; done
    ls "$crashes"
    failed+=("$t")
  fi
done
echo "== fuzzing took $((SECONDS - t0)) s in all"
if [ ${#failed[@]} -gt 0 ]; then
  echo "run_fuzzers: crashes in: ${failed[*]} (inputs under $build/crashes/)" >&2
  exit 1
fi
echo "== no crashes"
