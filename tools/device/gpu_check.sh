#!/usr/bin/env bash
# One command for the GPU machine: (build,) run the gpu-labelled parity tests, the per-op
# CUDA benchmarks and the peer timings, leaving logs and the merged table under $OUT.
#   tools/device/gpu_check.sh                 configure + build here (needs nvcc, cmake, ninja)
#   tools/device/gpu_check.sh build-cuda-carry   use binaries built elsewhere (bin/, lib/)
# The peers need the git-ignored .peers/ folder (FLA fla/ops+fla/utils, vLLM lightning_attn.py)
# carried with the call; see docs/benchmarks.md. Stages: tests, bench, layers, peers (skip with SKIP=...).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${OUT:-$ROOT/out}
mkdir -p "$OUT"
export MVL_REQUIRE_GPU=1
SKIP=${SKIP:-}
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem --format=csv | tee "$OUT/gpu.txt"

if [ $# -ge 1 ]; then
  BIN=$ROOT/$1/bin
  export LD_LIBRARY_PATH=$ROOT/$1/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
  TESTS=$(ls "$BIN"/*_test)
  BENCH=$BIN/ops_cuda_bench
  LAYERS=$BIN/layers_cuda_bench
else
  B=$ROOT/build-device
  T_LLM=
  # Debian's stb_image.h may be carried in a git-ignored .stb/ folder (the vision library's
  # decoder without OpenCV); without it only targets that don't need vision/ can build.
  STB=${STB_INCLUDE_DIR:-$B/stb-missing}
  [ -f "$ROOT/.stb/stb_image.h" ] && STB=$ROOT/.stb
  mkdir -p "$STB"
  # The GPU image has no PCRE2 (only llm/ needs it, and only GPU targets are built here):
  # give CMake's pkg-config check a stub so the top-level configure succeeds.
  # Debian's PCRE2 (headers + .so) can be carried in a git-ignored .pcre2/ folder; then the
  # llm-level GPU tests (tests/llm/*_cuda_test, e.g. the tiny-model CPU-vs-CUDA parity) build too.
  if ! pkg-config --exists libpcre2-8 2>/dev/null && [ -f "$ROOT/.pcre2/include/pcre2.h" ]; then
    mkdir -p "$B/pc-carried"
    printf 'Name: libpcre2-8\nDescription: carried Debian PCRE2\nVersion: 10.42\nLibs: -L%s -lpcre2-8 -Wl,-rpath,%s\nCflags: -I%s\n' \
      "$ROOT/.pcre2/lib" "$ROOT/.pcre2/lib" "$ROOT/.pcre2/include" > "$B/pc-carried/libpcre2-8.pc"
    export PKG_CONFIG_PATH=$B/pc-carried:${PKG_CONFIG_PATH:-}
    T_LLM=$(cd "$ROOT/tests/llm" && ls *_cuda_test.cpp 2>/dev/null | sed 's/\.cpp$//')
    [ -f "$STB/stb_image.h" ] && T_LLM="$T_LLM $(cd "$ROOT/tests" && ls vision/*_cuda_test.cpp cli/*_cuda_test.cpp engine/*_cuda_test.cpp 2>/dev/null | xargs -n1 basename | sed 's/\.cpp$//')"
  fi
  if ! pkg-config --exists libpcre2-8 2>/dev/null; then
    mkdir -p "$B/pc-stub"
    printf 'Name: libpcre2-8\nDescription: stub for configuring GPU targets only\nVersion: 10.42\nLibs: -lpcre2-8\nCflags:\n' > "$B/pc-stub/libpcre2-8.pc"
    export PKG_CONFIG_PATH=$B/pc-stub:${PKG_CONFIG_PATH:-}
  fi
  cmake -S "$ROOT" -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMVL_CUDA=ON -DMVL_OPENCV=OFF -DMVL_DESKTOP=OFF \
    -DSTB_INCLUDE_DIR="$STB" > "$OUT/configure.log" 2>&1 || { tail -30 "$OUT/configure.log"; exit 1; }
  T=$(cd "$ROOT/tests/gpu" && ls *_test.cpp | sed 's/\.cpp$//')
  # kernels/comm's NCCL test (tests/comm) needs only mvl_ops + NCCL; the sharded model's GPU
  # test is among tests/llm's (T_LLM).
  T="$T $(cd "$ROOT/tests/comm" && ls *_cuda_test.cpp 2>/dev/null | sed 's/\.cpp$//') ${T_LLM:-}"
  BENCH_T="ops_cuda_bench layers_cuda_bench"
  [[ "$SKIP" == *bench* ]] && BENCH_T=
  [ -f "$STB/stb_image.h" ] && [[ "$SKIP" != *bench* ]] && BENCH_T="$BENCH_T vision_model_bench"
  cmake --build "$B" -j"$(nproc)" --target $T $BENCH_T > "$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
  # ctest below runs every built gpu test; the per-binary loop is only for carried binaries.
  TESTS=
  # With a build tree, the gpu-labelled tests also run through ctest (the CI-style summary).
  if [[ "$SKIP" != *tests* ]]; then
    (cd "$B" && timeout 600 ctest -L gpu --output-on-failure) > "$OUT/ctest.log" 2>&1
    echo "ctest rc=$?"; grep -E "tests passed|tests failed|Total Test time" "$OUT/ctest.log"
  fi
  BENCH=$B/kernels/bench/ops_cuda_bench
  LAYERS=$B/kernels/bench/layers_cuda_bench
  VISION=$B/tests/vision_model_bench
fi

fail=0
if [[ "$SKIP" != *tests* ]]; then
  for t in $TESTS; do
    timeout 300 "$t" --gtest_brief=1 > "$OUT/$(basename "$t").log" 2>&1
    rc=$?
    echo "$(basename "$t"): rc=$rc $(grep -E '^\[  (PASSED|FAILED|SKIPPED) ' "$OUT/$(basename "$t").log" | tr '\n' ' ')"
    grep -E "Failure|parity|Expected|Which is|error" "$OUT/$(basename "$t").log" | head -40 > "$OUT/$(basename "$t").fail"
    [ $rc -ne 0 ] && { fail=1; head -60 "$OUT/$(basename "$t").fail"; }
  done | tee "$OUT/tests_summary.txt"
fi
if [[ "$SKIP" != *bench* ]]; then
  timeout 300 "$BENCH" --softmax-128k --json "$OUT/ours.json" 2>&1 | tee "$OUT/bench.log"
  # The vision half through VisionModel (ops:: dispatch), bf16 and f32, 37 tiles.
  [ -x "${VISION:-}" ] && timeout 200 "$VISION" --reps 5 2>&1 | tee "$OUT/vision_model_bench.log"
fi
if [[ "$SKIP" != *layers* ]]; then
  # The `minimax-vl bench` code path: 8 decoder layers (7 lightning + 1 softmax) at the released shapes.
  for b in 1 32; do
    timeout 200 "$LAYERS" configs/minimax-vl-01.json 8 4096 $b 2>&1 | tee -a "$OUT/layers.log"
  done
fi
if [[ "$SKIP" != *peers* ]]; then
  PYTHONUNBUFFERED=1 timeout 420 python3 "$ROOT/tools/device/peers.py" "$OUT/ours.json" "$OUT" > "$OUT/peers.log" 2>&1
  echo "peers rc=$?"; grep -E "^== peer|Error|error" "$OUT/peers.log" | head -20
  cat "$OUT/bench_table.md" 2>/dev/null
fi
exit $fail
