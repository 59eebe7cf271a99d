// Softmax (flash) attention on CUDA for the text model's softmax layers (causal, GQA,
// prefill and decode over the KV cache) and the ViT (non-causal, 577 tokens).
#pragma once

#include <cstdint>

#include "kernels/core/tensor.h"
#include "kernels/cuda/context.h"

namespace mvl::cuda {

// q: bf16 [B, n_q, H, d]; k, v: bf16 [B, n_k, Hkv, d]; o: bf16 [B, n_q, H, d]. Views with a
// contiguous last dim and 16-byte aligned rows; d = 64 or 128; H % Hkv == 0 (query head h
// reads kv head h / (H/Hkv)). Scores = scale · q·k in f32, online softmax in f32.
// causal: query i sits at position q_offset + i and sees keys j <= q_offset + i.
// kv_lens: optional i32 [B] on the device: sequence b uses only its first kv_lens[b] keys
// and, when causal, q_offset = kv_lens[b] - n_q (decode over a padded cache).
// 3-D tensors ([n, H, d]) are accepted as B = 1.
void flash_attention(const Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                     const Tensor& o, float scale, bool causal, int64_t q_offset = 0,
                     const Tensor& kv_lens = Tensor());

}  // namespace mvl::cuda
