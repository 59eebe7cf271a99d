"""Faster, numerically equivalent forwards for the training model (same math as transformers'
MiniMax modules; the parity against them is checked by `python3 tools/train_tiny/fast.py`).

transformers' reference code is written for clarity, not for training throughput:
  * MiniMaxExperts loops over the experts with `nonzero()` / `torch.where` (a host sync per
    expert per layer, and gathers/scatters of every token);
  * MiniMaxLightningAttention loops over 256-token blocks (11 blocks x 4 matmuls x 7 layers of
    tiny kernels for a 2,800-token page, forward and backward).
Here the experts are two dense GEMMs over all experts with the (zero outside top-k) routing
weights folded in between (same values: the unselected experts are multiplied by 0; twice the
expert FLOPs of top-2-of-4, but no syncs and two large kernels instead of ~20 small ones), and
the lightning attention computes every block at once: intra-block (Q K^T * D) V batched over the
blocks, the inter-block state of block i as sum_{j<i} decay^(i-1-j) (K_j * kdecay)^T V_j with a
[blocks x blocks] decay matrix, instead of a Python loop. The cached (decode) path is untouched.
"""
from __future__ import annotations

import types

import torch
import torch.nn.functional as F


def dense_experts_forward(self, hidden_states, top_k_index, top_k_weights):
    """MiniMaxExperts.forward: hidden [N, H], top_k_index/weights [N, k] -> [N, H]."""
    N, H = hidden_states.shape
    E, I = self.num_experts, self.intermediate_dim
    w = torch.zeros(N, E, dtype=top_k_weights.dtype, device=hidden_states.device)
    w = w.scatter_add(1, top_k_index, top_k_weights)  # routing weight of every expert, 0 outside top-k
    gu = F.linear(hidden_states, self.gate_up_proj.reshape(E * 2 * I, H)).view(N, E, 2 * I)
    gate, up = gu[..., :I], gu[..., I:]
    h = self.act_fn(gate) * up * w.to(gu.dtype)[..., None]  # [N, E, I]
    down = self.down_proj.permute(0, 2, 1).reshape(E * I, H)  # [E*I, H]
    return (h.reshape(N, E * I) @ down.to(h.dtype)).to(hidden_states.dtype)


def lightning_forward(self, hidden_states, position_embeddings=None, attention_mask=None, past_key_values=None,
                      **kwargs):
    """MiniMaxLightningAttention.forward without a cache: all blocks at once."""
    if past_key_values is not None:
        return type(self).forward(self, hidden_states, position_embeddings, attention_mask, past_key_values,
                                  **kwargs)
    from transformers.models.minimax.modeling_minimax import apply_mask_to_padding_states
    B, T, _ = hidden_states.shape
    nh, d, bs = self.num_attention_heads, self.head_dim, self.block_size
    nb = (T + bs - 1) // bs
    qkv = self.act_fn(self.qkv_proj(hidden_states))
    qkv = apply_mask_to_padding_states(qkv, attention_mask)
    qkv = qkv.reshape(B, T, nh, 3 * d)
    if nb * bs != T:  # zero keys/values after the end add nothing; their queries are dropped
        qkv = F.pad(qkv, (0, 0, 0, 0, 0, nb * bs - T))
    qkv = qkv.view(B, nb, bs, nh, 3 * d).permute(0, 3, 1, 2, 4)  # [B, nh, nb, bs, 3d]
    q, k, v = qkv[..., :d], qkv[..., d:2 * d], qkv[..., 2 * d:]
    slope = self.slope_rate  # [nh, 1, 1]
    diag = self.diagonal_decay[0][:, None]  # [nh, 1, bs, bs]
    qd = self.query_decay[:, None]  # [nh, 1, bs, 1]
    kd = self.key_decay[:, None]
    intra = torch.matmul(torch.matmul(q, k.transpose(-1, -2)) * diag.to(q.dtype), v)
    kv = torch.matmul((k * kd.to(k.dtype)).transpose(-1, -2), v)  # [B, nh, nb, d, d]
    i = torch.arange(nb, device=q.device)
    dist = (i[:, None] - 1 - i[None, :]).to(slope.dtype)  # i-1-j
    W = torch.where(dist >= 0, torch.exp(-slope * bs * dist.clamp(min=0)), torch.zeros((), device=q.device))
    state = torch.einsum("hij,bhjxy->bhixy", W.to(kv.dtype), kv)  # [B, nh, nb, d, d]
    inter = torch.matmul(q * qd.to(q.dtype), state.to(q.dtype))
    out = (intra + inter).permute(0, 2, 3, 1, 4).reshape(B, nb * bs, nh * d)[:, :T]
    out = self.norm(out)
    out = F.sigmoid(self.output_gate(hidden_states)) * out
    return self.out_proj(out), None


def install(lm):
    """Swaps the fast forwards into a MiniMaxForCausalLM's modules (instance attributes)."""
    n = 0
    for layer in lm.model.layers:
        a = layer.self_attn
        if hasattr(a, "decay_factors"):
            a.forward = types.MethodType(lightning_forward, a)
            n += 1
        ex = layer.mlp.experts
        ex.forward = types.MethodType(dense_experts_forward, ex)
    return n


def _parity():
    """Forward + gradients of the fast modules vs transformers' on a random model (CPU, fp32)."""
    import os
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import model as M
    torch.manual_seed(0)
    ref = M.TinyVL()
    fast = M.TinyVL()
    fast.load_state_dict(ref.state_dict())
    install(fast.lm)
    B, T = 2, 700  # 3 blocks, the last one partial
    emb = torch.randn(B, T, M.TEXT["hidden"])
    labels = torch.randint(0, M.VOCAB, (B, T))
    labels[:, :400] = -100
    outs = []
    for m in (ref, fast):
        e = emb.clone().requires_grad_(True)
        o = m.lm(inputs_embeds=e, labels=labels, output_router_logits=True, use_cache=False)
        o.loss.backward()
        g = {n: p.grad.clone() for n, p in m.lm.named_parameters() if p.grad is not None}
        outs.append((o.logits.detach(), o.loss.detach(), e.grad, g))
    (l0, s0, e0, g0), (l1, s1, e1, g1) = outs
    err = lambda a, b: float((a - b).abs().max() / b.abs().max().clamp(min=1e-30))  # noqa: E731
    worst_g = max(err(g1[n], g0[n]) for n in g0)
    print(f"logits rel err {err(l1, l0):.2e}, loss {float(s0):.6f} vs {float(s1):.6f}, "
          f"input grad rel err {err(e1, e0):.2e}, worst param grad rel err {worst_g:.2e}")
    ok = err(l1, l0) < 1e-4 and err(e1, e0) < 1e-3 and worst_g < 1e-3 and set(g0) == set(g1)
    print("fast forwards match" if ok else "MISMATCH")
    return ok


if __name__ == "__main__":
    raise SystemExit(0 if _parity() else 1)
