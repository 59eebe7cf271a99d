// Hopper (sm_90a) flash attention forward on wgmma for prefill and the ViT: the fast path
// cuda::flash_attention dispatches to on compute capability 9.x when there are no kv_lens.
// Same contract as cuda::flash_attention (kernels/cuda/attention.h) minus kv_lens.
#pragma once

#include <cstdint>

#include "kernels/core/tensor.h"
#include "kernels/cuda/context.h"

namespace mvl::cuda {

// True when ctx's GPU is compute capability 9.x (the sm_90a kernel image runs there).
bool flash_attention_sm90_available(const Context& ctx);

// q: bf16 [B, n_q, H, d]; k, v: bf16 [B, n_k, Hkv, d]; o: bf16 [B, n_q, H, d] (3-D = B 1).
// Contiguous last dim, 16-byte aligned rows, d = 64 or 128, H % Hkv == 0, scale > 0. Scores scale·q·k in
// f32, online softmax in f32, P rounded to bf16 for P·V (as the mma.sync kernel does).
// causal: query i sits at q_offset + i and sees keys j <= q_offset + i.
// Throws Error{unsupported} on a GPU that is not 9.x.
void flash_attention_sm90(const Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                          const Tensor& o, float scale, bool causal, int64_t q_offset = 0);

}  // namespace mvl::cuda
