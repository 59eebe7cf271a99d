// Plain CPU linear with f32 accumulation.
#include "kernels/cpu/linear.h"

#include <algorithm>
#include <vector>

#include "kernels/cpu/parallel.h"

namespace mvl::cpu {

void linear(const float* x, const void* w, DType w_dtype, const void* bias, DType b_dtype,
            float* out, int64_t n, int64_t in, int64_t out_features) {
  parallel_for(out_features, std::max<int64_t>(16, grain_for(n * in)), [&](int64_t o0, int64_t o1) {
    std::vector<float> row(static_cast<size_t>(in));
    for (int64_t o = o0; o < o1; ++o) {
      // Widen one weight row to f32 once, then dot it with every input row (f32 rows are
      // used in place; bf16, the checkpoint dtype, has an inlined conversion).
      const float* wr = row.data();
      if (w_dtype == DType::f32) {
        wr = static_cast<const float*>(w) + o * in;
      } else if (w_dtype == DType::bf16) {
        const uint16_t* src = static_cast<const uint16_t*>(w) + o * in;
        for (int64_t k = 0; k < in; ++k) row[k] = bf16_to_f32(src[k]);
      } else {
        for (int64_t k = 0; k < in; ++k) row[k] = load_as_f32(w, w_dtype, static_cast<size_t>(o * in + k));
      }
      const float b = bias ? load_as_f32(bias, b_dtype, static_cast<size_t>(o)) : 0.0f;
      for (int64_t i = 0; i < n; ++i) {
        const float* xi = x + i * in;
        float acc = 0.0f;
        for (int64_t k = 0; k < in; ++k) acc += xi[k] * wr[k];
        out[i * out_features + o] = acc + b;
      }
    }
  });
}

}  // namespace mvl::cpu
