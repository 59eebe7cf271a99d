"""Drawing helpers for the synthetic documents: a Page that draws text with Pillow and records
every string it draws (for the reading-order transcript), plus the light degradations applied
after layout (paper tint, noise, blur, small rotation, JPEG round trip).
"""
from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

_FONT_CACHE: dict = {}


def font(path: str, size: int) -> ImageFont.FreeTypeFont:
    key = (path, size)
    f = _FONT_CACHE.get(key)
    if f is None:
        f = _FONT_CACHE[key] = ImageFont.truetype(path, size)
    return f


class Page:
    """A white-ish page of w x h pixels. Text calls return the drawn box (x0, y0, x1, y1)."""

    def __init__(self, w: int, h: int, paper=(255, 255, 255), ink=(0, 0, 0), caps: bool = False):
        self.w, self.h = w, h
        self.caps = caps  # every string drawn and measured in upper case (an all-caps page)
        self.img = Image.new("RGB", (w, h), paper)
        self.draw = ImageDraw.Draw(self.img)
        self.ink, self.paper = ink, paper
        self.texts: list[tuple[float, float, str]] = []  # (y centre, x0, text)
        self.boxes: list[tuple[tuple, str]] = []  # ((x0, y0, x1, y1), text) of every recorded string
        self.chars: list[list[tuple[float, float, str]]] = []  # per recorded string: (x, y) centre of each char

    def text(self, x, y, s, fnt, anchor="la", fill=None, record=True):
        """anchor: Pillow anchors ('la' left/top-ascender, 'ra' right, 'ma' centre)."""
        if not s:
            return (x, y, x, y)
        if self.caps:
            s = s.upper()
        box = self.draw.textbbox((x, y), s, font=fnt, anchor=anchor)
        self.draw.text((x, y), s, font=fnt, anchor=anchor, fill=fill or self.ink)
        if record:
            self.texts.append(((box[1] + box[3]) / 2, box[0], s))
            self.boxes.append((box, s))
            self.chars.append(char_centres(self.draw, box, s, fnt))
        return box

    def width(self, s, fnt) -> float:
        return self.draw.textlength(s.upper() if self.caps else s, font=fnt)

    def line(self, x0, y0, x1, y1, fill=None, width=1):
        self.draw.line([(x0, y0), (x1, y1)], fill=fill or self.ink, width=width)

    def rect(self, x0, y0, x1, y1, outline=None, fill=None, width=1):
        self.draw.rectangle([x0, y0, x1, y1], outline=outline, fill=fill, width=width)

    def dashes(self, x0, x1, y, fnt, ch="-"):
        n = max(1, int((x1 - x0) / max(self.width(ch, fnt), 1)))
        self.text(x0, y, ch * n, fnt, record=False)

    def transcript(self, line_tol: float = 6.0) -> str:
        """Reading order: strings grouped into lines by their vertical centre, left to right."""
        return reading_order(self.texts, line_tol)


def char_centres(draw, box, s, fnt):
    """(x, y) centre of every character of s drawn in box: advance widths of the prefixes, scaled to
    the inked width (training labels for the glyph loss, tools/train_tiny; no randomness)."""
    cum = [draw.textlength(s[:k], font=fnt) for k in range(len(s) + 1)]
    sx = (box[2] - box[0]) / max(cum[-1], 1e-6)
    yc = (box[1] + box[3]) / 2
    return [(box[0] + sx * (cum[k] + cum[k + 1]) / 2, yc, ch) for k, ch in enumerate(s)]


