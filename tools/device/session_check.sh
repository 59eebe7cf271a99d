#!/usr/bin/env bash
# One GPU call that checks a whole session's work: builds this tree for the GPU (every target
# but the desktop; OpenCV off, Debian's stb_image and PCRE2 carried), runs every gpu-labelled
# test with MVL_REQUIRE_GPU=1, then times the model path (`minimax-vl bench --random-weights`)
# for a base tree carried in .base/ and for this tree, alternating, on the same GPU.
#   carry: .stb .pcre2 .base    (see tools/device/prepare_carry.sh)
#   [ROUNDS=N] tools/device/session_check.sh [BENCH_ARGS...]   (N base/this bench pairs, default 2)
# Leaves under $OUT: gpu.txt, configure/build logs, ctest.log, bench_{base,this}_N.log, summary.txt.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${OUT:-$ROOT/out}
mkdir -p "$OUT"
export MVL_REQUIRE_GPU=1
BENCH_ARGS=("$@")
[ ${#BENCH_ARGS[@]} -eq 0 ] && BENCH_ARGS=(--random-weights --layers 8 --tokens 4096 --decode-steps 32 --reps 3)
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
S="$OUT/summary.txt"
: > "$S"

# The GPU machine's build configuration (carried PCRE2, stb, cpp-httplib; without cpp-httplib
# this copy is built without app/server, whose tests are CPU tests that CI runs).
. "$ROOT/tools/device/configure.sh"
[ -z "$DEVICE_NOTE" ] || echo "$DEVICE_NOTE" >> "$S"
t0=$SECONDS
B=$ROOT/build-device
configure_device_build "$ROOT" "$B" > "$OUT/configure.log" 2>&1 || { tail -30 "$OUT/configure.log"; exit 1; }
cmake --build "$B" -j"$(nproc)" > "$OUT/build.log" 2>&1 || { grep -B2 -A12 "error" "$OUT/build.log" | head -80; exit 1; }
echo "build: $((SECONDS - t0)) s" | tee -a "$S"
(cd "$B" && timeout 900 ctest -L gpu --output-on-failure -j4 --timeout ${TEST_TIMEOUT:-120}) > "$OUT/ctest.log" 2>&1
echo "ctest -L gpu rc=$?" | tee -a "$S"
grep -E "tests passed|tests failed|Total Test time" "$OUT/ctest.log" | tee -a "$S"
grep -E "^\s+[0-9]+ - .*\((Failed|Timeout|SEGFAULT|Subprocess)" "$OUT/ctest.log" | head -30 | tee -a "$S"

if [ -d "$ROOT/.base" ]; then
  t1=$SECONDS
  BB=$ROOT/build-base
  configure_device_build "$ROOT/.base" "$BB" -DMVL_TESTS=OFF > "$OUT/configure_base.log" 2>&1 &&
    cmake --build "$BB" -j"$(nproc)" --target minimax-vl > "$OUT/build_base.log" 2>&1 ||
    { echo "base build failed" | tee -a "$S"; tail -20 "$OUT/build_base.log"; }
  echo "base build: $((SECONDS - t1)) s ($(cat "$ROOT/.base/BASE_COMMIT" 2>/dev/null))" | tee -a "$S"
  for i in $(seq 1 "${ROUNDS:-2}"); do
    for which in base this; do
      cli=$B/app/minimax-vl
      [ $which = base ] && cli=$BB/app/minimax-vl
      [ -x "$cli" ] || continue
      timeout 240 "$cli" bench "${BENCH_ARGS[@]}" > "$OUT/bench_${which}_$i.log" 2>&1
      echo "== bench $which #$i rc=$?" | tee -a "$S"
      grep -iE "decode|prefill|graph|layers|floor" "$OUT/bench_${which}_$i.log" | head -12 | tee -a "$S"
    done
  done
fi
echo "total: $((SECONDS - t0)) s" | tee -a "$S"
