#!/usr/bin/env bash
# The closing GPU call when little device time is left (session 5 had under 10 minutes):
# session_check.sh with the model path only (build, every gpu test, then decode/prefill of the
# base tree in .base/ and this tree, alternating), then the outputs of the tests whose printed
# figures the closing notes quote (sharded host memory, tp 1 through NCCL).
#   carry: .stb .pcre2 .base    (tools/device/prepare_carry.sh)
#   tools/device/short_check.sh [SECONDS_FOR_SESSION_CHECK]   (default 380)
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${OUT:-$ROOT/out}
mkdir -p "$OUT"
echo "tree: $(cat .base/THIS_COMMIT 2>/dev/null), base: $(cat .base/BASE_COMMIT 2>/dev/null)"
OUT=$OUT timeout "${1:-380}" tools/device/session_check.sh --random-weights --path model --layers 6 \
  --tokens 4096 --decode-steps 32 --reps 3
echo "session_check rc=$?"
B=$ROOT/build-device/tests
for t in sharded_load_host_memory_cuda_test sharded_text_model_cuda_test; do
  [ -x "$B/$t" ] || continue
  MVL_REQUIRE_GPU=1 timeout 60 "$B/$t" > "$OUT/$t.log" 2>&1
  echo "== $t rc=$?"
  grep -E "host heap|tp 1 over NCCL|GPU:|PASSED|FAILED" "$OUT/$t.log" | head -12
done
