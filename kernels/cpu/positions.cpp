// Plain CPU loops behind ops/positions.h.
#include "kernels/cpu/positions.h"

#include <cstring>

namespace mvl::cpu {

namespace {
int32_t wrap_add(int32_t a, int64_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}
}  // namespace

void positions_from(int32_t pos0, int64_t n, int32_t* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = wrap_add(pos0, i);
}

void add_scalar(int32_t* t, int64_t m, int32_t v) {
  for (int64_t i = 0; i < m; ++i) t[i] = wrap_add(t[i], v);
}

void write_rows_at(void* dst, int64_t cap, const void* src, int64_t n, int64_t row_bytes,
                   int64_t pos) {
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = pos + i;
    if (r < 0 || r >= cap) continue;
    std::memcpy(static_cast<char*>(dst) + r * row_bytes,
                static_cast<const char*>(src) + i * row_bytes, static_cast<size_t>(row_bytes));
  }
}

}  // namespace mvl::cpu
