// Next-token sampling on the GPU, the twin of kernels/cpu/sampling.h step for step (masking,
// penalty, greedy or stable sort + top-k + chunked double sums + top-p + one draw), so a
// seed gives the same id as the CPU. Only the chosen id (and a non-finite flag) is written;
// nothing syncs the host.
#pragma once

#include <cstdint>

#include "kernels/core/tensor.h"
#include "kernels/cuda/context.h"

namespace mvl::cuda {

struct SampleArgs {
  int64_t limit = 0;  // candidates are ids [0, limit); the rest are vocabulary padding
  float temperature = 0.0f, top_p = 1.0f, repetition_penalty = 1.0f;
  int64_t top_k = 0;
  double u = 0.0;  // the draw in [0, 1)
};

// logits: contiguous f32|bf16 [V] on ctx's device; history: i32 [h] distinct ids on the
// device (undefined when no penalty); out: contiguous i32 [2] on the device: the chosen id, then
// 1 when a candidate logit (id < limit) is NaN or +Inf (broken weights), else 0.
void sample(const Context& ctx, const Tensor& logits, const Tensor& history, const SampleArgs& a,
            const Tensor& out);

}  // namespace mvl::cuda
