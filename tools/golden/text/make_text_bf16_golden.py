#!/usr/bin/env python3
"""bf16 golden for the CUDA bf16 fast path (issue 7), from transformers' MiniMaxForCausalLM.

One tiny config at the tuned kernels' head dim (128, so the tuned lightning prefill/decode,
flash attention and packed-MoE kernels run), built exactly like make_text_goldens.py (same
reference patches, imported from it: partial RoPE, released slopes), run on the CPU twice:
in float32 (the reference) and as a bfloat16 copy (transformers' bf16 semantics: every op
rounded to bf16, bf16 lightning state). Writes to <out>/<name>/:
  released/   config.json (legacy MiniMax-Text-01 schema) + model.safetensors (BF16 weights,
              bf16-representable, so both runs and minimax-vl use identical values)
  golden.safetensors:
    ids            I32 [n]        the prompt (n = 300: crosses the 256-token block boundary)
    rows           I32 [r]        the prompt positions whose logits are stored
    prefill_f32    F32 [r, vocab] float32 reference logits at `rows`
    prefill_bf16   F32 [r, vocab] bfloat16 run's logits at `rows` (upcast)
    decode_ids     I32 [k]        tokens fed after the prompt (the f32 model's greedy choices)
    decode_f32     F32 [k, vocab] logits of each decode step (cached decode path), f32 run
    decode_bf16    F32 [k, vocab] the same, bf16 run
The test (tests/llm/text_model_bf16_cuda_test.cpp) bounds err(minimax-vl CUDA bf16 vs f32)
by a small multiple of err(transformers bf16 vs f32).

Run from the repo root:  python3 tools/golden/text/make_text_bf16_golden.py --out tests/golden/text
"""
import argparse
import json
import os
import sys

import numpy as np
import safetensors
import torch
import transformers
from safetensors.torch import save_file
import transformers.models.minimax.modeling_minimax as mm
from transformers import MiniMaxForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_text_goldens as base  # noqa: E402

SEED = 20251122
N_PROMPT = 300
N_DECODE = 4
ROWS = list(range(0, 8)) + list(range(248, 264)) + list(range(N_PROMPT - 8, N_PROMPT))

CONFIG = dict(name="bf16_hd128", vocab=256, hidden=128, heads=2, head_dim=128, kv=1, rotary=64, theta=1.0e7,
              layers=[0, 0, 0, 1], experts=4, topk=2, inter=64, block=256,
              alpha=dict(full=(8 ** 0.25, 1.0), linear=(8 ** 0.25, 1.0), mlp=(8 ** 0.25, 1.0)))


def rebuild_decay(model):
    for layer in model.model.layers:
        a = layer.self_attn
        if isinstance(a, mm.MiniMaxLightningAttention):
            s = a.get_slope_rate()
            qd, kd, dd = a.decay_factors(s)
            a.slope_rate.copy_(s); a.query_decay.copy_(qd); a.key_decay.copy_(kd); a.diagonal_decay.copy_(dd)


def run(model, ids, decode_ids):
    """Prefill logits (all positions) then teacher-forced cached decode steps."""
    with torch.no_grad():
        out = model(input_ids=ids, use_cache=True)
        prefill = out.logits[0].float()
        cache = out.past_key_values
        steps = []
        n = ids.shape[1]
        for i, t in enumerate(decode_ids):
            # Explicit positions: the hybrid cache's get_seq_length() does not count the prompt
            # when layer 0 is a lightning layer, so the default position would be wrong.
            pos = torch.tensor([n + i])
            o = model(input_ids=torch.tensor([[t]]), past_key_values=cache, use_cache=True,
                      cache_position=pos, position_ids=pos[None, :])
            cache = o.past_key_values
            steps.append(o.logits[0, -1].float())
    return prefill, torch.stack(steps)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/golden/text")
    args = ap.parse_args()
    torch.set_num_threads(2)
    base.patch_reference()
    c = CONFIG
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    model = MiniMaxForCausalLM(base.make_config(c)).eval().to(torch.float32)
    base.randomize(model, c, gen)
    rebuild_decay(model)
    d = os.path.join(args.out, c["name"])
    os.makedirs(os.path.join(d, "released"), exist_ok=True)
    save_file(base.released_state(model, c), os.path.join(d, "released", "model.safetensors"),
              metadata={"format": "pt"})
    with open(os.path.join(d, "released", "config.json"), "w") as f:
        json.dump(base.legacy_config(c), f, indent=2)

    ids = torch.randint(0, c["vocab"], (1, N_PROMPT), generator=gen)
    # Decode tokens: the f32 model's greedy continuation (found with the cache, then replayed).
    with torch.no_grad():
        greedy = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=N_DECODE,
                                min_new_tokens=N_DECODE, do_sample=False, eos_token_id=None, pad_token_id=0,
                                use_cache=True)[0, N_PROMPT:].tolist()
    p32, d32 = run(model, ids, greedy)
    bf = MiniMaxForCausalLM(base.make_config(c)).eval().to(torch.float32)
    bf.load_state_dict(model.state_dict())
    bf = bf.to(torch.bfloat16)  # transformers' bf16 model: weights, decay buffers, state all bf16
    p16, d16 = run(bf, ids, greedy)
    rows = torch.tensor(ROWS, dtype=torch.int64)
    golden = {
        "ids": ids[0].to(torch.int32).contiguous(),
        "rows": rows.to(torch.int32).contiguous(),
        "prefill_f32": p32[rows].contiguous(),
        "prefill_bf16": p16[rows].contiguous(),
        "decode_ids": torch.tensor(greedy, dtype=torch.int32),
        "decode_f32": d32.contiguous(),
        "decode_bf16": d16.contiguous(),
    }
    save_file(golden, os.path.join(d, "golden.safetensors"), metadata={"format": "pt"})

    def rel(a, b):
        return float((a - b).norm() / b.norm())
    stats = {"prefill_rel_l2_bf16_vs_f32": rel(p16[rows], p32[rows]),
             "decode_rel_l2_bf16_vs_f32": rel(d16, d32)}
    print("wrote", d, stats, flush=True)
    mpath = os.path.join(args.out, "manifest.json")
    with open(mpath) as f:
        manifest = json.load(f)
    manifest["bf16_golden"] = {
        "what": "CUDA bf16 fast-path golden (issue 7): transformers MiniMaxForCausalLM in float32 and bfloat16 "
                "on the CPU, same bf16-representable weights",
        "command": "python3 tools/golden/text/make_text_bf16_golden.py --out " + args.out,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "safetensors": safetensors.__version__, "numpy": np.__version__,
                     "python": sys.version.split()[0]},
        "seed": SEED, "spec": c, "prompt_tokens": N_PROMPT, "decode_steps": N_DECODE, "rows": ROWS,
        "patches": "the same reference patches as make_text_goldens.py (imported from it)",
        "bf16_run": "model.to(torch.bfloat16): transformers' own bf16 semantics (bf16 decay tables and "
                    "lightning state, bf16 RoPE cos/sin); minimax-vl keeps the lightning state f32",
        "reference_errors": stats,
        "tolerance": "rel L2 of minimax-vl CUDA bf16 vs prefill_f32 / decode_f32 <= 3 x that of the "
                     "transformers bf16 run (see the test)",
    }
    with open(mpath, "w") as f:
        json.dump(manifest, f, indent=2)


if __name__ == "__main__":
    main()
