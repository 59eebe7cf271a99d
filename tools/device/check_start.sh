# Sourced by the one-purpose GPU check scripts (attn_decode, bdec, lin, moeb, sfx, vit), after
# they set ROOT and cd there: the start every one of them shares.
#   device_check_start          $OUT (default $ROOT/out), $S = $OUT/summary.txt (emptied),
#                               $OUT/gpu.txt, MVL_REQUIRE_GPU=1, t0 = now
#   device_build TARGET...      configure build-device/ ($B) as tools/device/configure.sh does
#                               and build only TARGETs; logs in $OUT, errors also in $S;
#                               non-zero when either step fails
device_check_start() {
  OUT=${OUT:-$ROOT/out}
  mkdir -p "$OUT"
  export MVL_REQUIRE_GPU=1
  S="$OUT/summary.txt"
  : > "$S"
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem --format=csv |
    tee "$OUT/gpu.txt"
  t0=$SECONDS
}

device_build() {
  . "$ROOT/tools/device/configure.sh"
  B=$ROOT/build-device
  configure_device_build "$ROOT" "$B" > "$OUT/configure.log" 2>&1 ||
    { tail -30 "$OUT/configure.log" | tee -a "$S"; return 1; }
  cmake --build "$B" -j"$(nproc)" --target "$@" > "$OUT/build.log" 2>&1 ||
    { grep -B2 -A12 "error" "$OUT/build.log" | head -80 | tee -a "$S"; return 1; }
  echo "configure + build: $((SECONDS - t0)) s" | tee -a "$S"
}