def reading_order(texts, line_tol: float = 6.0) -> str:
    """[(y centre, x0, text)] -> lines of text, top to bottom, left to right within a line."""
    items = sorted(texts, key=lambda t: (t[0], t[1]))
    lines: list[list[tuple[float, float, str]]] = []
    for it in items:
        if lines and abs(lines[-1][0][0] - it[0]) <= line_tol:
            lines[-1].append(it)
        else:
            lines.append([it])
    return "\n".join(" ".join(s for _, _, s in sorted(ln, key=lambda t: t[1])) for ln in lines)


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def crop_window(page: Page, rng: np.random.Generator, max_side: int = 336, min_w: int = 168, min_h: int = 96,
                tries: int = 12, with_chars: bool = False):
    """A window of at most max_side x max_side px of an undegraded page (one anyres tile: the
    glyphs are shown at 1x to 2x their page size) and the reading-order transcript of the strings
    wholly inside it; strings cut by the window edge are painted over with the paper colour, so
    the image shows exactly the transcribed text. Of up to 4 valid windows the one with the most
    characters wins (dense targets). None when no window holds text. with_chars: a third element,
    the (x, y, char) centres of the transcribed characters in window coordinates."""
    W, H = page.img.size
    best, n_valid = None, 0
    for _ in range(tries):
        cw = int(rng.integers(min(W, min_w), min(W, max_side) + 1))
        ch = int(rng.integers(min(H, min_h), min(H, max_side) + 1))
        x0, y0 = int(rng.integers(0, W - cw + 1)), int(rng.integers(0, H - ch + 1))
        win = (x0, y0, x0 + cw, y0 + ch)
        inside, cut = [], []
        for bi, (box, s) in enumerate(page.boxes):
            if box[0] >= win[0] and box[1] >= win[1] and box[2] <= win[2] and box[3] <= win[3]:
                inside.append((box, s, bi))
            elif _overlap(box, win):
                cut.append(box)
        if not inside or any(_overlap(c, b) for c in cut for b, _, _ in inside):
            continue
        chars = sum(len(s) for _, s, _ in inside)
        if best is None or chars > best[0]:
            best = (chars, win, inside, cut)
        n_valid += 1
        if n_valid == 4:
            break
    if best is None:
        return None
    _, win, inside, cut = best
    img = page.img.copy()
    d = ImageDraw.Draw(img)
    for c in cut:
        d.rectangle([c[0] - 1, c[1] - 1, c[2] + 1, c[3] + 1], fill=page.paper)
    text = reading_order([((b[1] + b[3]) / 2, b[0], s) for b, s, _ in inside])
    if with_chars:
        cs = [(x - win[0], y - win[1], c) for _, _, bi in inside for x, y, c in page.chars[bi]]
        return img.crop(win), text, cs
    return img.crop(win), text


def degrade(img: Image.Image, rng: np.random.Generator, strength: float = 1.0, chars=None):
    """Light scan/photo artefacts. strength 0 returns the image unchanged. chars: (x, y, char)
    centres, then (image, the centres moved with the small rotation) is returned (same draws)."""
    if strength <= 0:
        return img if chars is None else (img, chars)
    if rng.random() < 0.5 * strength:
        ang = float(rng.uniform(-1.5, 1.5))
        bg = img.getpixel((img.size[0] - 1, img.size[1] - 1))
        img = img.rotate(ang, resample=Image.BICUBIC, expand=False, fillcolor=bg)
        if chars is not None:  # PIL rotates counter-clockwise about the centre (w / 2, h / 2)
            cx, cy, c, s = img.size[0] / 2, img.size[1] / 2, math.cos(math.radians(ang)), math.sin(math.radians(ang))
            chars = [(cx + (x - cx) * c + (y - cy) * s, cy - (x - cx) * s + (y - cy) * c, ch) for x, y, ch in chars]
    if rng.random() < 0.25 * strength:
        img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 0.8))))
    if rng.random() < 0.6 * strength:
        a = np.asarray(img, dtype=np.float32)
        a = a + rng.normal(0, float(rng.uniform(2, 8)), a.shape).astype(np.float32)
        img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    if rng.random() < 0.5 * strength:
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=int(rng.integers(55, 95)))
        buf.seek(0)
        img = Image.open(buf).convert("RGB")
    return img if chars is None else (img, chars)


def palette(rng: np.random.Generator):
    """(paper, ink, accent) colours: mostly white paper and near-black ink."""
    paper = tuple(int(v) for v in (255 - rng.integers(0, 18, 3) * (rng.random() < 0.5)))
    inks = [(0, 0, 0), (20, 20, 20), (30, 30, 60), (40, 20, 20), (10, 40, 10), (60, 60, 60)]
    ink = inks[int(rng.integers(len(inks)))]
    accents = [(20, 60, 140), (140, 30, 30), (20, 110, 60), (90, 40, 120), (0, 0, 0), (180, 90, 0)]
    accent = accents[int(rng.integers(len(accents)))]
    return paper, ink, accent
