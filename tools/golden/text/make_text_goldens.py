#!/usr/bin/env python3
"""Golden data for the MiniMax-Text-01 backbone (issue 4), from transformers' MiniMaxForCausalLM.

Builds tiny random configs in float32, patches the native port to the RELEASED (legacy remote code)
semantics where they differ (every patch is listed in manifest.json), and writes for each config:
  <name>/released/  config.json in the legacy MiniMax-Text-01 schema + model.safetensors with the
                    MiniMax-Text-01 key names (model.layers.N.block_sparse_moe.experts.E.w1.weight ...)
  <name>/native/    exactly what MiniMaxForCausalLM.save_pretrained writes (native config.json with
                    layer_types / rope_parameters / *_alpha_factor; weights incl. the decay buffers)
  <name>/golden.safetensors  ids_<n> (I32 [n]), logits_<n> (F32 [n, vocab]),
                    hidden_<n> (F32 [layers+1, n, hidden]: 0 = embeddings, l+1 = output of layer l),
                    greedy_<n> (I32 [32]: greedy continuation of ids_<n>, cached decode path)
Weights are rounded to bf16 values and stored as BF16 (halves the size; the fp32 reference runs
on exactly those values), so the loader's bf16 path is exercised too.

Run from the repo root:  python3 tools/golden/text/make_text_goldens.py --out tests/golden/text
"""
import argparse
import copy
import json
import math
import os
import sys

import numpy as np
import torch
import transformers
import safetensors
from safetensors.torch import save_file
import transformers.models.minimax.modeling_minimax as mm
from transformers import MiniMaxConfig, MiniMaxForCausalLM

SEED = 20250104
N_GREEDY = 32

CONFIGS = [
    dict(name="l2s1_hd16_b8", vocab=256, hidden=64, heads=4, head_dim=16, kv=2, rotary=8, theta=10000.0,
         layers=[0, 0, 1], experts=4, topk=2, inter=64, block=8,
         alpha=dict(full=(6 ** 0.25, 1.0), linear=(6 ** 0.25, 1.0), mlp=(6 ** 0.25, 1.0))),
    dict(name="l3s1_hd32_b16", vocab=384, hidden=64, heads=2, head_dim=32, kv=1, rotary=16, theta=1.0e6,
         layers=[0, 0, 0, 1], experts=8, topk=2, inter=32, block=16,
         alpha=dict(full=(8 ** 0.25, 1.0), linear=(8 ** 0.25, 1.0), mlp=(8 ** 0.25, 1.0))),
    dict(name="s1l2_hd16_b12", vocab=320, hidden=48, heads=3, head_dim=16, kv=3, rotary=16, theta=10000.0,
         layers=[1, 0, 0], experts=6, topk=3, inter=40, block=12,
         alpha=dict(full=(1.5, 0.8), linear=(2.0, 1.1), mlp=(1.8, 0.9))),
]

PATCHES = []


