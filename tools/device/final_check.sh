#!/usr/bin/env bash
# A session's closing GPU call in one command: session_check.sh (build, every gpu test, model
# decode base vs this), then quant_bench.sh (issue 17 rows) and serve_batch.sh (issue 19/21
# batching rows) on the same build-device/; `sweep` (quant_sweep.sh: the quantized-MoE decode
# tilings, issue 17) `golden` (ctest -L golden on build-device/), `attn` (attn_decode_check.sh)
# `long` (long_vl_check.sh), `vl` (vl_check.sh, issue 21), `tpq` (tpquant_check.sh, issue 17),
# `lin`, `moeb`, `vit`, `sfx`, `bdec` (lin_check.sh, moeb_check.sh, vit_check.sh, sfx_check.sh,
# bdec_check.sh, issue 21) run only when STEPS
# names them. Each step's logs go to $OUT/<step>/; they are
# packed into $OUT/logs.tar.gz (the device tool returns only a few files per call) and the
# summaries are printed.
#   carry: .stb .pcre2 .httplib .base   (tools/device/prepare_carry.sh fills them)
#   [STEPS="session quant serve"] tools/device/final_check.sh [SERVE_LAYERS]
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${OUT:-$ROOT/out}
mkdir -p "$OUT"
t0=$SECONDS
step() {  # step NAME TIMEOUT CMD...
  local name=$1 limit=$2
  shift 2
  mkdir -p "$OUT/$name"
  OUT="$OUT/$name" timeout "$limit" "$@" > "$OUT/$name/stdout.log" 2>&1
  echo "== $name rc=$? at $((SECONDS - t0)) s"
}
# STEPS picks the steps (default all three; a short device budget: STEPS=session).
STEPS=${STEPS:-"session quant serve"}
for s in $STEPS; do
  case $s in
    session)
      step session ${SESSION_LIMIT:-300} tools/device/session_check.sh --random-weights --layers 6 --tokens 4096 --decode-steps 32 --reps 3
      grep -v -E "^what|replica|prefill lightning|prefill MoE|memory:" "$OUT/session/summary.txt" ;;
    quant)
      step quant ${QUANT_LIMIT:-150} tools/device/quant_bench.sh
      tail -22 "$OUT/quant/stdout.log" ;;
    golden)  # the reference comparisons (ctest -L golden: CPU goldens and the quantization
             # accuracy golden) on the GPU machine, on session's build-device/
      step golden ${GOLDEN_LIMIT:-200} bash -c "cd '$ROOT/build-device' && ctest -L golden -j8 --output-on-failure -V"
      grep -E "tests passed|tests failed|Total Test time|ratio|logits relative|^ *[0-9]+: +(layer|logits|embed)" "$OUT/golden/stdout.log" | head -60 ;;
    attn)    # issue 21 item 3: the flash-decoding kernel's parity tests and rows vs SDPA
      step attn ${ATTN_LIMIT:-240} tools/device/attn_decode_check.sh
      cat "$OUT/attn/summary.txt" 2>/dev/null | head -40 ;;
    long)    # issue 21 item 2: long-context GPU tests, info's plan, the 1M-token slice
      step long ${LONG_LIMIT:-300} tools/device/long_vl_check.sh
      cat "$OUT/long/summary.txt" 2>/dev/null | head -60 ;;
    vl)      # issue 21 item 1: bench --path vl (image question end to end) and the HF peer
      step vl ${VL_LIMIT:-420} tools/device/vl_check.sh
      cat "$OUT/vl/summary.txt" 2>/dev/null | head -60 ;;
    tpq)     # issue 17 deliver 3: quantized experts on the tensor-parallel path (per-rank kernels)
      step tpq ${TPQ_LIMIT:-200} tools/device/tpquant_check.sh
      cat "$OUT/tpq/summary.txt" 2>/dev/null | head -50 ;;
    lin)     # issue 21 item 6: the lightning prefill core's sm_90a variants vs FLA
      step lin ${LIN_LIMIT:-200} tools/device/lin_check.sh
      cat "$OUT/lin/summary.txt" 2>/dev/null | head -60 ;;
    moeb)    # issue 21 item 5: batched MoE decode (tensor-core tilings) and lightning decode kernels
      step moeb ${MOEB_LIMIT:-240} tools/device/moeb_check.sh
      cat "$OUT/moeb/summary.txt" 2>/dev/null | head -70 ;;
    vit)     # issue 21 item 4: the ViT's d64 attention and fused epilogues vs HF CLIP
      step vit ${VIT_LIMIT:-240} tools/device/vit_check.sh
      cat "$OUT/vit/summary.txt" 2>/dev/null | head -60 ;;
    sfx)     # issue 21 item 3: d128 causal prefill schedules vs torch SDPA at 8K/32K/128K
      step sfx ${SFX_LIMIT:-240} tools/device/sfx_check.sh
      cat "$OUT/sfx/summary.txt" 2>/dev/null | head -60 ;;
    bdec)    # issue 21 item 5: the model's batched decode step (gather launches, CUDA graph), B = 1..64
      step bdec ${BDEC_LIMIT:-240} tools/device/bdec_check.sh
      cat "$OUT/bdec/summary.txt" 2>/dev/null | head -60 ;;
    sweep)
      step sweep 240 tools/device/quant_sweep.sh
      grep -A40 -i "best passing" "$OUT/sweep/quant_sweep.txt" 2>/dev/null | head -60 ||
        tail -40 "$OUT/sweep/stdout.log" ;;
    serve)
      step serve 200 tools/device/serve_batch.sh "${1:-2}"
      cat "$OUT/serve/summary.txt" 2>/dev/null | head -60 ;;
    *) echo "final_check: unknown step '$s' (session, quant, golden, attn, long, vl, tpq, lin, moeb, vit, sfx, bdec, sweep, serve)" >&2 ;;
  esac
done
(cd "$OUT" && tar -czf logs.tar.gz $STEPS && rm -rf $STEPS)
echo "total $((SECONDS - t0)) s"
