// Internal to the lightning prefill kernels (include only from .cu files): the launch
// parameters lightning_prefill (lightning.cu) fills after checking the views, shared by the
// mma.sync kernels there and the sm_90a wgmma kernel in lightning_sm90.cu.
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

#include "kernels/cuda/context.h"

namespace mvl::cuda {

struct LightningPrefillParams {
  const __nv_bfloat16* q;
  const __nv_bfloat16* k;
  const __nv_bfloat16* v;
  __nv_bfloat16* o;
  const float* slopes;
  float* state;               // f32 [S, H, 128, 128]
  const int32_t* cu_seqlens;  // [S + 1] or null (one sequence of total_tokens)
  int64_t total_tokens;
  int64_t q_tok, q_head, k_tok, k_head, v_tok, v_head, o_tok, o_head;  // element strides
  int H;
};

// Compute capability 9.x (the sm_90a image with wgmma is used).
bool lightning_prefill_sm90_available(const Context& ctx);

// How the wgmma prefill advances the state: kSmemVd = a decayed-V pass through shared memory
// and Kᵀ read transposed by the wgmma; kRegK = decayed Kᵀ as register fragments (wgmma RS);
// kRegKSplit = kRegK on a second warpgroup, beside the one computing the outputs.
enum class Sm90StateUpdate { kSmemVd = 0, kRegK = 1, kRegKSplit = 2 };

// The wgmma prefill (lightning_sm90.cu) over S sequences with `stages` cp.async stages (2..4).
void lightning_prefill_sm90(const Context& ctx, const LightningPrefillParams& p, int64_t S,
                            int stages, Sm90StateUpdate state);

}  // namespace mvl::cuda
