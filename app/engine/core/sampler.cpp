// Option checks with readable messages, then ops::sample on the logits row where it lives.
#include "app/engine/core/sampler.h"

#include "kernels/core/error.h"

namespace mvl::engine {

Sampler::Sampler(const SamplingOptions& opts, int64_t vocab_limit) : rng_(opts.seed) {
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
  params_.vocab_limit = vocab_limit > 0 ? vocab_limit : 0;
}

int32_t Sampler::sample(const Tensor& logits, const std::vector<int32_t>& history) {
  MVL_CHECK(logits.defined() && logits.numel() > 0, internal, "sampling from empty logits");
  return ops::sample(logits, params_, rng_, history);
}

Tensor Sampler::sample_checked(const Tensor& logits, const std::vector<int32_t>& history) {
  return ops::sample_checked(logits, params_, rng_.next_double(), history);
}

int32_t Sampler::sample(const std::vector<float>& logits, const std::vector<int32_t>& history) {
  MVL_CHECK(!logits.empty(), internal, "sampling from empty logits");
  return sample(Tensor::from_f32({static_cast<int64_t>(logits.size())}, logits), history);
}

}  // namespace mvl::engine
