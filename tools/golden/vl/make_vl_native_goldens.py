#!/usr/bin/env python3
"""End-to-end MiniMax-VL-01 goldens from the NATIVE transformers port (issue 13): image files ->
MiniMaxVL01ImageProcessorPil -> MiniMaxVL01ForConditionalGeneration -> logits, on the same small
checkpoint (tests/golden/vl/model, released layout), images and prompts as make_vl_goldens.py.

The native port (src/transformers/models/minimax_vl_01/) is in no transformers wheel on PyPI
(5.17-5.25 checked), so it is run from the transformers SOURCE, outside this repository: put a
transformers 5.23 package tree with the minimax_vl_01 files added first on PYTHONPATH (see
docs/vl-reference.md, "Running the native port", for how the goldens were made). Nothing of it is
patched: this script only
  * registers minimax_vl_01_text with AutoConfig/AutoModel (the source tree's auto mappings do;
    5.23's do not know the name), and
  * renames the released checkpoint's keys to the native module names (RENAMES below; the
    source tree does this in conversion_mapping.py), fusing w1/w3 into gate_up_proj.
The released config.json (legacy MiniMax-Text-01 text_config: attn_type_list, rotary_dim,
layernorm_*_alpha ...) is read by the native config's own migration, unchanged.

Run once per Pillow (the PIL backend resizes with Pillow, so the pass order follows it):
  PYTHONPATH=<tree> python3 tools/golden/vl/make_vl_native_goldens.py            # Pillow 12.x
  PYTHONPATH=<tree>:<pillow13 dir> python3 tools/golden/vl/make_vl_native_goldens.py  # Pillow 13
Writes tests/golden/vl_native/logits_pillow<N>.safetensors (as tests/golden/vl: C.rows, C.f32,
C.bf16) and manifest.json (cases with the native image token counts, versions, commands).
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import re
import sys

import numpy as np
import PIL
import safetensors
import torch
import transformers
from PIL import Image
from safetensors.torch import load_file, save_file

SRC = "tests/golden/vl"
OUT = "tests/golden/vl_native"
IMAGE_ROW_STRIDE = 16

# released key (regex) -> native key. Applied in order, first match wins.
RENAMES = [
    (r"^language_model\.model\.(.*)$", r"model.language_model.\1"),
    (r"^language_model\.lm_head\.weight$", r"lm_head.weight"),
    (r"^vision_tower\.vision_model\.(.*)$", r"model.vision_tower.\1"),
    (r"^multi_modal_projector\.(.*)$", r"model.multi_modal_projector.\1"),
    (r"^image_newline$", r"model.image_newline"),
]
EXPERT = re.compile(r"^(.*)\.block_sparse_moe\.experts\.(\d+)\.(w[123])\.weight$")


def native_state(released):
    """Released checkpoint -> native state dict. Experts: gate_up_proj[e] = cat(w1, w3),
    down_proj[e] = w2; block_sparse_moe.gate -> mlp.gate."""
    out, experts = {}, {}
    for k, v in released.items():
        m = EXPERT.match(k)
        if m:
            experts.setdefault(m.group(1), {}).setdefault(int(m.group(2)), {})[m.group(3)] = v
            continue
        k = k.replace(".block_sparse_moe.gate.", ".mlp.gate.")
        for pat, rep in RENAMES:
            if re.match(pat, k):
                k = re.sub(pat, rep, k)
                break
        else:
            raise KeyError(f"no rename for {k}")
        out[k] = v
    for pre, es in experts.items():
        pre = re.sub(RENAMES[0][0], RENAMES[0][1], pre)
        n = len(es)
        out[f"{pre}.mlp.experts.gate_up_proj"] = torch.stack([torch.cat([es[e]["w1"], es[e]["w3"]]) for e in range(n)])
        out[f"{pre}.mlp.experts.down_proj"] = torch.stack([es[e]["w2"] for e in range(n)])
    return out


def load_native(src):
    from transformers import AutoConfig, AutoModel
    from transformers.models.minimax_vl_01 import (MiniMaxVL01Config, MiniMaxVL01ForConditionalGeneration,
                                                   MiniMaxVL01TextConfig, MiniMaxVL01TextModel)
    AutoConfig.register("minimax_vl_01_text", MiniMaxVL01TextConfig, exist_ok=True)
    AutoModel.register(MiniMaxVL01TextConfig, MiniMaxVL01TextModel, exist_ok=True)
    with open(f"{src}/model/config.json") as f:
        raw = json.load(f)
    raw.pop("model_type", None)
    raw.pop("architectures", None)
    raw.pop("torch_dtype", None)
    cfg = MiniMaxVL01Config(**raw)
    cfg._attn_implementation = "eager"
    cfg.text_config._attn_implementation = "eager"
    cfg.vision_config._attn_implementation = "eager"
    model = MiniMaxVL01ForConditionalGeneration(cfg).eval().to(torch.float32)
    state = {k: v.to(torch.float32) for k, v in native_state(load_file(f"{src}/model/model.safetensors")).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    ignorable = re.compile("|".join(model._keys_to_ignore_on_load_missing) + r"|position_ids$")
    bad = [k for k in missing if not ignorable.search(k)]
    assert not bad and not unexpected, (bad, unexpected)
    # post_layernorm is not in the release and unused (hidden_states[-1] is taken before it).
    return cfg, model, sorted(missing)


def make_processor(cfg):
    from transformers.models.minimax_vl_01 import MiniMaxVL01ImageProcessorPil
    return MiniMaxVL01ImageProcessorPil(image_grid_pinpoints=cfg.image_grid_pinpoints)


def run_case(model, proc, ids, image_paths, image_token, dtype):
    """Logits f32 [positions, vocab] and the image token counts, all through the native classes."""
    images = [Image.open(p) for p in image_paths]
    feats = proc(images=images, return_tensors="pt")
    pv, sizes = feats["pixel_values"].to(dtype), feats["image_sizes"]
    with torch.no_grad():
        packed = model.model.get_image_features(pv, sizes, vision_feature_layer=model.config.vision_feature_layer,
                                                vision_feature_select_strategy="default").pooler_output
        counts = [int(t.shape[0]) for t in packed]
        expanded, k = [], 0
        for t in ids:  # the processor's job: one placeholder per packed row
            if t == image_token:
                expanded += [image_token] * counts[k]
                k += 1
            else:
                expanded.append(t)
        x = torch.tensor(expanded)[None]
        logits = model(input_ids=x, pixel_values=pv, image_sizes=sizes, use_cache=False).logits[0]
    return logits.float(), counts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default=SRC)
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()
    torch.set_num_threads(2)
    pillow_major = int(PIL.__version__.split(".")[0])
    tag = f"pillow{pillow_major}"
    import transformers.models.minimax_vl_01 as nat
    native_dir = os.path.dirname(nat.__file__)
    cfg, model, missing = load_native(args.src)
    model16 = copy.deepcopy(model).to(torch.bfloat16)
    proc = make_processor(cfg)
    with open(f"{args.src}/manifest.json") as f:
        composed = json.load(f)
    os.makedirs(args.out, exist_ok=True)
    mpath = f"{args.out}/manifest.json"
    manifest = json.load(open(mpath)) if os.path.exists(mpath) else {"cases": {}, "runs": {}}
    out, stats = {}, {}
    rel = os.path.relpath(args.src, args.out)
    for name, c in composed["cases"].items():
        paths = [f"{args.src}/{p}" for p in c["images"]]
        l32, counts = run_case(model, proc, c["ids"], paths, cfg.image_token_index, torch.float32)
        l16, counts16 = run_case(model16, proc, c["ids"], paths, cfg.image_token_index, torch.bfloat16)
        assert counts == counts16
        rows, pos, k = [], 0, 0
        for t in c["ids"]:
            if t == cfg.image_token_index:
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
        manifest["cases"][name] = {"ids": c["ids"], "images": [f"{rel}/{p}" for p in c["images"]],
                                   "image_tokens": counts, "positions": int(pos)}
        stats[name] = {"bf16_rel_l2_vs_f32": float((l16[r] - l32[r]).norm() / l32[r].norm()),
                       "image_tokens_equal_composed": counts == c["image_tokens"]}
        print(tag, name, pos, "positions", counts, stats[name], flush=True)
    save_file(out, f"{args.out}/logits_{tag}.safetensors", metadata={"format": "pt"})
    src_hash = {f: hashlib.sha256(open(os.path.join(native_dir, f), "rb").read()).hexdigest()[:16]
                for f in sorted(os.listdir(native_dir)) if f.endswith(".py")}
    manifest.update({
        "what": "MiniMax-VL-01 end-to-end goldens from the NATIVE transformers port (minimax_vl_01): image files -> "
                "MiniMaxVL01ImageProcessorPil -> MiniMaxVL01ForConditionalGeneration -> logits (issue 13)",
        "model": f"{rel}/model (released layout, shared with the composed goldens)",
        "image_row_stride": IMAGE_ROW_STRIDE,
        "reference": "native minimax_vl_01 from the transformers source tree on top of the transformers 5.23.0 "
                     "wheel, float32 on the CPU, eager attention; .bf16 is the same model after "
                     "model.to(torch.bfloat16) (pixel values cast to bf16)",
        "native_source": {
            "repo": "huggingface/transformers",
            "files": {"modeling_minimax_vl_01.py": "0cc1e1a9ddf450a10bee7f65f7e373e16b0304a5",
                      "configuration_minimax_vl_01.py": "329101a280f36abf589de3f052f3f7368a3012de",
                      "image_processing_pil_minimax_vl_01.py": "8029eef5c08b24f343a286b756e910d61ec5bd44"},
            "how": "the files at those commits (the newest each in the stored index; the full repository snapshot "
                   "was over the fetch size limit), transcribed without docstrings into a copy of the 5.23.0 "
                   "package outside this repository; computational code unchanged",
            "sha256_16_of_files_run": src_hash,
        },
        "patches": ["none to the model or processor: the native rotary embedding already rotates only "
                    "rotary_dim = head_dim * partial_rotary_factor dims (the composed goldens' RoPE patch is not "
                    "needed), and its slopes are used as they are (base**(h+1) in f32)"],
        "glue": ["AutoConfig/AutoModel.register('minimax_vl_01_text', ...) (5.23's auto mappings lack it)",
                 "checkpoint key renames (released -> native): language_model.model.X -> model.language_model.X; "
                 "language_model.lm_head.weight -> lm_head.weight; vision_tower.vision_model.X -> model.vision_tower.X (AutoModel.from_config of a clip_vision_model config is the bare CLIPVisionTransformer here, no vision_model level); "
                 "multi_modal_projector.X -> model.multi_modal_projector.X; image_newline -> model.image_newline; "
                 "layers.N.block_sparse_moe.gate.weight -> layers.N.mlp.gate.weight; "
                 "layers.N.block_sparse_moe.experts.E.{w1,w3}.weight -> layers.N.mlp.experts.gate_up_proj[E] = "
                 "cat(w1, w3) (rows); w2 -> layers.N.mlp.experts.down_proj[E]",
                 "missing after load (not in the release; ignored by the port's own _keys_to_ignore_on_load_missing "
                 "or derived): " + ", ".join(sorted({re.sub(r"\d+", "N", k) for k in missing})),
                 "placeholder expansion (processing_minimax_vl_01.py's job) done here: one image token per packed "
                 "row, counted from the native get_image_features"],
        "tolerance": "CPU f32: max abs err <= 1e-4 * max|reference| per case (tests/engine/vl_native_golden_test.cpp)",
    })
    manifest["runs"][tag] = {
        "command": f"PYTHONPATH=<native tree>{':<pillow13 dir>' if pillow_major >= 13 else ''} "
                   f"python3 tools/golden/vl/make_vl_native_goldens.py",
        "resize_pass_order": "classic (horizontal first)" if pillow_major <= 12 else "pillow13",
        "versions": {"python": sys.version.split()[0], "torch": torch.__version__,
                     "transformers": transformers.__version__ + " + native minimax_vl_01 (source)",
                     "pillow": PIL.__version__, "numpy": np.__version__, "safetensors": safetensors.__version__},
        "stats": stats,
    }
    with open(mpath, "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
