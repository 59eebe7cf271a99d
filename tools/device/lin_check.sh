#!/usr/bin/env bash
# Lightning prefill core (issue 21 item 6) in one GPU call, < 4 minutes after the build:
# builds only lightning_test, lightning_prefill_test and ops_cuda_bench; runs both parity
# tests with MVL_REQUIRE_GPU=1 (every variant against the CPU twin / an fp64 recurrence, with
# per-variant PASS/FAIL); times every prefill variant (ws = the old default, dv32, dv64, the
# sm_90a wgmma kernel with 2/3/4 cp.async stages, state update via a decayed-V smem pass (s),
# decayed-Kᵀ register fragments (r), or r on a second warpgroup (w)) at T = 4K, 16K, 64K (64 heads, d 128, bf16,
# ops_cuda_bench --only lightning, median of 20) and FLA chunk_simple_gla on the same shapes
# (tools/device/peers.py fla(), from a carried .peers/; skipped with a note without one);
# prints median ms, floor, x-floor, FLA/ours (target >= 1.5x) and the winner per length, and
# the one line that makes the winner the default.
#   carry: .stb .pcre2 .httplib [.peers]   (tools/device/prepare_carry.sh; .peers for FLA)
#   tools/device/lin_check.sh
# Leaves under $OUT: gpu.txt, configure.log, build.log, lightning_test.log,
# lightning_prefill_<variant>.log, lightning_prefill_args.log, bench.log, ours.json,
# peers.log + fla.json (with .peers), table.log, summary.txt.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
. "$ROOT/tools/device/check_start.sh"
device_check_start
echo "== lin_check (lightning prefill core): $(head -2 "$OUT/gpu.txt" | tail -1)" | tee -a "$S"

device_build lightning_test lightning_prefill_test ops_cuda_bench || exit 1
t1=$SECONDS

# Variant ids (kernels/cuda/lightning.h) and the names the bench rows use.
VARIANTS="1:ws 32:dv32 64:dv64 902:sm90s2 903:sm90s3 904:sm90s4 912:sm90r2 913:sm90r3 914:sm90r4
  922:sm90w2 923:sm90w3 924:sm90w4"
timeout 120 "$B/tests/lightning_test" > "$OUT/lightning_test.log" 2>&1
rc=$?
echo "== lightning_test (existing cases; value_split 0 = default, 32, 64) rc=$rc  $(grep -E '^\[  (PASSED|FAILED)  \]' "$OUT/lightning_test.log" | tr '\n' ' ')" | tee -a "$S"
grep -E "^\[  FAILED  \]|Failure" "$OUT/lightning_test.log" | head -20 | tee -a "$S"
timeout 60 "$B/tests/lightning_prefill_test" --gtest_filter='LightningPrefillVariantsArgs.*' \
  > "$OUT/lightning_prefill_args.log" 2>&1
