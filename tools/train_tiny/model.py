"""The tiny MiniMax-VL-01: CLIPVisionModel (released tile geometry) + 2-layer GELU projector +
image_newline + unpad/newline packing + transformers' MiniMaxForCausalLM patched to the released
semantics (partial RoPE, legacy lightning slopes; tools/golden/text/make_text_goldens.py).
export() writes the released checkpoint layout and config keys that the C++ loader reads.
"""
from __future__ import annotations

import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "golden", "vision"))
sys.path.insert(0, os.path.join(ROOT, "tools", "golden", "text"))
import reference_preprocess as ref  # noqa: E402

# Sizes (see README.md for the reasoning: <= 40 MB bf16, < 2 s per answer on 2 CPU cores).
VISION = dict(hidden_size=128, intermediate_size=512, num_hidden_layers=5, num_attention_heads=2)
TEXT = dict(hidden=128, layers=[0, 0, 0, 0, 0, 0, 0, 1], heads=2, head_dim=64, kv=1, rotary=32,
            experts=4, topk=2, inter=384, theta=10000000.0)
GLYPH_CLASSES = 96  # data.GLYPH_CLASSES: the training-only per-patch glyph head (not exported)
GLYPH_WEIGHT = 1.0  # weight of the glyph loss in the training loss (see README "Diagnosis (session 8)")
# The tokenizer and the ids that follow from it; use_tokenizer() switches them (before a TinyVL
# is made). "bpe": the 2,048-piece BPE of tiny-docs (session 9 and before); "chars": one token
# per character (make_tokenizer.py --chars, session 10).
TOKENIZERS = {"bpe": os.path.join(HERE, "tokenizer"), "chars": os.path.join(HERE, "tokenizer_chars")}
TOKENIZER_DIR = TOKENIZERS["bpe"]
VOCAB = 2048  # config vocab_size: the tokenizer's size rounded up to a multiple of 64
TOKENS = 2048  # the tokenizer's size: greedy picks below it, as the C++ sampler does (vocab_limit)
IMAGE_TOKEN = 2047
BOS, EOS = 2042, 2043


