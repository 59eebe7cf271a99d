#!/usr/bin/env bash
# Issue 17 on the GPU machine in one call: builds minimax-vl + the quantized-kernel parity test
# (reusing build-device/ when session_check.sh already made it), runs the parity test with
# MVL_REQUIRE_GPU=1, then the benchmark rows of docs/benchmarks.md:
#   - one MoE layer with quantized experts at the released shapes: decode n=1 per format vs its
#     bytes floor, prefill 4K per format vs our bf16 (bench --path kernels --quant ...);
#   - the model path (bench --path model) at bf16 and at each --quant scheme: decode step vs the
#     bytes floor of that format.
#   carry: .stb .pcre2 (tools/device/prepare_carry.sh), as session_check.sh
#   tools/device/quant_bench.sh            everything (about 2-3 minutes on an H100 with a built
#                                          build-device/; final_check.sh gives it 150 s, so the
#                                          rows come most important first and each is printed
#                                          as soon as it is measured)
#   SKIP=model tools/device/quant_bench.sh  parity + kernel rows only
# Leaves under $OUT: gpu.txt, build.log, quant_cuda_test.log, bench_*.log, quant_rows.md.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${OUT:-$ROOT/out}
mkdir -p "$OUT"
export MVL_REQUIRE_GPU=1
SKIP=${SKIP:-}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)
R="$OUT/quant_rows.md"

B=$ROOT/build-device
if [ ! -f "$B/build.ninja" ]; then  # else reuse what session_check.sh configured
  . "$ROOT/tools/device/configure.sh"
  configure_device_build "$ROOT" "$B" > "$OUT/configure.log" 2>&1 || { tail -30 "$OUT/configure.log"; exit 1; }
fi
t0=$SECONDS
cmake --build "$B" -j"$(nproc)" --target minimax-vl quant_cuda_test > "$OUT/build.log" 2>&1 ||
  { grep -B2 -A12 "error" "$OUT/build.log" | head -80; exit 1; }
echo "build: $((SECONDS - t0)) s"
CLI=$B/app/minimax-vl

timeout 60 "$B/tests/quant_cuda_test" > "$OUT/quant_cuda_test.log" 2>&1
echo "quant_cuda_test rc=$? $(grep -E '^\[  (PASSED|FAILED) ' "$OUT/quant_cuda_test.log" | tr '\n' ' ')"
grep -E "FAILED|Failure|Expected|Which is|parity" "$OUT/quant_cuda_test.log" | head -40

{
  echo "### Quantized weights (issue 17): $GPU, one call ($(date -u +%F), commit $(cat "$ROOT/.base/THIS_COMMIT" 2>/dev/null || git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?"))"
  echo
  echo "Command: \`tools/device/quant_bench.sh\`. Floors: bytes read / measured copy rate (decode), FLOPs / measured bf16 GEMM rate (prefill)."
  echo
  echo "| what | median ms | floor ms | x floor | note |"
  echo "|---|---|---|---|---|"
} > "$R"

# Kernel rows: one MoE layer per format (the replica runs 1 layer only, to keep the call short).
timeout 100 "$CLI" bench --random-weights --path kernels --layers 1 --tokens 4096 --reps 3 \
  --quant fp8-experts > "$OUT/bench_kernels.log" 2>&1
echo "bench kernels rc=$?"
awk '/== kernels: one MoE layer/{on=1; next} on && /^moe /{
  n=split($0, f, /  +/); printf("| %s | %s | %s | %s | %s |\n", f[1], f[2], f[3], f[4], f[5]) }' \
  "$OUT/bench_kernels.log" | tee -a "$R"

# Model rows: 8 layers (7 lightning + 1 softmax) where they fit, decode at context 4096.
if [[ "$SKIP" != *model* ]]; then
  for q in int8 fp8-experts int4-experts int8-experts bf16; do
    timeout 120 "$CLI" bench --random-weights --path model --layers 8 --tokens 4096 \
      --decode-steps 16 --reps 2 --quant "$q" > "$OUT/bench_model_$q.log" 2>&1 ||
      timeout 120 "$CLI" bench --random-weights --path model --tokens 4096 --decode-steps 16 \
        --reps 2 --quant "$q" > "$OUT/bench_model_$q.log" 2>&1
    echo "bench model $q rc=$?"
    L=$(grep -oE '^[0-9]+ layers' "$OUT/bench_model_$q.log" | head -1)
    G=$(awk '/decode step, CUDA graph/{print $(NF-1)}' "$OUT/bench_model_$q.log")
    FL=$(grep -oE '= [0-9.]+ ms; graph step = [0-9.]+x' "$OUT/bench_model_$q.log" | awk '{print $2, $7}')
    P=$(awk '/prefill T=/{print $(NF-1)}' "$OUT/bench_model_$q.log")
    echo "| model decode step --quant $q ($L, ctx 4096, graph) | $G | ${FL% *} | ${FL#* } | prefill 4096 tokens $P ms |" | tee -a "$R"
  done
fi
echo "rows: $R"
