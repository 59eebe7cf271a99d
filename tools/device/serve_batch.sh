#!/usr/bin/env bash
# One GPU call for continuous batching (issue 19 targets, issue 21 item 5) on the real model
# path with random weights at the released shapes:
#   1. builds minimax-vl (with `serve`: Debian's cpp-httplib carried in .httplib) and
#      decode_batch_cuda_test into build-device (incremental if session_check.sh built there);
#   2. decode_batch_cuda_test with MVL_REQUIRE_GPU=1 (decode_batch == B decode() calls);
#   3. `bench --random-weights --path model --batch B` for B = 8, 32, 64 (each prints B = 1 too:
#      per-sequence and aggregate tok/s);
#   4. `serve --random-weights --layers L --device cuda` driven by tools/server/loadgen.py:
#      1 / 16 / 64 concurrent streams, lone-request TTFT idle vs under 8 decoding streams.
#   carry: .stb .pcre2 .httplib   (tools/device/prepare_carry.sh fills them)
#   tools/device/serve_batch.sh [LAYERS]     (serve: LAYERS-1 lightning + 1 softmax layer of the
#   released config, default 2; bench: as many of its first layers as fit, at most 8)
# Run it after session_check.sh on the same warm machine to reuse build-device (about 10 min
# from scratch otherwise: split into two calls if the first one times out in the build).
# Leaves under $OUT: build.log, decode_batch.log, bench_bN.log, loadgen.log, summary.txt.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${OUT:-$ROOT/out}
mkdir -p "$OUT"
LAYERS=${1:-2}
S="$OUT/summary.txt"
: > "$S"
export MVL_REQUIRE_GPU=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$S"

mkdir -p "$ROOT/build-pc"
if [ -d "$ROOT/.pcre2" ]; then
  printf 'Name: libpcre2-8\nDescription: carried Debian PCRE2\nVersion: 10.42\nLibs: -L%s -lpcre2-8 -Wl,-rpath,%s\nCflags: -I%s\n' \
    "$ROOT/.pcre2/lib" "$ROOT/.pcre2/lib" "$ROOT/.pcre2/include" > "$ROOT/build-pc/libpcre2-8.pc"
  export PKG_CONFIG_PATH=$ROOT/build-pc:${PKG_CONFIG_PATH:-}
fi
. "$ROOT/tools/device/httplib_pc.sh"
pkg-config --exists cpp-httplib || { echo "no cpp-httplib: carry .httplib (tools/device/prepare_carry.sh)" | tee -a "$S"; exit 1; }

t0=$SECONDS
B=$ROOT/build-device
cmake -S "$ROOT" -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMVL_CUDA=ON -DMVL_OPENCV=OFF -DMVL_DESKTOP=OFF \
  -DSTB_INCLUDE_DIR="$ROOT/.stb" > "$OUT/configure.log" 2>&1 || { tail -30 "$OUT/configure.log" | tee -a "$S"; exit 1; }
cmake --build "$B" -j"$(nproc)" --target minimax-vl decode_batch_cuda_test > "$OUT/build.log" 2>&1 ||
  { grep -B2 -A12 "error" "$OUT/build.log" | head -60 | tee -a "$S"; exit 1; }
echo "build: $((SECONDS - t0)) s" | tee -a "$S"
CLI=$B/app/minimax-vl

timeout 300 "$B/tests/decode_batch_cuda_test" > "$OUT/decode_batch.log" 2>&1
echo "decode_batch_cuda_test rc=$?" | tee -a "$S"
grep -E "bf16 vs CPU|PASSED|FAILED" "$OUT/decode_batch.log" | tee -a "$S"

for b in 8 32 64; do
  timeout 240 "$CLI" bench --random-weights --path model --tokens 1024 --decode-steps 24 --reps 1 \
    --batch "$b" > "$OUT/bench_b$b.log" 2>&1
  echo "bench --batch $b rc=$?" | tee -a "$S"
  grep -E "^decode B=|mean batch" "$OUT/bench_b$b.log" | tee -a "$S"
done

timeout 420 python3 "$ROOT/tools/server/loadgen.py" --cli "$CLI" --max-tokens 128 -- \
  --random-weights --layers "$LAYERS" --device cuda > "$OUT/loadgen.log" 2>&1
echo "loadgen rc=$?" | tee -a "$S"
cat "$OUT/loadgen.log" | tail -12 | tee -a "$S"
