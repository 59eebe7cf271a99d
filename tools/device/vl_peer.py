#!/usr/bin/env python3
"""The composed HF transformers peer of `minimax-vl bench --path vl` (issue 21 item 1), run on the
GPU machine in the same call as our bench (tools/device/vl_check.sh). For each image our bench
timed (its `result:` lines: file, grid, image and text token counts), it times the same image
question through:

  decode       PIL Image.open(file).convert("RGB") (the PNG decoded)
  preprocess   LlavaNextImageProcessor (the anyres processor of the LLaVA-NeXT family MiniMax-VL-01's
               processor derives from) with ONE pinpoint = the grid our processor chose, 336 px tiles,
               so it makes the same tiles (grid + thumbnail). transformers 5.17 ships no minimax_vl_01
               processor (the native port is in no wheel; docs/vl-reference.md), so this is an
               approximation of the legacy processor's cost, not its pixels. If the LLaVA-NeXT
               processor is missing or makes another tile count, a PIL resize + crop + normalise
               of the same grid is used instead; the JSON says which ("processor").
  vit          CLIPVisionModel (attn_implementation="sdpa") at the config's vision_config, bf16,
               all tiles in one batch; last hidden state, CLS dropped
  projector    Linear(1024, 6144) -> GELU -> Linear(6144, 6144), bf16
  pack         LLaVA-NeXT packing (grid features reassembled, unpad_image, image_newline per row,
               the thumbnail's rows first); trimmed/padded to our count when the rounding differs
  prefill      MiniMaxForCausalLM with the first N layers of the config's text_config (released
               sizes, 32 experts top-2, the same lightning/softmax kinds), bf16, sdpa, from random
               weights (no checkpoint, no internet), inputs_embeds = [question ids, image rows,
               question ids] of our prompt's length, use_cache=True, logits of the last position
  first token  argmax of those logits, read to the host (.item())

Every stage is CUDA-synchronised; TTFT = decode .. first token, median over --reps after one
warm-up. No patches to transformers: the numbers are irrelevant here, only the work (the native
MiniMax port's full-width RoPE and slope rounding differ from the release in values, not cost).
usage: vl_peer.py --ours LOG [--ours LOG ...] [--layers N] [--reps R] [--config FILE] [--out DIR] [--device cpu]
Prints a table with TTFT(peer) / TTFT(ours) per image and writes OUT/vl_peer.json."""
import argparse
import json
import os
import re
import statistics
import sys
import time
import traceback

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parse_ours(paths):
    """(rows, device, setup) from our bench logs: one dict per `result:` line, tagged with the
    run's prefill policy (the `prefill calls of ...` phrase of its header)."""
    rows, device = [], None
    for p in paths:
        policy = "?"
        for line in open(p, errors="replace"):
            if line.startswith("device: "):
                device = line[len("device: "):].strip()
            m = re.search(r"prefill calls of ([^,;]+)", line)
            if line.startswith("== vl:") and m:
                policy = m.group(1).strip()
            if line.startswith("result: "):
                f = dict(re.findall(r"(\w+)=(\S+)", line))
                f["policy"] = policy
                f["log"] = p
                rows.append(f)
    return rows, device


DEVICE = "cuda"


def sync():
    if DEVICE.startswith("cuda"):
        torch.cuda.synchronize()


