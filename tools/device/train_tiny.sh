#!/usr/bin/env bash
# One GPU call of the tiny model's training (issue 18), run from the repo root on the GPU machine.
#   tools/device/train_tiny.sh [MINUTES] [RESUME_DIR]
# Needs the carried, git-ignored tools/docgen/fonts/ (python3 tools/docgen/fonts.py --collect)
# and, to resume, the carried model directory of the previous call (RESUME_DIR, e.g.
# data/tiny_ckpt after unpacking its model.tar there). Results in $OUT (4 files, each < 16 MiB):
#   model.tar   the exported model dir (released layout, config, tokenizer, manifest.json)
#   train.log   loss / throughput log and the held-out estimate
#   manifest.json  the recipe (steps, batch, LR schedule, seeds, versions, GPU minutes)
#   heldout_preds.jsonl  the held-out questions, answers and greedy predictions
#   trainsplit_preds.jsonl  the same on fresh pages of the training layouts/fonts (in-distribution)
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${OUT:-$ROOT/out}
mkdir -p "$OUT"
MINUTES=${1:-7}
RESUME=${2:-}
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false OMP_NUM_THREADS=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
"${PY:-python3}" -c 'import torch, transformers, tokenizers, PIL; print("torch", torch.__version__, "transformers",
transformers.__version__, "tokenizers", tokenizers.__version__, "pillow", PIL.__version__, "cuda", torch.cuda.is_available())'
ls tools/docgen/fonts/*.ttf > /dev/null || { echo "tools/docgen/fonts/ not carried"; exit 1; }
WORK=/tmp/train_tiny
rm -rf "$WORK"
# VISION_WARMUP (steps, default 0 = off): the first steps train ViT + projector on the glyph loss
# alone (read batches, no LM), see tools/train_tiny/README.md "Session 9 (CPU)"; a resume past it
# skips it. Off by default: session 9's GPU run read without it (tiny-docs), the warm-up is untried.
# TOKENIZER (chars|bpe, default chars) is a new model's tokenizer (tools/train_tiny/README.md
# "Session 10"); a resume keeps its model's.
# BATCH / WORKERS / EVAL_DOCS / TRAIN_EVAL_DOCS / EVAL_MAX_NEW / PY override the defaults (a CPU dry
# run: BATCH=1 WORKERS=1 EVAL_DOCS=1 TRAIN_EVAL_DOCS=1 EVAL_MAX_NEW=2). DEADLINE (minutes, default 9.3)
# stops the held-out estimates early so that the export still happens inside a 600 s call.
ARGS=(--out "$WORK" --minutes "$MINUTES" --batch "${BATCH:-16}" --workers "${WORKERS:-14}" --eval-docs "${EVAL_DOCS:-30}"
      --train-eval-docs "${TRAIN_EVAL_DOCS:-10}" --eval-max-new "${EVAL_MAX_NEW:-32}" --deadline-minutes "${DEADLINE:-9.3}"
      --vision-warmup "${VISION_WARMUP:-0}" --tokenizer "${TOKENIZER:-chars}")
[ -n "$RESUME" ] && ARGS+=(--resume "$RESUME")
"${PY:-python3}" tools/train_tiny/train.py "${ARGS[@]}" 2>&1 | grep -v -i "warn"
rc=${PIPESTATUS[0]}
cp "$WORK/train.log" "$OUT/" 2>/dev/null
cp "$WORK/heldout_preds.jsonl" "$WORK/trainsplit_preds.jsonl" "$OUT/" 2>/dev/null
if [ -d "$WORK/model" ]; then
  cp "$WORK/model/manifest.json" "$OUT/"
  tar -C "$WORK" -cf "$OUT/model.tar" model
fi
ls -la "$OUT"
exit "$rc"
