// One rank's share of the MoE block under expert parallelism (llm/parallel, docs/parallel.md):
// every token is routed over all experts with the full router, but only the rank's experts
// [expert0, expert0 + held) run; the ranks' outputs add up to the whole block.
#pragma once

#include <cstdint>

#include "kernels/core/tensor.h"
#include "kernels/ops/moe.h"

namespace mvl::ops {

// x bf16 [n, H] on a GPU, gate [E, H] (every expert), packed: the rank's quantized experts as
// pack_experts packs them (held = packed.w13.dim(0)). Returns bf16 [n, H]: the weighted sum of
// each token's top_k experts that fall in the range (rounded once to bf16), from the same
// quantized MoE kernels the one-device model runs (cuda::quant_moe_range_forward). Returns an
// undefined Tensor when those kernels do not take it (a CPU or f32 x, plain bf16 experts, top_k
// other than 2, shapes outside their rules): the caller then runs the generic path, which is
// also the CPU reference: moe_experts on moe_route(x·gateᵀ) with the other experts' ids -1.
Tensor moe_expert_range(const Tensor& x, const Tensor& gate, int64_t top_k,
                        const PackedExperts& packed, int64_t expert0);

}  // namespace mvl::ops
