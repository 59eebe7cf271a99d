// Plain CPU partial half-split RoPE behind ops/rope.h.
#pragma once

#include <cstdint>

namespace mvl::cpu {

// x [n, H, d] with strides (s0, s1, 1); out f32 [n, H, d] contiguous.
void rope(const float* x, int64_t s0, int64_t s1, float* out, int64_t n, int64_t heads, int64_t d, int64_t pos0,
          int64_t rotary_dim, double theta);

}  // namespace mvl::cpu