def patch_reference():
    """Make the native port compute what the released remote code computes."""
    # 1. Partial RoPE. transformers 5.17's MiniMaxRotaryEmbedding builds inv_freq over the whole
    #    head_dim and apply_rotary_pos_emb rotates every dim. Released: only dims [0, rotary_dim)
    #    are rotated, NeoX half-split pairs (i, i + rotary_dim/2), inv_freq over rotary_dim.
    def rope_params(config, device=None, **kwargs):
        base = config.rope_parameters["rope_theta"]
        head_dim = config.head_dim
        dim = int(head_dim * config.rope_parameters.get("partial_rotary_factor", 1.0))
        inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float) / dim))
        return inv_freq.to(device), 1.0

    mm.MiniMaxRotaryEmbedding.compute_default_rope_parameters = staticmethod(rope_params)
    calls = {"n": 0}

    def apply_partial(q, k, cos, sin, unsqueeze_dim=1):
        calls["n"] += 1
        cos = cos.unsqueeze(unsqueeze_dim)
        sin = sin.unsqueeze(unsqueeze_dim)
        rd = cos.shape[-1]
        def rot(x):
            xr, xp = x[..., :rd], x[..., rd:]
            x1, x2 = xr[..., : rd // 2], xr[..., rd // 2:]
            rotated = torch.cat((-x2, x1), dim=-1)
            return torch.cat((xr * cos + rotated * sin, xp), dim=-1)
        return rot(q), rot(k)

    mm.apply_rotary_pos_emb = apply_partial
    PATCHES.append("RoPE: MiniMaxRotaryEmbedding.compute_default_rope_parameters builds inv_freq over "
                   "rotary_dim = head_dim*partial_rotary_factor (native 5.17 uses head_dim); "
                   "apply_rotary_pos_emb rotates only dims [0, rotary_dim) with half-split pairs "
                   "(i, i+rotary_dim/2), the rest pass through (released semantics, spec 6.5)")

    # 2. Slopes. Released: base_h = 2^(-8(h+1)/H) in double -> f32, factor = 1 - l/(L-1) + 1e-5
    #    in double -> f32, s = f32 product. Native: factor = 1 - l/(L-1+1e-5) + 1e-5.
    def slope_rate(self):
        H = self.num_attention_heads
        L = self.num_hidden_layers
        base = torch.tensor([2.0 ** (-8.0 * (h + 1) / H) for h in range(H)], dtype=torch.float32)
        factor = 1.0 - self.layer_idx / (L - 1) + 1e-5
        rate = base * torch.tensor(factor, dtype=torch.float32)
        return rate[:, None, None]

    mm.MiniMaxLightningAttention.get_slope_rate = slope_rate
    PATCHES.append("Lightning slopes: factor_l = 1 - l/(num_layers-1) + 1e-5 (released/legacy; native "
                   "divides by num_layers-1+1e-5), base_h = 2^(-8(h+1)/heads) computed in double then "
                   "stored f32, s = f32(base_h) * f32(factor_l) (spec 6.4.2)")
    PATCHES.append("Decay tables: model built and run in float32, so the native module-dtype decay "
                   "buffers and lightning state are fp32 like the released reference (spec 6.4.8)")
    PATCHES.append("Unpatched, already equal to released: lightning output RMSNorm eps 1e-6 over all "
                   "heads; sigmoid gate from the layer input; postnorm residual alpha*norm(x) + "
                   "beta*branch with alpha/beta from the config; inter-block decay exp(-s(t+1)); "
                   "router softmax fp32, top-k, renormalise by the top-k sum")
    return calls


def make_config(c):
    types = ["full_attention" if t else "linear_attention" for t in c["layers"]]
    return MiniMaxConfig(
        vocab_size=c["vocab"], hidden_size=c["hidden"], intermediate_size=c["inter"],
        num_hidden_layers=len(c["layers"]), num_attention_heads=c["heads"], num_key_value_heads=c["kv"],
        head_dim=c["head_dim"], hidden_act="silu", max_position_embeddings=8192, rms_norm_eps=1e-5,
        bos_token_id=None, eos_token_id=None, pad_token_id=None, tie_word_embeddings=False,
        num_experts_per_tok=c["topk"], num_local_experts=c["experts"], layer_types=types,
        block_size=c["block"],
        rope_parameters={"rope_type": "default", "rope_theta": c["theta"],
                         "partial_rotary_factor": c["rotary"] / c["head_dim"]},
        full_attn_alpha_factor=c["alpha"]["full"][0], full_attn_beta_factor=c["alpha"]["full"][1],
        linear_attn_alpha_factor=c["alpha"]["linear"][0], linear_attn_beta_factor=c["alpha"]["linear"][1],
        mlp_alpha_factor=c["alpha"]["mlp"][0], mlp_beta_factor=c["alpha"]["mlp"][1],
    )


def legacy_config(c):
    L = len(c["layers"])
    return {
        "architectures": ["MiniMaxText01ForCausalLM"], "model_type": "minimax_text_01",
        "vocab_size": c["vocab"], "hidden_size": c["hidden"], "num_hidden_layers": L,
        "attn_type_list": c["layers"], "num_attention_heads": c["heads"],
        "num_key_value_heads": c["kv"], "head_dim": c["head_dim"], "rotary_dim": c["rotary"],
        "rope_theta": c["theta"], "max_position_embeddings": 8192, "hidden_act": "silu",
        "intermediate_size": c["inter"], "num_local_experts": c["experts"],
        "num_experts_per_tok": c["topk"], "rms_norm_eps": 1e-5, "postnorm": True,
        "layernorm_full_attention_alpha": c["alpha"]["full"][0],
        "layernorm_full_attention_beta": c["alpha"]["full"][1],
        "layernorm_linear_attention_alpha": c["alpha"]["linear"][0],
        "layernorm_linear_attention_beta": c["alpha"]["linear"][1],
        "layernorm_mlp_alpha": c["alpha"]["mlp"][0], "layernorm_mlp_beta": c["alpha"]["mlp"][1],
        "shared_intermediate_size": [0], "shared_moe_mode": "sigmoid",
        # Not in the released file (the reference hard-codes 256); the tiny models need their own.
        "block_size": c["block"],
        "bos_token_id": None, "eos_token_id": None, "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
    }


def randomize(model, c, gen):
    """Scale-aware random weights (the default init std 0.02 would hide the attention branch)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
            elif "embed_tokens" in name:
                p.copy_(torch.randn(p.shape, generator=gen))
            else:
                fan_in = p.shape[-1]
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(fan_in))
            p.copy_(p.to(torch.bfloat16).to(torch.float32))  # bf16-representable values


def released_state(model, c):
    sd = model.state_dict()
    out = {}
    for k, v in sd.items():
        if any(k.endswith(s) for s in ("slope_rate", "query_decay", "key_decay", "diagonal_decay")):
            continue
        if ".mlp.experts.gate_up_proj" in k:
            pre = k.replace(".mlp.experts.gate_up_proj", ".block_sparse_moe.experts.")
            I = c["inter"]
            for e in range(v.shape[0]):
                out[f"{pre}{e}.w1.weight"] = v[e, :I].clone()
                out[f"{pre}{e}.w3.weight"] = v[e, I:].clone()
        elif ".mlp.experts.down_proj" in k:
            pre = k.replace(".mlp.experts.down_proj", ".block_sparse_moe.experts.")
            for e in range(v.shape[0]):
                out[f"{pre}{e}.w2.weight"] = v[e].clone()
        elif ".mlp.gate.weight" in k:
            out[k.replace(".mlp.gate.weight", ".block_sparse_moe.gate.weight")] = v.clone()
        else:
            out[k] = v.clone()
    return {k: t.to(torch.bfloat16).contiguous() for k, t in out.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/golden/text")
    args = ap.parse_args()
    torch.set_num_threads(2)
    calls = patch_reference()
    manifest = {
        "what": "MiniMax-Text-01 backbone goldens (issue 4)",
        "command": "python3 tools/golden/text/make_text_goldens.py --out " + args.out,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "safetensors": safetensors.__version__, "numpy": np.__version__,
                     "python": sys.version.split()[0]},
        "seed": SEED, "dtype": "float32 compute; weights bf16-representable, stored BF16",
        "patches": PATCHES, "greedy_tokens": N_GREEDY,
        "notes": [
            "native/ is save_pretrained of a bf16 copy: transformers 5.17 writes the per-expert names "
            "(model.layers.N.block_sparse_moe.experts.E.w1/w2/w3.weight, block_sparse_moe.gate.weight) plus the "
            "derived lightning buffers (slope_rate, query_decay, key_decay, diagonal_decay; bf16 there, ignored "
            "by minimax-vl, which derives them from the config); the in-memory state_dict instead holds fused "
            "mlp.experts.gate_up_proj [E, 2I, H] / down_proj [E, H, I] and mlp.gate.weight",
            "released/config.json carries block_size (absent in the released file, where the reference "
            "hard-codes 256)",
            "greedy continuations use generate() with an explicit all-ones attention_mask (otherwise a prompt "
            "token equal to pad_token_id would be masked as padding)",
        ],
        "tolerance": "logits and hidden: max abs err <= 1e-4 * max|reference|; greedy identical",
        "configs": [],
    }
    for ci, c in enumerate(CONFIGS):
        torch.manual_seed(SEED + ci)
        gen = torch.Generator().manual_seed(SEED + ci)
        cfg = make_config(c)
        model = MiniMaxForCausalLM(cfg).eval().to(torch.float32)
        randomize(model, c, gen)
        # The decay buffers are rebuilt from the patched slope builder (init may have run before).
        for layer in model.model.layers:
            a = layer.self_attn
            if isinstance(a, mm.MiniMaxLightningAttention):
                s = a.get_slope_rate()
                qd, kd, dd = a.decay_factors(s)
                a.slope_rate.copy_(s); a.query_decay.copy_(qd); a.key_decay.copy_(kd); a.diagonal_decay.copy_(dd)
        d = os.path.join(args.out, c["name"])
        os.makedirs(os.path.join(d, "released"), exist_ok=True)
        save_file(released_state(model, c), os.path.join(d, "released", "model.safetensors"),
                  metadata={"format": "pt"})
        with open(os.path.join(d, "released", "config.json"), "w") as f:
            json.dump(legacy_config(c), f, indent=2)
        # Save a bf16 copy: casting the reference itself would also round its f32 buffers
        # (RoPE inv_freq, decay tables) to bf16.
        copy.deepcopy(model).to(torch.bfloat16).save_pretrained(os.path.join(d, "native"))

        B = c["block"]
        golden = {}
        captured = []
        hooks = [model.model.embed_tokens.register_forward_hook(lambda m, i, o: captured.append(o[0].clone()))]
        for layer in model.model.layers:
            hooks.append(layer.register_forward_hook(
                lambda m, i, o: captured.append((o[0] if isinstance(o, tuple) else o)[0].clone())))
        lengths = [1, B - 1, B, 3 * B + 5]
        for n in lengths:
            ids = torch.randint(0, c["vocab"], (1, n), generator=gen)
            captured.clear()
            calls["n"] = 0
            with torch.no_grad():
                logits = model(input_ids=ids, use_cache=False).logits[0]
            if any(c["layers"]):
                assert calls["n"] > 0, "RoPE patch was not used by the attention layers"
            hidden = torch.stack(captured[: len(c["layers"]) + 1])
            captured.clear()
            with torch.no_grad():
                # Explicit all-ones mask: without it generate() treats token id == pad id as padding.
                out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=N_GREEDY, min_new_tokens=N_GREEDY, do_sample=False,
                                     eos_token_id=None, pad_token_id=0, use_cache=True)
            greedy = out[0, n:]
            assert greedy.numel() == N_GREEDY
            golden[f"ids_{n}"] = ids[0].to(torch.int32)
            golden[f"logits_{n}"] = logits.float().contiguous()
            golden[f"hidden_{n}"] = hidden.float().contiguous()
            golden[f"greedy_{n}"] = greedy.to(torch.int32).contiguous()
        for h in hooks:
            h.remove()
        save_file(golden, os.path.join(d, "golden.safetensors"), metadata={"format": "pt"})
        manifest["configs"].append({"name": c["name"], "spec": c, "lengths": lengths,
                                    "layouts": ["released", "native"]})
        print("wrote", d, flush=True)
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)


if __name__ == "__main__":
    main()
