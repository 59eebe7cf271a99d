#!/usr/bin/env bash
# Issue 17's accuracy golden on the GPU machine (it has torch + transformers 5.17, no registry):
# installs the carried optimum-quanto wheel (pure python, --no-deps: its needs torch, numpy,
# safetensors, huggingface_hub are there) into /tmp/site and runs
# tools/golden/quant/make_quant_golden.py in f32 on the CPU, writing accuracy.json and
# manifest.json to $OUT (copy them to tests/golden/quant/).
#   carry: a folder D (ignored by git) holding optimum_quanto-*.whl and, when this checkout lacks
#          them, tools/golden/{quant,text}/*.py; then:  bash D/tools/device/quant_golden.sh D
# Prepare D here:
#   python3 -m pip download --no-deps --only-binary=:all: -d D optimum-quanto==0.2.7
#   mkdir -p D/tools && cp -r tools/golden tools/device D/tools/
# About 30 s (two tiny configs, f32 on the CPU).
set -euo pipefail
D=${1:-.}
OUT=${OUT:-$PWD/out}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$D"/optimum_quanto-*.whl
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
python3 -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'
S="$D/tools/golden/quant/make_quant_golden.py"
[ -f "$S" ] || S=tools/golden/quant/make_quant_golden.py
time python3 "$S" --out "$OUT" --text-golden tests/golden/text 2>&1 | tee "$OUT/quant_golden.log"
