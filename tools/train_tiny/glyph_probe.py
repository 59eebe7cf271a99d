"""Do a model's image rows name the glyphs in fonts it never saw? A linear glyph probe on frozen
features, CPU, a few minutes:

    python3 tools/train_tiny/glyph_probe.py -m assets/models/tiny-docs [--windows 200]

Renders read windows (docgen's crop_window + degrade, with character centres) from three sets:
  fit      training layouts (variants 0-1) and training fonts: the probe is fitted on these
  train    fresh windows of the same kind: the probe's accuracy where the model was trained
  heldout  the held-out layout (variant 2) in the held-out fonts: what eval's pages look like
then runs the model's ViT + projector on their anyres tiles (thumbnail and grid) and fits a
linear classifier (RMS-normalised 128-d row -> 96 glyph classes, as train.py's glyph head) on the
glyph-labelled patches of `fit`. Prints its accuracy on `train` and `heldout`. A large gap says
the vision path does not carry over to unseen fonts/layouts (more fonts and augmentation needed);
equal accuracies say the features generalise and the gap is elsewhere (the LM, the tokenizer).
The exported model has no glyph head (training-only), hence the probe.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import model as M  # noqa: E402
import data  # noqa: E402
import docgen  # noqa: E402  (on the path through data)
import fonts  # noqa: E402
import templates  # noqa: E402
from render import crop_window, degrade  # noqa: E402


def windows(split: str, n: int, seed: int):
    """n (image, char centres) read windows; split 'train' = variants 0-1 and training fonts,
    'heldout' = the held-out variant and fonts."""
    rng = np.random.default_rng([seed, 7])
    fp = fonts.font_paths("train" if split == "train" else "heldout")
    kinds = list(docgen.MAKERS)
    out = []
    while len(out) < n:
        kind = kinds[int(rng.integers(len(kinds)))]
        variant = int(rng.integers(0, templates.HELDOUT_VARIANT)) if split == "train" else templates.HELDOUT_VARIANT
        pg, _ = docgen.MAKERS[kind](rng, fp[int(rng.integers(len(fp)))], variant)
        for _ in range(2):
            got = crop_window(pg, rng, 336, with_chars=True)
            if got is not None and len(out) < n:
                img, cs = degrade(got[0], rng, chars=got[2])
                out.append((img, cs))
    return out


@torch.no_grad()
def features(model, wins):
    """-> (rows [P, H] RMS-normalised, classes [P]) over the glyph-labelled patches."""
    xs, ys = [], []
    for img, cs in wins:
        tiles, best = data.ref.anyres_tiles(img.convert("RGB"))
        u8 = torch.from_numpy(np.stack([np.asarray(t, dtype=np.uint8) for t in tiles]))
        g = torch.from_numpy(data.glyph_labels(img.size, best, cs)).reshape(-1)
        z = model.project(data.normalize(u8, "cpu")).reshape(-1, model.t["hidden"]).float()
        z = z * torch.rsqrt(z.pow(2).mean(-1, keepdim=True) + 1e-5)
        k = g > 0
        xs.append(z[k])
        ys.append(g[k])
    return torch.cat(xs), torch.cat(ys)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-m", "--model", required=True)
    ap.add_argument("--windows", type=int, default=200, help="windows per set")
    ap.add_argument("--epochs", type=int, default=60)
    a = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(2)
    model, _ = M.open_exported(a.model)
    t0 = time.time()
    sets = {name: features(model, windows(split, a.windows, seed))
            for name, split, seed in (("fit", "train", 1), ("train", "train", 2), ("heldout", "heldout", 3))}
    print(f"features in {time.time() - t0:.0f} s: " +
          ", ".join(f"{k} {v[0].shape[0]} glyph patches" for k, v in sets.items()))
    x, y = sets["fit"]
    head = torch.nn.Linear(x.shape[1], data.GLYPH_CLASSES)
    opt = torch.optim.Adam(head.parameters(), lr=1e-2)
    for _ in range(a.epochs):  # full batch: a few tens of thousands of 128-d rows
        opt.zero_grad()
        F.cross_entropy(head(x), y).backward()
        opt.step()
    majority = float((y == y.mode().values).float().mean())
    res = {k: float((head(v[0]).argmax(-1) == v[1]).float().mean()) for k, v in sets.items()}
    print(f"linear glyph probe accuracy: fit {res['fit']:.3f}, train (fresh windows) {res['train']:.3f}, "
          f"heldout fonts+layout {res['heldout']:.3f}; majority class {majority:.3f}")
    groups = {"digits": "0123456789", "upper": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
              "lower": "abcdefghijklmnopqrstuvwxyz", "punct": "$.,:-/#&'()%"}
    for k in ("train", "heldout"):
        xv, yv = sets[k]
        pred = head(xv).argmax(-1)
        parts = []
        for gname, chars in groups.items():
            m = torch.isin(yv, torch.tensor([data.glyph_class(c) for c in chars]))
            if m.any():
                parts.append(f"{gname} {float((pred[m] == yv[m]).float().mean()):.3f} ({int(m.sum())})")
        print(f"  {k}: " + ", ".join(parts))


if __name__ == "__main__":
    main()
