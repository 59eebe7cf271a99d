#!/usr/bin/env bash
# Issue 17 on the GPU machine: builds only the quantized-MoE decode sweep
# (kernels/bench/quant_moe_sweep.cu, target quant_moe_sweep) and runs it, leaving the table in
# $OUT/quant_sweep.txt (plus gpu.txt, configure.log, build.log). Reuses build-device/ when an
# earlier script (session_check.sh, quant_bench.sh) configured it; otherwise configures a
# minimal build-sweep/ (no tests, no OpenCV, no desktop; configure-only stubs for PCRE2,
# cpp-httplib and stb when they were not carried: only kernels/ is compiled for this target).
# Carry nothing, or .pcre2 .stb as the other scripts (tools/device/prepare_carry.sh).
#   tools/device/quant_sweep.sh                 all formats, n = 1, 8, 64 (about 1-2 min of run)
#   ARGS="--n 1 --formats int4" tools/device/quant_sweep.sh    a subset
# Then set QmoeTuned in kernels/cuda/quant_moe.cu from the "best passing" table.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${OUT:-$ROOT/out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem --format=csv | tee "$OUT/gpu.txt"

B=$ROOT/build-device
if [ ! -f "$B/build.ninja" ]; then
  B=$ROOT/build-sweep
  STB=$B/stb-missing
  [ -f "$ROOT/.stb/stb_image.h" ] && STB=$ROOT/.stb
  mkdir -p "$STB"
  if ! pkg-config --exists libpcre2-8 2>/dev/null; then
    mkdir -p "$B/pc"
    if [ -f "$ROOT/.pcre2/include/pcre2.h" ]; then
      printf 'Name: libpcre2-8\nDescription: carried Debian PCRE2\nVersion: 10.42\nLibs: -L%s -lpcre2-8 -Wl,-rpath,%s\nCflags: -I%s\n' \
        "$ROOT/.pcre2/lib" "$ROOT/.pcre2/lib" "$ROOT/.pcre2/include" > "$B/pc/libpcre2-8.pc"
    else
      printf 'Name: libpcre2-8\nDescription: stub for configuring kernel targets only\nVersion: 10.42\nLibs: -lpcre2-8\nCflags:\n' > "$B/pc/libpcre2-8.pc"
    fi
  fi
  # Nor cpp-httplib (app/server requires it at configure time; this target never builds it).
  if ! pkg-config --exists cpp-httplib 2>/dev/null; then
    mkdir -p "$B/pc"
    printf 'Name: cpp-httplib\nDescription: stub for configuring kernel targets only\nVersion: 0.11.4\nLibs: -lcpp-httplib\nCflags:\n' > "$B/pc/cpp-httplib.pc"
  fi
  export PKG_CONFIG_PATH=$B/pc:${PKG_CONFIG_PATH:-}
  cmake -S "$ROOT" -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMVL_CUDA=ON -DMVL_OPENCV=OFF \
    -DMVL_DESKTOP=OFF -DMVL_TESTS=OFF -DSTB_INCLUDE_DIR="$STB" > "$OUT/configure.log" 2>&1 ||
    { tail -30 "$OUT/configure.log"; exit 1; }
fi
t0=$SECONDS
cmake --build "$B" -j"$(nproc)" --target quant_moe_sweep > "$OUT/build.log" 2>&1 ||
  { grep -B2 -A12 "error" "$OUT/build.log" | head -80; exit 1; }
echo "build: $((SECONDS - t0)) s"
SWEEP=$(find "$B" -name quant_moe_sweep -type f -perm -u+x | head -1)
# shellcheck disable=SC2086
timeout 300 "$SWEEP" ${ARGS:-} > "$OUT/quant_sweep.txt" 2> "$OUT/quant_sweep.err"
rc=$?
echo "quant_moe_sweep rc=$rc (1 = some configuration FAILs the diff check)"
tail -5 "$OUT/quant_sweep.err"
# The summary (best passing per format/n) first, then the full table.
sed -n '/^best passing/,$p' "$OUT/quant_sweep.txt"
exit $rc
