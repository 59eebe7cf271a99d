"""Training batches rendered on the fly: each batch index i has its own seed (data_seed, i), so a
run resumed at step s sees exactly the batches it would have seen. Two kinds of batch (CURRICULUM):
  * read: 2 x batch one-tile windows of training pages (docgen.sample_crop), each with the one
    turn "Read all the text in the image." answered by the window's transcript: dense targets
    whose image-text alignment is simple, about 1,200 image tokens each;
  * page: batch whole pages, each one multi-turn conversation (its image in the first user
    message): 4-10 of its questions, each with the eval suffix or without (as `ask` sends it),
    and, half the time, a last turn that transcribes the page (last, so no earlier answer can
    copy from it).
Read batches dominate early (reading first), pages later (read_prob).
"""
from __future__ import annotations

import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "docgen"))
sys.path.insert(0, os.path.join(HERE, "..", "golden", "vision"))
import docgen  # noqa: E402
import reference_preprocess as ref  # noqa: E402  (model.py put tools/golden/vision on the path)
from chat import DOCVQA_SUFFIX, ChatEncoder, expand_image  # noqa: E402

# A cap on transcript targets, never reached by the documents docgen makes: 300 training pages
# have at most 254 BPE tokens and 490 characters (one token each with tokenizer_chars), so 320
# (the BPE-era value) would cut 30% of the pages' transcripts under the character tokenizer.
MAX_OCR_TOKENS = 640
# Page batches carry glyph labels too (session 9): the grid tiles of a page hold 5x a read window's
# glyphs, and page batches are 25% of the batches early and 70% late; the page thumbnail (the whole
# page squashed into one tile, several characters per patch) is left unlabelled.
PAGE_GLYPHS = True
# Glyph labels of read windows (the auxiliary per-patch loss, model.TinyVL.glyph_head): class of the
# character whose centre falls in a 14 px patch of a tile: 0 none, 1..94 ASCII 33..126, 95 other.
GLYPH_CLASSES = 96
# A glyph whose centre lies within GLYPH_MARGIN px (tile pixels) of its patch's left or right side
# straddles two patches: that patch gets no label (-100, neither glyph nor blank). Session 9: 0.222
# vs 0.206 held-out glyph accuracy after 1,600 windows, ahead at every checkpoint (README).
GLYPH_MARGIN = 3.0
# Reading curriculum (recorded in the manifest): batch i is a batch of 2 x batch one-tile crops to
# transcribe with probability read_prob(i), else a batch of pages with questions (+ transcript).
CURRICULUM = ("batch i: with probability p(i) = 0.75 until i = 300, then linearly down to 0.3 at i = 3000 "
              "and 0.3 after, 2 x batch one-tile crops of training pages to transcribe "
              "(docgen.sample_crops, 2 windows per page); else batch pages, each with 4-10 of its questions and, with "
              "probability 0.5, the transcript as a last turn")


def read_prob(index: int) -> float:
    if index < 300:
        return 0.75
    return max(0.3, 0.75 - 0.45 * (index - 300) / 2700)


def conversation(doc, rng):
    k = min(len(doc.qas), int(rng.integers(4, 11)))
    turns = []
    for i in rng.choice(len(doc.qas), size=k, replace=False):
        qa = doc.qas[int(i)]
        q = qa.question + (DOCVQA_SUFFIX if rng.random() < 0.6 else "")
        turns.append((q, qa.answers[0]))
    return turns


def encode_doc(doc, enc: ChatEncoder, rng, ocr_prob=0.5):
    turns = conversation(doc, rng)
    if rng.random() < ocr_prob:
        t = enc.tok.encode(doc.transcript, add_special_tokens=False).ids[:MAX_OCR_TOKENS]
        turns.append((docgen.OCR_QUESTION, enc.tok.decode(t)))
    it = encode_image(doc.image, turns, enc, doc.meta.get("chars") if PAGE_GLYPHS else None)
    if it["glyph"] is not None:
        it["glyph"][0] = -100  # the thumbnail: several characters per patch
    return it


def glyph_class(c: str) -> int:
    o = ord(c)
    return o - 32 if 33 <= o <= 126 else GLYPH_CLASSES - 1


