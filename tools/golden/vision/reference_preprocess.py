"""Reference anyres preprocessing of MiniMax-VL-01, written with PIL exactly as the released
legacy ("LEGACY_PROCESSING=1") processor does it.

Sources (public; read to learn, nothing copied):
  * huggingface.co MiniMaxAI/MiniMax-VL-01: processing_minimax_vl_01.py and the image-processor
    module (select_best_resolution, get_w_h_num, get_num_token, keepratio_resize,
    divide_to_patches, get_image_patches), as vendored in public vLLM forks (spec [S15]).
  * huggingface/transformers src/transformers/models/minimax_vl_01/modular_minimax_vl_01.py
    (28 pinpoints, floor-rounding unpad, pack_image_features) (spec [S2]).
  * python-pillow/Pillow src/PIL/Image.py (Image.resize: BICUBIC default, NEAREST for P/1,
    premultiplied alpha for RGBA/LA) (spec [S16]).
  * torchvision ToTensor + Normalize semantics (u8 -> f32 / 255, then (x - mean) / std in f32).
Spec sections: §3.3 (best resolution), §3.4 (keep-ratio + black canvas), §3.5/3.6 (tiles,
thumbnail), §3.8 (normalisation), §3.10 (token count), §5.2 (packing).
"""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

TILE = 336
PATCH = 14
IMAGE_MEAN = [0.48145466, 0.4578275, 0.40821073]
IMAGE_STD = [0.26862954, 0.26130258, 0.27577711]
# All (336a, 336b) with a, b in 1..6 and a*b <= 18, in file order (spec §2.1).
RELEASED_PINPOINTS = [(TILE * a, TILE * b) for a in range(1, 7) for b in range(1, 7) if a * b <= 18]
assert len(RELEASED_PINPOINTS) == 28


def select_best_resolution(original_size, possible_resolutions):
    """Legacy reading: original_size = (w, h); candidates (width, height); strict updates."""
    original_width, original_height = original_size
    best_fit = None
    max_effective_resolution = 0
    min_wasted_resolution = float("inf")
    for width, height in possible_resolutions:
        scale = min(width / original_width, height / original_height)
        downscaled_width = int(original_width * scale)
        downscaled_height = int(original_height * scale)
        effective = min(downscaled_width * downscaled_height, original_width * original_height)
        wasted = width * height - effective
        if effective > max_effective_resolution or (
                effective == max_effective_resolution and wasted < min_wasted_resolution):
            max_effective_resolution = effective
            min_wasted_resolution = wasted
            best_fit = (width, height)
    return best_fit


def get_w_h_num(resolution, best_resolution):
    """Unpadded (cols, rows) of the feature grid, integer floors (spec §3.10)."""
    ow, oh = resolution
    cw, ch = best_resolution
    if ow / oh > cw / ch:
        new_h = (oh * cw) // ow
        pad = (ch - new_h) // 2
        return cw, ch - 2 * pad
    new_w = (ow * ch) // oh
    pad = (cw - new_w) // 2
    return cw - 2 * pad, ch


def get_num_token(img_h, img_w, grid_pinpoints, patch_size=PATCH):
    best = select_best_resolution((img_w, img_h), grid_pinpoints)
    w_num, h_num = get_w_h_num((img_w, img_h), (best[0] // patch_size, best[1] // patch_size))
    return (w_num + 1) * h_num + (TILE // patch_size) ** 2


def keepratio_placement(w, h, W, H):
    """(new_w, new_h, x0, y0) of the keep-ratio resize on the W x H canvas (spec §3.4)."""
    if w / h > W / H:
        nw, nh = W, int(W * h / w)
    else:
        nw, nh = int(H * w / h), H
    return nw, nh, (W - nw) // 2, (H - nh) // 2


def keepratio_resize(image: Image.Image, W: int, H: int) -> Image.Image:
    w, h = image.size
    nw, nh, x0, y0 = keepratio_placement(w, h, W, H)
    resized = image.resize((nw, nh), Image.BICUBIC)  # in the ORIGINAL mode (spec §3.2)
    canvas = Image.new("RGB", (W, H), (0, 0, 0))
    canvas.paste(resized, (x0, y0))
    return canvas


def anyres_tiles(image: Image.Image, pinpoints=RELEASED_PINPOINTS, tile=TILE):
    """[thumbnail, tile(0,0), tile(0,1), ...] as RGB PIL images, plus the best resolution."""
    w, h = image.size
    W, H = select_best_resolution((w, h), pinpoints)
    thumb = image.resize((tile, tile), Image.BICUBIC).convert("RGB")
    canvas = keepratio_resize(image, W, H)
    tiles = [thumb]
    for r in range(H // tile):
        for c in range(W // tile):
            tiles.append(canvas.crop((c * tile, r * tile, (c + 1) * tile, (r + 1) * tile)).convert("RGB"))
    return tiles, (W, H)


def to_tensor_normalize(rgb_u8: np.ndarray) -> torch.Tensor:
    """u8 [h, w, 3] -> f32 [3, h, w] as torchvision ToTensor + Normalize compute it."""
    t = torch.from_numpy(np.ascontiguousarray(rgb_u8)).permute(2, 0, 1).contiguous()
    t = t.to(torch.float32).div(255)
    mean = torch.as_tensor(IMAGE_MEAN, dtype=torch.float32)[:, None, None]
    std = torch.as_tensor(IMAGE_STD, dtype=torch.float32)[:, None, None]
    return t.sub(mean).div(std)


def preprocess(image: Image.Image):
    """Returns (pixel_values f32 [T, 3, 336, 336], tiles u8 [T, 336, 336, 3], best (W, H))."""
    tiles, best = anyres_tiles(image)
    u8 = np.stack([np.asarray(t, dtype=np.uint8) for t in tiles])
    pv = torch.stack([to_tensor_normalize(t) for t in u8])
    return pv, u8, best


def unpad_window(w, h, gw, gh):
    """(row_begin, rows, col_begin, cols) kept on the gh x gw feature map (spec §5.2)."""
    if w * gh > gw * h:
        p = (gh - (h * gw) // w) // 2
        return p, gh - 2 * p, 0, gw
    p = (gw - (w * gh) // h) // 2
    return 0, gh, p, gw - 2 * p


def pack_image_features(z: torch.Tensor, newline: torch.Tensor, w: int, h: int, best) -> torch.Tensor:
    """Spec §5.2 with tensor reshapes: z f32 [T, side*side, H] -> [tokens, H]."""
    side = TILE // PATCH
    W, H = best
    nr, nc = H // TILE, W // TILE
    hid = z.shape[-1]
    base = z[0]
    grid = z[1:].reshape(nr, nc, side, side, hid).permute(0, 2, 1, 3, 4).reshape(nr * side, nc * side, hid)
    r0, rows, c0, cols = unpad_window(w, h, nc * side, nr * side)
    grid = grid[r0:r0 + rows, c0:c0 + cols]
    grid = torch.cat([grid, newline.reshape(1, 1, hid).expand(rows, 1, hid)], dim=1).reshape(-1, hid)
    return torch.cat([base, grid], dim=0)
