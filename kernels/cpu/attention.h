// Plain CPU softmax attention: explicit scores, max-subtracted softmax in f32.
#pragma once

#include <cstdint>

namespace mvl::cpu {

// q [n_q, H, d] with row strides (q_s0 per token, q_s1 per head); k, v likewise with Hkv heads.
// out f32 [n_q, H, d] contiguous.
struct AttentionArgs {
  const float* q; int64_t q_s0, q_s1;
  const float* k; int64_t k_s0, k_s1;
  const float* v; int64_t v_s0, v_s1;
  float* out;
  int64_t n_q, n_k, heads, kv_heads, d;
  float scale;
  bool causal;
  int64_t q_offset;
};
void attention(const AttentionArgs& a);

}  // namespace mvl::cpu
