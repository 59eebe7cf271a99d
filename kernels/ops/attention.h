// Softmax attention (multi-head, grouped-query, optional causal mask). Used by the
// text model's softmax layers (causal, GQA, decode over a KV cache) and by the ViT
// (non-causal, 577 tokens).
#pragma once

#include <cstdint>

#include "kernels/core/tensor.h"

namespace mvl::ops {

// q: f32 [n_q, H, d]; k, v: f32 [n_k, Hkv, d] with H % Hkv == 0 (query head h reads
// kv head h / (H / Hkv)). Scores are scaled by `scale` and computed in f32.
// causal: query i sits at absolute position q_offset + i and sees keys j <= q_offset + i
// (so a decode step passes the cache as k/v and q_offset = n_k - n_q).
// Returns f32 [n_q, H, d]. Inputs may be strided views with a contiguous last dim.
// Batched: q [B, n_q, H, d], k/v [B, n_k, Hkv, d] -> [B, n_q, H, d] (same mask per sequence).
// bf16 q/k/v on a CUDA device (the bf16 activation path) -> bf16: flash attention for head
// dims 64/128 (f32 scores and softmax, bf16 output), else the f32 kernel between conversions.
Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, float scale, bool causal,
                 int64_t q_offset = 0);

}  // namespace mvl::ops