class Peer:
    def __init__(self, config_path, layers, dev="cuda"):
        from transformers import CLIPVisionConfig, CLIPVisionModel, MiniMaxConfig, MiniMaxForCausalLM
        cfg = json.load(open(config_path))
        self.cfg = cfg
        v = cfg["vision_config"]
        t = cfg["text_config"]
        self.dev = dev
        self.tile = v["image_size"]
        vcfg = CLIPVisionConfig(hidden_size=v["hidden_size"], intermediate_size=v["intermediate_size"],
                                num_hidden_layers=v["num_hidden_layers"], num_attention_heads=v["num_attention_heads"],
                                image_size=v["image_size"], patch_size=v["patch_size"],
                                num_channels=v.get("num_channels", 3), hidden_act=v.get("hidden_act", "gelu"),
                                layer_norm_eps=v.get("layer_norm_eps", 1e-5))
        torch.manual_seed(0)
        prev = torch.get_default_dtype()
        torch.set_default_dtype(torch.bfloat16)  # made in bf16 directly on the GPU (no 50 GB f32 copy)
        try:
            with torch.device(dev):
                self.vit = CLIPVisionModel._from_config(vcfg, attn_implementation="sdpa").eval()
                H, Dv = t["hidden_size"], v["hidden_size"]
                self.projector = torch.nn.Sequential(torch.nn.Linear(Dv, H), torch.nn.GELU(),
                                                     torch.nn.Linear(H, H)).eval()
                self.newline = torch.randn(H) * 0.02
                kinds = t["attn_type_list"][:layers]
                rotary = t.get("rotary_dim", t["head_dim"])
                tcfg = MiniMaxConfig(
                    vocab_size=t["vocab_size"], hidden_size=H, intermediate_size=t["intermediate_size"],
                    num_hidden_layers=layers, num_attention_heads=t["num_attention_heads"],
                    num_key_value_heads=t["num_key_value_heads"], head_dim=t["head_dim"], hidden_act="silu",
                    max_position_embeddings=max(t.get("max_position_embeddings", 8192), 65536),
                    rms_norm_eps=t.get("rms_norm_eps", 1e-5), tie_word_embeddings=False,
                    bos_token_id=None, eos_token_id=None, pad_token_id=None,
                    num_experts_per_tok=t["num_experts_per_tok"], num_local_experts=t["num_local_experts"],
                    layer_types=["full_attention" if k else "linear_attention" for k in kinds], block_size=256,
                    rope_parameters={"rope_type": "default", "rope_theta": t.get("rope_theta", 1e7),
                                     "partial_rotary_factor": rotary / t["head_dim"]},
                    full_attn_alpha_factor=t.get("layernorm_full_attention_alpha", 1.0),
                    full_attn_beta_factor=t.get("layernorm_full_attention_beta", 1.0),
                    linear_attn_alpha_factor=t.get("layernorm_linear_attention_alpha", 1.0),
                    linear_attn_beta_factor=t.get("layernorm_linear_attention_beta", 1.0),
                    mlp_alpha_factor=t.get("layernorm_mlp_alpha", 1.0), mlp_beta_factor=t.get("layernorm_mlp_beta", 1.0))
                try:
                    self.lm = MiniMaxForCausalLM._from_config(tcfg, attn_implementation="sdpa").eval()
                except (ValueError, ImportError) as e:  # sdpa refused: the library's default, recorded
                    print(f"peer: MiniMax sdpa refused ({e}); default attention", file=sys.stderr)
                    self.lm = MiniMaxForCausalLM._from_config(tcfg).eval()
        finally:
            torch.set_default_dtype(prev)
        self.kinds = kinds
        self.attn = {"vit": self.vit.config._attn_implementation, "lm": self.lm.config._attn_implementation}
        self.processor_name = None

    # ---------------------------------------------------------------- preprocessing
    def hf_processor(self, rows, cols):
        import transformers
        for name in ("LlavaNextImageProcessor", "LlavaNextImageProcessorPil", "LlavaNextImageProcessorFast"):
            cls = getattr(transformers, name, None)
            if cls is None:
                continue
            try:
                s = self.tile
                return name, cls(image_grid_pinpoints=[[rows * s, cols * s]], size={"shortest_edge": s},
                                 crop_size={"height": s, "width": s}, do_pad=True)
            except Exception as e:  # try the next backend
                print(f"peer: {name} unusable: {type(e).__name__}: {str(e)[:160]}", file=sys.stderr)
        return None, None

    def manual_pixels(self, img, rows, cols):
        from PIL import Image
        s = self.tile
        mean = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(3, 1, 1)
        std = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(3, 1, 1)

        def to_t(im):
            x = torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8).view(im.height, im.width, 3)
            return (x.permute(2, 0, 1).float() / 255 - mean) / std

        big = to_t(img.resize((cols * s, rows * s), Image.BICUBIC))
        tiles = [to_t(img.resize((s, s), Image.BICUBIC))]
        for r in range(rows):
            for c in range(cols):
                tiles.append(big[:, r * s:(r + 1) * s, c * s:(c + 1) * s])
        return torch.stack(tiles)

    def preprocess(self, img, rows, cols, proc):
        if proc is not None:
            out = proc(images=img, return_tensors="pt")["pixel_values"]
            pv = out[0] if isinstance(out, (list, tuple)) or out.dim() == 5 else out
            if pv.shape[0] == rows * cols + 1:
                return pv
        return self.manual_pixels(img, rows, cols)

    # ---------------------------------------------------------------- the model
    def pack(self, feats, rows, cols, width, height, want):
        """LLaVA-NeXT packing of [T, g*g, H] features: thumbnail rows, then the grid map unpadded
        to the image's aspect, a newline after each row."""
        T, n, H = feats.shape
        g = int(round(n ** 0.5))
        base = feats[0]
        grid = feats[1:].view(rows, cols, g, g, H).permute(4, 0, 2, 1, 3).reshape(H, rows * g, cols * g)
        cur_h, cur_w = rows * g, cols * g
        if width / height > cur_w / cur_h:  # wider: crop rows
            new_h = int(height * cur_w / width)
            pad = (cur_h - new_h) // 2
            grid = grid[:, pad:cur_h - pad, :]
        else:
            new_w = int(width * cur_h / height)
            pad = (cur_w - new_w) // 2
            grid = grid[:, :, pad:cur_w - pad]
        nl = self.newline.view(H, 1, 1).expand(H, grid.shape[1], 1).to(grid.dtype)
        grid = torch.cat([grid, nl], dim=2).flatten(1).transpose(0, 1)
        rows_out = torch.cat([base, grid], dim=0)
        got = rows_out.shape[0]
        if got > want:
            rows_out = rows_out[:want]
        elif got < want:
            rows_out = torch.cat([rows_out, rows_out[-1:].expand(want - got, H)], dim=0)
        return rows_out, got

    @torch.no_grad()
    def ask(self, row, proc):
        rows, cols = (int(x) for x in row["grid"].split("x"))
        width, height = int(row["width"]), int(row["height"])
        want = int(row["image_tokens"])
        n_text = int(row["text_tokens"])
        before = min(12, n_text - 1)
        from PIL import Image
        t = {}
        sync()
        t0 = time.perf_counter()
        img = Image.open(row["file"]).convert("RGB")
        t1 = time.perf_counter()
        pv = self.preprocess(img, rows, cols, proc)
        pv = pv.to(self.dev, torch.bfloat16, non_blocking=False)
        sync()
        t2 = time.perf_counter()
        hidden = self.vit(pixel_values=pv).last_hidden_state[:, 1:]
        sync()
        t3 = time.perf_counter()
        z = self.projector(hidden)
        img_rows, got = self.pack(z, rows, cols, width, height, want)
        sync()
        t4 = time.perf_counter()
        ids = torch.arange(n_text, device=self.dev) * 7919 % 1000 + 13
        emb = self.lm.get_input_embeddings()
        x = torch.cat([emb(ids[:before]), img_rows, emb(ids[before:])], dim=0)[None]
        out = self.lm(inputs_embeds=x, use_cache=True, logits_to_keep=1)
        sync()
        t5 = time.perf_counter()
        _ = int(out.logits[0, -1].argmax().item())
        t6 = time.perf_counter()
        t = {"decode": t1 - t0, "preprocess": t2 - t1, "vit": t3 - t2, "projector_pack": t4 - t3,
             "prefill": t5 - t4, "first_token": t6 - t5, "ttft": t6 - t0}
        return {k: v * 1e3 for k, v in t.items()}, int(pv.shape[0]), got, int(x.shape[1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", action="append", required=True, help="a log of `minimax-vl bench --path vl`")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--config", default=os.path.join(ROOT, "configs", "minimax-vl-01.json"))
    ap.add_argument("--out", default=os.environ.get("OUT", "."))
    ap.add_argument("--device", default="cuda", help="cuda (the benchmark) or cpu (a dry run of this script on a tiny config)")
    a = ap.parse_args()
    global DEVICE
    DEVICE = a.device
    ours, our_device = parse_ours(a.ours)
    if not ours:
        sys.exit("vl_peer: no `result:` lines in " + ", ".join(a.ours))
    import transformers
    gpu = torch.cuda.get_device_name(0) if DEVICE.startswith("cuda") else "cpu (dry run)"
    res = {"gpu": gpu, "torch": torch.__version__, "transformers": transformers.__version__, "layers": a.layers,
           "reps": a.reps, "ours_device": our_device, "images": {}}
    t0 = time.perf_counter()
    peer = Peer(a.config, a.layers, DEVICE)
    sync()
    res["make_s"] = time.perf_counter() - t0
    res["attn_implementation"] = peer.attn
    res["text_layer_kinds"] = ["softmax" if k else "lightning" for k in peer.kinds]
    by_file = {}
    for r in ours:
        by_file.setdefault(r["file"], r)
    for f, r in by_file.items():
        rows, cols = (int(x) for x in r["grid"].split("x"))
        name, proc = peer.hf_processor(rows, cols)
        try:
            peer.ask(r, proc)  # warm-up (and the processor's first use)
            stages = []
            for _ in range(a.reps):
                st, tiles, got, positions = peer.ask(r, proc)
                stages.append(st)
            med = {k: statistics.median(s[k] for s in stages) for k in stages[0]}
            used = name if proc is not None and tiles == rows * cols + 1 else "manual PIL resize + crop (approximation)"
            res["images"][r["label"]] = {"file": f, "tiles": tiles, "image_tokens_llava_next": got,
                                         "image_tokens_ours": int(r["image_tokens"]), "positions": positions,
                                         "processor": used, "median_ms": med,
                                         "ttft_reps_ms": [s["ttft"] for s in stages]}
        except Exception as e:
            traceback.print_exc()
            res["images"][r["label"]] = {"file": f, "failed": f"{type(e).__name__}: {str(e)[:300]}"}
        if DEVICE.startswith("cuda"):
            torch.cuda.empty_cache()
    lines = [f"GPU: {gpu} (torch {torch.__version__}, transformers {transformers.__version__}); ours on: {our_device}",
             f"peer: CLIPVisionModel (sdpa) + MLP projector + MiniMaxForCausalLM x {a.layers} layers "
             f"({', '.join(res['text_layer_kinds'])}), bf16, random weights (made in {res['make_s']:.1f} s)", "",
             "| image | tiles | prompt positions | ours: prefill calls of | ours TTFT ms | peer TTFT ms | peer / ours |",
             "|---|---|---|---|---|---|---|"]
    for r in ours:
        p = res["images"].get(r["label"], {})
        pt = p.get("median_ms", {}).get("ttft")
        ot = float(r["ttft_ms"])
        ratio = f"{pt / ot:.2f}x" if pt else p.get("failed", "-")
        lines.append(f"| {r['label']} | {r['tiles']} | {r['prompt_tokens']} | {r['policy']} | {ot:.1f} | "
                     f"{pt:.1f} | {ratio} |" if pt else
                     f"| {r['label']} | {r['tiles']} | {r['prompt_tokens']} | {r['policy']} | {ot:.1f} | - | {ratio} |")
    lines += ["", "peer stages (median ms): decode | preprocess | vit | projector+pack | prefill | first token | TTFT"]
    for label, p in res["images"].items():
        if "median_ms" in p:
            m = p["median_ms"]
            lines.append(f"- {label}: {m['decode']:.1f} | {m['preprocess']:.1f} | {m['vit']:.1f} | "
                         f"{m['projector_pack']:.1f} | {m['prefill']:.1f} | {m['first_token']:.2f} | {m['ttft']:.1f}"
                         f"  (processor: {p['processor']}; LLaVA-NeXT packing made {p['image_tokens_llava_next']} "
                         f"rows, ours {p['image_tokens_ours']})")
    text = "\n".join(lines)
    print(text)
    os.makedirs(a.out, exist_ok=True)
    open(os.path.join(a.out, "vl_table.md"), "w").write(text + "\n")
    json.dump(res, open(os.path.join(a.out, "vl_peer.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
