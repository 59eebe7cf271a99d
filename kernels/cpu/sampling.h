// Plain CPU sampling behind ops/sampling.h, the reference twin of kernels/cuda/sampling.cu.
// Both follow one algorithm step for step, so a seed gives the same id on either device:
//   1. only ids < limit are candidates (the rest are vocabulary padding); -0 becomes +0 and
//      NaN becomes -inf;
//   2. the repetition penalty on each distinct id of `history` (CTRL rule);
//   3. greedy (temperature <= 0): the largest logit, lowest index on ties; else
//   4. stable sort by logit (descending; equal logits keep index order), keep top_k,
//      p_j = exp(l_j / T - l_0 / T) in double, summed in chunks of kSampleChunk (each chunk
//      left to right, then the chunk sums left to right), cut at the first j whose running
//      mass >= top_p * total, and invert the running mass at u * kept total.
// `u` is the draw in [0, 1) (sample_uniform: a counter-based hash of seed and step).
#pragma once

#include <cstdint>
#include <vector>

namespace mvl::cpu {

inline constexpr int64_t kSampleChunk = 256;

// Index of the largest logit, lowest index on ties, NaN never wins (all NaN: 0).
int32_t argmax(const float* logits, int64_t vocab);
// The same, also setting *nonfinite when any logit is NaN or +Inf (one pass).
int32_t argmax_checked(const float* logits, int64_t vocab, bool* nonfinite);
// Uniform in [0, 1) with 53 random bits for draw `counter` of `seed` (splitmix64 of both):
// the same on the host and the device.
double sample_uniform(uint64_t seed, uint64_t counter);
// logits: f32 [vocab] (read only). Ids >= limit are never returned (limit in [1, vocab]).
// history: the ids the penalty applies to (duplicates and ids >= limit are ignored).
int32_t sample(const float* logits, int64_t vocab, int64_t limit, float temperature,
               int64_t top_k, float top_p, float repetition_penalty,
               const std::vector<int32_t>& history, double u);

// Steps 7-9 over the sorted probabilities p[0, keep): the chunked running mass, the top-p cut
// and the draw. Returns the position j in the sorted order. Shared text with the CUDA kernel's
// single-thread tail (same order of additions).
int64_t pick_sorted(const double* p, int64_t keep, float top_p, double u);

}  // namespace mvl::cpu
