// Sampler: picks the next token from f32 logits. Greedy (argmax, lowest id on ties) when
// temperature <= 0, else repetition penalty -> temperature -> top-k -> top-p -> a draw from
// a seeded mt19937_64, so a (seed, prompt) pair always gives the same answer.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "app/engine/options.h"

namespace mvl::engine {

class Sampler {
 public:
  explicit Sampler(const SamplingOptions& opts);
  // logits: f32 [vocab] (modified in place); history: ids generated so far (for the penalty).
  int32_t sample(std::vector<float>& logits, const std::vector<int32_t>& history);

 private:
  SamplingOptions opts_;
  std::mt19937_64 rng_;
};

int32_t argmax(const std::vector<float>& logits);

}  // namespace mvl::engine
