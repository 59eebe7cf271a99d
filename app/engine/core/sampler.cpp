// Option checks with readable messages, then ops::sample on the logits row.
#include "app/engine/core/sampler.h"

#include "kernels/core/error.h"

namespace mvl::engine {

int32_t argmax(const std::vector<float>& logits) {
  MVL_CHECK(!logits.empty(), internal, "sampling from empty logits");
  int32_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i)
    if (logits[i] > logits[best]) best = static_cast<int32_t>(i);
  return best;
}

Sampler::Sampler(const SamplingOptions& opts) : rng_(opts.seed) {
  MVL_CHECK(opts.top_p > 0 && opts.top_p <= 1, invalid_argument,
            "top-p {} is outside (0, 1]; use 1 to disable it", opts.top_p);
  MVL_CHECK(opts.top_k >= 0, invalid_argument, "top-k {} is negative; use 0 to disable it", opts.top_k);
  MVL_CHECK(opts.repetition_penalty > 0, invalid_argument,
            "repetition penalty {} must be > 0 (1 disables it)", opts.repetition_penalty);
  MVL_CHECK(opts.temperature >= 0, invalid_argument, "temperature {} is negative; use 0 for greedy",
            opts.temperature);
  params_.temperature = opts.temperature;
  params_.top_k = opts.top_k;
  params_.top_p = opts.top_p;
  params_.repetition_penalty = opts.repetition_penalty;
}

int32_t Sampler::sample(const std::vector<float>& logits, const std::vector<int32_t>& history) {
  // Greedy without a penalty needs no tensor (the common, official-example path).
  if (params_.temperature <= 0 && params_.repetition_penalty == 1.0f) return argmax(logits);
  const Tensor t = Tensor::from_f32({static_cast<int64_t>(logits.size())}, logits);  // f32 [vocab]
  return ops::sample(t, params_, rng_, history);
}

}  // namespace mvl::engine
