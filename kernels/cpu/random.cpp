// Plain loops over cpu::uniform_at (random.h).
#include "kernels/cpu/random.h"

#include "kernels/core/dtype.h"

namespace mvl::cpu {

void fill_uniform_f32(float* out, int64_t n, uint64_t seed, uint64_t first, float lo, float hi) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = uniform_at(seed, first + static_cast<uint64_t>(i), lo, hi);
}

void fill_uniform_bf16(uint16_t* out, int64_t n, uint64_t seed, uint64_t first, float lo,
                       float hi) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = f32_to_bf16(uniform_at(seed, first + static_cast<uint64_t>(i), lo, hi));
}

}  // namespace mvl::cpu
