#!/usr/bin/env bash
# Issue 21 items 1-2 in one GPU call: builds minimax-vl and the long-context GPU tests the way
# session_check.sh does (OpenCV and the desktop off; Debian's stb_image, PCRE2 and cpp-httplib
# carried; build-device/ reused when present), runs those tests with MVL_REQUIRE_GPU=1, then the
# long-context bench: LONG_TOKENS (default 1048576) positions through the first 8 layers of the
# released shapes (7 lightning + 1 softmax) in 65536-position prefill calls, decode at that
# context, memory at the end; and `info`'s plan for the same slice on this card.
#   carry: .stb .pcre2 .httplib    (see tools/device/prepare_carry.sh)
#   [LONG_TOKENS=N] tools/device/long_vl_check.sh
# Time (H100, estimated from docs/benchmarks.md): build 2-4 min fresh; the 1M prefill ~ 50-70 s
# (linear part: 8 layers at ~72 ms per 4K = ~18 s; the softmax layer's causal attention over 1M
# = 4*T^2*d*H/2 = 1.8e16 FLOP at ~600 TFLOP/s = ~30 s, i.e. 8^2 x the 465 ms measured at 128K),
# plus ~10 s of weights and warm-up. On a card under 120 GB the 8 bf16 layers (~11.3 GB each)
# do not fit, so the experts are made fp8 (--quant fp8-experts; attention and the lightning and
# softmax cores stay bf16; the per-chunk shape of the curve is what this run is for).
# Leaves under $OUT: gpu.txt, configure/build logs, ctest.log, long.log, info.log, summary.txt.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${OUT:-$ROOT/out}
mkdir -p "$OUT"
export MVL_REQUIRE_GPU=1
LONG_TOKENS=${LONG_TOKENS:-1048576}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
S="$OUT/summary.txt"
: > "$S"

. "$ROOT/tools/device/configure.sh"
[ -z "$DEVICE_NOTE" ] || echo "$DEVICE_NOTE" >> "$S"
t0=$SECONDS
B=$ROOT/build-device
configure_device_build "$ROOT" "$B" > "$OUT/configure.log" 2>&1 || { tail -30 "$OUT/configure.log"; exit 1; }
TESTS="long_context_cuda_test decode_graph_cuda_test long_context_test"
cmake --build "$B" -j"$(nproc)" --target minimax-vl $TESTS > "$OUT/build.log" 2>&1 ||
  { grep -B2 -A12 "error" "$OUT/build.log" | head -80; exit 1; }
echo "build: $((SECONDS - t0)) s" | tee -a "$S"
(cd "$B" && timeout 300 ctest -R "LongContext|DecodeGraphCuda" --output-on-failure -j4) > "$OUT/ctest.log" 2>&1
echo "ctest LongContext|DecodeGraphCuda rc=$?" | tee -a "$S"
grep -E "tests passed|tests failed|captures .* scratch" "$OUT/ctest.log" | tee -a "$S"
grep -E "^\s+[0-9]+ - .*\((Failed|Timeout|SEGFAULT|Subprocess)" "$OUT/ctest.log" | head -20 | tee -a "$S"

CLI=$B/app/minimax-vl
MEM_MIB=$(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits -i 0 | head -1)
QUANT=()
[ "${MEM_MIB:-0}" -lt 122880 ] && QUANT=(--quant fp8-experts)
GIB=$(awk -v m="$MEM_MIB" 'BEGIN { printf "%.1f", m / 1024 }')
"$CLI" info -m configs/minimax-vl-01.json --layers 8 -c "$LONG_TOKENS" --ubatch-size 16384 \
  --device-memory "$GIB" ${QUANT[@]+"${QUANT[@]}"} > "$OUT/info.log" 2>&1
echo "== info --layers 8 -c $LONG_TOKENS --device-memory $GIB ${QUANT[*]-} rc=$?" | tee -a "$S"
grep -E "memory plan|gpu 0|max context" "$OUT/info.log" | tee -a "$S"

t1=$SECONDS
timeout 300 "$CLI" bench --random-weights --path long --layers 8 --tokens "$LONG_TOKENS" --chunk 65536 \
  --ubatch-size 16384 --decode-steps 8 ${QUANT[@]+"${QUANT[@]}"} > "$OUT/long.log" 2>&1
echo "== bench --path long --tokens $LONG_TOKENS ${QUANT[*]-} rc=$? ($((SECONDS - t1)) s)" | tee -a "$S"
cat "$OUT/long.log" | tail -40 | tee -a "$S"
echo "total: $((SECONDS - t0)) s" | tee -a "$S"
