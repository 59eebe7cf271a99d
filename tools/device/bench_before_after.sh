#!/usr/bin/env bash
# Decode speed before and after a change, on one GPU in one call (issue 12): builds
# `minimax-vl` from a baseline source tree and from this tree, then runs the same
# `bench --random-weights --path model` with each, back to back, and prints both tables and
# the two decode lines side by side.
#
# The baseline tree is prepared on the development machine (the device has no git history):
#   git -C /work/main archive f105f07 --prefix=.bench-base/ CMakeLists.txt cmake kernels llm \
#       vision app configs assets tests/CMakeLists.txt tests/support | tar -x -C /work/main
# .bench-base/ is then an untracked folder of the checkout and travels with the call (or name
# it in `carry`). Like gpu_check.sh, the build needs Debian's PCRE2 and stb_image carried in
# the git-ignored .pcre2/ and .stb/ folders.
#
# Stages (each fits one 10-minute call; build outputs stay on the warm machine):
#   tools/device/bench_before_after.sh build-base   build .bench-base -> build-bench-base/
#   tools/device/bench_before_after.sh build-new    build this tree   -> build-bench-new/
#   tools/device/bench_before_after.sh run [FLAGS]  both benchmarks, same flags (default:
#                                                   --path model), results under $OUT
#   tools/device/bench_before_after.sh all [FLAGS]  the three in order
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${OUT:-$ROOT/out}
mkdir -p "$OUT"
STAGE=${1:-all}
[ $# -ge 1 ] && shift
FLAGS=("$@")
[ ${#FLAGS[@]} -eq 0 ] && FLAGS=(--path model)
BASE_SRC=${BASE_SRC:-$ROOT/.bench-base}

configure_and_build() {  # src dir, build dir, log name
  local src=$1 b=$2 log=$3
  mkdir -p "$b"
  local stb=${STB_INCLUDE_DIR:-$b/stb-missing}
  [ -f "$ROOT/.stb/stb_image.h" ] && stb=$ROOT/.stb
  mkdir -p "$stb"
  if ! pkg-config --exists libpcre2-8 2>/dev/null; then
    [ -f "$ROOT/.pcre2/include/pcre2.h" ] || { echo "no PCRE2: carry .pcre2/ (see gpu_check.sh)"; return 1; }
    mkdir -p "$b/pc-carried"
    printf 'Name: libpcre2-8\nDescription: carried Debian PCRE2\nVersion: 10.42\nLibs: -L%s -lpcre2-8 -Wl,-rpath,%s\nCflags: -I%s\n' \
      "$ROOT/.pcre2/lib" "$ROOT/.pcre2/lib" "$ROOT/.pcre2/include" > "$b/pc-carried/libpcre2-8.pc"
    export PKG_CONFIG_PATH=$b/pc-carried:${PKG_CONFIG_PATH:-}
  fi
  cmake -S "$src" -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMVL_CUDA=ON -DMVL_OPENCV=OFF \
    -DMVL_DESKTOP=OFF -DMVL_TESTS=OFF -DSTB_INCLUDE_DIR="$stb" > "$OUT/$log.configure.log" 2>&1 ||
    { tail -30 "$OUT/$log.configure.log"; return 1; }
  local t0=$SECONDS
  cmake --build "$b" -j"$(nproc)" --target minimax-vl > "$OUT/$log.build.log" 2>&1 ||
    { tail -40 "$OUT/$log.build.log"; return 1; }
  echo "$log: built $b/app/minimax-vl in $((SECONDS - t0)) s"
}

run_both() {
  local base=$ROOT/build-bench-base/app/minimax-vl new=$ROOT/build-bench-new/app/minimax-vl
  for x in "$base" "$new"; do [ -x "$x" ] || { echo "missing $x: run the build stages first"; return 1; }; done
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
  echo "flags: bench --random-weights ${FLAGS[*]}"
  # Before, after, then before again: a drift between the two baseline runs bounds the noise.
  (cd "$BASE_SRC" && timeout 280 "$base" bench --random-weights "${FLAGS[@]}") > "$OUT/bench_before.txt" 2>&1
  echo "before rc=$?"
  timeout 280 "$new" bench --random-weights "${FLAGS[@]}" > "$OUT/bench_after.txt" 2>&1
  echo "after rc=$?"
  echo "== before (f105f07-era model path: device argmax, no host read per step)"
  cat "$OUT/bench_before.txt"
  echo "== after (the engine's raw requests: GPU sampler, the id read back per step)"
  cat "$OUT/bench_after.txt"
  echo "== decode lines side by side"
  for f in before after; do
    grep -E "decode step|prefill T=" "$OUT/bench_$f.txt" | sed "s/^/$f: /"
  done | tee "$OUT/bench_summary.txt"
}

case $STAGE in
  build-base) configure_and_build "$BASE_SRC" "$ROOT/build-bench-base" base ;;
  build-new) configure_and_build "$ROOT" "$ROOT/build-bench-new" new ;;
  run) run_both ;;
  all)
    configure_and_build "$BASE_SRC" "$ROOT/build-bench-base" base &&
      configure_and_build "$ROOT" "$ROOT/build-bench-new" new && run_both ;;
  *) echo "usage: $0 build-base|build-new|run|all [bench flags]"; exit 2 ;;
esac
