// ops::moe_expert_range: validation and dispatch to the CUDA quantized MoE range kernels.
#include "kernels/ops/moe_range.h"

#include "kernels/core/error.h"
#include "kernels/ops/backend/cuda_backend.h"
#include "kernels/ops/cuda_dispatch.h"

namespace mvl::ops {

Tensor moe_expert_range(const Tensor& x, const Tensor& gate, int64_t top_k,
                        const PackedExperts& packed, int64_t expert0) {
  MVL_CHECK(x.ndim() == 2 && gate.ndim() == 2 && gate.dim(1) == x.dim(1), shape_mismatch,
            "moe_expert_range: input {} / router {} do not fit together", x.str(), gate.str());
  if (!detail::bf16_dev(x) || !packed.defined() || !packed.w13.quant() || top_k != 2) return {};
  const int64_t held = packed.w13.dim(0);
  MVL_CHECK(expert0 >= 0 && expert0 + held <= gate.dim(0), invalid_argument,
            "moe_expert_range: experts [{}, {}) outside the router's {}", expert0, expert0 + held,
            gate.dim(0));
  return cuda_backend::moe_expert_range(x, gate, packed, expert0);
}

}  // namespace mvl::ops
