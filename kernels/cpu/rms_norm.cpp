// Plain CPU RMSNorm. The mean of squares is an f32 sum (like torch's f32 mean); rsqrt
// is computed as 1/sqrt in f32.
#include "kernels/cpu/rms_norm.h"

#include <cmath>

#include "kernels/cpu/parallel.h"

namespace mvl::cpu {

void rms_norm(const float* x, const void* w, DType wt, float* out, int64_t rows, int64_t d, float eps,
              bool bf16_order) {
  parallel_for(rows, grain_for(4 * d), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * d;
      float* yr = out + r * d;
      float ss = 0.0f;
      for (int64_t j = 0; j < d; ++j) ss += xr[j] * xr[j];
      const float inv = 1.0f / std::sqrt(ss / static_cast<float>(d) + eps);
      for (int64_t j = 0; j < d; ++j) {
        float v = xr[j] * inv;
        if (bf16_order) v = mvl::round_bf16(v);
        v *= load_as_f32(w, wt, static_cast<size_t>(j));
        yr[j] = bf16_order ? mvl::round_bf16(v) : v;
      }
    }
  });
}

}  // namespace mvl::cpu