def glyph_labels(size, best, chars) -> np.ndarray:
    """Per-patch glyph classes [1 + tiles, 24 * 24] of an image's anyres tiles (thumbnail first, as
    ref.anyres_tiles): each character centre (x, y, char) of the image mapped into the thumbnail
    (the image squashed to 336 x 336) and into the keep-ratio canvas of the grid tiles; -100 where
    the centre is within GLYPH_MARGIN px of the patch's left or right side."""
    side, T = ref.TILE // ref.PATCH, ref.TILE
    w, h = size
    W, H = best
    nc = W // T
    out = np.zeros((1 + (H // T) * nc, side * side), dtype=np.int64)
    nw, nh, x0, y0 = ref.keepratio_placement(w, h, W, H)
    for x, y, c in chars:
        if c == " ":
            continue
        g = glyph_class(c)

        def lab(fx):  # fx: the centre's x inside its patch
            return g if GLYPH_MARGIN <= fx < ref.PATCH - GLYPH_MARGIN else -100
        qx = x * T / w
        tx, ty = int(qx) // ref.PATCH, int(y * T / h) // ref.PATCH
        if 0 <= tx < side and 0 <= ty < side:
            out[0, ty * side + tx] = lab(qx % ref.PATCH)
        px, py = x0 + x * nw / w, y0 + y * nh / h
        if 0 <= px < W and 0 <= py < H:
            r, cc = int(py) // T, int(px) // T
            out[1 + r * nc + cc, (int(py) % T) // ref.PATCH * side + (int(px) % T) // ref.PATCH] = lab(px % ref.PATCH)
    return out


def encode_image(img, turns, enc: ChatEncoder, chars=None):
    """One conversation about img -> expanded ids/labels and the released anyres tiles (u8);
    with chars (character centres), per-patch glyph labels of the tiles as well."""
    ids, labels = enc.encode(turns)
    tiles, best = ref.anyres_tiles(img.convert("RGB"))
    u8 = np.stack([np.asarray(t, dtype=np.uint8) for t in tiles])
    n = ref.get_num_token(img.size[1], img.size[0], ref.RELEASED_PINPOINTS, ref.PATCH)
    ids, labels, start = expand_image(ids, labels, enc.image, n)
    glyph = None if chars is None else glyph_labels(img.size, best, chars)
    return {"ids": ids, "labels": labels, "start": start, "tiles": u8, "size": img.size, "best": best,
            "glyph": glyph}


def make_read_batch(rng, n: int, enc: ChatEncoder):
    items = []
    while len(items) < n:  # two windows per rendered page (rendering is most of the cost)
        for img, text, chars in docgen.sample_crops(int(rng.integers(2**62)), min(2, n - len(items)),
                                                    with_chars=True):
            t = enc.tok.encode(text, add_special_tokens=False).ids[:MAX_OCR_TOKENS]
            items.append(encode_image(img, [(docgen.OCR_QUESTION, enc.tok.decode(t))], enc, chars))
    return collate(items, "read")


def make_batch(data_seed: int, index: int, batch: int, enc: ChatEncoder, read_until: int = 0):
    """Batch index of the run; read_until: batches before it are all read batches (the vision
    warm-up of train.py --vision-warmup, which trains on their glyph labels only)."""
    rng = np.random.default_rng([data_seed, index])
    if rng.random() < read_prob(index) or index < read_until:
        return make_read_batch(rng, 2 * batch, enc)
    kinds = list(docgen.KIND_WEIGHTS)
    kind = kinds[int(rng.choice(len(kinds), p=[docgen.KIND_WEIGHTS[k] for k in kinds]))]
    items = []
    for j in range(batch):
        seed = int(rng.integers(2**62))
        doc = docgen.sample_doc(seed, "train", kind)
        items.append(encode_doc(doc, enc, np.random.default_rng([seed, 1])))
    return collate(items, "page")


def collate(items, kind="page"):
    T = max(len(it["ids"]) for it in items)
    ids = torch.zeros(len(items), T, dtype=torch.long)
    labels = torch.full((len(items), T), -100, dtype=torch.long)
    for b, it in enumerate(items):
        ids[b, :len(it["ids"])] = torch.tensor(it["ids"])
        labels[b, :len(it["labels"])] = torch.tensor(it["labels"])
    glyph = None
    if any(it.get("glyph") is not None for it in items):  # -100: tiles without glyph labels
        glyph = torch.cat([torch.from_numpy(it["glyph"]) if it.get("glyph") is not None else
                           torch.full((it["tiles"].shape[0], (ref.TILE // ref.PATCH) ** 2), -100, dtype=torch.long)
                           for it in items])
    return {"kind": kind, "ids": ids, "labels": labels, "starts": [it["start"] for it in items], "glyph": glyph,
            "tiles": [torch.from_numpy(it["tiles"]) for it in items],
            "sizes": [it["size"] for it in items], "bests": [it["best"] for it in items]}


class BatchStream(torch.utils.data.IterableDataset):
    """Batches start, start+1, ...; worker w makes the indices = w (mod workers), which the
    DataLoader returns round-robin, i.e. in index order."""

    def __init__(self, tokenizer_path, data_seed, start, batch, read_until=0):
        self.tp, self.seed, self.start, self.batch = tokenizer_path, data_seed, start, batch
        self.read_until = read_until

    def __iter__(self):
        from tokenizers import Tokenizer
        torch.set_num_threads(1)
        enc = ChatEncoder(Tokenizer.from_file(self.tp))
        wi = torch.utils.data.get_worker_info()
        w, nw = (wi.id, wi.num_workers) if wi else (0, 1)
        i = self.start + w
        while True:
            yield i, make_batch(self.seed, i, self.batch, enc, self.read_until)
            i += nw


MEAN = torch.tensor(ref.IMAGE_MEAN, dtype=torch.float32)[:, None, None]
STD = torch.tensor(ref.IMAGE_STD, dtype=torch.float32)[:, None, None]


def normalize(tiles_u8: torch.Tensor, device) -> torch.Tensor:
    """u8 [T, 336, 336, 3] -> f32 [T, 3, 336, 336], as reference_preprocess.to_tensor_normalize."""
    t = tiles_u8.to(device).permute(0, 3, 1, 2).to(torch.float32).div(255)
    return t.sub(MEAN.to(device)).div(STD.to(device))


def _selftest(tokenizer: str = "chars", n_windows: int = 6) -> bool:
    """Checks of what the model is fed (run: python3 tools/train_tiny/data.py [chars|bpe]; CPU, a few seconds):
      * the image slots of each sample = the rows TinyVL packs from its tiles (at the slot start);
      * the labelled tokens decode to the transcript + <end_of_sentence> and follow the image;
      * glyph labels sit on ink: a patch labelled with a glyph has dark pixels far more often
        than an unlabelled one, in the thumbnail and in the grid tile."""
    from tokenizers import Tokenizer
    import model as M
    M.use_tokenizer(tokenizer)
    enc = ChatEncoder(Tokenizer.from_file(M.tokenizer_path()))
    b = make_read_batch(np.random.default_rng(7), n_windows, enc)
    ok = True
    side = ref.TILE // ref.PATCH
    z_all = torch.zeros(sum(t.shape[0] for t in b["tiles"]), side * side, M.TEXT["hidden"])
    off, g_off, ink_l, ink_u = 0, 0, [], []
    for i, tiles in enumerate(b["tiles"]):
        ids, lab, k = b["ids"][i], b["labels"][i], b["starts"][i]
        n_slots = int((ids == enc.image).sum())
        rows = ref.pack_image_features(z_all[off:off + tiles.shape[0]], torch.zeros(M.TEXT["hidden"]),
                                       b["sizes"][i][0], b["sizes"][i][1], b["bests"][i]).shape[0]
        contiguous = bool((ids[k:k + n_slots] == enc.image).all())
        first_label = int((lab != -100).nonzero()[0, 0])
        text = enc.tok.decode([int(x) for x in lab[lab != -100]], skip_special_tokens=False)
        good = n_slots == rows and contiguous and first_label > k + n_slots and text.endswith("<end_of_sentence>")
        ok &= good
        g = b["glyph"][g_off:g_off + tiles.shape[0]]
        for t in range(tiles.shape[0]):
            dark = tiles[t].float().mean(-1).reshape(side, ref.PATCH, side, ref.PATCH).amin((1, 3)).reshape(-1) < 128
            ink_l.append(dark[g[t] > 0].float())
            ink_u.append(dark[g[t] == 0].float())
        print(f"sample {i}: {tiles.shape[0]} tiles, {n_slots} image slots, {rows} packed rows, labels from {first_label}, "
              f"{int((g > 0).sum())} glyph-labelled patches {'ok' if good else 'BAD'}")
        off += tiles.shape[0]
        g_off += tiles.shape[0]
    pl, pu = float(torch.cat(ink_l).mean()), float(torch.cat(ink_u).mean())
    print(f"patches with ink: {pl:.2f} of glyph-labelled, {pu:.2f} of unlabelled")
    ok &= pl > 0.8 and pl > 2 * pu
    # page batches (PAGE_GLYPHS): grid tiles labelled, the thumbnail not
    ink_l, ink_u, thumb_free = [], [], True
    for seed in range(3, 11):  # 8 pages: one ruled table alone can put ink in most unlabelled patches
        it = encode_doc(docgen.sample_doc(seed, "train"), enc, np.random.default_rng(seed))
        tiles, g = torch.from_numpy(it["tiles"]), torch.from_numpy(it["glyph"])
        thumb_free &= bool((g[0] == -100).all())
        for t in range(1, tiles.shape[0]):
            dark = tiles[t].float().mean(-1).reshape(side, ref.PATCH, side, ref.PATCH).amin((1, 3)).reshape(-1) < 128
            ink_l.append(dark[g[t] > 0].float())
            ink_u.append(dark[g[t] == 0].float())
    pl, pu = float(torch.cat(ink_l).mean()), float(torch.cat(ink_u).mean())
    print(f"pages: {sum(len(x) for x in ink_l)} glyph-labelled patches in grid tiles, with ink: {pl:.2f} of "
          f"glyph-labelled, {pu:.2f} of unlabelled; thumbnails unlabelled: {thumb_free}")
    ok &= pl > 0.8 and pl > 2 * pu and thumb_free
    print("data checks pass" if ok else "DATA CHECK FAILED")
    return ok


if __name__ == "__main__":
    raise SystemExit(0 if _selftest(*sys.argv[1:2]) else 1)
