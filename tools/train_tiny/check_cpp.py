"""Parity of the C++ runtime with the PyTorch definition on an exported model directory.

    python3 tools/train_tiny/check_cpp.py -m MODEL_DIR --bin build/app/minimax-vl \\
        --data data/docgen_heldout/val.jsonl [--limit 20] [--logits 1]

For the first --logits items: teacher-forced logits of the whole prompt (image expanded) from
`minimax-vl logits` against the PyTorch model (fp32, CPU, on the same bf16 weights): max abs
error relative to max |logit| and argmax agreement per position. For every item: the greedy
answer of `minimax-vl ask` (eval prompt: default system prompt, question + DocVQA suffix)
against the PyTorch greedy answer. Exit 1 if a logits check fails (rel err > 1e-3 or any argmax
differs) or fewer than --min-agree of the answers agree. This is the seed of issue 18's
">= 99% same greedy answer" check.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import model as M  # noqa: E402
import heldout_eval  # noqa: E402
from chat import DOCVQA_SUFFIX, ChatEncoder, expand_image  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-m", "--model", required=True)
    ap.add_argument("--bin", default="build/app/minimax-vl")
    ap.add_argument("--data", required=True, help="DocVQA JSONL (image paths relative to it)")
    ap.add_argument("--limit", type=int, default=5)
    ap.add_argument("--logits", type=int, default=1, help="items whose full logits are compared")
    ap.add_argument("--max-new", type=int, default=32)
    ap.add_argument("--min-agree", type=float, default=0.99)
    a = ap.parse_args()
    torch.set_num_threads(2)
    model, tok = M.open_exported(a.model)
    enc = ChatEncoder(tok)
    items = [json.loads(l) for l in open(a.data)][: a.limit]
    root = os.path.dirname(os.path.abspath(a.data))
    ok, agree, rows = True, 0, []
    for i, it in enumerate(items):
        path = os.path.join(root, it["image"])
        img = Image.open(path)
        q = it["question"] + DOCVQA_SUFFIX
        if i < a.logits:
            ids, _ = enc.encode([(q, None)])
            with tempfile.TemporaryDirectory() as td:
                with open(os.path.join(td, "ids.txt"), "w") as f:
                    f.write(" ".join(map(str, ids)))
                out = os.path.join(td, "logits.safetensors")
                subprocess.run([a.bin, "logits", "-m", a.model, "--ids", os.path.join(td, "ids.txt"), "--image", path,
                                "-o", out], check=True, capture_output=True)
                from safetensors.torch import load_file
                cpp = load_file(out)["logits"]
            image = M.preprocess(img)
            full, _, _ = expand_image(ids, [0] * len(ids), enc.image, M.num_image_tokens(img.size))
            ref = model.logits(full, image).float()
            assert ref.shape == cpp.shape, (ref.shape, cpp.shape)
            err = float((ref - cpp).abs().max()) / float(ref.abs().max())
            am = float((ref.argmax(-1) == cpp.argmax(-1)).float().mean())
            good = err <= 1e-3 and am == 1.0
            ok &= good
            print(f"logits item {i}: {tuple(ref.shape)} max|err|/max|ref| = {err:.2e}, argmax agree {am * 100:.2f}% "
                  f"-> {'OK' if good else 'FAIL'}", flush=True)
        t = time.time()
        r = subprocess.run([a.bin, "ask", "-m", a.model, "--image", path, "-n", str(a.max_new), "--json", q],
                           check=True, capture_output=True, text=True)
        cpp_ans = json.loads(r.stdout)["answer"]
        cpp_s = time.time() - t
        py_ans = tok.decode(heldout_eval.greedy(model, torch.device("cpu"), enc, img, q, a.max_new))
        same = cpp_ans.strip() == py_ans.strip()
        agree += same
        rows.append({"question": it["question"], "cpp": cpp_ans, "torch": py_ans, "same": same})
        print(f"item {i}: same={same} ask {cpp_s:.1f}s | cpp {cpp_ans[:60]!r} | torch {py_ans[:60]!r}", flush=True)
    rate = agree / max(1, len(items))
    print(f"greedy answers identical: {agree}/{len(items)} ({rate * 100:.1f}%)")
    ok &= rate >= a.min_agree
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
