"""Makes tests/golden/vision/: anyres geometry for many sizes, Pillow pixel tiles for a few
deterministic source images, and CLIP ViT + projector + packing outputs on tiny random vision
configs (transformers' CLIPVisionModel, fp32, CPU).

Run from the repo root:  python3 tools/golden/vision/make_vision_goldens.py
Everything is seeded; re-running reproduces the same files for the pinned versions in
manifest.json. The tiny ViT keeps the released geometry (image_size 336, patch 14, 24x24
features per tile, the 28 pinpoints), so the packing goldens exercise the real layout; only
the widths and depth are small.
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np
import PIL
import safetensors
import torch
import transformers
from PIL import Image, ImageOps
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_preprocess as ref  # noqa: E402

OUT = "tests/golden/vision"
SEED = 20250122


# ---------------------------------------------------------------- geometry
def geometry_sizes():
    sizes = [
        # tiny
        (1, 1), (2, 2), (3, 5), (13, 13), (13, 7), (7, 13), (20, 15), (97, 61),
        # 1 x N strips (some the reference cannot resize: recorded as errors)
        (1, 100), (100, 1), (1, 336), (336, 1), (1, 2000), (2000, 1), (3, 5000), (5000, 3), (10, 3000), (3000, 10),
        # exact pinpoints
        (336, 336), (336, 672), (672, 336), (1008, 2016), (2016, 1008), (1344, 1344), (1680, 1008), (672, 2016),
        (336, 2016), (2016, 336), (1008, 1008),
        # just above / below pinpoints
        (337, 336), (335, 336), (336, 337), (336, 335), (673, 672), (671, 672), (1009, 1008), (1007, 1008),
        (2017, 1008), (2015, 1008), (1345, 1344), (1343, 1344), (673, 336), (671, 336),
        # spec §3.12 worked examples
        (224, 224), (300, 200), (640, 480), (800, 800), (1024, 768), (768, 1024), (1920, 1080), (2000, 500),
        (3000, 1000), (2000, 2000),
        # the double-rounding quirk of §3.3 and primes
        (13, 1008), (1008, 13), (997, 1009), (1009, 997), (4999, 4001),
        # huge (geometry only)
        (10000, 10000), (40000, 3000), (13000, 9000), (100000, 10), (65535, 65535), (12000, 100), (100, 12000),
    ]
    rng = np.random.default_rng(SEED)
    for _ in range(400):
        w = int(np.exp(rng.uniform(0, np.log(6000))))
        h = int(np.exp(rng.uniform(0, np.log(6000))))
        sizes.append((max(w, 1), max(h, 1)))
    return sizes


def geometry_case(w, h):
    case = {"width": w, "height": h}
    best = ref.select_best_resolution((w, h), ref.RELEASED_PINPOINTS)
    if best is None:
        case["reference_error"] = "no pinpoint gives a non-empty downscale"
        return case
    W, H = best
    side = ref.TILE // ref.PATCH
    r0, rows, c0, cols = ref.unpad_window(w, h, (W // ref.TILE) * side, (H // ref.TILE) * side)
    tokens = ref.get_num_token(h, w, ref.RELEASED_PINPOINTS, ref.PATCH)
    assert tokens == side * side + rows * (cols + 1)
    nw, nh, x0, y0 = ref.keepratio_placement(w, h, W, H)
    case.update({
        "best_resolution": [W, H], "grid": [H // ref.TILE, W // ref.TILE], "tiles": 1 + (H // ref.TILE) * (W // ref.TILE),
        "image_tokens": tokens, "unpad": [r0, rows, c0, cols], "placement": [nw, nh, x0, y0],
    })
    if nw < 1 or nh < 1:
        case["pixels_error"] = "keep-ratio resize to an empty size (PIL raises)"
    return case


# ---------------------------------------------------------------- source images
def pattern(w, h, rng, noise=12.0):
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / max(w, 1) * 7.0 + y / max(h, 1) * 3.0)
    g = 128 + 100 * np.cos(x / 9.0) * np.sin(y / 13.0)
    b = np.where(((x // 16) + (y // 16)) % 2 == 0, 230.0, 25.0)  # hard edges: ringing, clipping
    img = np.stack([r, g, b], axis=-1) + rng.normal(0, noise, (h, w, 3))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def make_sources(rng):
    """name -> (filename, PIL image as saved). Files are written under OUT/images."""
    os.makedirs(f"{OUT}/images", exist_ok=True)
    out = {}

    def save(name, im, ext="png", **kw):
        path = f"{OUT}/images/{name}.{ext}"
        im.save(path, **kw)
        out[name] = (f"images/{name}.{ext}", Image.open(path))

    save("rgb_97x61", Image.fromarray(pattern(97, 61, rng), "RGB"))
    save("rgb_500x300", Image.fromarray(pattern(500, 300, rng), "RGB"))
    save("rgb_130x720", Image.fromarray(pattern(130, 720, rng), "RGB"))
    save("rgb_exact_336x336", Image.fromarray(pattern(336, 336, rng), "RGB"))
    save("rgb_tiny_20x15", Image.fromarray(pattern(20, 15, rng, noise=40), "RGB"))
    save("jpeg_400x300", Image.fromarray(pattern(400, 300, rng, noise=4), "RGB"), "jpg", quality=90)
    a = pattern(300, 200, rng)
    y, x = np.mgrid[0:200, 0:300]
    alpha = np.clip(x * 255 // 299 + rng.integers(-30, 30, (200, 300)), 0, 255).astype(np.uint8)
    alpha[:20, :] = 0  # fully transparent band: unpremultiply's a == 0 path
    alpha[-20:, :] = 255
    save("rgba_300x200", Image.fromarray(np.dstack([a, alpha]), "RGBA"))
    save("palette_200x150", Image.fromarray(pattern(200, 150, rng), "RGB").quantize(colors=64, dither=Image.Dither.NONE))
    save("gray_150x90", Image.fromarray(pattern(150, 90, rng)[..., 0], "L"))
    la = np.dstack([pattern(120, 90, rng)[..., 1], (np.mgrid[0:90, 0:120][0] * 2.8).astype(np.uint8)])
    save("la_120x90", Image.fromarray(la, "LA"))
    return out


# ---------------------------------------------------------------- decoder samples
def make_format_samples(rng):
    """Small files in every accepted format, each with PIL's own RGB decode beside it
    (formats/<name>.rgb.png), plus a zip-bomb PNG for the hostile-input tests."""
    d = f"{OUT}/formats"
    os.makedirs(d, exist_ok=True)
    base = pattern(23, 17, rng)
    samples = []

    def save(name, im, **kw):
        im.save(f"{d}/{name}", **kw)
        opened = Image.open(f"{d}/{name}")
        Image.fromarray(np.asarray(opened.convert("RGB"))).save(f"{d}/{name}.rgb.png")
        samples.append({"file": f"formats/{name}", "mode": opened.mode, "size": list(opened.size),
                        "expected_rgb": f"formats/{name}.rgb.png"})

    save("rgb.png", Image.fromarray(base))
    save("gray.png", Image.fromarray(base[..., 0], "L"))
    save("bilevel.png", Image.fromarray(base[..., 0] > 128).convert("1"))
    save("rgb.bmp", Image.fromarray(base))
    save("palette.bmp", Image.fromarray(base).quantize(colors=16, dither=Image.Dither.NONE))
    save("palette.gif", Image.fromarray(base).quantize(colors=32, dither=Image.Dither.NONE))
    save("lossless.webp", Image.fromarray(base), lossless=True)
    save("rgba_lossless.webp", Image.fromarray(np.dstack([base, base[..., 1]]), "RGBA"), lossless=True)
    save("rgb.tiff", Image.fromarray(base))
    save("rgb_lzw.tiff", Image.fromarray(base), compression="tiff_lzw")
    save("quality90.jpg", Image.fromarray(base), quality=90)
    save("gray.jpg", Image.fromarray(base[..., 0], "L"), quality=90)
    save("progressive.jpg", Image.fromarray(base), quality=85, progressive=True)
    # EXIF orientation 6 (rotate 90 CW to display): PIL and the reference ignore it.
    exif = Image.Exif()
    exif[0x0112] = 6
    save("exif_rotate90.jpg", Image.fromarray(base), quality=95, exif=exif.tobytes())
    Image.fromarray(np.asarray(ImageOps.exif_transpose(Image.open(f"{d}/exif_rotate90.jpg")).convert("RGB"))).save(
        f"{d}/exif_rotate90.jpg.transposed.rgb.png")
    # Every orientation, lossless (PNG eXIf chunk), against PIL's exif_transpose.
    for o in range(1, 9):
        ex = Image.Exif()
        ex[0x0112] = o
        Image.fromarray(base).save(f"{d}/orientation{o}.png", exif=ex.tobytes())
        Image.fromarray(np.asarray(ImageOps.exif_transpose(Image.open(f"{d}/orientation{o}.png")).convert("RGB"))).save(
            f"{d}/orientation{o}.png.transposed.rgb.png")
    save("cmyk.jpg", Image.fromarray(base).convert("CMYK"), quality=95)
    # 16-bit RGB PNG written by hand through numpy: PIL opens it as 8-bit RGB (high bytes).
    import zlib, struct
    hi = base.astype(np.uint16) * 257 + rng.integers(0, 200, base.shape).astype(np.uint16)
    raw = b"".join(b"\x00" + hi[y].astype(">u2").tobytes() for y in range(hi.shape[0]))

    def chunk(t, data):
        return struct.pack(">I", len(data)) + t + data + struct.pack(">I", zlib.crc32(t + data) & 0xffffffff)

    png16 = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 23, 17, 16, 2, 0, 0, 0)) +
             chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    with open(f"{d}/rgb16.png", "wb") as f:
        f.write(png16)
    opened = Image.open(f"{d}/rgb16.png")
    Image.fromarray(np.asarray(opened.convert("RGB"))).save(f"{d}/rgb16.png.rgb.png")
    samples.append({"file": "formats/rgb16.png", "mode": opened.mode, "size": list(opened.size),
                    "expected_rgb": "formats/rgb16.png.rgb.png"})
    # Zip bomb: a valid 1-bit 20000 x 20000 PNG (400 Mpixel) that compresses to a few dozen KB.
    row = b"\x00" + b"\x00" * (20000 // 8)
    comp = zlib.compressobj(9)
    body = b"".join(comp.compress(row * 500) for _ in range(40)) + comp.flush()
    bomb = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 1, 0, 0, 0, 0)) +
            chunk(b"IDAT", body) + chunk(b"IEND", b""))
    with open(f"{d}/zip_bomb_20000x20000.png", "wb") as f:
        f.write(bomb)
    return samples


# ---------------------------------------------------------------- tiny ViT
def tiny_vit(cfg_kw, text_hidden, seed):
    torch.manual_seed(seed)
    cfg = transformers.CLIPVisionConfig(image_size=336, patch_size=14, num_channels=3, layer_norm_eps=1e-5,
                                        attention_dropout=0.0, **cfg_kw)
    model = transformers.CLIPVisionModel(cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("layer_norm1.weight") or name.endswith("layer_norm2.weight") or "layrnorm.weight" in name:
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            else:
                p.copy_(0.2 * torch.randn_like(p))
    proj = {
        "linear_1.weight": 0.2 * torch.randn(text_hidden, cfg.hidden_size),
        "linear_1.bias": 0.2 * torch.randn(text_hidden),
        "linear_2.weight": 0.2 * torch.randn(text_hidden, text_hidden),
        "linear_2.bias": 0.2 * torch.randn(text_hidden),
    }
    newline = torch.randn(text_hidden)
    return model, cfg, proj, newline


def run_vit_case(name, image, cfg_kw, text_hidden, feature_layer, proj_act, seed):
    model, cfg, proj, newline = tiny_vit(cfg_kw, text_hidden, seed)
    pv, _, best = ref.preprocess(image)
    with torch.no_grad():
        out = model(pixel_values=pv, output_hidden_states=True)
        hidden = out.hidden_states[feature_layer]            # no post_layernorm (spec §4.5)
        feats = hidden[:, 1:].contiguous()                    # "default": drop CLS
        act = {"gelu": torch.nn.functional.gelu, "quick_gelu": lambda t: t * torch.sigmoid(1.702 * t)}[proj_act]
        z = torch.nn.functional.linear(feats, proj["linear_1.weight"], proj["linear_1.bias"])
        z = torch.nn.functional.linear(act(z), proj["linear_2.weight"], proj["linear_2.bias"])
        w, h = image.size
        packed = ref.pack_image_features(z, newline, w, h, best)
    # Released names (spec §1.2): "vision_tower.vision_model." + the CLIP module path. transformers
    # 5 dropped the "vision_model." level from CLIPVisionModel's state dict; older ones keep it.
    ckpt = {}
    for k, v in model.state_dict().items():
        if "post_layernorm" in k or "position_ids" in k:  # not in the release (spec §1.2)
            continue
        k = k[len("vision_model."):] if k.startswith("vision_model.") else k
        ckpt[f"vision_tower.vision_model.{k}"] = v.contiguous()
    ckpt.update({f"multi_modal_projector.{k}": v for k, v in proj.items()})
    ckpt["image_newline"] = newline
    os.makedirs(f"{OUT}/{name}", exist_ok=True)
    save_file(ckpt, f"{OUT}/{name}/model.safetensors")
    per_layer = torch.stack([hs[0] for hs in out.hidden_states])  # tile 0 only, [L+1, 577, D]
    save_file({"features": feats.contiguous(), "projected": z.contiguous(), "packed": packed.contiguous(),
               "hidden_states_tile0": per_layer.contiguous()}, f"{OUT}/{name}/outputs.safetensors")
    return {
        "vision_config": {k: getattr(cfg, k) for k in ("hidden_size", "intermediate_size", "num_hidden_layers",
                                                        "num_attention_heads", "image_size", "patch_size",
                                                        "num_channels", "hidden_act", "layer_norm_eps")},
        "text_hidden": text_hidden, "vision_feature_layer": feature_layer, "projector_hidden_act": proj_act,
        "seed": seed, "tiles": int(pv.shape[0]), "image_tokens": int(packed.shape[0]), "best_resolution": list(best),
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(2)
    rng = np.random.default_rng(SEED)

    geometry = [geometry_case(w, h) for w, h in geometry_sizes()]
    with open(f"{OUT}/geometry.json", "w") as f:
        json.dump({"pinpoints": [list(p) for p in ref.RELEASED_PINPOINTS], "tile": ref.TILE, "patch": ref.PATCH,
                   "cases": geometry}, f, indent=0)

    sources = make_sources(rng)
    format_samples = make_format_samples(rng)
    pixel_cases = []
    os.makedirs(f"{OUT}/tiles", exist_ok=True)
    for name, (path, im) in sources.items():
        pv, u8, best = ref.preprocess(im)
        strip = Image.fromarray(u8.reshape(-1, ref.TILE, 3), "RGB")
        strip.save(f"{OUT}/tiles/{name}.png", optimize=True)
        case = {"name": name, "source": path, "mode": im.mode, "width": im.size[0], "height": im.size[1],
                "best_resolution": list(best), "tiles": int(u8.shape[0]), "tiles_png": f"tiles/{name}.png",
                "pixel_sum": float(pv.double().sum())}
        if im.format == "JPEG":  # PIL's own decode, to tell decoder differences from resize ones
            Image.fromarray(np.asarray(im.convert("RGB"))).save(f"{OUT}/tiles/{name}_decoded.png")
            case["decoded_png"] = f"tiles/{name}_decoded.png"
        pixel_cases.append(case)

    # Pre-13 Pillow ran the horizontal pass first for every resize; Pillow 13 runs the vertical
    # pass first when the height shrinks much more than the width (python-pillow/Pillow#9549).
    # Two single-axis resizes pin the classic order explicitly, for the thumbnail of a tall image.
    tall = sources["rgb_130x720"][1]
    classic = tall.resize((ref.TILE, tall.size[1]), Image.BICUBIC).resize((ref.TILE, ref.TILE), Image.BICUBIC)
    classic.save(f"{OUT}/tiles/rgb_130x720_thumb_classic_order.png")

    # Normalisation table: the reference ToTensor + Normalize applied to every byte value, so a
    # test can rebuild the exact f32 pixel_values from the u8 tiles.
    ramp = np.repeat(np.arange(256, dtype=np.uint8)[None, :, None], 3, axis=2)  # u8 [1, 256, 3]
    table = ref.to_tensor_normalize(ramp)[:, 0, :].contiguous()                 # f32 [3, 256]
    save_file({"normalize_table": table}, f"{OUT}/normalize_table.safetensors")

    vit_cases = {
        "vit_gelu_last": run_vit_case("vit_gelu_last", sources["rgb_500x300"][1],
                                      dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                           num_attention_heads=4, hidden_act="gelu"), 48, -1, "gelu", 1),
        "vit_quickgelu_penultimate": run_vit_case("vit_quickgelu_penultimate", sources["rgb_130x720"][1],
                                                  dict(hidden_size=24, intermediate_size=40, num_hidden_layers=3,
                                                       num_attention_heads=3, hidden_act="quick_gelu"),
                                                  40, -2, "gelu", 2),
    }
    manifest = {
        "what": "MiniMax-VL-01 vision goldens: anyres geometry, Pillow tiles, tiny CLIP ViT + projector + packing",
        "command": "python3 tools/golden/vision/make_vision_goldens.py",
        "seed": SEED,
        "versions": {"python": sys.version.split()[0], "torch": torch.__version__, "transformers": transformers.__version__,
                     "pillow": PIL.__version__, "numpy": np.__version__, "safetensors": safetensors.__version__},
        "pixel_cases": pixel_cases,
        "format_samples": format_samples,
        "vit_cases": vit_cases,
        "notes": "tile 0 of every image is the thumbnail; tiles PNGs stack the tiles vertically (336 x 336*T RGB). "
                 "ViT goldens keep image_size 336 / patch 14 (24x24 features per tile) with small widths.",
    }
    # make_vit_bf16_goldens.py adds its own cases to this manifest: keep them.
    if os.path.exists(f"{OUT}/manifest.json"):
        with open(f"{OUT}/manifest.json") as f:
            old = json.load(f)
        for key in ("vit_bf16_cases", "commands_extra"):
            if key in old:
                manifest[key] = old[key]
    with open(f"{OUT}/manifest.json", "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
