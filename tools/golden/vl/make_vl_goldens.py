#!/usr/bin/env python3
"""End-to-end MiniMax-VL-01 goldens (issue 13): image FILES -> anyres preprocessing (Pillow) ->
CLIP ViT -> projector -> packing -> MiniMax-Text-01 backbone -> logits, on one small random
model saved in the RELEASED checkpoint layout (config.json with text_config/vision_config,
vision_tower.vision_model.*, multi_modal_projector.*, image_newline, language_model.*).

The reference is composed from transformers' own modules, patched to the released semantics:
  * preprocessing: tools/golden/vision/reference_preprocess.py (the released legacy processor,
    written with PIL; the Pillow version decides the resize pass order);
  * vision: transformers.CLIPVisionModel, hidden_states[vision_feature_layer], CLS dropped,
    projector Linear-GELU-Linear, packing per spec 5.2 (reference_preprocess.pack_image_features);
  * text: transformers' MiniMaxForCausalLM with the patches of tools/golden/text/make_text_goldens.py
    (partial RoPE, released slopes), fed inputs_embeds where the image rows replace the tokens.
The native transformers MiniMax-VL-01 (model type minimax_vl_01) is in the transformers source
tree but in no release on PyPI (checked: 5.17.0, 5.23.0, 5.25.0 ship only minimax, minimax_m2
and minimax_m3_vl), so it cannot be the reference yet; docs/vl-reference.md says what differs.

Run it once per Pillow: with a Pillow <= 12 (classic resize pass order, what VL-01 was trained
with) using --stage all, then with Pillow 13 using --stage logits:
  python3 tools/golden/vl/make_vl_goldens.py --stage all      # Pillow 12.x: model, images, logits
  python3 tools/golden/vl/make_vl_goldens.py --stage logits   # Pillow 13.x: logits only
Writes to tests/golden/vl/:
  model/                     config.json, preprocessor_config.json, model.safetensors (BF16)
  images/*.png               the prompt images
  logits_pillow<N>.safetensors   per case C: C.rows I32 [r] (positions of the expanded prompt),
                             C.f32 F32 [r, vocab] (float32 reference), C.bf16 F32 [r, vocab]
                             (the same composition run as a bfloat16 model, upcast)
  manifest.json              cases (ids, images, image token counts), versions per Pillow run,
                             seeds, commands and every patch
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import sys

import numpy as np
import PIL
import safetensors
import torch
import transformers
from PIL import Image
from safetensors.torch import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "text"))
sys.path.insert(0, os.path.join(HERE, "..", "vision"))
import make_text_goldens as text_ref  # noqa: E402
import reference_preprocess as ref  # noqa: E402

OUT = "tests/golden/vl"
SEED = 20261206
VOCAB = 160
IMAGE_TOKEN = 157
TEXT = dict(name="vl", vocab=VOCAB, hidden=64, heads=4, head_dim=16, kv=2, rotary=8, theta=1.0e7,
            layers=[0, 0, 0, 1], experts=4, topk=2, inter=64, block=64,
            alpha=dict(full=(8 ** 0.25, 1.0), linear=(8 ** 0.25, 1.0), mlp=(8 ** 0.25, 1.0)))
VISION = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
              hidden_act="gelu", image_size=336, patch_size=14, num_channels=3, layer_norm_eps=1e-5,
              attention_dropout=0.0)
FEATURE_LAYER = -1

# name -> (width, height, kind). tall: Pillow 13 runs the vertical pass first for both of its
# resizes (thumbnail 336x336 and keep-ratio 126x2016), so its tiles differ between the orders.
IMAGES = {
    "tall_150x2400": (150, 2400, "smooth"),
    "wide_420x90": (420, 90, "photo"),
    "tiny_12x9": (12, 9, "photo"),
    "page_816x1056": (816, 1056, "page"),
}
# case -> (images in prompt order, text lengths around them: len(images) + 1 runs)
CASES = {
    "tall": (["tall_150x2400"], [5, 7]),
    "wide": (["wide_420x90"], [3, 6]),
    "tiny": (["tiny_12x9"], [1, 9]),
    "page": (["page_816x1056"], [4, 5]),
    "two_images": (["wide_420x90", "tall_150x2400"], [2, 3, 4]),
    "three_images": (["tiny_12x9", "tall_150x2400", "wide_420x90"], [3, 0, 2, 5]),
}
IMAGE_ROW_STRIDE = 16  # logits kept for every text position and every 16th image position


def make_image(w, h, kind, rng):
    if kind == "page":  # white page, black text-like bars: compresses to a few KB
        img = np.full((h, w, 3), 250, np.uint8)
        for y in range(60, h - 60, 22):
            x = 60
            while x < w - 80:
                n = int(rng.integers(20, 90))
                img[y:y + 10, x:min(x + n, w - 60)] = rng.integers(0, 60)
                x += n + int(rng.integers(8, 16))
        return img
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / w * 7.0 + y / h * 3.0)
    g = 128 + 100 * np.cos(x / 5.0) * np.sin(y / 7.0)
    b = np.where(((x // 4) + (y // 4)) % 2 == 0, 230.0, 25.0)
    img = np.stack([r, g, b], axis=-1) + (0 if kind == "smooth" else rng.normal(0, 20, (h, w, 3)))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def bf16_values(t):
    return t.to(torch.bfloat16).to(torch.float32)


def build_model():
    """Deterministic: the same weights on every run."""
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    text = transformers.MiniMaxForCausalLM(text_ref.make_config(TEXT)).eval().to(torch.float32)
    text_ref.randomize(text, TEXT, gen)
    for layer in text.model.layers:  # decay buffers from the patched (released) slopes
        a = layer.self_attn
        if hasattr(a, "decay_factors"):
            s = a.get_slope_rate()
            qd, kd, dd = a.decay_factors(s)
            a.slope_rate.copy_(s); a.query_decay.copy_(qd); a.key_decay.copy_(kd); a.diagonal_decay.copy_(dd)
    vcfg = transformers.CLIPVisionConfig(**VISION)
    vit = transformers.CLIPVisionModel(vcfg).eval()
    H = TEXT["hidden"]
    with torch.no_grad():
        for name, p in vit.named_parameters():
            if name.endswith("norm1.weight") or name.endswith("norm2.weight") or "layrnorm.weight" in name:
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=gen))
            p.copy_(bf16_values(p))
    proj = {
        "linear_1.weight": bf16_values(torch.randn(H, vcfg.hidden_size, generator=gen) / math.sqrt(vcfg.hidden_size)),
        "linear_1.bias": bf16_values(0.2 * torch.randn(H, generator=gen)),
        "linear_2.weight": bf16_values(torch.randn(H, H, generator=gen) / math.sqrt(H)),
        "linear_2.bias": bf16_values(0.2 * torch.randn(H, generator=gen)),
    }
    newline = bf16_values(torch.randn(H, generator=gen))
    return text, vit, vcfg, proj, newline


def released_checkpoint(text, vit, proj, newline):
    ckpt = {f"language_model.{k}": v for k, v in text_ref.released_state(text, TEXT).items()}
    for k, v in vit.state_dict().items():
        if "post_layernorm" in k or "position_ids" in k:  # not in the release (spec 1.2)
            continue
        k = k[len("vision_model."):] if k.startswith("vision_model.") else k
        ckpt[f"vision_tower.vision_model.{k}"] = v
    ckpt.update({f"multi_modal_projector.{k}": v for k, v in proj.items()})
    ckpt["image_newline"] = newline
    return {k: v.to(torch.bfloat16).contiguous() for k, v in ckpt.items()}


def vl_config(vcfg):
    text_cfg = text_ref.legacy_config(TEXT)
    return {
        "architectures": ["MiniMaxVL01ForConditionalGeneration"], "model_type": "minimax_vl_01",
        "image_grid_pinpoints": [list(p) for p in ref.RELEASED_PINPOINTS], "image_seq_length": 576,
        "image_token_index": IMAGE_TOKEN, "projector_hidden_act": "gelu",
        "vision_feature_layer": FEATURE_LAYER, "vision_feature_select_strategy": "default",
        "tie_word_embeddings": False, "torch_dtype": "bfloat16", "text_config": text_cfg,
        "vision_config": {"model_type": "clip_vision_model", **{k: getattr(vcfg, k) for k in (
            "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "image_size",
            "patch_size", "num_channels", "hidden_act", "layer_norm_eps")}},
    }


def preprocessor_config():
    return {"image_grid_pinpoints": [list(p) for p in ref.RELEASED_PINPOINTS], "image_mean": ref.IMAGE_MEAN,
            "image_std": ref.IMAGE_STD, "patch_size": ref.PATCH, "process_image_mode": "anyres",
            "resample": 3, "size": [ref.TILE, ref.TILE], "do_convert_rgb": True, "do_normalize": True,
            "do_resize": True, "image_processor_type": "MiniMaxVL01ImageProcessor"}


def image_rows(path, vit, proj, newline, dtype):
    """Packed image rows [tokens, H] (dtype) for one image file: the whole vision half."""
    im = Image.open(path)
    pv, _, best = ref.preprocess(im)
    with torch.no_grad():
        hs = vit(pixel_values=pv.to(dtype), output_hidden_states=True).hidden_states[FEATURE_LAYER]
        feats = hs[:, 1:]
        p = {k: v.to(dtype) for k, v in proj.items()}
        z = torch.nn.functional.linear(feats, p["linear_1.weight"], p["linear_1.bias"])
        z = torch.nn.functional.linear(torch.nn.functional.gelu(z), p["linear_2.weight"], p["linear_2.bias"])
        w, h = im.size
        return ref.pack_image_features(z, newline.to(dtype), w, h, best)


def run_case(case_ids, images, text, vit, proj, newline, dtype):
    """Logits f32 [positions, vocab] of the expanded prompt, and the image token counts."""
    emb = text.model.embed_tokens
    parts, counts, k = [], [], 0
    with torch.no_grad():
        run = []
        for t in case_ids + [None]:
            if t is None or t == IMAGE_TOKEN:
                if run:
                    parts.append(emb(torch.tensor(run)))
                    run = []
                if t is None:
                    break
                rows = image_rows(images[k], vit, proj, newline, dtype)
                counts.append(int(rows.shape[0]))
                parts.append(rows.to(dtype))
                k += 1
            else:
                run.append(t)
        x = torch.cat(parts)[None]
        n = x.shape[1]
        logits = text(inputs_embeds=x, position_ids=torch.arange(n)[None], use_cache=False).logits[0]
    return logits.float(), counts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stage", choices=["all", "logits"], default="all")
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()
    torch.set_num_threads(2)
    pillow_major = int(PIL.__version__.split(".")[0])
    tag = f"pillow{pillow_major}"
    calls = text_ref.patch_reference()
    text, vit, vcfg, proj, newline = build_model()
    ckpt = released_checkpoint(text, vit, proj, newline)
    os.makedirs(f"{args.out}/model", exist_ok=True)
    os.makedirs(f"{args.out}/images", exist_ok=True)
    mpath = f"{args.out}/manifest.json"
    rng = np.random.default_rng(SEED)
    if args.stage == "all":
        save_file(ckpt, f"{args.out}/model/model.safetensors", metadata={"format": "pt"})
        with open(f"{args.out}/model/config.json", "w") as f:
            json.dump(vl_config(vcfg), f, indent=2)
        with open(f"{args.out}/model/preprocessor_config.json", "w") as f:
            json.dump(preprocessor_config(), f, indent=2)
        for name, (w, h, kind) in IMAGES.items():
            Image.fromarray(make_image(w, h, kind, rng), "RGB").save(f"{args.out}/images/{name}.png", optimize=True)
        cases = {}
        for name, (imgs, runs) in CASES.items():
            ids = []
            for i, n in enumerate(runs):
                ids += [int(v) for v in rng.integers(0, IMAGE_TOKEN, n)]
                if i < len(imgs):
                    ids.append(IMAGE_TOKEN)
            cases[name] = {"ids": ids, "images": [f"images/{m}.png" for m in imgs]}
        manifest = {"cases": cases, "runs": {}}
    else:
        saved = load_file(f"{args.out}/model/model.safetensors")
        assert saved.keys() == ckpt.keys() and all(torch.equal(saved[k], ckpt[k]) for k in ckpt), \
            "the rebuilt model differs from model/model.safetensors: run --stage all first, same versions"
        with open(mpath) as f:
            manifest = json.load(f)
    text16 = copy.deepcopy(text).to(torch.bfloat16)  # transformers' bf16 semantics (as make_text_bf16_golden)
    vit16 = copy.deepcopy(vit).to(torch.bfloat16)
    out, stats = {}, {}
    for name, c in manifest["cases"].items():
        images = [f"{args.out}/{p}" for p in c["images"]]
        calls["n"] = 0
        l32, counts = run_case(c["ids"], images, text, vit, proj, newline, torch.float32)
        assert calls["n"] > 0, "RoPE patch was not used"
        l16, counts16 = run_case(c["ids"], images, text16, vit16, proj, newline, torch.bfloat16)
        assert counts == counts16
        # Keep every text position and every IMAGE_ROW_STRIDE-th image position (+ each image's last).
        rows, pos, k = [], 0, 0
        for t in c["ids"]:
            if t == IMAGE_TOKEN:
                n = counts[k]
                rows += list(range(pos, pos + n, IMAGE_ROW_STRIDE)) + [pos + n - 1]
                pos += n
                k += 1
            else:
                rows.append(pos)
                pos += 1
        assert pos == l32.shape[0]
        r = torch.tensor(sorted(set(rows)), dtype=torch.int64)
        out[f"{name}.rows"] = r.to(torch.int32)
        out[f"{name}.f32"] = l32[r].contiguous()
        out[f"{name}.bf16"] = l16[r].contiguous()
        c["image_tokens"] = counts
        c["positions"] = int(pos)
        stats[name] = {"bf16_rel_l2_vs_f32": float((l16[r] - l32[r]).norm() / l32[r].norm())}
        print(tag, name, pos, "positions", counts, stats[name], flush=True)
    save_file(out, f"{args.out}/logits_{tag}.safetensors", metadata={"format": "pt"})
    manifest.update({
        "what": "MiniMax-VL-01 end-to-end goldens: image files -> logits on a small random model in the released "
                "checkpoint layout (issue 13)",
        "seed": SEED, "image_token_index": IMAGE_TOKEN, "image_row_stride": IMAGE_ROW_STRIDE,
        "text_spec": TEXT, "vision_config": VISION, "vision_feature_layer": FEATURE_LAYER,
        "reference": "composed: reference_preprocess.py (released legacy processor on PIL) + CLIPVisionModel + "
                     "projector + pack_image_features + MiniMaxForCausalLM(inputs_embeds), float32 on the CPU; "
                     "the .bf16 tensors run the same composition as bfloat16 modules (model.to(torch.bfloat16))",
        "native_minimax_vl_01": "not in any transformers release on PyPI (5.17.0, 5.23.0, 5.25.0 checked); see "
                                "docs/vl-reference.md",
        "patches": text_ref.PATCHES + [
            "Weights are bf16-representable and stored BF16 (released torch_dtype); the f32 reference runs on "
            "exactly those values"],
        "tolerance": "CPU f32: max abs err <= 1e-4 * max|reference| per case; GPU bf16: rel L2 vs .f32 <= 3 x the "
                     ".bf16 reference's own rel L2 vs .f32 (tests/engine/vl_e2e_*_test.cpp)",
    })
    manifest["runs"][tag] = {
        "command": f"python3 tools/golden/vl/make_vl_goldens.py --stage {args.stage}",
        "resize_pass_order": "classic (horizontal first)" if pillow_major <= 12 else "pillow13 (vertical first "
                             "when the height shrinks much more than the width)",
        "versions": {"python": sys.version.split()[0], "torch": torch.__version__,
                     "transformers": transformers.__version__, "pillow": PIL.__version__,
                     "numpy": np.__version__, "safetensors": safetensors.__version__},
        "reference_bf16_errors": stats,
    }
    with open(mpath, "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
