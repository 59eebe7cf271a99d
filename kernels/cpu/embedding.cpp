// Plain CPU row gather.
#include "kernels/cpu/embedding.h"

#include <cstring>

namespace mvl::cpu {

void embedding(const void* table, DType t, int64_t h, const int32_t* ids, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const size_t row = static_cast<size_t>(ids[i]) * static_cast<size_t>(h);
    if (t == DType::f32) {
      std::memcpy(out + i * h, static_cast<const float*>(table) + row, static_cast<size_t>(h) * sizeof(float));
    } else {
      for (int64_t j = 0; j < h; ++j) out[i * h + j] = load_as_f32(table, t, row + static_cast<size_t>(j));
    }
  }
}

}  // namespace mvl::cpu
