"""The PyTorch model's greedy answers to a DocVQA JSONL, and their agreement with a C++ eval run.

    python3 tools/train_tiny/torch_answers.py -m MODEL_DIR --data VAL.jsonl --out torch.jsonl \\
        [--limit N] [--cpp RUN_DIR/predictions.jsonl] [--golden DIR --golden-n 20]

For each item (in file order, the first --limit): the greedy answer of the PyTorch definition
(model.py, fp32 on the CPU, on the exported bf16 weights) to the eval prompt of `minimax-vl eval
docvqa --protocol short` (default system prompt, question + DOCVQA_SUFFIX), read from the same
PNG the C++ runtime reads. Writes one JSON line per item: questionId, question, answers, torch.
With --cpp: compares with `minimax-vl eval` predictions.jsonl by questionId (the "prediction"
field "response"), prints the agreement and ANLS of both, and lists the disagreements.
With --golden DIR: freezes the first --golden-n items for tests/cli/tiny_docs_golden_test.cpp:
DIR/questions.jsonl (DocVQA JSONL, images copied to DIR/images/) and DIR/torch_answers.jsonl,
plus DIR/manifest.json (versions, the command, the model's sha256).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import sys
import time

import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import model as M  # noqa: E402
import heldout_eval  # noqa: E402
from chat import DOCVQA_SUFFIX, ChatEncoder  # noqa: E402


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-m", "--model", required=True)
    ap.add_argument("--data", required=True, help="DocVQA JSONL (image paths relative to it)")
    ap.add_argument("--out", required=True, help="torch answers, one JSON line per item")
    ap.add_argument("--limit", type=int, default=0, help="0 = every item")
    ap.add_argument("--max-new", type=int, default=32, help="as `minimax-vl eval -n 32`")
    ap.add_argument("--cpp", help="a `minimax-vl eval docvqa` predictions.jsonl to compare with")
    ap.add_argument("--golden", help="freeze the first --golden-n items here")
    ap.add_argument("--golden-n", type=int, default=20)
    a = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)  # beside the C++ eval on a 2-core machine
    model, tok = M.open_exported(a.model)
    enc = ChatEncoder(tok)
    items = [json.loads(line) for line in open(a.data)]
    if a.limit:
        items = items[: a.limit]
    root = os.path.dirname(os.path.abspath(a.data))
    done = {}
    if os.path.exists(a.out):  # resume: keep the answers already written
        for line in open(a.out):
            r = json.loads(line)
            done[r["questionId"]] = r
    t0 = time.time()
    feats_of = (None, None)  # (image path, its projected rows): 4 questions share a page
    with open(a.out, "a") as f:
        for i, it in enumerate(items):
            if it["questionId"] in done:
                continue
            if it["image"] != feats_of[0]:
                img = Image.open(os.path.join(root, it["image"])).convert("RGB")
                with torch.no_grad():
                    feats_of = (it["image"], model.image_features(*M.preprocess(img)))
            ids = heldout_eval.greedy_rows(model, torch.device("cpu"), enc, feats_of[1],
                                           it["question"] + DOCVQA_SUFFIX, a.max_new)
            r = {"questionId": it["questionId"], "question": it["question"], "answers": it["answers"],
                 "torch": tok.decode(ids)}
            done[it["questionId"]] = r
            f.write(json.dumps(r) + "\n")
            f.flush()
            if (i + 1) % 20 == 0:
                print(f"{i + 1}/{len(items)} items, {time.time() - t0:.0f} s", flush=True)
    rows = [done[it["questionId"]] for it in items]
    torch_anls = sum(heldout_eval.anls(r["torch"], r["answers"]) for r in rows) / max(1, len(rows))
    print(f"torch: {len(rows)} answers, ANLS {torch_anls:.4f}")
    if a.cpp:
        cpp = {}
        for line in open(a.cpp):
            r = json.loads(line)
            cpp[str(r.get("questionId", r.get("id")))] = r
        same, n, cpp_anls, diffs = 0, 0, 0.0, []
        for r in rows:
            c = cpp.get(str(r["questionId"]))
            if c is None:
                continue
            n += 1
            pred = c.get("response", c.get("prediction", ""))  # minimax-vl eval: the raw answer
            cpp_anls += heldout_eval.anls(pred, r["answers"])
            if pred.strip() == r["torch"].strip():
                same += 1
            else:
                diffs.append((r["questionId"], pred, r["torch"]))
        print(f"C++ vs torch greedy answers: {same}/{n} identical ({100.0 * same / max(1, n):.2f}%); "
              f"C++ ANLS on those {cpp_anls / max(1, n):.4f}")
        for q, c, t in diffs[:20]:
            print(f"  differ {q}: cpp {c!r} torch {t!r}")
    if a.golden:
        os.makedirs(os.path.join(a.golden, "images"), exist_ok=True)
        gold = items[: a.golden_n]
        with open(os.path.join(a.golden, "questions.jsonl"), "w") as fq, \
                open(os.path.join(a.golden, "torch_answers.jsonl"), "w") as fa:
            for it in gold:
                name = os.path.basename(it["image"])
                shutil.copyfile(os.path.join(root, it["image"]), os.path.join(a.golden, "images", name))
                fq.write(json.dumps({k: v for k, v in it.items() if k in ("questionId", "question", "answers")}
                                    | {"image": "images/" + name}) + "\n")
                fa.write(json.dumps({"questionId": it["questionId"], "torch": done[it["questionId"]]["torch"]}) + "\n")
        import tokenizers
        import transformers
        import PIL
        safet = [p for p in os.listdir(a.model) if p.endswith(".safetensors")]
        json.dump({
            "what": "greedy answers of the PyTorch definition (tools/train_tiny/model.py, fp32, CPU) of the "
                    "bundled tiny document model to the first held-out questions, for "
                    "tests/cli/tiny_docs_golden_test.cpp (issue 18: the C++ runtime gives the same answer)",
            "command": "python3 " + " ".join(sys.argv),
            "data": "python3 tools/docgen/docgen.py heldout --out data/docgen_heldout --docs 100 (seeded)",
            "model_sha256": {p: sha256(os.path.join(a.model, p)) for p in sorted(safet)},
            "prompt": "eval --protocol short: default system prompt, question + DOCVQA_SUFFIX; greedy, "
                      f"at most {a.max_new} new tokens",
            "seeds": "none used (greedy); torch.manual_seed(0)",
            "patches": "none (model.py composes transformers' MiniMax text model with the partial-RoPE patch "
                       "of tools/golden, as in training)",
            "versions": {"python": platform.python_version(), "torch": torch.__version__,
                         "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
                         "pillow": PIL.__version__},
        }, open(os.path.join(a.golden, "manifest.json"), "w"), indent=1)
        print(f"froze {len(gold)} items in {a.golden}")


if __name__ == "__main__":
    main()
