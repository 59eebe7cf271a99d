"""Makes tests/golden/vision/vit_hd64_bf16/: one tiny CLIP ViT + projector + packing with head dim 64
(the tuned flash-attention path), run by transformers' CLIPVisionModel on the CPU twice from the SAME
bf16 weights: once in fp32 (the exact reference) and once in bf16 (HF bf16 semantics: model.to(bf16),
pixel_values cast to bf16, every op rounded to bf16). The CUDA bf16 test bounds its error against the
fp32 outputs by c x (HF bf16 vs HF fp32 error); the CPU golden test checks the fp32 path exactly.

Run from the repo root:  python3 tools/golden/vision/make_vit_bf16_goldens.py
It adds "vit_bf16_cases" to tests/golden/vision/manifest.json (make_vision_goldens.py keeps that key).
Everything is seeded; re-running reproduces the same files for the pinned versions in the manifest.
"""
from __future__ import annotations

import json
import os
import sys

import torch
import transformers
from PIL import Image
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_preprocess as ref  # noqa: E402

OUT = "tests/golden/vision"
NAME = "vit_hd64_bf16"
IMAGE = "images/rgb_500x300.png"  # 3 tiles: thumbnail + a 1x2 grid
SEED = 7


def build(text_hidden: int):
    """A CLIPVisionModel + projector + newline with bf16-representable weights (the release is bf16)."""
    torch.manual_seed(SEED)
    cfg = transformers.CLIPVisionConfig(hidden_size=128, intermediate_size=512, num_hidden_layers=2,
                                        num_attention_heads=2, image_size=336, patch_size=14, num_channels=3,
                                        hidden_act="quick_gelu", layer_norm_eps=1e-5, attention_dropout=0.0)
    model = transformers.CLIPVisionModel(cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm1.weight") or name.endswith("norm2.weight") or "layrnorm.weight" in name:
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            elif name.endswith("bias") or "layrnorm" in name:
                p.copy_(0.1 * torch.randn_like(p))
            elif p.ndim >= 2 and "position_embedding" not in name:
                fan_in = p[0].numel()
                p.copy_(torch.randn_like(p) * (1.5 / fan_in ** 0.5))
            else:  # class and position embeddings
                p.copy_(0.5 * torch.randn_like(p))
            p.copy_(p.to(torch.bfloat16).float())
    proj = {
        "linear_1.weight": torch.randn(text_hidden, cfg.hidden_size) / cfg.hidden_size ** 0.5,
        "linear_1.bias": 0.1 * torch.randn(text_hidden),
        "linear_2.weight": torch.randn(text_hidden, text_hidden) / text_hidden ** 0.5,
        "linear_2.bias": 0.1 * torch.randn(text_hidden),
    }
    proj = {k: v.to(torch.bfloat16).float() for k, v in proj.items()}
    newline = torch.randn(text_hidden).to(torch.bfloat16).float()
    return model, cfg, proj, newline


def run(model, proj, newline, pv, image, best, feature_layer, dtype):
    """The reference forward at `dtype` (weights already bf16-exact): -> hidden tile 0, features, packed."""
    model = model.to(dtype)
    with torch.no_grad():
        out = model(pixel_values=pv.to(dtype), output_hidden_states=True)
        feats = out.hidden_states[feature_layer][:, 1:].contiguous()  # "default": drop CLS
        p = {k: v.to(dtype) for k, v in proj.items()}
        z = torch.nn.functional.linear(feats, p["linear_1.weight"], p["linear_1.bias"])
        z = torch.nn.functional.linear(torch.nn.functional.gelu(z), p["linear_2.weight"], p["linear_2.bias"])
        w, h = image.size
        packed = ref.pack_image_features(z, newline.to(dtype), w, h, best)
        per_layer = torch.stack([hs[0] for hs in out.hidden_states])  # tile 0, [L+1, 577, D]
    return per_layer.contiguous(), feats.contiguous(), packed.contiguous()


def main():
    torch.set_num_threads(2)
    text_hidden, feature_layer = 64, -1
    model, cfg, proj, newline = build(text_hidden)
    image = Image.open(f"{OUT}/{IMAGE}")
    pv, _, best = ref.preprocess(image)

    # The checkpoint, stored as bf16 like the release (released names, spec §1.2).
    ckpt = {}
    for k, v in model.state_dict().items():
        if "post_layernorm" in k or "position_ids" in k:
            continue
        k = k[len("vision_model."):] if k.startswith("vision_model.") else k
        ckpt[f"vision_tower.vision_model.{k}"] = v.to(torch.bfloat16).contiguous()
    ckpt.update({f"multi_modal_projector.{k}": v.to(torch.bfloat16) for k, v in proj.items()})
    ckpt["image_newline"] = newline.to(torch.bfloat16)
    os.makedirs(f"{OUT}/{NAME}", exist_ok=True)
    save_file(ckpt, f"{OUT}/{NAME}/model.safetensors")

    outputs = {}
    errs = {}
    ref32 = None
    for tag, dtype in (("f32", torch.float32), ("bf16", torch.bfloat16)):
        hidden, feats, packed = run(model, proj, newline, pv, image, best, feature_layer, dtype)
        outputs.update({f"{tag}.hidden_states_tile0": hidden, f"{tag}.features": feats, f"{tag}.packed": packed})
        if ref32 is None:
            ref32 = (hidden, feats, packed)
        else:
            for what, a, b in zip(("hidden_states_tile0", "features", "packed"), (hidden, feats, packed), ref32):
                a, b = a.double(), b.double()
                errs[what] = float((a - b).norm() / b.norm())
    save_file(outputs, f"{OUT}/{NAME}/outputs.safetensors")

    case = {
        "vision_config": {k: getattr(cfg, k) for k in ("hidden_size", "intermediate_size", "num_hidden_layers",
                                                        "num_attention_heads", "image_size", "patch_size",
                                                        "num_channels", "hidden_act", "layer_norm_eps")},
        "text_hidden": text_hidden, "vision_feature_layer": feature_layer, "projector_hidden_act": "gelu",
        "seed": SEED, "image": IMAGE, "tiles": int(pv.shape[0]), "image_tokens": int(outputs["f32.packed"].shape[0]),
        "best_resolution": list(best), "attn_implementation": model.config._attn_implementation,
        "hf_bf16_vs_f32_rel_l2": errs,
        "notes": "weights bf16-exact (stored bf16); 'f32.*' = model.float() on f32 pixels, 'bf16.*' = "
                 "model.to(bfloat16) on bf16 pixels, projector and newline in bf16 (outputs stored as bf16)",
    }
    with open(f"{OUT}/manifest.json") as f:
        manifest = json.load(f)
    manifest.setdefault("vit_bf16_cases", {})[NAME] = case
    manifest.setdefault("commands_extra", [])
    if "python3 tools/golden/vision/make_vit_bf16_goldens.py" not in manifest["commands_extra"]:
        manifest["commands_extra"].append("python3 tools/golden/vision/make_vit_bf16_goldens.py")
    with open(f"{OUT}/manifest.json", "w") as f:
        json.dump(manifest, f, indent=1)
    print(json.dumps(case["hf_bf16_vs_f32_rel_l2"], indent=1))


if __name__ == "__main__":
    main()
