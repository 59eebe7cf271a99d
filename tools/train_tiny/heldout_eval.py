"""Held-out accuracy estimate of the PyTorch model: greedy answers to the held-out questions
(tools/docgen heldout_docs: variant-2 layouts, held-out fonts) with the eval prompt
(`minimax-vl eval docvqa --protocol short`: default system prompt, question + suffix), scored
with ANLS (threshold 0.5, lowercase, whitespace collapsed) as app/eval does.
"""
from __future__ import annotations

import json
import os
import re
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "docgen"))
import docgen  # noqa: E402
import model as M  # noqa: E402
from chat import DOCVQA_SUFFIX, ChatEncoder, expand_image  # noqa: E402


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s.strip().lower())


def _lev(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def anls(pred: str, refs) -> float:
    best = 0.0
    p = _norm(pred)
    for r in refs:
        r = _norm(r)
        m = max(len(p), len(r))
        nl = _lev(p, r) / m if m else 0.0
        best = max(best, 1 - nl if nl < 0.5 else 0.0)
    return best


@torch.no_grad()
def greedy(model, dev, enc, doc_image, question, max_new=32):
    pv, size, best = M.preprocess(doc_image)
    return greedy_rows(model, dev, enc, model.image_features(pv.to(dev), size, best), question, max_new)


@torch.no_grad()
def greedy_rows(model, dev, enc, feats, question, max_new=32):
    """greedy() on a page's image rows computed once (its questions share them). The whole
    sequence is run again at every step, no cache: transformers' cached decode of this patched
    model picked other tokens than the uncached pass on near ties (docs/tiny_docs_eval.md)."""
    ids, _ = enc.encode([(question, None)])
    ids, _, k = expand_image(ids, [0] * len(ids), enc.image, feats.shape[0])
    emb = model.lm.model.embed_tokens(torch.tensor([ids], device=dev))[0]
    emb = torch.cat([emb[:k], feats.to(emb.dtype), emb[k + feats.shape[0]:]], 0)
    out = []
    for _ in range(max_new):
        logits = model.lm(inputs_embeds=emb[None], use_cache=False, logits_to_keep=1).logits[0, -1]
        nxt = int(logits[: enc.tok.get_vocab_size()].argmax())  # ids the tokenizer has, as the C++ sampler
        if nxt == enc.eos:
            break
        out.append(nxt)
        emb = torch.cat([emb, model.lm.model.embed_tokens(torch.tensor([nxt], device=dev))], 0)
    return out


def heldout_estimate(model, dev, tokenizer_path, n_docs, out_path, log=print, max_new=24, split="heldout",
                     stop_at=None):
    """ANLS of greedy answers on the first n_docs held-out pages (split 'train': the same kinds
    and question sampling on fresh pages of the training layouts and fonts instead). Stops early
    (fewer questions, counted in the result) once time.time() passes stop_at."""
    import time
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(tokenizer_path)
    enc = ChatEncoder(tok)
    rows, total, exact = [], 0.0, 0
    amp = torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda")
    with amp:
        for name, doc, qas in docgen.heldout_docs(n_docs, split=split):
            if stop_at is not None and time.time() > stop_at:
                log(f"estimate stopped at the deadline after {len(rows)} questions")
                break
            for k, qa in qas:
                ids = greedy(model, dev, enc, doc.image, qa.question + DOCVQA_SUFFIX, max_new)
                pred = tok.decode(ids)
                s = anls(pred, qa.answers)
                total += s
                exact += int(any(_norm(pred) == _norm(r) for r in qa.answers))
                rows.append({"image": name, "question": qa.question, "answers": qa.answers, "pred": pred,
                             "anls": round(s, 4), "qtype": qa.qtype})
    with open(out_path, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    n = max(1, len(rows))
    by = {}
    for r in rows:
        by.setdefault(r["qtype"], []).append(r["anls"])
    est = {"questions": len(rows), "anls": round(total / n, 4), "exact": round(exact / n, 4),
           "by_qtype": {k: round(sum(v) / len(v), 3) for k, v in sorted(by.items())}}
    log(f"{'held-out' if split == 'heldout' else 'training-layout'} estimate ({n_docs} pages): {est}")
    for r in rows[:6]:
        log(f"  Q {r['question']} | A {r['answers'][0]} | pred {r['pred']!r}")
    return est
