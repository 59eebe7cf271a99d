#!/usr/bin/env bash
# Issue 15's GPU check: builds the gpu targets through gpu_check.sh (same configure, same carried
# .pcre2/ folder for the llm tests; benchmarks and peers skipped), then runs the NCCL and the
# sharded-model GPU tests with MVL_REQUIRE_GPU=1 and prints their result lines. Success:
#   nccl_comm_cuda_test: OneRankIsTheIdentityEagerAndInAGraph passes (the several-GPU case
#     skips on one GPU, passes on several);
#   sharded_text_model_cuda_test: "tp 1 over NCCL, f32: 32 greedy tokens equal: yes" and the
#     same for bf16 with "on the same tokens 0" (bit-identical logits), "tp 1 traces, bf16/f32:
#     ... first divergent: none" (per-layer traces of prefill and 8 decode steps), and the
#     GPU's name on the "GPU:" line.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${OUT:-$ROOT/out}
mkdir -p "$OUT"
SKIP=tests,bench,layers,peers "$ROOT/tools/device/gpu_check.sh" > "$OUT/parallel_build.log" 2>&1
echo "gpu_check build rc=$?"
fail=0
for t in nccl_comm_cuda_test sharded_text_model_cuda_test; do
  bin=$ROOT/build-device/tests/$t
  if [ ! -x "$bin" ]; then
    echo "$t: not built (sharded_text_model_cuda_test needs the carried .pcre2/; see gpu_check.sh)"
    fail=1
    continue
  fi
  MVL_REQUIRE_GPU=1 timeout 300 "$bin" > "$OUT/$t.log" 2>&1
  rc=$?
  echo "$t: rc=$rc"
  grep -E "GPU:|tp [0-9]|^\[  (PASSED|FAILED|SKIPPED) |Failure|Expected|Which is" "$OUT/$t.log" | head -40
  [ $rc -ne 0 ] && fail=1
done
exit $fail
