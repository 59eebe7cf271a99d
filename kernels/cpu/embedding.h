// Plain CPU row gather behind ops/embedding.h.
#pragma once

#include <cstdint>

#include "kernels/core/dtype.h"

namespace mvl::cpu {

// out f32 [n, h] = table[ids[i], :], table of dtype t, [V, h] contiguous.
void embedding(const void* table, DType t, int64_t h, const int32_t* ids, int64_t n, float* out);

}  // namespace mvl::cpu
