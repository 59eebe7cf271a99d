"""Synthetic document generator: one seeded call -> a page image and its question/answer pairs.

    python3 tools/docgen/docgen.py heldout --out data/docgen_heldout [--docs 120]
        writes the held-out set (variant 2 layouts and held-out fonts only) as images + val.jsonl
        in the DocVQA JSONL format that `minimax-vl eval docvqa` reads
    python3 tools/docgen/docgen.py preview --out /tmp/preview [--n 8]
        writes a few training documents with their QAs, to look at

The training split draws from variants 0-1 and the training fonts; the held-out split from
variant 2 and the held-out fonts (see templates.py and fonts.py). Library use: sample_doc(seed, split).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fonts  # noqa: E402
import forms  # noqa: E402
import templates  # noqa: E402
from render import crop_window, degrade  # noqa: E402

MAKERS = {"receipt": templates.receipt, "invoice": templates.invoice, "form": forms.form, "table": forms.table}
KIND_WEIGHTS = {"receipt": 0.3, "invoice": 0.25, "form": 0.25, "table": 0.2}
OCR_QUESTION = "Read all the text in the image."
# Training pages and read windows drawn all in capitals (render.Page.caps), answers in capitals
# too. Session 10's glyph probe (tools/train_tiny/README.md "Session 10") found capitals the
# worst-read glyphs: training text has them mostly in big headers (12% of glyphs), while
# documents also print small capitalised labels, names and items. The held-out split never
# draws this (its pages are unchanged).
CAPS_PROB = 0.2


def make_doc(kind: str, variant: int, font_path: str, rng: np.random.Generator, noise: float = 1.0,
             caps: bool = False):
    pg, qas = MAKERS[kind](rng, font_path, variant, caps)
    if caps:  # the page prints the answers in capitals: the target is what is printed
        qas = [templates.QA(qa.question, list(dict.fromkeys([a.upper() for a in qa.answers] + qa.answers)), qa.qtype)
               for qa in qas]
    img, chars = degrade(pg.img, rng, noise, chars=[c for cs in pg.chars for c in cs])
    seen, uniq = set(), []
    for qa in qas:
        if qa.question not in seen and all(a for a in qa.answers):
            seen.add(qa.question)
            uniq.append(qa)
    # meta["chars"]: (x, y, char) centres of every transcribed character (training glyph labels)
    return templates.Doc(img, uniq, pg.transcript(), kind, variant, os.path.basename(font_path), {"chars": chars})


def sample_doc(seed: int, split: str = "train", kind: str | None = None):
    """Deterministic document for (seed, split)."""
    rng = np.random.default_rng([seed, 0 if split == "train" else 1])
    if kind is None:
        ks = list(KIND_WEIGHTS)
        kind = ks[int(rng.choice(len(ks), p=[KIND_WEIGHTS[k] for k in ks]))]
    if split == "train":
        variant = int(rng.integers(0, templates.HELDOUT_VARIANT))
    else:
        variant = templates.HELDOUT_VARIANT
    fp = fonts.font_paths(split)
    font_path = fp[int(rng.integers(len(fp)))]
    caps = split == "train" and rng.random() < CAPS_PROB  # (no draw for held-out pages)
    return make_doc(kind, variant, font_path, rng, caps=caps)


def sample_crops(seed: int, n: int = 1, max_side: int = 336, with_chars: bool = False):
    """Deterministic reading samples for seed: n (image, transcript) windows of one training page
    (variants 0-1, training fonts; render.crop_window), each degraded like a page. Used early in
    training to teach reading on one tile before questions about whole pages. with_chars: (image,
    transcript, char centres) triples, the same images and transcripts (render.crop_window)."""
    rng = np.random.default_rng([seed, 2])
    ks = list(KIND_WEIGHTS)
    out = []
    for _ in range(4 * n):
        kind = ks[int(rng.choice(len(ks), p=[KIND_WEIGHTS[k] for k in ks]))]
        variant = int(rng.integers(0, templates.HELDOUT_VARIANT))
        fp = fonts.font_paths("train")
        font_path = fp[int(rng.integers(len(fp)))]
        pg, _ = MAKERS[kind](rng, font_path, variant, rng.random() < CAPS_PROB)
        for _ in range(n - len(out)):
            got = crop_window(pg, rng, max_side, with_chars=with_chars)
            if got is not None:
                if with_chars:  # the centres follow degrade's small rotation
                    img, cs = degrade(got[0], rng, chars=got[2])
                    out.append((img, got[1], cs))
                else:
                    out.append((degrade(got[0], rng), got[1]))
        if len(out) == n:
            return out
    raise RuntimeError(f"no text window found for seed {seed}")


def sample_crop(seed: int, max_side: int = 336):
    return sample_crops(seed, 1, max_side)[0]


def heldout_docs(docs: int, seed: int = 90001, split: str = "heldout"):
    """Yields (image name, Doc, [(k, QA)]) of the held-out set: the same pages and questions for
    a given (docs, seed) wherever it runs (the GPU run's estimate uses a prefix of it). split
    'train' draws the same way from the training layouts and fonts (an in-distribution check;
    seeds from 7 * 10**9 on, far from the training batches' 2**62 draws)."""
    if split == "train" and seed == 90001:
        seed = 7 * 10**9
    for d in range(docs):
        kind = list(MAKERS)[d % len(MAKERS)]
        doc = sample_doc(seed + d, split, kind)
        rng = np.random.default_rng([seed, d, 7])
        idx = rng.choice(len(doc.qas), size=min(4, len(doc.qas)), replace=False)
        yield f"images/{kind}_{d:04d}.png", doc, [(int(k), doc.qas[int(k)]) for k in sorted(idx)]


def write_heldout(out: str, docs: int, seed: int = 90001):
    os.makedirs(os.path.join(out, "images"), exist_ok=True)
    rows = []
    for name, doc, qas in heldout_docs(docs, seed):
        doc.image.save(os.path.join(out, name), optimize=True)
        stem = os.path.splitext(os.path.basename(name))[0]
        for k, qa in qas:
            rows.append({"questionId": f"{stem}_{k}", "question": qa.question, "image": name,
                         "answers": qa.answers, "qtype": qa.qtype, "template": f"{doc.kind}_v{doc.variant}",
                         "font": doc.font, "size": list(doc.image.size)})
    with open(os.path.join(out, "val.jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["heldout", "preview"])
    ap.add_argument("--out", required=True)
    ap.add_argument("--docs", type=int, default=100)
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args()
    if a.what == "heldout":
        rows = write_heldout(a.out, a.docs, a.seed if a.seed is not None else 90001)
        print(f"wrote {len(rows)} questions on {a.docs} pages to {a.out}/val.jsonl")
        return
    os.makedirs(a.out, exist_ok=True)
    for i in range(a.n):
        img, text = sample_crop((a.seed or 0) + i)
        img.save(os.path.join(a.out, f"{i:03d}_crop.png"))
        with open(os.path.join(a.out, f"{i:03d}_crop.txt"), "w") as f:
            f.write(text + "\n")
    for i in range(a.n):
        doc = sample_doc((a.seed or 0) + i, "train")
        doc.image.save(os.path.join(a.out, f"{i:03d}_{doc.kind}.png"))
        with open(os.path.join(a.out, f"{i:03d}_{doc.kind}.txt"), "w") as f:
            f.write(f"{doc.kind} v{doc.variant} {doc.font} {doc.image.size}\n")
            for qa in doc.qas:
                f.write(f"Q: {qa.question}  A: {qa.answers}  [{qa.qtype}]\n")
            f.write("--- transcript\n" + doc.transcript + "\n")
    print(f"wrote {a.n} previews to {a.out}")


if __name__ == "__main__":
    main()
