// Plain CPU sampling behind ops/sampling.h. `u` is the uniform draw in [0, 1).
#pragma once

#include <cstdint>
#include <vector>

namespace mvl::cpu {

int32_t argmax(const float* logits, int64_t vocab);
// logits is modified in place (penalty, temperature). Greedy when temperature <= 0.
int32_t sample(float* logits, int64_t vocab, float temperature, int64_t top_k, float top_p,
               float repetition_penalty, const std::vector<int32_t>& history, double u);

}  // namespace mvl::cpu
