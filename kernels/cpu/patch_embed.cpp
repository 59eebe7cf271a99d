// CPU im2col for the patch embedding (see patch_embed.h).
#include "kernels/cpu/patch_embed.h"

#include <cstring>

namespace mvl::cpu {

void patchify(const float* pixels, int64_t tiles, int64_t channels, int64_t size, int64_t k, float* out) {
  const int64_t g = size / k;
  const int64_t row_len = channels * k * k;
  for (int64_t t = 0; t < tiles; ++t) {
    for (int64_t py = 0; py < g; ++py) {
      for (int64_t px = 0; px < g; ++px) {
        float* row = out + ((t * g + py) * g + px) * row_len;
        for (int64_t c = 0; c < channels; ++c) {
          for (int64_t ky = 0; ky < k; ++ky) {
            const float* src = pixels + ((t * channels + c) * size + py * k + ky) * size + px * k;
            std::memcpy(row + (c * k + ky) * k, src, static_cast<size_t>(k) * sizeof(float));
          }
        }
      }
    }
  }
}

}  // namespace mvl::cpu
