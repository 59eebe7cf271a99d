"""Trains the tiny MiniMax-VL-01 on synthetic documents (see README.md), within a time budget.

    python3 tools/train_tiny/train.py --out OUT [--minutes 7] [--resume MODEL_DIR]
Writes OUT/model/ (released layout + manifest.json), OUT/train.log, OUT/heldout_preds.jsonl.
Resuming loads MODEL_DIR's weights and manifest (step, schedule, history) and goes on with the
batches after the last one seen; Adam moments restart (short re-warmup), see README.md.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import model as M  # noqa: E402  (also puts tools/golden/* on sys.path)
import data  # noqa: E402
import fast  # noqa: E402
import heldout_eval  # noqa: E402


kFitStart, kFitEnd = 100, 300  # steps of a call whose time fits the LR schedule (train_loop)


def lr_at(step, total, peak, warmup, resume_step, rewarm):
    w = min(1.0, (step + 1) / warmup)
    if resume_step is not None:
        w = min(w, (step - resume_step + 1) / rewarm)
    prog = min(1.0, max(0.0, (step - warmup) / max(1, total - warmup)))
    return peak * w * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * prog)))


def param_groups(model, wd):
    """AdamW groups: (LM, vision path = ViT + projector + newline + glyph head) x (decay, no decay);
    "lm" tells train_loop which groups the vision warm-up leaves out (and re-warms after it)."""
    groups = {}
    for n, p in model.named_parameters():
        no = p.dim() < 2 or "embed" in n or "newline" in n or "norm" in n
        groups.setdefault((n.startswith("lm."), no), []).append(p)
    return [{"params": ps, "weight_decay": 0.0 if no else wd, "lm": lm} for (lm, no), ps in sorted(groups.items())]


def versions():
    import PIL
    import tokenizers
    import transformers
    v = {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
         "tokenizers": tokenizers.__version__, "pillow": PIL.__version__, "numpy": np.__version__}
    if torch.cuda.is_available():
        v["gpu"] = torch.cuda.get_device_name(0)
    return v


def image_use_probe(model, dev, data_seed, n=8):
    """A fixed batch of n read windows (not trained on: seeded apart from the batch indices)
    -> its read loss with the true pixels, with zero pixels and with another window's pixels,
    and the glyph accuracy on glyph patches. The image is used only when true < zero and
    true < shuffled (session 8's model: 2.09 vs 2.12 vs 2.10, see README "Diagnosis")."""
    from tokenizers import Tokenizer
    enc = data.ChatEncoder(Tokenizer.from_file(M.tokenizer_path()))
    b = data.make_read_batch(np.random.default_rng([data_seed, 10 ** 9]), n, enc)
    was = model.training
    model.eval()
    amp = torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda")
    out = {}
    with torch.no_grad(), amp:
        ids, labels = b["ids"].to(dev), b["labels"].to(dev)
        pv = [data.normalize(t, dev) for t in b["tiles"]]
        # a window's packed rows depend on its size: shuffle among windows with the same tile count
        # and the same number of image rows (else keep its own: the probe then understates)
        nrows = [int((b["ids"][i] == M.IMAGE_TOKEN).sum()) for i in range(n)]
        shuf = []
        for i in range(n):
            j = next((j for j in list(range(i + 1, n)) + list(range(i)) if nrows[j] == nrows[i]), None)
            shuf.append(pv[j] if j is not None else torch.flip(pv[i], dims=[-1]))
        for name, p in (("true", pv), ("zero", [torch.zeros_like(x) for x in pv]), ("shuffled", shuf)):
            loss, aux = model(ids, labels, p, b["sizes"], b["bests"], b["starts"])
            out[name] = float(loss - model.lm.config.router_aux_loss_coef * aux)
        z = model.project(torch.cat(pv))
        g = b["glyph"].to(dev).reshape(-1)
        zf = z.reshape(-1, z.shape[-1]).float()
        zn = zf * torch.rsqrt(zf.pow(2).mean(-1, keepdim=True) + 1e-5)
        k = g > 0
        out["glyph_acc"] = float((model.glyph_head(zn[k]).argmax(-1) == g[k]).float().mean())
        out["content_share"] = float((zf - zf.mean(0)).pow(2).sum() / zf.pow(2).sum())
    model.train(was)
    return out


def train_loop(a, model, opt, loader, dev, st, resume_step, t_loop, log):
    """Runs steps until the time budget, --steps or the schedule's end; st holds the progress.
    Steps before --vision-warmup (global) train the vision path on the glyph loss alone (read
    batches, the LM not run); the LM's LR then warms up again over --warmup steps."""
    budget = a.minutes * 60
    vw = a.vision_warmup
    # the step-time fit skips the vision warm-up steps (faster: no LM) of this call
    fit_start = max(0, vw - st["step"]) + kFitStart
    fit_end = fit_start + kFitEnd - kFitStart
    tok_sum, loss_sum, aux_sum, n_sum, docs_sum = 0, 0.0, 0.0, 0, 0
    kind_loss = {}  # kind -> [sum, n] since the last log line
    wait_sum, t_prev = 0.0, time.time()
    t_timed = None
    amp = torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda")
    for idx, b in loader:
        wait_sum += time.time() - t_prev  # time the loop waited for the data workers
        step, seg_steps, total = st["step"], st["seg_steps"], st["total"]
        assert idx == step, (idx, step)
        # The cosine's length is fitted once, from the step time over steps 100-300 of this call:
        # session 8's H100 run fitted it over steps 20-60, while the data workers and the
        # allocator were still warming up (4.3 steps/s there, 5.4 later), and spent its last 420
        # of 1,954 steps at the LR floor.
        if not total and seg_steps == fit_end:
            per = (time.time() - t_timed) / (fit_end - fit_start)
            total = st["total"] = step + int((budget - (time.time() - t_loop)) / per * 0.98)
            log(f"step time {per * 1000:.0f} ms -> LR schedule over {total} steps")
        if seg_steps == fit_start:
            t_timed = time.time()
        sched_total = total or 10 ** 9
        lr = lr_at(step, sched_total, a.lr, a.warmup, resume_step, a.rewarm)
        vision_only = step < vw
        lm_lr = 0.0 if vision_only else lr * min(1.0, (step - vw + 1) / a.warmup) if vw else lr
        for g in opt.param_groups:
            g["lr"] = lm_lr if g["lm"] else lr
        ids = b["ids"].to(dev, non_blocking=True)
        labels = b["labels"].to(dev, non_blocking=True)
        pvs = [data.normalize(t, dev) for t in b["tiles"]]
        glyph = b["glyph"].to(dev, non_blocking=True) if b.get("glyph") is not None else None
        with amp:
            if vision_only:  # read batch (data.make_batch read_until): glyph loss only
                loss = M.GLYPH_WEIGHT * model.glyph_only(pvs, glyph)
                aux = torch.zeros((), device=dev)
            else:
                loss, aux = model(ids, labels, pvs, b["sizes"], b["bests"], b["starts"], glyph)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        step = st["step"] = step + 1
        seg_steps = st["seg_steps"] = seg_steps + 1
        tok_sum += ids.numel()
        docs_sum += ids.shape[0]
        lv = float(loss.detach())
        if model.glyph_loss is not None:  # loss and read loss are logged without the glyph term
            gl = float(model.glyph_loss.detach())
            if not vision_only:
                lv -= M.GLYPH_WEIGHT * gl
            kg = kind_loss.setdefault("glyph", [0.0, 0])
            kg[0] += gl
            kg[1] += 1
        loss_sum += lv
        aux_sum += float(aux.detach())
        n_sum += 1
        kl = kind_loss.setdefault("vision-warmup" if vision_only else b.get("kind", "page"), [0.0, 0])
        kl[0] += lv
        kl[1] += 1
        if step % a.log_every == 0 or seg_steps == 1:
            el = time.time() - t_loop
            kinds = " ".join(f"{k} {v[0] / v[1]:.4f} ({v[1]})" for k, v in sorted(kind_loss.items()))
            log(f"step {step} loss {loss_sum / n_sum:.4f} [{kinds}] aux {aux_sum / n_sum:.3f} lr {lr:.2e} "
                f"gnorm {float(gn):.2f} steps/s {seg_steps / el:.2f} tok/s {tok_sum / el:.0f} "
                f"samples/s {docs_sum / el:.1f} data-wait {100 * wait_sum / el:.0f}%")
            st["hist"].append({"step": step, "loss": round(loss_sum / n_sum, 4), "lr": lr, "t": round(el, 1),
                               **{f"loss_{k}": round(v[0] / v[1], 4) for k, v in kind_loss.items()}})
            loss_sum, aux_sum, n_sum = 0.0, 0.0, 0
            kind_loss = {}
        if a.probe_every and (step % a.probe_every == 0 or seg_steps == 1):
            pr = image_use_probe(model, dev, a.data_seed)
            log(f"image-use probe at step {step}: read loss true {pr['true']:.3f} zero pixels {pr['zero']:.3f} "
                f"shuffled pixels {pr['shuffled']:.3f}; glyph acc {pr['glyph_acc']:.3f}; "
                f"image-row content share {pr['content_share']:.3f}")
            st["hist"].append({"step": step, "probe": {k: round(v, 4) for k, v in pr.items()}})
        t_prev = time.time()
        if (a.steps and seg_steps >= a.steps) or time.time() - t_loop > budget or (a.total_steps and step >= total):
            break


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=7.0, help="training-loop budget (eval/export come after)")
    ap.add_argument("--steps", type=int, default=0, help="stop after this many steps (0 = time budget only)")
    ap.add_argument("--total-steps", type=int, default=0, help="LR schedule length (0 = fit to the budget)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=150)
    ap.add_argument("--rewarm", type=int, default=50)
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--vision-warmup", type=int, default=0,
                    help="global steps 0..N-1 are read batches that train ViT + projector on the glyph loss "
                         "alone (no LM); the LM's LR warms up after them (README \"Session 9\")")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--data-seed", type=int, default=20261206)
    ap.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 2))
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--resume", default="")
    ap.add_argument("--tokenizer", choices=sorted(M.TOKENIZERS), default="chars",
                    help="a new model's tokenizer (README \"Session 10\"); a resume keeps its model's")
    ap.add_argument("--eval-docs", type=int, default=40, help="held-out pages for the accuracy estimate")
    ap.add_argument("--eval-max-new", type=int, default=32, help="as `minimax-vl eval -n 32`")
    ap.add_argument("--deadline-minutes", type=float, default=0,
                    help="whole-run wall limit: the estimates stop early so that the export still happens")
    ap.add_argument("--train-eval-docs", type=int, default=10,
                    help="fresh pages of the training layouts/fonts for an in-distribution estimate")
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--probe-every", type=int, default=250,
                    help="image-use probe (read loss with true / zero / shuffled pixels) every N steps; 0 = off")
    a = ap.parse_args()
    t_start = time.time()
    os.makedirs(a.out, exist_ok=True)
    logf = open(os.path.join(a.out, "train.log"), "a")

    def log(msg):
        line = f"[{time.time() - t_start:7.1f}s] {msg}"
        print(line, flush=True)
        logf.write(line + "\n")
        logf.flush()

    random.seed(a.seed)
    np.random.seed(a.seed)
    torch.manual_seed(a.seed)
    dev = torch.device(a.device)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    M.use_tokenizer(a.resume or a.tokenizer)
    model = M.TinyVL()
    prev = {}
    step = 0
    resume_step = None
    if a.resume:
        M.load_released(model, a.resume)
        with open(os.path.join(a.resume, "manifest.json")) as f:
            prev = json.load(f)
        step = resume_step = prev["steps"]
        a.data_seed = prev["data_seed"]
        log(f"resumed from {a.resume} at step {step} (its tokenizer, vocab {M.VOCAB})")
    fast.install(model.lm)  # same math, fewer kernels and no host syncs (fast.py)
    model.to(dev).train()
    opt = torch.optim.AdamW(param_groups(model, a.wd), lr=a.lr, betas=(0.9, 0.95), eps=1e-8,
                            fused=dev.type == "cuda")
    total = a.total_steps  # 0: fitted to this call's budget (a resume extends the cosine)
    params = M.count_params(model)
    log(f"params {params}, device {dev}, batch {a.batch}, workers {a.workers}, versions {versions()}")

    # Each queued batch is about 2 x 16 x 6 tiles of 336 x 336 x 3 bytes in /dev/shm: fewer
    # workers where it is small (worker batches travel through shared memory).
    shm = shutil.disk_usage("/dev/shm").free if os.path.isdir("/dev/shm") else 0
    per_worker = 2 * a.batch * 8 * 336 * 336 * 3
    if a.workers and shm < 2 * per_worker * a.workers:
        a.workers = int(shm / (2 * per_worker))
        log(f"/dev/shm has {shm / 2**30:.2f} GiB free: {a.workers} data workers")
    st = {"step": step, "seg_steps": 0, "total": total, "hist": []}
    t_loop = time.time()
    for workers in dict.fromkeys([a.workers, 0]):
        ds = data.BatchStream(M.tokenizer_path(), a.data_seed, st["step"], a.batch, a.vision_warmup)
        loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=workers,
                                             prefetch_factor=2 if workers else None, pin_memory=dev.type == "cuda")
        try:
            train_loop(a, model, opt, loader, dev, st, resume_step, t_loop, log)
            break
        except Exception:  # keep what was learned: a crash late in a GPU call still exports and evaluates
            import traceback
            log(f"training stopped by an exception ({workers} workers):\n" + traceback.format_exc())
            if st["seg_steps"] or not workers:
                break
            log("retrying with the batches made in the main process")
        finally:
            del loader
    step, seg_steps, total, hist = st["step"], st["seg_steps"], st["total"], st["hist"]
    train_s = time.time() - t_loop
    model.eval()
    mem = f", peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB" if dev.type == "cuda" else ""
    log(f"trained {seg_steps} steps in {train_s:.0f} s (global step {step}){mem}")
    stop_at = t_start + a.deadline_minutes * 60 - 40 if a.deadline_minutes else None  # 40 s to export
    est = heldout_eval.heldout_estimate(model, dev, M.tokenizer_path(), a.eval_docs, os.path.join(a.out, "heldout_preds.jsonl"),
                                     log, a.eval_max_new, stop_at=stop_at)
    if a.train_eval_docs:  # the same questions on training layouts and fonts: reading vs generalising
        est["train_layouts"] = heldout_eval.heldout_estimate(
            model, dev, M.tokenizer_path(), a.train_eval_docs, os.path.join(a.out, "trainsplit_preds.jsonl"), log,
            a.eval_max_new, split="train", stop_at=stop_at)
    segs = prev.get("segments", []) + [{
        "from_step": resume_step or 0, "to_step": step, "train_seconds": round(train_s, 1),
        "wall_seconds": round(time.time() - t_start, 1), "device": versions().get("gpu", str(dev)),
        "heldout_estimate": est, "log": hist}]
    manifest = {
        "what": "tiny MiniMax-VL-01 trained on synthetic documents (issue 18)",
        "command": " ".join(sys.argv), "steps": step, "total_steps": total, "batch": a.batch,
        "lr_schedule": f"linear warmup {a.warmup} steps to {a.lr}, cosine to 0.1x at total_steps; after a resume "
                       f"a {a.rewarm}-step re-warmup (Adam moments restart); AdamW b=(0.9,0.95) wd {a.wd}, clip 1.0, "
                       f"bf16 autocast, router aux loss 0.01, glyph loss x {M.GLYPH_WEIGHT} on read batches and "
                       f"{'the grid tiles of page batches' if data.PAGE_GLYPHS else 'not on page batches'}; "
                       f"vision warm-up: steps 0-{a.vision_warmup - 1} glyph loss only (read batches), then the "
                       f"LM's LR warms up over {a.warmup} steps",
        "vision_warmup": a.vision_warmup,
        "seed": a.seed, "data_seed": a.data_seed, "data": "batch i = tools/train_tiny/data.make_batch(data_seed, i)",
        "curriculum": data.CURRICULUM,
        "tokenizer": {"kind": (prev.get("tokenizer", {}).get("kind") or ("bpe" if M.VOCAB == 2048 else "chars"))
                      if a.resume else a.tokenizer,
                      "vocab_size": M.VOCAB},
        "versions": versions(), "params": params, "sizes": {"vision": M.VISION, "text": M.TEXT},
        "gpu_minutes": round(sum(s["wall_seconds"] for s in segs) / 60, 2), "segments": segs,
    }
    n = M.export(model.float().cpu(), os.path.join(a.out, "model"), manifest=manifest)
    log(f"exported {n / 2**20:.1f} MiB to {a.out}/model; held-out estimate {est}")


if __name__ == "__main__":
    main()
