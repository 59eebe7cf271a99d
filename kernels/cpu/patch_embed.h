// im2col for a stride-k, k x k convolution without padding: every non-overlapping patch of
// every tile becomes one row, in the weight's (channel, ky, kx) order, so the convolution is
// one GEMM against the weight viewed as [D, C*k*k].
#pragma once

#include <cstdint>

namespace mvl::cpu {

// pixels: f32 [T, C, S, S]; out: f32 [T * (S/k)^2, C*k*k], rows in (tile, y, x) order.
void patchify(const float* pixels, int64_t tiles, int64_t channels, int64_t size, int64_t k, float* out);

}  // namespace mvl::cpu
