#!/usr/bin/env bash
# A short GPU call that rebuilds only some test targets (in build-device/, configured as
# session_check.sh does) and runs them with MVL_REQUIRE_GPU=1: for re-checking a fix when a
# whole session_check.sh does not fit the device time left.
#   carry: .stb .pcre2 .httplib   (tools/device/prepare_carry.sh)
#   tools/device/run_tests.sh CTEST_REGEX TARGET...
#   e.g. tools/device/run_tests.sh "LongContextCuda|TokenizerGolden|PreprocessGolden" \
#          long_context_cuda_test tokenizer_golden_test preprocess_golden_test
# Leaves under $OUT: gpu.txt, configure.log, build.log, ctest.log.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${OUT:-$ROOT/out}
mkdir -p "$OUT"
export MVL_REQUIRE_GPU=1
[ $# -ge 2 ] || { echo "usage: tools/device/run_tests.sh CTEST_REGEX TARGET..." >&2; exit 2; }
REGEX=$1; shift
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
. "$ROOT/tools/device/configure.sh"
B=$ROOT/build-device
t0=$SECONDS
configure_device_build "$ROOT" "$B" > "$OUT/configure.log" 2>&1 || { tail -30 "$OUT/configure.log"; exit 1; }
cmake --build "$B" -j"$(nproc)" --target "$@" > "$OUT/build.log" 2>&1 ||
  { grep -B2 -A12 "error" "$OUT/build.log" | head -60; exit 1; }
echo "build: $((SECONDS - t0)) s"
(cd "$B" && ctest -R "$REGEX" -j8 --output-on-failure) > "$OUT/ctest.log" 2>&1
echo "ctest rc=$?"
grep -E "tests passed|tests failed|\((Failed|Timeout|SEGFAULT|Skipped)|Failure|Expected|Which is|captures|stb_image" "$OUT/ctest.log" | head -40
