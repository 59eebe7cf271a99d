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

// Causal attention of the last n_q tokens over a KV cache whose valid length lives in a
// tensor: q [n_q, H, d]; k_cache, v_cache [capacity, Hkv, d] (the whole buffer); kv_len i32
// [1] on the same device, with n_q <= kv_len <= capacity. Keys [0, kv_len) are used and
// query i sits at position kv_len - n_q + i. Same dtypes and result as attention() on the
// sliced cache; on a GPU nothing is read back to the host, so a captured decode step attends
// over the length current at each replay.
Tensor attention_cached(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, float scale,
                        const Tensor& kv_len);

}  // namespace mvl::ops
