// CPU LayerNorm (see layer_norm.h); rows are split over threads.
#include "kernels/cpu/layer_norm.h"

#include <cmath>
#include <vector>

#include "kernels/cpu/parallel.h"

namespace mvl::cpu {

void layer_norm(const float* x, const void* weight, DType w_dtype, const void* bias, DType b_dtype, float* out,
                int64_t rows, int64_t d, float eps) {
  std::vector<float> w(static_cast<size_t>(d)), b(static_cast<size_t>(d));
  for (int64_t i = 0; i < d; ++i) {
    w[static_cast<size_t>(i)] = load_as_f32(weight, w_dtype, static_cast<size_t>(i));
    b[static_cast<size_t>(i)] = load_as_f32(bias, b_dtype, static_cast<size_t>(i));
  }
  parallel_for(rows, 8, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * d;
      float* yr = out + r * d;
      double sum = 0.0;
      for (int64_t i = 0; i < d; ++i) sum += xr[i];
      const double mean = sum / static_cast<double>(d);
      double sq = 0.0;
      for (int64_t i = 0; i < d; ++i) {
        const double c = xr[i] - mean;
        sq += c * c;
      }
      const double var = sq / static_cast<double>(d);
      const float rstd = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(eps)));
      const float m = static_cast<float>(mean);
      for (int64_t i = 0; i < d; ++i) yr[i] = (xr[i] - m) * rstd * w[static_cast<size_t>(i)] + b[static_cast<size_t>(i)];
    }
  });
}

}  // namespace mvl::cpu
