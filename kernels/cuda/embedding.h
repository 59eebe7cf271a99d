// Embedding gather on CUDA: bf16 rows, or f32|bf16 rows widened to f32. CPU twin:
// kernels/cpu/embedding.h; dispatch: kernels/ops/embedding.h. All enqueue on ctx.stream().
#pragma once

#include <cstdint>

#include "kernels/core/tensor.h"
#include "kernels/cuda/context.h"

namespace mvl::cuda {

// out[i] = table[ids[i]] (bf16 [V, D] -> bf16 [n, D]); ids i32 [n]. Out-of-range ids are
// clamped to row 0 on the device; callers validate ids on the host before upload.
void embedding(const Context& ctx, const Tensor& table, const Tensor& ids, const Tensor& out);

// table f32|bf16 [V, H]; ids i32 [n] on the device; out f32 [n, H].
void embedding_f32(const Context& ctx, const Tensor& table, const Tensor& ids, const Tensor& out);

}  // namespace mvl::cuda
