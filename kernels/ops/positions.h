// Position primitives that read the decode position from a tensor (i32 [1]) instead of a
// host integer, so a decode step captured as a CUDA graph (ops::CudaGraph) reads the
// current position at every replay. Host tensors run the plain CPU twins; device tensors
// the CUDA kernels, which never synchronise. i32 arithmetic wraps (two's complement).
#pragma once

#include <cstdint>

#include "kernels/core/tensor.h"

namespace mvl::ops {

// pos: i32 [1] (or a one-element i32 tensor). Returns i32 [n] on pos's device with
// out[i] = pos[0] + i. n >= 0.
Tensor positions_from(const Tensor& pos, int64_t n);
// t: contiguous i32 [m], in place: t[i] += v (e.g. advance the decode position by 1).
void add_scalar_(const Tensor& t, int32_t v);
// dst[pos[0] + i] = src[i] for i < n: dst [cap, ...] contiguous, src [n, ...] with the same
// trailing shape and dtype (any dtype of 2 or 4 bytes, e.g. a bf16 KV cache or f32 rows),
// pos i32 [1]; all three on one device. The host checks n <= cap; rows whose destination
// falls outside [0, cap) are silently skipped (a device-side no-op, as the host never
// reads pos on the device path).
void write_rows_at(const Tensor& dst, const Tensor& src, const Tensor& pos);

}  // namespace mvl::ops
