// Counter-based uniform fill on the device (plain C++ header). The value of element i is
// cpu::uniform_at(seed, i, lo, hi) (kernels/cpu/random.h), bit for bit; dispatch and
// validation: kernels/ops/random.h.
#pragma once

#include <cstdint>

#include "kernels/core/tensor.h"
#include "kernels/cuda/context.h"

namespace mvl::cuda {

// t: contiguous f32|bf16 on the device. Enqueues on ctx.stream(); no sync; capturable.
void fill_uniform_counter(const Context& ctx, const Tensor& t, uint64_t seed, float lo, float hi);

}  // namespace mvl::cuda
