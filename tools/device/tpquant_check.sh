#!/usr/bin/env bash
# Issue 17 on the tensor-parallel path, one GPU: the quantized MoE kernels on a rank's expert
# range (ops::moe_expert_range, kernels/cuda/quant_moe.cu) and the sharded model with --quant.
#   carry: .stb .pcre2 .httplib   (tools/device/prepare_carry.sh; minimax-vl and the llm tests
#          need the carried PCRE2)
#   tools/device/tpquant_check.sh
# Builds only sharded_quant_cuda_test, quant_cuda_test, quant_model_cuda_test and minimax-vl on
# build-device/, then:
#  1. parity (MVL_REQUIRE_GPU=1): sharded_quant_cuda_test (each expert range bit-identical to the
#     one-GPU block on zeroed experts; the sharded l3s1 model with every --quant scheme, RankMoe
#     kernels and generic, within the bf16 rule of the CPU; tp 2 skips on one GPU), and
#     quant_cuda_test + quant_model_cuda_test (the one-GPU quantized MoE, whose decode/prefill
#     code was split into helpers for the range path: must still pass unchanged);
#  2. timings, released shapes, 2 layers, prompt 256, 16 decode steps x 3 reps, medians:
#       A  bench --path model --tp 1 --quant Q                      TextModel (the tp-1 kernels)
#       B  the same --rank-moe kernels   sharded path, every rank's MoE = ops::moe_expert_range
#       C  the same --rank-moe generic   sharded path, dequantize-per-call (the old tp>1 path)
#     for Q = int8-experts (A, B, C) and int4-experts (A, B). The sharded path has no CUDA graphs
#     yet, so compare op-by-op decode (eager) rows: B/A close to 1 = the ranks run the tp-1
#     kernels; C/A = what the old path cost.
# Leaves under $OUT: gpu.txt, configure.log, build.log, <test>.log, bench_<run>.log, summary.txt.
# Verdict: if sharded_quant_cuda_test PASSED and B/A eager <= 1.15, flip the default with one
# line: llm/parallel/sharded_layers.h `kDefaultRankMoe = RankMoe::kernels`.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${OUT:-$ROOT/out}
mkdir -p "$OUT"
export MVL_REQUIRE_GPU=1
S="$OUT/summary.txt"
: > "$S"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)
echo "GPU: $GPU ($(nvidia-smi -L | wc -l) visible)" | tee -a "$S"
t0=$SECONDS

. "$ROOT/tools/device/configure.sh"
B=$ROOT/build-device
configure_device_build "$ROOT" "$B" > "$OUT/configure.log" 2>&1 || { tail -30 "$OUT/configure.log" | tee -a "$S"; exit 1; }
cmake --build "$B" -j"$(nproc)" --target sharded_quant_cuda_test quant_cuda_test \
  quant_model_cuda_test minimax-vl > "$OUT/build.log" 2>&1 ||
  { grep -B2 -A12 "error" "$OUT/build.log" | head -80 | tee -a "$S"; exit 1; }
echo "configure + build: $((SECONDS - t0)) s" | tee -a "$S"
t1=$SECONDS

# 1. Parity first.
parity=PASS
for t in sharded_quant_cuda_test quant_cuda_test quant_model_cuda_test; do
  timeout 200 "$B/tests/$t" > "$OUT/$t.log" 2>&1
  rc=$?
  [ $rc -ne 0 ] && parity=FAIL
  echo "== $t rc=$rc $( [ $rc -eq 0 ] && echo PASS || echo FAIL )  $(grep -E '^\[  (PASSED|FAILED|SKIPPED)  \]' "$OUT/$t.log" | tr '\n' ' ')" | tee -a "$S"
  grep -E "FAILED|Failure|Expected|Which is|rank .* fall back|ranges summed|vs CPU f32|SKIPPED.*GPU|one GPU here" \
    "$OUT/$t.log" | head -40 | tee -a "$S"
done
echo "parity: $parity ($((SECONDS - t1)) s)" | tee -a "$S"

