// Plain CPU MoE routing and expert combine behind ops/moe.h.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/core/dtype.h"
#include "kernels/cpu/quant.h"

namespace mvl::cpu {

// logits f32 [n, E] -> experts i32 [n, k], weights f32 [n, k].
void moe_route(const float* logits, int64_t n, int64_t num_experts, int64_t k, int32_t* experts, float* weights);

void silu_mul(const float* gate, const float* up, float* out, int64_t count);

struct ExpertPtrs {
  const void* w1; const void* w3; const void* w2;  // [I,H], [I,H], [H,I]
  DType t1, t3, t2;
  QuantView q1 = {}, q3 = {}, q2 = {};  // format != plain: w* are that format's codes (quant.h)
};
// x f32 [n, H]; experts/weights as from moe_route; out f32 [n, H] (overwritten).
void moe_experts(const float* x, int64_t n, int64_t hidden, int64_t inter, const int32_t* experts,
                 const float* weights, int64_t k, const std::vector<ExpertPtrs>& w, float* out);

}  // namespace mvl::cpu
