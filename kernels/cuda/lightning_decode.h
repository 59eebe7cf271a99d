// The batched lightning decode step with a choice of kernel (issue 21 item 5: B >= 64 should
// stream the f32 state at >= 85% of HBM bandwidth). Same function as lightning.h's
// lightning_decode (S <- lambda S + k^T v, o = q . S; the state bits are identical for every
// kernel, o differs by summation order only).
#pragma once

#include <string>

#include "kernels/core/tensor.h"
#include "kernels/cuda/context.h"

namespace mvl::cuda {

// kernel 0: lightning.cu's (a 256-thread CTA per (sequence, head, 32 value columns), four
// float4 rows per thread, then a 32-way shared-memory reduction). 1..kLightningDecodeKernels-1:
// lightning_decode.cu's row-streaming kernels (a CTA of W warps per (sequence, head); lane l
// owns value columns 4l..4l+3 of every row, so a warp reads and writes whole 512-byte rows
// and sums q_r S[r, :] in registers; warp w takes rows [w 128/W, (w+1) 128/W), U rows of loads
// in flight; optional streaming (evict-first) cache hints; optionally pipelined: the next U
// rows' loads issued before the current rows' math).
constexpr int kLightningDecodeKernels = 10;
struct LightningDecodeTuning {
  int kernel = 0;
};
std::string lightning_decode_kernel_name(int kernel);

// q, k, v, o: bf16 [B, H, 128] views (as lightning_decode); state f32 [B, H, 128, 128].
void lightning_decode(const Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                      const Tensor& slopes, const Tensor& state, const Tensor& o,
                      const LightningDecodeTuning& tuning);

// The same step for B sequences whose states live apart (the model's per-sequence states, one
// f32 [H, 128, 128] tensor each, 16-byte aligned): state_ptrs = i64 [B] on the GPU holding their
// device addresses, in q's row order. Row kernels only: kernel 0 (no gather form) takes
// kLightningDecodeGatherDefault. One launch instead of B (llm's lightning_attention_batch loops).
constexpr int kLightningDecodeGatherDefault = 8;
void lightning_decode_gather(const Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                             const Tensor& slopes, const Tensor& state_ptrs, const Tensor& o,
                             const LightningDecodeTuning& tuning = {});

}  // namespace mvl::cuda