def use_tokenizer(name_or_dir: str) -> str:
    """Selects the tokenizer: a name in TOKENIZERS or a directory holding tokenizer.json (a
    model directory: resuming, checking). Sets VOCAB, IMAGE_TOKEN, BOS, EOS; returns the dir."""
    global TOKENIZER_DIR, VOCAB, TOKENS, IMAGE_TOKEN, BOS, EOS
    from tokenizers import Tokenizer
    d = TOKENIZERS.get(name_or_dir, name_or_dir)
    tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    ids = [tok.token_to_id(x) for x in ("<image>", "<beginning_of_sentence>", "<end_of_sentence>")]
    if None in ids:
        raise ValueError(f"{d}/tokenizer.json lacks the VL-01 special tokens")
    TOKENIZER_DIR, TOKENS = d, tok.get_vocab_size()
    VOCAB = -(-TOKENS // 64) * 64
    IMAGE_TOKEN, BOS, EOS = ids
    return d


def tokenizer_path() -> str:
    return os.path.join(TOKENIZER_DIR, "tokenizer.json")


def alpha(n_layers: int) -> float:
    return (2.0 * n_layers) ** 0.25  # released: (2 * 80) ** 0.25 = 3.5566


_PATCHED = {"done": False}


def patch_transformers():
    if not _PATCHED["done"]:
        from make_text_goldens import patch_reference  # partial RoPE + released slopes
        patch_reference()
        _PATCHED["done"] = True


def text_config(t=TEXT):
    from transformers import MiniMaxConfig
    types = ["full_attention" if x else "linear_attention" for x in t["layers"]]
    a = alpha(len(t["layers"]))
    cfg = MiniMaxConfig(
        vocab_size=VOCAB, hidden_size=t["hidden"], intermediate_size=t["inter"],
        num_hidden_layers=len(t["layers"]), num_attention_heads=t["heads"], num_key_value_heads=t["kv"],
        head_dim=t["head_dim"], hidden_act="silu", max_position_embeddings=16384, rms_norm_eps=1e-5,
        bos_token_id=BOS, eos_token_id=EOS, pad_token_id=None, tie_word_embeddings=False,
        num_experts_per_tok=t["topk"], num_local_experts=t["experts"], layer_types=types, block_size=256,
        rope_parameters={"rope_type": "default", "rope_theta": t["theta"],
                         "partial_rotary_factor": t["rotary"] / t["head_dim"]},
        full_attn_alpha_factor=a, full_attn_beta_factor=1.0, linear_attn_alpha_factor=a,
        linear_attn_beta_factor=1.0, mlp_alpha_factor=a, mlp_beta_factor=1.0,
        output_router_logits=True, router_aux_loss_coef=0.01, attention_dropout=0.0,
    )
    cfg._attn_implementation = "sdpa"
    return cfg


def released_config(t=TEXT, v=VISION):
    """config.json in the released MiniMax-VL-01 schema (same keys as assets/models/tiny-random)."""
    L = len(t["layers"])
    a = alpha(L)
    with open(os.path.join(ROOT, "assets", "models", "tiny-random", "config.json")) as f:
        cfg = json.load(f)
    cfg["image_token_index"] = IMAGE_TOKEN
    cfg["text_config"].update({
        "bos_token_id": BOS, "eos_token_id": EOS, "vocab_size": VOCAB, "hidden_size": t["hidden"],
        "num_hidden_layers": L, "attn_type_list": t["layers"], "num_attention_heads": t["heads"],
        "num_key_value_heads": t["kv"], "head_dim": t["head_dim"], "rotary_dim": t["rotary"],
        "rope_theta": t["theta"], "intermediate_size": t["inter"], "num_local_experts": t["experts"],
        "num_experts_per_tok": t["topk"], "max_position_embeddings": 16384,
        "layernorm_full_attention_alpha": a, "layernorm_linear_attention_alpha": a, "layernorm_mlp_alpha": a,
        "layernorm_full_attention_beta": 1.0, "layernorm_linear_attention_beta": 1.0, "layernorm_mlp_beta": 1.0,
    })
    cfg["vision_config"].update(dict(v, hidden_act="gelu", image_size=336, patch_size=14, layer_norm_eps=1e-5,
                                     projection_dim=t["hidden"]))
    return cfg


class TinyVL(nn.Module):
    def __init__(self, t=TEXT, v=VISION):
        super().__init__()
        patch_transformers()
        from transformers import CLIPVisionConfig, CLIPVisionModel, MiniMaxForCausalLM
        vc = CLIPVisionConfig(image_size=336, patch_size=14, num_channels=3, layer_norm_eps=1e-5,
                              attention_dropout=0.0, hidden_act="gelu", **v)
        vc._attn_implementation = "sdpa"
        self.vision = CLIPVisionModel(vc)
        H = t["hidden"]
        self.linear_1 = nn.Linear(v["hidden_size"], H)
        self.linear_2 = nn.Linear(H, H)
        self.image_newline = nn.Parameter(torch.randn(H) / math.sqrt(H))
        self.lm = MiniMaxForCausalLM(text_config(t))
        # Training only (never exported): classifies the character centred in each patch from its
        # projected row, a dense reading signal for the ViT and projector (README "Diagnosis (session 8)").
        self.glyph_head = nn.Linear(H, GLYPH_CLASSES)
        self.glyph_loss = None  # last batch's glyph CE (for the log)
        self.t, self.v = t, v
        self._init_lm()

    def _init_lm(self):
        L = len(self.t["layers"])
        with torch.no_grad():
            for name, p in self.lm.named_parameters():
                if name.endswith("norm.weight"):
                    p.fill_(1.0)
                elif "embed_tokens" in name:
                    p.normal_(0, 1.0)
                elif p.dim() >= 2:
                    fan_in = p.shape[-1]
                    p.normal_(0, 1.0 / math.sqrt(fan_in))
                    if "out_proj" in name or "down_proj" in name or "o_proj" in name:
                        p.mul_(1.0 / math.sqrt(2 * L))
            for layer in self.lm.model.layers:  # decay tables from the patched (released) slopes
                a = layer.self_attn
                if hasattr(a, "decay_factors"):
                    s = a.get_slope_rate()
                    qd, kd, dd = a.decay_factors(s)
                    a.slope_rate.copy_(s); a.query_decay.copy_(qd); a.key_decay.copy_(kd); a.diagonal_decay.copy_(dd)

    def vit(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """pixel_values [T, 3, 336, 336] -> ViT patch features [T, 576, V] (the projector's input)."""
        out = self.vision(pixel_values=pixel_values, output_hidden_states=True)
        return out.hidden_states[-1][:, 1:]  # vision_feature_layer -1, no post_layernorm, drop CLS

    def project(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """pixel_values [T, 3, 336, 336] -> projected tile features [T, 576, H] (spec §4)."""
        return self.linear_2(F.gelu(self.linear_1(self.vit(pixel_values))))

    def image_features(self, pixel_values: torch.Tensor, size, best) -> torch.Tensor:
        """pixel_values of one image -> packed [N, H] (unpad + newline, spec §5.2)."""
        z = self.project(pixel_values)
        return ref.pack_image_features(z, self.image_newline.to(z.dtype), size[0], size[1], best)

    def forward(self, input_ids, labels, pixel_values, sizes, bests, image_starts, glyph=None):
        """input_ids/labels [B, T] (image slots expanded); pixel_values[b] [T_b, 3, 336, 336];
        glyph: per-patch glyph classes [sum T_b, 576] (-100 = none) or None. One ViT call over
        every tile of the batch. Returns (LM CE + router loss + GLYPH_WEIGHT * glyph CE, router loss)."""
        emb = self.lm.model.embed_tokens(input_ids)
        z = self.project(torch.cat(pixel_values, 0))
        self.glyph_loss = None
        if glyph is not None and GLYPH_WEIGHT > 0:
            self.glyph_loss = self.glyph_ce(z, glyph)
        per = torch.split(z, [p.shape[0] for p in pixel_values], 0)
        rows = []
        for b in range(len(pixel_values)):
            f = ref.pack_image_features(per[b], self.image_newline.to(z.dtype), sizes[b][0], sizes[b][1], bests[b])
            k = image_starts[b]
            rows.append(torch.cat([emb[b, :k], f.to(emb.dtype), emb[b, k + f.shape[0]:]], 0))
        emb = torch.stack(rows)
        loss, aux = self.lm_loss(emb, labels)
        if self.glyph_loss is not None:
            loss = loss + GLYPH_WEIGHT * self.glyph_loss
        return loss, aux

    def glyph_only(self, pixel_values, glyph):
        """The glyph loss alone (vision warm-up steps, train.py --vision-warmup): ViT + projector +
        glyph head on every tile of the batch, the LM not run."""
        self.glyph_loss = self.glyph_ce(self.project(torch.cat(pixel_values, 0)), glyph)
        return self.glyph_loss

    def glyph_ce(self, z, glyph):
        """Glyph loss: the class of the character centred in each patch, predicted linearly from
        the projected row as the LM's first norm sees it (RMS-normalised, so a large constant
        component shared by all rows leaves nothing to classify with: the collapse it prevents);
        the mean CE over glyph patches and over blank patches, weighted equally (blanks are ~90%)."""
        zf = z.reshape(-1, z.shape[-1]).float()
        g = glyph.reshape(-1)
        zn = zf * torch.rsqrt(zf.pow(2).mean(-1, keepdim=True) + 1e-5)
        ce = F.cross_entropy(self.glyph_head(zn), g.clamp(min=0), reduction="none")
        ink, blank = g > 0, g == 0
        parts = [ce[m].mean() for m in (ink, blank) if bool(m.any())]
        return sum(parts) / len(parts)

    def lm_loss(self, emb, labels):
        """(next-token CE over the labelled positions + coef * router balance loss, balance loss),
        as MiniMaxForCausalLM computes them, but with the LM head on the labelled positions only
        (about 5% of a page's positions; the image positions carry no label)."""
        from transformers.models.minimax.modeling_minimax import load_balancing_loss_func
        out = self.lm.model(inputs_embeds=emb, output_router_logits=True, use_cache=False)
        tgt = labels[:, 1:]
        keep = tgt != -100
        h = out.last_hidden_state[:, :-1][keep]
        logits = self.lm.lm_head(h).float()
        ce = F.cross_entropy(logits, tgt[keep])
        c = self.lm.config
        aux = load_balancing_loss_func(out.router_logits, c.num_local_experts, c.num_experts_per_tok, None)
        return ce + c.router_aux_loss_coef * aux.to(ce.device), aux

    @torch.no_grad()
    def logits(self, ids, image):
        """Teacher-forced logits [T, V] for one expanded sequence (fp32 on CPU for parity)."""
        pv, size, best = image
        f = self.image_features(pv, size, best)
        k = ids.index(IMAGE_TOKEN)
        x = torch.tensor([ids])
        emb = self.lm.model.embed_tokens(x)[0]
        emb = torch.cat([emb[:k], f.to(emb.dtype), emb[k + f.shape[0]:]], 0)[None]
        return self.lm(inputs_embeds=emb, use_cache=False).logits[0]

    @torch.no_grad()
    def greedy(self, ids, image, max_new=32):
        """Greedy answer ids (no cache: the sequences are short after the image)."""
        out = []
        cur = list(ids)
        for _ in range(max_new):
            nxt = int(self.logits(cur, image)[-1, :TOKENS].argmax())
            if nxt == EOS:
                break
            out.append(nxt)
            cur.append(nxt)
        return out


def preprocess(img):
    """PIL image -> (pixel_values [T,3,336,336], (w, h), best (W, H)); the released anyres."""
    pv, _, best = ref.preprocess(img.convert("RGB"))
    return pv, img.size, best


def num_image_tokens(size) -> int:
    w, h = size
    return ref.get_num_token(h, w, ref.RELEASED_PINPOINTS, ref.PATCH)


# ------------------------------------------------------------------ export
def released_state(model: TinyVL) -> dict:
    out = {}
    for k, v in model.vision.state_dict().items():
        if "post_layernorm" in k or "position_ids" in k:
            continue
        k = k[len("vision_model."):] if k.startswith("vision_model.") else k
        out[f"vision_tower.vision_model.{k}"] = v
    for n in ("linear_1", "linear_2"):
        lin = getattr(model, n)
        out[f"multi_modal_projector.{n}.weight"] = lin.weight
        out[f"multi_modal_projector.{n}.bias"] = lin.bias
    out["image_newline"] = model.image_newline.data
    I = model.t["inter"]
    for k, v in model.lm.state_dict().items():
        if any(k.endswith(s) for s in ("slope_rate", "query_decay", "key_decay", "diagonal_decay", "inv_freq")):
            continue
        k = "language_model." + k
        if ".mlp.experts.gate_up_proj" in k:
            pre = k.replace(".mlp.experts.gate_up_proj", ".block_sparse_moe.experts.")
            for e in range(v.shape[0]):
                out[f"{pre}{e}.w1.weight"] = v[e, :I]
                out[f"{pre}{e}.w3.weight"] = v[e, I:]
        elif ".mlp.experts.down_proj" in k:
            pre = k.replace(".mlp.experts.down_proj", ".block_sparse_moe.experts.")
            for e in range(v.shape[0]):
                out[f"{pre}{e}.w2.weight"] = v[e]
        elif ".mlp.gate.weight" in k:
            out[k.replace(".mlp.gate.weight", ".block_sparse_moe.gate.weight")] = v
        else:
            out[k] = v
    return {k: t.detach().to(torch.bfloat16).contiguous().cpu() for k, t in out.items()}


def export(model: TinyVL, out_dir: str, shard_bytes: int = 15 * 2**20, manifest: dict | None = None):
    """Writes the released layout: sharded model-0000N-of-0000M.safetensors + index, configs,
    tokenizer files. Shards stay under 15 MiB so each comes back from the GPU machine alone."""
    from safetensors.torch import save_file
    os.makedirs(out_dir, exist_ok=True)
    sd = released_state(model)
    shards, cur, size = [], {}, 0
    for k in sorted(sd):
        nb = sd[k].numel() * 2
        if cur and size + nb > shard_bytes:
            shards.append(cur); cur, size = {}, 0
        cur[k] = sd[k]; size += nb
    shards.append(cur)
    wmap, total = {}, 0
    for i, sh in enumerate(shards):
        name = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        save_file(sh, os.path.join(out_dir, name), metadata={"format": "pt"})
        for k, t in sh.items():
            wmap[k] = name
            total += t.numel() * 2
    with open(os.path.join(out_dir, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": wmap}, f, indent=2)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(released_config(model.t, model.v), f, indent=2)
    tiny = os.path.join(ROOT, "assets", "models", "tiny-random")
    for n in ("generation_config.json", "preprocessor_config.json"):
        with open(os.path.join(tiny, n)) as f:
            j = json.load(f)
        if n == "generation_config.json":
            j.update({"bos_token_id": BOS, "eos_token_id": EOS})
        with open(os.path.join(out_dir, n), "w") as f:
            json.dump(j, f, indent=2)
    for n in ("tokenizer.json", "tokenizer_config.json"):
        with open(os.path.join(TOKENIZER_DIR, n), "rb") as src, open(os.path.join(out_dir, n), "wb") as dst:
            dst.write(src.read())
    if manifest is not None:
        with open(os.path.join(out_dir, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=2)
    return total


def count_params(model: TinyVL) -> dict:
    sd = released_state(model)
    v = sum(t.numel() for k, t in sd.items() if k.startswith("vision_tower"))
    txt = sum(t.numel() for k, t in sd.items() if k.startswith("language_model"))
    return {"vision": v, "text": txt, "total": sum(t.numel() for t in sd.values())}


def open_exported(model_dir: str):
    """An exported model directory -> (TinyVL in eval mode, its tokenizers.Tokenizer); selects
    its tokenizer (use_tokenizer) first, so the ids and vocab_size are the model's."""
    from tokenizers import Tokenizer
    use_tokenizer(model_dir)
    model = TinyVL()
    load_released(model, model_dir)
    model.eval()
    return model, Tokenizer.from_file(tokenizer_path())


def load_released(model: TinyVL, model_dir: str):
    """Inverse of export(): loads released-layout (bf16) weights into the module (for resuming)."""
    from safetensors.torch import load_file
    with open(os.path.join(model_dir, "model.safetensors.index.json")) as f:
        files = sorted(set(json.load(f)["weight_map"].values()))
    sd = {}
    for fn in files:
        sd.update(load_file(os.path.join(model_dir, fn)))
    vis = model.vision.state_dict()
    prefix = "vision_model." if any(k.startswith("vision_model.") for k in vis) else ""
    new_vis = {k: vis[k] for k in vis}
    lm = model.lm.state_dict()
    E, I = model.t["experts"], model.t["inter"]
    with torch.no_grad():
        for k, v in sd.items():
            v = v.float()
            if k.startswith("vision_tower.vision_model."):
                new_vis[prefix + k[len("vision_tower.vision_model."):]] = v
            elif k.startswith("multi_modal_projector."):
                n, w = k.split(".")[1:3]
                getattr(getattr(model, n), w).copy_(v)
            elif k == "image_newline":
                model.image_newline.copy_(v)
        model.vision.load_state_dict(new_vis)
        L = len(model.t["layers"])
        for i in range(L):
            pre = f"language_model.model.layers.{i}.block_sparse_moe."
            gu = torch.stack([torch.cat([sd[f"{pre}experts.{e}.w1.weight"], sd[f"{pre}experts.{e}.w3.weight"]], 0)
                              for e in range(E)]).float()
            dn = torch.stack([sd[f"{pre}experts.{e}.w2.weight"] for e in range(E)]).float()
            lm[f"model.layers.{i}.mlp.experts.gate_up_proj"] = gu
            lm[f"model.layers.{i}.mlp.experts.down_proj"] = dn
            lm[f"model.layers.{i}.mlp.gate.weight"] = sd[f"{pre}gate.weight"].float()
        for k, v in sd.items():
            if k.startswith("language_model.") and "block_sparse_moe" not in k:
                lm[k[len("language_model."):]] = v.float()
        model.lm.load_state_dict(lm)
    assert I == model.lm.model.layers[0].mlp.experts.intermediate_dim
