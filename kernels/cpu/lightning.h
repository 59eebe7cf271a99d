// Plain CPU lightning attention (the three forms of ops/lightning.h), one head per task.
#pragma once

#include <cstdint>

namespace mvl::cpu {

struct LightningArgs {
  const float* q; int64_t q_s0, q_s1;  // [n, H, d], strides per token / per head
  const float* k; int64_t k_s0, k_s1;
  const float* v; int64_t v_s0, v_s1;
  const float* slopes;                 // [H]
  float* state;                        // [H, d, d] in/out
  float* out;                          // [n, H, d] contiguous
  int64_t n, heads, d;
};

void lightning_quadratic(const LightningArgs& a);
void lightning_recurrent(const LightningArgs& a);
void lightning_blockwise(const LightningArgs& a, int64_t block_size);

}  // namespace mvl::cpu
