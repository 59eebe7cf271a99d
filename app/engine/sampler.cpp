// The CPU sampler (vocab-sized work per token, negligible next to a decode step).
#include "app/engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_set>

#include "kernels/core/error.h"

namespace mvl::engine {

int32_t argmax(const std::vector<float>& logits) {
  MVL_CHECK(!logits.empty(), internal, "sampling from empty logits");
  int32_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i)
    if (logits[i] > logits[best]) best = static_cast<int32_t>(i);
  return best;
}

Sampler::Sampler(const SamplingOptions& opts) : opts_(opts), rng_(opts.seed) {
  MVL_CHECK(opts.top_p > 0 && opts.top_p <= 1, invalid_argument,
            "top-p {} is outside (0, 1]; use 1 to disable it", opts.top_p);
  MVL_CHECK(opts.top_k >= 0, invalid_argument, "top-k {} is negative; use 0 to disable it",
            opts.top_k);
  MVL_CHECK(opts.repetition_penalty > 0, invalid_argument,
            "repetition penalty {} must be > 0 (1 disables it)", opts.repetition_penalty);
}

int32_t Sampler::sample(std::vector<float>& logits, const std::vector<int32_t>& history) {
  if (opts_.repetition_penalty != 1.0f) {
    std::unordered_set<int32_t> seen(history.begin(), history.end());
    for (int32_t id : seen) {
      if (id < 0 || static_cast<size_t>(id) >= logits.size()) continue;
      float& l = logits[id];
      l = l > 0 ? l / opts_.repetition_penalty : l * opts_.repetition_penalty;
    }
  }
  if (opts_.temperature <= 0) return argmax(logits);

  // Candidates sorted by logit (descending), ties by id for determinism.
  std::vector<int32_t> idx(logits.size());
  std::iota(idx.begin(), idx.end(), 0);
  size_t k = idx.size();
  if (opts_.top_k > 0) k = std::min(k, static_cast<size_t>(opts_.top_k));
  auto by_logit = [&](int32_t a, int32_t b) {
    return logits[a] != logits[b] ? logits[a] > logits[b] : a < b;
  };
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), by_logit);
  idx.resize(k);

  std::vector<double> p(k);
  const double inv_t = 1.0 / opts_.temperature;
  const double mx = logits[idx[0]];
  double sum = 0;
  for (size_t i = 0; i < k; ++i) sum += p[i] = std::exp((logits[idx[i]] - mx) * inv_t);
  // Nucleus: the smallest prefix whose mass reaches top_p (at least one token).
  size_t keep = k;
  if (opts_.top_p < 1.0f) {
    double acc = 0;
    for (size_t i = 0; i < k; ++i) {
      acc += p[i] / sum;
      if (acc >= opts_.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  double kept = 0;
  for (size_t i = 0; i < keep; ++i) kept += p[i];
  std::uniform_real_distribution<double> u(0.0, kept);
  double r = u(rng_);
  for (size_t i = 0; i < keep; ++i) {
    r -= p[i];
    if (r <= 0) return idx[i];
  }
  return idx[keep - 1];
}

}  // namespace mvl::engine
