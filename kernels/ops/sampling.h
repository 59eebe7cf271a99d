// Next-token selection: greedy, temperature, top-k, top-p, repetition penalty, with an
// explicit random generator object (no global RNG) so a seed reproduces a stream.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/core/tensor.h"

namespace mvl::ops {

// xoshiro256** seeded through splitmix64: small, fast, and identical on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed = 0);
  uint64_t next_u64();
  double next_double();  // uniform in [0, 1), 53 random bits

 private:
  uint64_t s_[4];
};

struct SamplingParams {
  float temperature = 0.0f;         // <= 0: greedy (argmax)
  int64_t top_k = 0;                // 0: off; else keep the k most likely tokens
  float top_p = 1.0f;               // 1: off; else keep the smallest set with mass >= top_p
  float repetition_penalty = 1.0f;  // 1: off; > 1 discourages tokens in `history` (CTRL rule:
                                    //    positive logits divided, negative multiplied)
};

// Index of the largest logit; the lowest index wins ties. logits: f32 [V].
// A device tensor (f32 or bf16) is reduced on the device and the one id copied back (a host sync).
int32_t argmax(const Tensor& logits);
// i32 [n] row-wise argmax of f32|bf16 [n, V] (or [V] -> [1]) on the logits' device, without a
// host sync on CUDA: feed it to TextModel::decode(Tensor) to keep a greedy loop on the GPU.
Tensor argmax_rows(const Tensor& logits);

// Applies the penalty, then greedy if temperature <= 0, else temperature -> top-k -> top-p
// -> softmax -> one draw from `rng`. `history`: the tokens the penalty applies to.
int32_t sample(const Tensor& logits, const SamplingParams& params, Rng& rng,
               const std::vector<int32_t>& history = {});

}  // namespace mvl::ops
