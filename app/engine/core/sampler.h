// Sampler: the per-request state of next-token selection (options + a seeded counter-based
// stream), validating the options once and delegating the math to ops::sample_on_device
// (penalty -> greedy, or temperature -> top-k -> top-p -> one draw), which runs where the
// logits are: a (seed, prompt) pair gives the same answer on the CPU and the GPU, and only
// the chosen id reaches the host. Ids >= the tokenizer's vocabulary (the checkpoint's padding
// rows) are never chosen.
#pragma once

#include <cstdint>
#include <vector>

#include "app/engine/core/options.h"
#include "kernels/ops/sampling.h"

namespace mvl::engine {

class Sampler {
 public:
  // vocab_limit > 0: only ids < vocab_limit can be chosen. Throws Error{invalid_argument}.
  explicit Sampler(const SamplingOptions& opts, int64_t vocab_limit = 0);
  // logits: f32|bf16 [vocab] on any device; history: ids generated so far (for the penalty).
  int32_t sample(const Tensor& logits, const std::vector<int32_t>& history);
  // The same for host logits f32 [vocab].
  int32_t sample(const std::vector<float>& logits, const std::vector<int32_t>& history);
  // Without the host read: i32 [2] where the logits are, the id and a NaN/+Inf flag
  // (ops::sample_checked); the decode loop reads both back in one small copy.
  Tensor sample_checked(const Tensor& logits, const std::vector<int32_t>& history);

 private:
  ops::SamplingParams params_;
  ops::Rng rng_;
};

}  // namespace mvl::engine
