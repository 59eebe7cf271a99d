// Plain CPU sampling: sort candidates by logit (stable, so equal logits keep index order),
// cut by top-k and top-p, softmax in double over the survivors, invert the CDF at u.
#include "kernels/cpu/sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace mvl::cpu {

int32_t argmax(const float* logits, int64_t vocab) {
  int64_t best = 0;
  for (int64_t i = 1; i < vocab; ++i)
    if (logits[i] > logits[best]) best = i;
  return static_cast<int32_t>(best);
}

int32_t sample(float* logits, int64_t vocab, float temperature, int64_t top_k, float top_p,
               float repetition_penalty, const std::vector<int32_t>& history, double u) {
  if (repetition_penalty != 1.0f) {
    std::vector<char> seen(static_cast<size_t>(vocab), 0);
    for (int32_t t : history)
      if (t >= 0 && t < vocab && !seen[t]) {
        seen[t] = 1;
        logits[t] = logits[t] > 0.0f ? logits[t] / repetition_penalty : logits[t] * repetition_penalty;
      }
  }
  if (temperature <= 0.0f) return argmax(logits, vocab);
  std::vector<int32_t> idx(static_cast<size_t>(vocab));
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  int64_t keep = vocab;
  if (top_k > 0) keep = std::min(keep, top_k);
  const double mx = logits[idx[0]] / temperature;
  std::vector<double> p(static_cast<size_t>(keep));
  double sum = 0.0;
  for (int64_t i = 0; i < keep; ++i) {
    p[i] = std::exp(static_cast<double>(logits[idx[i]]) / temperature - mx);
    sum += p[i];
  }
  if (top_p < 1.0f) {
    double cum = 0.0;
    int64_t cut = keep;
    for (int64_t i = 0; i < keep; ++i) {
      cum += p[i] / sum;
      if (cum >= top_p) {
        cut = i + 1;
        break;
      }
    }
    keep = std::max<int64_t>(1, cut);
    sum = 0.0;
    for (int64_t i = 0; i < keep; ++i) sum += p[i];
  }
  double target = u * sum, cum = 0.0;
  for (int64_t i = 0; i < keep; ++i) {
    cum += p[i];
    if (target < cum) return idx[i];
  }
  return idx[keep - 1];
}

}  // namespace mvl::cpu
