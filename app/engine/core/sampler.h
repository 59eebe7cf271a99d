// Sampler: the per-request state of next-token selection (options + a seeded generator),
// validating the options once and delegating the math to ops::sample (penalty -> greedy, or
// temperature -> top-k -> top-p -> one draw), so a (seed, prompt) pair always gives the same
// answer on every platform.
#pragma once

#include <cstdint>
#include <vector>

#include "app/engine/core/options.h"
#include "kernels/ops/sampling.h"

namespace mvl::engine {

class Sampler {
 public:
  explicit Sampler(const SamplingOptions& opts);  // throws Error{invalid_argument}
  // logits: f32 [vocab]; history: ids generated so far (for the repetition penalty).
  int32_t sample(const std::vector<float>& logits, const std::vector<int32_t>& history);

 private:
  ops::SamplingParams params_;
  ops::Rng rng_;
};

int32_t argmax(const std::vector<float>& logits);

}  // namespace mvl::engine
