#!/usr/bin/env bash
# Issue 17's two missed kernel targets, checked in one GPU call (branch quantk): int4-experts MoE
# decode on the tensor cores (kernels/cuda/quant_moe_int4.cuh) and the fp8-experts prefill with one
# activation quantize per projection (quant_moe.cu). Builds as quant_bench.sh does (reusing
# build-device/ when present), then:
#   1. quant_cuda_test and fp8_gemm_cuda_test with MVL_REQUIRE_GPU=1 (CPU-reference parity; the
#      int4 MoE cases at n = 1, 3, 9, 64 run the new kernels, fp8 at n = 65, 200 the new prefill);
#   2. quant_moe_sweep --n 1 --formats int4 (the tensor-core tilings "gu mma kKS uU" / "dn mma ..."
#      beside the CUDA-core ones and the old baseline; '*' = the product's, QmoeTuned<kI4>);
#   3. the issue 17 kernel rows: bench --path kernels --layers 1 --tokens 4096 --quant fp8-experts
#      (moe decode n=1 for every format vs its bytes floor, moe prefill 4K per format vs bf16);
#   4. the int4-experts 8-layer model decode row (bench --path model --quant int4-experts).
#   carry: .stb .pcre2 .httplib (tools/device/prepare_carry.sh)
#   tools/device/quantk_check.sh    about 2-3 min on an H100 after the build
# Leaves under $OUT: gpu.txt, build.log, *_test.log, quant_sweep_int4.txt, bench_kernels.log,
# bench_model_int4-experts.log.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${OUT:-$ROOT/out}
mkdir -p "$OUT"
export MVL_REQUIRE_GPU=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"

B=$ROOT/build-device
if [ ! -f "$B/build.ninja" ]; then  # else reuse what session_check.sh configured
  . "$ROOT/tools/device/configure.sh"
  configure_device_build "$ROOT" "$B" > "$OUT/configure.log" 2>&1 || { tail -30 "$OUT/configure.log"; exit 1; }
fi
t0=$SECONDS
cmake --build "$B" -j"$(nproc)" --target minimax-vl quant_cuda_test fp8_gemm_cuda_test \
  quant_moe_sweep > "$OUT/build.log" 2>&1 ||
  { grep -B2 -A12 "error" "$OUT/build.log" | head -80; exit 1; }
echo "build: $((SECONDS - t0)) s"
CLI=$B/app/minimax-vl
t0=$SECONDS

for t in quant_cuda_test fp8_gemm_cuda_test; do
  timeout 90 "$B/tests/$t" > "$OUT/$t.log" 2>&1
  echo "$t rc=$? $(grep -E '^\[  (PASSED|FAILED) ' "$OUT/$t.log" | tr '\n' ' ')"
  grep -E "FAILED|Failure|Expected|Which is|parity" "$OUT/$t.log" | head -30
done

SWEEP=$(find "$B" -name quant_moe_sweep -type f -perm -u+x | head -1)
timeout 90 "$SWEEP" --n 1 --formats int4 > "$OUT/quant_sweep_int4.txt" 2> "$OUT/quant_sweep_int4.err"
echo "quant_moe_sweep int4 n=1 rc=$? (1 = some configuration FAILs the diff check)"
tail -3 "$OUT/quant_sweep_int4.err"
grep -E "^int4 +1 +(gate/up|down)" "$OUT/quant_sweep_int4.txt" | sort -k6,6g | head -40
sed -n '/^best passing/,/^dense GEMV/p' "$OUT/quant_sweep_int4.txt"
grep -E "configurations FAIL" "$OUT/quant_sweep_int4.txt"

timeout 100 "$CLI" bench --random-weights --path kernels --layers 1 --tokens 4096 --reps 3 \
  --quant fp8-experts > "$OUT/bench_kernels.log" 2>&1
echo "bench kernels rc=$?"
awk '/== kernels: one MoE layer/{on=1} on' "$OUT/bench_kernels.log" | grep -E "^(==|moe )"

timeout 120 "$CLI" bench --random-weights --path model --layers 8 --tokens 4096 --decode-steps 16 \
  --reps 2 --quant int4-experts > "$OUT/bench_model_int4-experts.log" 2>&1
echo "bench model int4-experts rc=$?"
grep -E "layers|decode step|floor|prefill T=" "$OUT/bench_model_int4-experts.log" | head -12
echo "run: $((SECONDS - t0)) s after the build"
