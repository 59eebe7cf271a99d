#!/usr/bin/env bash
# Issue 21 item 1 in one GPU call: builds minimax-vl the way long_vl_check.sh does (OpenCV and the
# desktop off; Debian's stb_image/stb_image_write, PCRE2 and cpp-httplib carried; build-device/
# reused when present), then times the image question end to end, twice through our engine and
# once through the composed HF peer, in the same call on the same GPU:
#   1. bench --path vl with ask's prefill policy (512-position prefill calls, 8192-position passes)
#   2. bench --path vl with the whole prompt in one prefill call and one pass (the peer's policy)
#   3. tools/device/vl_peer.py: CLIPVisionModel (sdpa) + MLP projector + MiniMaxForCausalLM at the
#      same --layers over the same PNGs, tiles and prompt length (read from 1 and 2's result lines)
# Images: a generated 2016x2016 page and 1000x1400 scan (kept in $OUT/vl_images). VL_LAYERS text
# layers (default 2, the first of the released stack: both lightning), VL_REPS reps (default 5).
#   carry: .stb .pcre2 .httplib    (see tools/device/prepare_carry.sh)
#   [VL_LAYERS=N] [VL_REPS=R] tools/device/vl_check.sh
# Time (H100, estimated): build 2-4 min fresh (seconds when build-device/ is warm); each bench run
# ~20-40 s (random weights: ~25 GB of text layers made on the GPU, the 0.6 GB vision file written
# and loaded; 2 images x (1 + reps) x 2 requests); the peer ~1 min (models made on the GPU in bf16,
# 2 images x (1 + reps) questions). Under ~3 min after the build.
# Leaves under $OUT: gpu.txt, configure/build logs, vl_ask.log, vl_one.log, vl_peer.log,
# vl_table.md, vl_peer.json, vl_images/, summary.txt.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${OUT:-$ROOT/out}
mkdir -p "$OUT"
VL_LAYERS=${VL_LAYERS:-2}
VL_REPS=${VL_REPS:-5}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
S="$OUT/summary.txt"
: > "$S"

. "$ROOT/tools/device/configure.sh"
[ -z "$DEVICE_NOTE" ] || echo "$DEVICE_NOTE" >> "$S"
t0=$SECONDS
B=$ROOT/build-device
configure_device_build "$ROOT" "$B" > "$OUT/configure.log" 2>&1 || { tail -30 "$OUT/configure.log"; exit 1; }
cmake --build "$B" -j"$(nproc)" --target minimax-vl > "$OUT/build.log" 2>&1 ||
  { grep -B2 -A12 "error" "$OUT/build.log" | head -80; exit 1; }
echo "build: $((SECONDS - t0)) s" | tee -a "$S"
head -1 "$OUT/gpu.txt" >> "$S"; tail -n +2 "$OUT/gpu.txt" | tee -a "$S"

CLI=$B/app/minimax-vl
IMG=$OUT/vl_images
run_bench() {  # run_bench LOG [extra flags]
  local log=$1
  shift
  local t1=$SECONDS
  timeout 240 "$CLI" bench --random-weights --path vl --layers "$VL_LAYERS" --reps "$VL_REPS" --images-dir "$IMG" \
    "$@" > "$OUT/$log" 2>&1
  echo "== bench --path vl --layers $VL_LAYERS $* rc=$? ($((SECONDS - t1)) s)" | tee -a "$S"
  grep -v "^result:" "$OUT/$log" | tail -40 | tee -a "$S"
}
run_bench vl_ask.log
run_bench vl_one.log --chunk 0 --ubatch-size 0

t1=$SECONDS
OURS=()
for f in vl_ask.log vl_one.log; do grep -q "^result:" "$OUT/$f" && OURS+=(--ours "$OUT/$f"); done
if [ ${#OURS[@]} -gt 0 ]; then
  timeout 300 python3 "$ROOT/tools/device/vl_peer.py" "${OURS[@]}" --layers "$VL_LAYERS" --reps "$VL_REPS" \
    --out "$OUT" > "$OUT/vl_peer.log" 2>&1
  echo "== peer (HF transformers) rc=$? ($((SECONDS - t1)) s)" | tee -a "$S"
  if [ -f "$OUT/vl_table.md" ]; then cat "$OUT/vl_table.md" | tee -a "$S"; else tail -30 "$OUT/vl_peer.log" | tee -a "$S"; fi
else
  echo "== peer skipped: no result lines from our bench" | tee -a "$S"
fi
echo "total: $((SECONDS - t0)) s" | tee -a "$S"
