// Next-token selection: greedy, temperature, top-k, top-p, repetition penalty, with an
// explicit random stream object (no global RNG) so a seed reproduces a stream. Sampling runs
// where the logits are (kernels/cpu/sampling.h, kernels/cuda/sampling.cu: one algorithm, so a
// seed picks the same ids on the CPU and the GPU); only the chosen id comes back to the host.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/core/tensor.h"

namespace mvl::ops {

// A counter-based stream: draw k of seed s is a pure function of (s, k) (splitmix64, as
// ops::fill_uniform_), so the host and the device can draw the same uniform for a step.
class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : seed_(seed) {}
  double next_double();  // uniform in [0, 1), 53 random bits; advances the counter
  uint64_t seed() const { return seed_; }
  uint64_t counter() const { return counter_; }

 private:
  uint64_t seed_;
  uint64_t counter_ = 0;
};

struct SamplingParams {
  float temperature = 0.0f;         // <= 0: greedy (argmax)
  int64_t top_k = 0;                // 0: off; else keep the k most likely tokens
  float top_p = 1.0f;               // 1: off; else keep the smallest set with mass >= top_p
  float repetition_penalty = 1.0f;  // 1: off; > 1 discourages tokens in `history` (CTRL rule:
                                    //    positive logits divided, negative multiplied)
  int64_t vocab_limit = 0;          // > 0: ids >= vocab_limit (the checkpoint's vocabulary
                                    //    padding past the tokenizer) are never chosen
};

// Index of the largest logit; the lowest index wins ties. logits: f32 [V].
// A device tensor (f32 or bf16) is reduced on the device and the one id copied back (a host sync).
int32_t argmax(const Tensor& logits);
// i32 [n] row-wise argmax of f32|bf16 [n, V] (or [V] -> [1]) on the logits' device, without a
// host sync on CUDA: feed it to TextModel::decode(Tensor) to keep a greedy loop on the GPU.
Tensor argmax_rows(const Tensor& logits);

// The chosen id as i32 [1] on the logits' device (no host sync on CUDA). logits: f32|bf16
// [V] or [1, V]. Applies the penalty, then greedy if temperature <= 0, else temperature ->
// top-k -> top-p -> one draw at `u` in [0, 1). `history`: the ids the penalty applies to.
Tensor sample_on_device(const Tensor& logits, const SamplingParams& params, double u,
                        const std::vector<int32_t>& history = {});
// The same as i32 [2] on the logits' device: the chosen id, then 1 when a candidate logit
// (id < vocab_limit) is NaN or +Inf, else 0. The flag comes from the sampler's own pass over
// the logits (no second pass, no extra copy), so a decode loop can refuse broken weights
// while reading back only these 8 bytes.
Tensor sample_checked(const Tensor& logits, const SamplingParams& params, double u,
                      const std::vector<int32_t>& history = {});
// The same with the next draw of `rng` (drawn even when greedy, so a stream's position does
// not depend on the settings); copies the one id back to the host.
int32_t sample(const Tensor& logits, const SamplingParams& params, Rng& rng,
               const std::vector<int32_t>& history = {});

}  // namespace mvl::ops
