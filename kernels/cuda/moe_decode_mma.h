// The tensor-core batched decode kernels of the bf16 MoE (moe_decode_mma.cu), internal to
// kernels/cuda: moe.cu routes and sorts (decode_route_sort_kernel), then calls these for
// n >= MoeDecodeTuning::mma_min_tokens. Design and variants: moe_decode_mma.cu.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace mvl::cuda::moe_mma {

struct Args {
  const __nv_bfloat16* x;    // [n, D] tokens
  const __nv_bfloat16* w13;  // [E, 2F, D] gate rows then up rows
  const __nv_bfloat16* w2;   // [E, D, F]
  const int32_t* offsets;    // [E + 1] per-expert slices of perm
  const int32_t* perm;       // [2n] assignments t * 2 + k, by expert
  const int32_t* active;     // [E + 1] experts with tokens, ascending; active[E] = how many
  const float* wts;          // [2n] routing weights
  __nv_bfloat16* h;          // [2n, F] scratch (SwiGLU rows, in perm order)
  float* acc;                // [n, D] f32, zeroed by the caller
  int n, D, F, E;
};

// Tilings of the two kernels (KS warps splitting K in a CTA, MT 16-row tiles per warp,
// U k-steps of loads issued before their math, NT 8-token mma columns per pass).
constexpr int kVariants = 8;
struct Variant {
  int ks, mt, u, nt;
};
Variant variant(int i);

// Enqueues gate/up (+ SiLU * up into h) and down (+ routing weight, atomic add into acc; two
// addends per element onto zero, so the sum is order-independent). D % 8 == 0, F % 8 == 0.
void launch(const Args& a, int variant, cudaStream_t s);

}  // namespace mvl::cuda::moe_mma
