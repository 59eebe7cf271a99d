"""Drawing helpers for the synthetic documents: a Page that draws text with Pillow and records
every string it draws (for the reading-order transcript), plus the light degradations applied
after layout (paper tint, noise, blur, small rotation, JPEG round trip).
"""
from __future__ import annotations

import io

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

    def __init__(self, w: int, h: int, paper=(255, 255, 255), ink=(0, 0, 0)):
        self.w, self.h = w, h
        self.img = Image.new("RGB", (w, h), paper)
        self.draw = ImageDraw.Draw(self.img)
        self.ink = ink
        self.texts: list[tuple[float, float, str]] = []  # (y centre, x0, text)

    def text(self, x, y, s, fnt, anchor="la", fill=None, record=True):
        """anchor: Pillow anchors ('la' left/top-ascender, 'ra' right, 'ma' centre)."""
        if not s:
            return (x, y, x, y)
        box = self.draw.textbbox((x, y), s, font=fnt, anchor=anchor)
        self.draw.text((x, y), s, font=fnt, anchor=anchor, fill=fill or self.ink)
        if record:
            self.texts.append(((box[1] + box[3]) / 2, box[0], s))
        return box

    def width(self, s, fnt) -> float:
        return self.draw.textlength(s, font=fnt)

    def line(self, x0, y0, x1, y1, fill=None, width=1):
        self.draw.line([(x0, y0), (x1, y1)], fill=fill or self.ink, width=width)

    def rect(self, x0, y0, x1, y1, outline=None, fill=None, width=1):
        self.draw.rectangle([x0, y0, x1, y1], outline=outline, fill=fill, width=width)

    def dashes(self, x0, x1, y, fnt, ch="-"):
        n = max(1, int((x1 - x0) / max(self.width(ch, fnt), 1)))
        self.text(x0, y, ch * n, fnt, record=False)

    def transcript(self, line_tol: float = 6.0) -> str:
        """Reading order: strings grouped into lines by their vertical centre, left to right."""
        items = sorted(self.texts, key=lambda t: (t[0], t[1]))
        lines: list[list[tuple[float, float, str]]] = []
        for it in items:
            if lines and abs(lines[-1][0][0] - it[0]) <= line_tol:
                lines[-1].append(it)
            else:
                lines.append([it])
        return "\n".join(" ".join(s for _, _, s in sorted(ln, key=lambda t: t[1])) for ln in lines)


def degrade(img: Image.Image, rng: np.random.Generator, strength: float = 1.0) -> Image.Image:
    """Light scan/photo artefacts. strength 0 returns the image unchanged."""
    if strength <= 0:
        return img
    if rng.random() < 0.5 * strength:
        ang = float(rng.uniform(-1.5, 1.5))
        bg = img.getpixel((img.size[0] - 1, img.size[1] - 1))
        img = img.rotate(ang, resample=Image.BICUBIC, expand=False, fillcolor=bg)
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
    return img


def palette(rng: np.random.Generator):
    """(paper, ink, accent) colours: mostly white paper and near-black ink."""
    paper = tuple(int(v) for v in (255 - rng.integers(0, 18, 3) * (rng.random() < 0.5)))
    inks = [(0, 0, 0), (20, 20, 20), (30, 30, 60), (40, 20, 20), (10, 40, 10), (60, 60, 60)]
    ink = inks[int(rng.integers(len(inks)))]
    accents = [(20, 60, 140), (140, 30, 30), (20, 110, 60), (90, 40, 120), (0, 0, 0), (180, 90, 0)]
    accent = accents[int(rng.integers(len(accents)))]
    return paper, ink, accent
