// Plain CPU RoPE. inv_freq follows the reference's f32 arithmetic:
// 1 / (theta ** (f32(2i) / f32(rotary_dim))) with the power taken in f32.
#include "kernels/cpu/rope.h"

#include <cmath>
#include <vector>

namespace mvl::cpu {

void rope(const float* x, int64_t s0, int64_t s1, float* out, int64_t n, int64_t heads, int64_t d, int64_t pos0,
          int64_t rotary_dim, double theta) {
  const int64_t half = rotary_dim / 2;
  std::vector<float> inv(static_cast<size_t>(half)), c(static_cast<size_t>(half)), s(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) {
    const float e = static_cast<float>(2 * i) / static_cast<float>(rotary_dim);
    inv[i] = 1.0f / std::pow(static_cast<float>(theta), e);
  }
  for (int64_t t = 0; t < n; ++t) {
    const float p = static_cast<float>(pos0 + t);
    for (int64_t i = 0; i < half; ++i) {
      const float ang = p * inv[i];
      c[i] = std::cos(ang);
      s[i] = std::sin(ang);
    }
    for (int64_t h = 0; h < heads; ++h) {
      const float* xi = x + t * s0 + h * s1;
      float* yo = out + (t * heads + h) * d;
      for (int64_t i = 0; i < half; ++i) {
        const float a = xi[i], b = xi[i + half];
        yo[i] = a * c[i] - b * s[i];
        yo[i + half] = b * c[i] + a * s[i];
      }
      for (int64_t j = rotary_dim; j < d; ++j) yo[j] = xi[j];
    }
  }
}

}  // namespace mvl::cpu
