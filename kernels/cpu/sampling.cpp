// Plain CPU sampling (sampling.h): masking, penalty, stable sort, chunked double sums, the
// top-p cut and the draw, in the order kernels/cuda/sampling.cu follows.
#include "kernels/cpu/sampling.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "kernels/cpu/random.h"

namespace mvl::cpu {

int32_t argmax(const float* logits, int64_t vocab) {
  bool nonfinite = false;
  return argmax_checked(logits, vocab, &nonfinite);
}

int32_t argmax_checked(const float* logits, int64_t vocab, bool* nonfinite) {
  // The best value stays in a register; NaN never wins (the first non-NaN value starts the
  // run, as in the CUDA argmax, kernels/cuda/argmax.cu), and the same pass notes NaN / +Inf.
  constexpr float kInf = std::numeric_limits<float>::infinity();
  int64_t best = -1;
  float bv = -kInf;
  int bad = 0;
  for (int64_t i = 0; i < vocab; ++i) {
    const float v = logits[i];
    bad |= !(v < kInf);
    if (v > bv || (best < 0 && v == v)) {
      bv = v;
      best = i;
    }
  }
  *nonfinite = bad != 0;
  return static_cast<int32_t>(best < 0 ? 0 : best);
}

double sample_uniform(uint64_t seed, uint64_t counter) {
  return static_cast<double>(splitmix64(seed ^ splitmix64(counter)) >> 11) * 0x1.0p-53;
}

namespace {

// Running mass through position j (inclusive) from the chunk sums: the sums of the whole
// chunks before j's chunk, left to right, then j's chunk from its start to j.
double running_mass(const double* p, const std::vector<double>& chunk_sum, int64_t j) {
  const int64_t c = j / kSampleChunk;
  double acc = 0.0;
  for (int64_t b = 0; b < c; ++b) acc += chunk_sum[b];
  double in = 0.0;
  for (int64_t i = c * kSampleChunk; i <= j; ++i) in += p[i];
  return acc + in;
}

// First j in [0, keep) whose running mass satisfies pred (the mass is nondecreasing), or keep.
template <typename Pred>
int64_t first_where(const double* p, const std::vector<double>& chunk_sum, int64_t keep, Pred pred) {
  double acc = 0.0;
  const int64_t nc = (keep + kSampleChunk - 1) / kSampleChunk;
  for (int64_t b = 0; b < nc; ++b) {
    // Whole chunk b in: acc + chunk_sum[b] equals running_mass at its last element only when the
    // chunk is full; scan inside whenever the chunk might hold the crossing.
    const int64_t lo = b * kSampleChunk, hi = std::min(keep, lo + kSampleChunk);
    double in = 0.0;
    for (int64_t i = lo; i < hi; ++i) {
      in += p[i];
      if (pred(acc + in)) return i;
    }
    acc += chunk_sum[b];
  }
  return keep;
}

}  // namespace

int64_t pick_sorted(const double* p, int64_t keep, float top_p, double u) {
  const int64_t nc = (keep + kSampleChunk - 1) / kSampleChunk;
  std::vector<double> chunk_sum(static_cast<size_t>(nc), 0.0);
  for (int64_t b = 0; b < nc; ++b) {
    double s = 0.0;
    for (int64_t i = b * kSampleChunk; i < std::min(keep, (b + 1) * kSampleChunk); ++i) s += p[i];
    chunk_sum[b] = s;
  }
  double total = 0.0;
  for (int64_t b = 0; b < nc; ++b) total += chunk_sum[b];
  if (top_p < 1.0f) {
    const double want = static_cast<double>(top_p) * total;
    const int64_t cut = first_where(p, chunk_sum, keep, [&](double m) { return m >= want; });
    if (cut < keep) {
      keep = cut + 1;
      total = running_mass(p, chunk_sum, cut);
    }
  }
  const double target = u * total;
  const int64_t j = first_where(p, chunk_sum, keep, [&](double m) { return target < m; });
  return j < keep ? j : keep - 1;
}

int32_t sample(const float* logits, int64_t vocab, int64_t limit, float temperature,
               int64_t top_k, float top_p, float repetition_penalty,
               const std::vector<int32_t>& history, double u) {
  const int64_t n = std::clamp<int64_t>(limit, 1, vocab);
  std::vector<float> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const float v = logits[i];
    x[i] = std::isnan(v) ? -std::numeric_limits<float>::infinity() : v + 0.0f;
  }
  if (repetition_penalty != 1.0f) {
    std::vector<char> seen(static_cast<size_t>(n), 0);
    for (int32_t t : history)
      if (t >= 0 && t < n && !seen[t]) {
        seen[t] = 1;
        x[t] = x[t] > 0.0f ? x[t] / repetition_penalty : x[t] * repetition_penalty;
      }
  }
  if (temperature <= 0.0f) return argmax(x.data(), n);
  std::vector<int32_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int32_t a, int32_t b) { return x[a] > x[b]; });
  const int64_t keep = top_k > 0 ? std::min(n, top_k) : n;
  const double mx = static_cast<double>(x[idx[0]] / temperature);
  std::vector<double> p(static_cast<size_t>(keep));
  for (int64_t j = 0; j < keep; ++j) p[j] = std::exp(static_cast<double>(x[idx[j]]) / temperature - mx);
  return idx[pick_sorted(p.data(), keep, top_p, u)];
}

}  // namespace mvl::cpu
