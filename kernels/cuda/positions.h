// Device-side position primitives: the decode position lives in device memory (i32 [1]),
// so a captured decode step (cuda::Graph) reads it at replay time and one graph serves
// every step. CPU twins: kernels/cpu/positions.h; dispatch and validation:
// kernels/ops/positions.h. All enqueue on ctx.stream(), never synchronise, capturable.
#pragma once

#include <cstdint>

#include "kernels/core/tensor.h"
#include "kernels/cuda/context.h"

namespace mvl::cuda {

// out i32 [n] (contiguous) = pos[0] + i; pos i32 [1] on the device.
void positions_from(const Context& ctx, const Tensor& pos, const Tensor& out);
// t i32 [m] (contiguous) += v.
void add_scalar_i32(const Context& ctx, const Tensor& t, int32_t v);
// dst [cap, ...] and src [n, ...] contiguous, same dtype (2 or 4 bytes), same row shape;
// row i of src goes to row pos[0] + i of dst; destinations outside [0, cap) are skipped on
// the device (the caller checks n <= cap on the host; pos itself is never read there).
void write_rows_at(const Context& ctx, const Tensor& dst, const Tensor& src, const Tensor& pos);

}  // namespace mvl::cuda
