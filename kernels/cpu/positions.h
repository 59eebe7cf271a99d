// Plain CPU twins of the device-side position primitives (kernels/cuda/positions.h) behind
// kernels/ops/positions.h. i32 arithmetic wraps (two's complement), like the kernels.
#pragma once

#include <cstdint>

namespace mvl::cpu {

// out[i] = pos0 + i for i < n.
void positions_from(int32_t pos0, int64_t n, int32_t* out);
// t[i] += v for i < m.
void add_scalar(int32_t* t, int64_t m, int32_t v);
// Row i of src (n rows of row_bytes) goes to row pos + i of dst (cap rows of row_bytes);
// rows whose destination falls outside [0, cap) are skipped.
void write_rows_at(void* dst, int64_t cap, const void* src, int64_t n, int64_t row_bytes,
                   int64_t pos);

}  // namespace mvl::cpu