echo "== lightning_prefill_test (argument checks) rc=$?" | tee -a "$S"
# One process per variant: its parity cases vs the CPU twin (PASS / FAIL / CRASH / n/a).
PARITY=""
for vn in $VARIANTS; do
  id=${vn%%:*} name=${vn##*:}
  log="$OUT/lightning_prefill_$name.log"
  timeout 90 "$B/tests/lightning_prefill_test" --gtest_filter="*/${name}_*:*/${name}" > "$log" 2>&1
  rc=$?
  npass=$(grep -oE '^\[  PASSED  \] [0-9]+' "$log" | grep -oE '[0-9]+$' || true)
  if [ $rc -eq 0 ] && [ "${npass:-0}" -gt 0 ]; then
    st=PASS
  elif [ $rc -eq 0 ]; then
    st=n/a  # every case skipped: not available on this GPU
  elif grep -q '^\[  FAILED  \]' "$log"; then
    st=FAIL
  else
    st="CRASH"
  fi
  worst=$(grep -E "parity: cuda" "$log" | awk '{print $3}' | sort -g | tail -1)
  PARITY="$PARITY $name=$st"
  echo "parity $name ($id): $st rc=$rc passed=${npass:-0} worst cuda rel err ${worst:--}" | tee -a "$S"
  [ "$st" = PASS ] || grep -E "^\[  FAILED  \]|Failure|error|variant" "$log" | head -8 | tee -a "$S"
done
echo "tests: $((SECONDS - t1)) s" | tee -a "$S"

# Time ws (the old default, covered by lightning_test) and every variant whose parity passed:
# a variant that fails or crashes the tests never takes the bench (and its CUDA context) down.
BENCHV=ws
for x in $PARITY; do
  [ "${x##*=}" = PASS ] && [ "${x%%=*}" != ws ] && BENCHV="$BENCHV,${x%%=*}"
done
echo "timing variants: $BENCHV" | tee -a "$S"
timeout 120 "$B/kernels/bench/ops_cuda_bench" --only lightning --lightning-variants "$BENCHV" \
  --json "$OUT/ours.json" > "$OUT/bench.log" 2>&1
echo "bench rc=$?: $((SECONDS - t1)) s" | tee -a "$S"
grep -E "^GPU|error" "$OUT/bench.log" | tee -a "$S"  # every row is in the table below

# FLA in its own process (Triton compiles/autotunes on first use), so a timeout there still
# leaves our table below.
rm -f "$OUT/fla.json"
if [ -d "$ROOT/.peers" ]; then
  timeout 150 python3 - "$OUT/fla.json" > "$OUT/peers.log" 2>&1 <<'EOF'
import json, os, sys
sys.path.insert(0, os.path.join(os.getcwd(), "tools", "device"))
import peers, torch
print(f"torch {torch.__version__} {torch.cuda.get_device_name(0)}")
peers.guarded("fla", peers.fla)
for k, v in peers.checks.items():
    print(f"FLA check {k}: {v:.3g}" if isinstance(v, float) else f"FLA check {k}: {v}")
fla = {}
for k, v in peers.results.items():
    if isinstance(v, str):
        print(f"(peer failed) {k}: {v}")
    elif k.endswith("|fla"):
        fla[k.split("|")[0].split("T=")[1]] = v
        print(f"FLA chunk_simple_gla {k.split('|')[0]}: {v:.4f} ms")
json.dump(fla, open(sys.argv[1], "w"))
EOF
  echo "FLA peer rc=$?: $((SECONDS - t1)) s" | tee -a "$S"
  grep -E "^FLA|^torch|peer failed" "$OUT/peers.log" | tee -a "$S"
else
  echo "FLA peer SKIPPED: no .peers/ carried (carry .peers to time chunk_simple_gla)" | tee -a "$S"
fi

PARITY="$PARITY" timeout 60 python3 - "$OUT/ours.json" "$OUT/fla.json" > "$OUT/table.log" 2>&1 <<'EOF'
import json, os, sys
ours = json.load(open(sys.argv[1]))
fla = json.load(open(sys.argv[2])) if os.path.exists(sys.argv[2]) else {}
parity = dict(x.split("=", 1) for x in os.environ.get("PARITY", "").split())
print(f"GPU: {ours['gpu']}; copy {ours['copy_bytes_per_s'] / 1e12:.2f} TB/s (the floor's bandwidth)")
print("| T | variant | median ms | floor ms | x floor | FLA ms | FLA/ours | parity |")
print("|---|---|---|---|---|---|---|---|")
wins = {}
for T in ("4096", "16384", "65536"):
    rows = [r for r in ours["rows"] if r["name"].startswith("lightning_prefill_core(") and r["name"].endswith(f" T={T}")]
    best = None
    for r in rows:
        var = r["name"].split("(")[1].split(")")[0]
        f = fla.get(T)
        ratio = f"{f / r['ms']:.2f}x" if isinstance(f, float) else "-"
        fs = f"{f:.4f}" if isinstance(f, float) else "skipped"
        ok = parity.get(var, "?")
        print(f"| {T} | {var} | {r['ms']:.4f} | {r['floor_ms']:.4f} | {r['ms'] / r['floor_ms']:.2f} | {fs} | {ratio} | {ok} |")
        if ok == "PASS" and (best is None or r["ms"] < best[1]):
            best = (var, r["ms"])
    if best:
        wins[T] = best
        f = fla.get(T)
        tgt = (f"FLA/ours {f / best[1]:.2f}x ({'meets' if f / best[1] >= 1.5 else 'MISSES'} >= 1.5x)"
               if isinstance(f, float) else "FLA skipped")
        print(f"winner T={T}: {best[0]} {best[1]:.4f} ms; {tgt}")
if wins:
    total = {}
    for T, (v, _) in wins.items():
        total[v] = total.get(v, 0) + 1
    overall = max(total, key=lambda v: (total[v], v == wins.get("65536", ("",))[0]))
    const = {"ws": "kLightningPrefillWs", "dv32": "kLightningPrefillDv32", "dv64": "kLightningPrefillDv64",
             "sm90s2": "kLightningPrefillSm90S2", "sm90s3": "kLightningPrefillSm90S3",
             "sm90s4": "kLightningPrefillSm90S4", "sm90r2": "kLightningPrefillSm90R2",
             "sm90r3": "kLightningPrefillSm90R3", "sm90r4": "kLightningPrefillSm90R4",
             "sm90w2": "kLightningPrefillSm90W2", "sm90w3": "kLightningPrefillSm90W3",
             "sm90w4": "kLightningPrefillSm90W4"}[overall]
    print(f"WINNER (parity-passing, most lengths won): {overall}. Default today: ws. To flip: in "
          f"kernels/cuda/lightning.cu set `constexpr int kDefaultPrefillVariant = {const};`")
EOF
echo "table rc=$?: $((SECONDS - t1)) s" | tee -a "$S"
tee -a "$S" < "$OUT/table.log"
echo "total after build: $((SECONDS - t1)) s" | tee -a "$S"
