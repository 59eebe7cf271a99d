// RMSNorm (spec §6.2): y = w * r(x / sqrt(mean(x^2) + eps)), statistics in f32.
#pragma once

#include "kernels/core/tensor.h"

namespace mvl::ops {

// x: f32 [..., D] contiguous; w: f32|bf16 [D]. Returns f32 [..., D].
// round_bf16: round the normalised value to bf16 before the weight multiply and the
// product to bf16 after it (the reference's order for a bf16 model, spec §8.1.8);
// false = plain f32 (what the fp32 goldens do).
Tensor rms_norm(const Tensor& x, const Tensor& w, float eps, bool round_bf16 = false);

}  // namespace mvl::ops