# 2. Timings.
CFG=$ROOT/configs/minimax-vl-01.json
COMMON=(bench --random-weights --config "$CFG" --path model --layers 2 --tokens 256
        --decode-steps 16 --reps 3 --device cuda:0 --tp 1)
declare -A EAGER GRAPH PREFILL
run_bench() {  # run_bench NAME ARGS...
  local name=$1; shift
  timeout 150 "$B/app/minimax-vl" "${COMMON[@]}" "$@" > "$OUT/bench_$name.log" 2>&1
  local rc=$?
  EAGER[$name]=$(awk '/^decode step, op by op/ {print $(NF-1)}' "$OUT/bench_$name.log")
  GRAPH[$name]=$(awk '/^decode step, CUDA graph/ {print $(NF-1)}' "$OUT/bench_$name.log")
  PREFILL[$name]=$(awk '/^prefill T=/ {print $(NF-1)}' "$OUT/bench_$name.log")
  printf "%-22s rc=%-3s prefill %8s ms  decode eager %8s ms  graph %8s ms  (%s)\n" "$name" "$rc" \
    "${PREFILL[$name]:--}" "${EAGER[$name]:--}" "${GRAPH[$name]:--}" "$*" | tee -a "$S"
  [ $rc -ne 0 ] && tail -3 "$OUT/bench_$name.log" | tee -a "$S"
  grep -E "^decode bytes floor" "$OUT/bench_$name.log" | head -1 | sed "s/^/  $name /" | tee -a "$S"
}
[ -x "$B/app/minimax-vl" ] || echo "minimax-vl not at $B/app/minimax-vl" | tee -a "$S"
run_bench int8_A_tp1 --quant int8-experts
run_bench int8_B_kernels --quant int8-experts --rank-moe kernels
run_bench int8_C_generic --quant int8-experts --rank-moe generic
run_bench int4_A_tp1 --quant int4-experts
run_bench int4_B_kernels --quant int4-experts --rank-moe kernels
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "-" }'; }
echo "== ratios (op-by-op decode step; the peer is A, TextModel's tp-1 quantized kernels, same run, $GPU)" | tee -a "$S"
for q in int8 int4; do
  echo "  $q-experts  B kernels / A tp1: $(ratio "${EAGER[${q}_B_kernels]:-0}" "${EAGER[${q}_A_tp1]:-0}")  (prefill $(ratio "${PREFILL[${q}_B_kernels]:-0}" "${PREFILL[${q}_A_tp1]:-0}"))" | tee -a "$S"
done
echo "  int8-experts C generic / A tp1: $(ratio "${EAGER[int8_C_generic]:-0}" "${EAGER[int8_A_tp1]:-0}")  (prefill $(ratio "${PREFILL[int8_C_generic]:-0}" "${PREFILL[int8_A_tp1]:-0}")); C / B: $(ratio "${EAGER[int8_C_generic]:-0}" "${EAGER[int8_B_kernels]:-0}")" | tee -a "$S"
winner=$(awk -v b="${EAGER[int8_B_kernels]:-0}" -v c="${EAGER[int8_C_generic]:-0}" 'BEGIN { if (b > 0 && (c == 0 || b < c)) print "kernels"; else print "generic" }')
echo "faster per-rank MoE: $winner; parity $parity" | tee -a "$S"
bk=$(ratio "${EAGER[int8_B_kernels]:-0}" "${EAGER[int8_A_tp1]:-0}")
if [ "$parity" = PASS ] && [ "$winner" = kernels ] && awk -v r="$bk" 'BEGIN { exit !(r != "-" && r <= 1.15) }'; then
  echo "VERDICT: flip llm/parallel/sharded_layers.h kDefaultRankMoe to RankMoe::kernels" | tee -a "$S"
else
  echo "VERDICT: keep kDefaultRankMoe = RankMoe::generic (parity $parity, B/A $bk)" | tee -a "$S"
fi
echo "total after build: $((SECONDS - t1)) s; all: $((SECONDS - t0)) s" | tee -a "$S"
