#!/usr/bin/env bash
# Softmax decode (issue 21 item 3) in one GPU call, < 4 minutes on an H100 from a fresh
# configure: builds only attention_decode_test, attention_test and ops_cuda_bench; runs both
# parity tests with MVL_REQUIRE_GPU=1; times the `softmax_decode ctx=32768 B=1/16` rows
# (ops_cuda_bench --only softmax_decode, median of 20, eager and CUDA-graph replay) and torch
# SDPA on the same shapes (tools/device/peers.py sdpa_decode(), the decode half of sdpa());
# prints ours/floor and SDPA/ours (target >= 1.2).
#   carry: .stb .pcre2 .httplib   (tools/device/prepare_carry.sh; only the configure needs them)
#   tools/device/attn_decode_check.sh
# Leaves under $OUT: gpu.txt, configure.log, build.log, *_test.log, bench.log, ours.json,
# peers.log, summary.txt.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
. "$ROOT/tools/device/check_start.sh"
device_check_start

# Configured as session_check.sh does (carried PCRE2 / stb / cpp-httplib; a PCRE2 stub when none
# was carried: only kernels/ targets are built here).
device_build attention_decode_test attention_test ops_cuda_bench || exit 1

# The d128 prefill schedules (Sm90D128Schedules, ~90 s against the CPU reference) are
# sfx_check.sh's; skipped here so the decode rows fit a short call (session 9 lost them to it).
for t in attention_decode_test attention_test; do
  timeout 300 "$B/tests/$t" --gtest_filter=-Tunings/Sm90D128Schedules.* > "$OUT/$t.log" 2>&1
  rc=$?
  echo "== $t rc=$rc  $(grep -E '^\[  (PASSED|FAILED)  \]' "$OUT/$t.log" | tr '\n' ' ')" | tee -a "$S"
  grep -E "FAILED|Failure|parity: cuda|automatic splits" "$OUT/$t.log" | head -60 | tee -a "$S"
done
echo "tests: $((SECONDS - t0)) s" | tee -a "$S"

timeout 120 "$B/kernels/bench/ops_cuda_bench" --only softmax_decode --json "$OUT/ours.json" 2>&1 | tee "$OUT/bench.log"
echo "bench rc=${PIPESTATUS[0]}: $((SECONDS - t0)) s" | tee -a "$S"

timeout 150 python3 - "$OUT/ours.json" > "$OUT/peers.log" 2>&1 <<'EOF'
import json, os, sys
sys.path.insert(0, os.path.join(os.getcwd(), "tools", "device"))
import peers, torch
peers.guarded("sdpa", peers.sdpa_decode)
ours = json.load(open(sys.argv[1]))
print(f"GPU: {ours['gpu']} / torch {torch.__version__} {torch.cuda.get_device_name(0)}; "
      f"copy {ours['copy_bytes_per_s'] / 1e12:.2f} TB/s (the floor's bandwidth)")
print("| row | eager ms | graph ms | floor ms | best/floor | SDPA ms | SDPA/best | target |")
print("|---|---|---|---|---|---|---|---|")
for r in ours["rows"]:
    if not r["name"].startswith("softmax_decode"):
        continue
    best = min(r["ms"], r.get("graph_ms", r["ms"]))
    base = r["name"].split(" [")[0]
    t = peers.results.get(f"{base}|sdpa")
    sp = f"{t / best:.2f}x" if isinstance(t, float) else "-"
    ts = f"{t:.4f}" if isinstance(t, float) else str(t)
    print(f"| {r['name']} | {r['ms']:.4f} | {r.get('graph_ms', float('nan')):.4f} | {r['floor_ms']:.4f} | "
          f"{best / r['floor_ms']:.2f} | {ts} | {sp} | >= 1.2x |")
for k, v in peers.results.items():
    if isinstance(v, str):
        print(f"(peer failed) {k}: {v}")
EOF
echo "peers rc=$?: $((SECONDS - t0)) s" | tee -a "$S"
grep -vE "^\s*$" "$OUT/peers.log" | tail -20 | tee -a "$S"
echo "total: $((SECONDS - t0)) s" | tee -a "$S"
