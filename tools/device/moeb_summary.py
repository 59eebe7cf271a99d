#!/usr/bin/env python3
"""The summary of tools/device/moeb_check.sh (issue 21 item 5): reads OUT/moe.json and
OUT/lightning.json (ops_cuda_bench --only moe_batch / lightning_decode), OUT/peer.log (HF
MiniMaxSparseMoeBlock) and OUT/model_B*.log (minimax-vl bench --path model --batch B); prints the
tables, the winners and the one-line default flips.
usage: moeb_summary.py OUT_DIR"""
import json, os, re, sys, math
out = sys.argv[1]
def load(name):
    try:
        return json.load(open(os.path.join(out, name)))
    except Exception as e:
        print(f"({name}: {e})")
        return None
def best_ms(r):
    return min(r["ms"], r.get("graph_ms", r["ms"]))
moe, lig = load("moe.json"), load("lightning.json")
peer = None
try:
    for line in open(os.path.join(out, "peer.log")):
        if line.startswith("PEER "):
            peer = json.loads(line[5:])
except Exception as e:
    print("(peer.log:", e, ")")
if moe:
    print(f"\n== MoE decode, {moe['gpu']}, copy {moe['copy_bytes_per_s'] / 1e12:.2f} TB/s; floor = bytes of the distinct "
          "experts routed to / copy rate; ms = min(eager, CUDA graph) median; target <= 1.3x floor for n 8..64")
    by_n = {}
    for r in moe["rows"]:
        m = re.match(r"moe_batch n=(\d+) \[(.*)\]", r["name"])
        if m:
            by_n.setdefault(int(m.group(1)), []).append((m.group(2), r))
    wins = {}
    print("| n | floor ms | cuda-core ms (x) | best mma ms (x) | best mma tiling | cuda-core / mma | HF peer ms | HF / best |")
    print("|---|---|---|---|---|---|---|---|")
    for n in sorted(by_n):
        rows = by_n[n]
        core = [r for k, r in rows if k == "cuda-core"][0]
        mma = sorted([(best_ms(r), k, r) for k, r in rows if k.startswith("mma")], key=lambda t: t[0])
        fl = core["floor_ms"]
        bm, bk, _ = mma[0]
        wins[n] = (best_ms(core), mma)
        best = min(bm, best_ms(core))
        p = peer["ms"].get(str(n)) if peer else None
        ps = f"{p:.4f} | {p / best:.2f}x" if p else "- | -"
        print(f"| {n} | {fl:.4f} | {best_ms(core):.4f} ({best_ms(core) / fl:.2f}) | {bm:.4f} ({bm / fl:.2f}) | {bk} | "
              f"{best_ms(core) / bm:.2f} | {ps} |")
    # One tiling for all n where the tensor-core kernels win: the lowest summed ms over those n.
    names = [k for _, k, _ in wins[max(wins)][1]]
    def total(k, ns):
        return sum(next(t for t, kk, _ in wins[n][1] if kk == k) for n in ns)
    win_ns = [n for n in sorted(wins) if wins[n][1][0][0] < wins[n][0]]
    min_n = 65
    for n in sorted(wins, reverse=True):  # smallest n from which mma wins at every larger n
        if n in win_ns:
            min_n = n
        else:
            break
    if min_n <= 64:
        ns = [n for n in wins if n >= min_n]
        k = min(names, key=lambda k: total(k, ns))
        v = re.match(r"mma v(\d+)", k).group(1)
        print(f"MoE WINNER: tensor-core tiling '{k}' from n >= {min_n} (n measured: {sorted(wins)}).")
        print(f"  flip: kernels/cuda/moe.cu: constexpr int kProductMmaMinTokens = {min_n}; "
              f"constexpr int kProductMmaVariant = {v};")
        for n in ns:
            t = next(t for t, kk, _ in wins[n][1] if kk == k)
            print(f"  n={n}: {t:.4f} ms = {t / by_n[n][0][1]['floor_ms']:.2f}x floor (cuda-core {wins[n][0]:.4f})")
    else:
        print("MoE WINNER: the CUDA-core kernels at the largest n; keep kernels/cuda/moe.cu kProductMmaMinTokens = 65.")
if lig:
    print(f"\n== lightning decode, {lig['gpu']}, copy {lig['copy_bytes_per_s'] / 1e12:.2f} TB/s; floor = state read + written "
          "once (+ q,k,v,o) at the copy rate; target >= 85% of it (x <= 1.18)")
    by_b = {}
    for r in lig["rows"]:
        m = re.match(r"lightning_decode B=(\d+) \[k(\d+) (.*)\]", r["name"])
        if m:
            by_b.setdefault(int(m.group(1)), []).append((int(m.group(2)), m.group(3), r))
    print("| B | floor ms | k0 ms (x, % bw) | best ms (x, % bw) | best kernel |")
    print("|---|---|---|---|---|")
    tot = {}
    for b in sorted(by_b):
        rows = by_b[b]
        k0 = [r for k, _, r in rows if k == 0][0]
        bk, bn, br = min(rows, key=lambda t: t[2]["ms"])
        fl = k0["floor_ms"]
        for k, _, r in rows:
            tot[k] = tot.get(k, 0) + r["ms"] / fl
        print(f"| {b} | {fl:.4f} | {k0['ms']:.4f} ({k0['ms'] / fl:.2f}, {100 * fl / k0['ms']:.0f}%) | "
              f"{br['ms']:.4f} ({br['ms'] / fl:.2f}, {100 * fl / br['ms']:.0f}%) | k{bk} {bn} |")
    for r in lig["rows"]:
        if "[per-sequence" in r["name"] or "[gather" in r["name"]:
            print(f"  {r['name']}: {r['ms']:.4f} ms ({r['ms'] / r['floor_ms']:.2f}x floor)")
    kbest = min(tot, key=tot.get)
    print(f"LIGHTNING WINNER over B 64..256: kernel {kbest} (mean x floor {tot[kbest] / len(by_b):.2f}; "
          f"kernel 0: {tot[0] / len(by_b):.2f}). Flip: kernels/cuda/lightning_decode.h "
          f"LightningDecodeTuning::kernel = {kbest} and kLightningDecodeGatherDefault = {kbest} (kernel 0 has no "
          f"gather form); callers: kernels/ops/backend/cuda_lightning.cpp (contiguous B) or llm's "
          f"lightning_attention_batch via lightning_decode_gather (per-sequence states).")
print("\n== model path (minimax-vl bench --path model --layers 2 --tokens 1024; B > 1 = the engine's "
      "decode_batch, op by op; B = 1 = CUDA graph and op by op); binaries: MoE decode on the CUDA-core "
      "kernels (today's product) and on the tensor-core kernels (see 'second binary' above)")
print("  columns of the 'decode B=' rows: step ms, tok/s per sequence, tok/s all sequences, x B=1 (graph)")
for which in ("cuda-core", "mma"):
    print(f" [{which}]")
    for b in (8, 32, 64):
        try:
            txt = open(os.path.join(out, f"model_{which}_B{b}.log")).read()
        except Exception as e:
            print(f"  B={b}: {e}")
            continue
        for line in txt.splitlines():
            if (b == 8 and ("decode step" in line or "decode bytes floor" in line)) \
                    or re.match(rf"decode B={b} ", line) or "error" in line.lower():
                print("  " + line.strip())
