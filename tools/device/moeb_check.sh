#!/usr/bin/env bash
# Batched decode (issue 21 item 5) in one GPU call: builds moe_test, lightning_decode_test,
# ops_cuda_bench and minimax-vl on build-device/, then minimax-vl once more with the product's
# MoE decode switched to the tensor-core kernels (moe.cu kProductMmaMinTokens/Variant, default
# "8 0" = from 8 tokens, tiling 0; only moe.cu recompiles); runs both parity tests with
# MVL_REQUIRE_GPU=1; sweeps the MoE decode kernels (CUDA-core vs the 8 tensor-core tilings of
# moe_decode_mma.cu) at n = 1, 8, 16, 32, 64 and the lightning decode kernels
# (lightning_decode.h) at B = 64, 128, 256 (ops_cuda_bench --only moe_batch / lightning_decode:
# median ms, floor, x floor, winner); times the peer HF MiniMaxSparseMoeBlock at n = 8 and 64
# (as tools/device/peers.py builds it); and runs the model path
# `minimax-vl bench --random-weights --path model --layers 2 --batch B` for B = 8, 32, 64 with
# both binaries (each run also prints B = 1 with a CUDA graph). About 3 minutes after the build.
#   carry: .stb .pcre2 .httplib   (tools/device/prepare_carry.sh; only the configure needs them)
#   [MOEB_MODEL=0] tools/device/moeb_check.sh [MMA_MIN_TOKENS MMA_VARIANT]   (the second binary's choice;
#   MOEB_MODEL=0 skips the second binary and the model-path runs: kernels, tests and peer only)
# Leaves under $OUT: gpu.txt, configure.log, build*.log, *_test.log, moe.json, lightning.json,
# bench_*.log, peer.log, model_{cuda-core,mma}_B*.log, summary.txt.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
. "$ROOT/tools/device/check_start.sh"
device_check_start
MMA_MIN=${1:-8}
MMA_VAR=${2:-0}

device_build moe_test lightning_decode_test ops_cuda_bench minimax-vl || exit 1
cp "$B/app/minimax-vl" "$B/minimax-vl-cuda-core"
if [ "${MOEB_MODEL:-1}" = 1 ]; then
cp "$ROOT/kernels/cuda/moe.cu" "$OUT/moe.cu.orig"
sed -i "s/^constexpr int kProductMmaMinTokens = [0-9]*;/constexpr int kProductMmaMinTokens = $MMA_MIN;/; s/^constexpr int kProductMmaVariant = [0-9]*;/constexpr int kProductMmaVariant = $MMA_VAR;/" \
  "$ROOT/kernels/cuda/moe.cu"
cmake --build "$B" -j"$(nproc)" --target minimax-vl > "$OUT/build_mma.log" 2>&1 || { grep -B2 -A12 "error" "$OUT/build_mma.log" | head -40; exit 1; }
cp "$B/app/minimax-vl" "$B/minimax-vl-mma"
echo "second binary (minimax-vl-mma): $(grep -E '^constexpr int kProductMma' "$ROOT/kernels/cuda/moe.cu" | tr '\n' ' ')" | tee -a "$S"
cp "$OUT/moe.cu.orig" "$ROOT/kernels/cuda/moe.cu" && rm "$OUT/moe.cu.orig"  # the tree as it came
fi
echo "configure + builds (both binaries): $((SECONDS - t0)) s" | tee -a "$S"
t1=$SECONDS

for t in moe_test lightning_decode_test; do
  timeout 120 "$B/tests/$t" > "$OUT/$t.log" 2>&1
  rc=$?
  echo "== $t rc=$rc  $(grep -E '^\[  (PASSED|FAILED)  \]' "$OUT/$t.log" | tr '\n' ' ')" | tee -a "$S"
  grep -E "FAILED|Failure|Expected|Which is|tokens per expert" "$OUT/$t.log" | head -40 | tee -a "$S"
done
echo "tests: $((SECONDS - t1)) s" | tee -a "$S"

timeout 150 "$B/kernels/bench/ops_cuda_bench" --only moe_batch --json "$OUT/moe.json" > "$OUT/bench_moe.log" 2>&1
echo "moe sweep rc=$?: $((SECONDS - t1)) s" | tee -a "$S"
timeout 90 "$B/kernels/bench/ops_cuda_bench" --only lightning_decode --json "$OUT/lightning.json" > "$OUT/bench_lightning.log" 2>&1
echo "lightning sweep rc=$?: $((SECONDS - t1)) s" | tee -a "$S"

# Peer: HF MiniMaxSparseMoeBlock at the released shapes, built on the GPU in bf16.
timeout 120 python3 - > "$OUT/peer.log" 2>&1 <<'EOF'
import os, sys, json
sys.path.insert(0, os.path.join(os.getcwd(), "tools", "device"))
import torch
import peers
from transformers.models.minimax.modeling_minimax import MiniMaxSparseMoeBlock
cfg = peers.hf_minimax_cfg()
try:
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("cuda"):
        m = MiniMaxSparseMoeBlock(cfg).eval()
    torch.set_default_dtype(torch.float32)
except Exception as e:
    print("on-GPU construction failed, building on the CPU:", e)
    torch.set_default_dtype(torch.float32)
    m = MiniMaxSparseMoeBlock(cfg).to("cuda", torch.bfloat16).eval()
for p in m.parameters():
    torch.nn.init.uniform_(p, -0.02, 0.02)
res = {}
with torch.no_grad():
    for n in (8, 64):
        x = torch.rand(1, n, 6144, device="cuda", dtype=torch.bfloat16) * 2 - 1
        res[n] = peers.timeit(lambda: m(x), reps=10)
print("PEER " + json.dumps({"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "ms": res}))
EOF
echo "peer rc=$?: $((SECONDS - t1)) s" | tee -a "$S"

for b in 8 32 64; do
  [ "${MOEB_MODEL:-1}" = 1 ] || break
  for which in cuda-core mma; do
    timeout 60 "$B/minimax-vl-$which" bench --random-weights --path model --layers 2 --batch $b \
      --tokens 1024 --decode-steps 16 --reps 1 > "$OUT/model_${which}_B$b.log" 2>&1
    echo "model bench $which B=$b rc=$?: $((SECONDS - t1)) s" | tee -a "$S"
  done
done

python3 "$ROOT/tools/device/moeb_summary.py" "$OUT" 2>&1 | tee -a "$S"
echo "total after build: $((SECONDS - t1)) s" | tee -a "$S"
