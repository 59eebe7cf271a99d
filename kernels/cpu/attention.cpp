// Plain CPU softmax attention.
#include "kernels/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/parallel.h"

namespace mvl::cpu {

void attention(const AttentionArgs& a) {
  const int64_t group = a.heads / a.kv_heads;
  parallel_for(a.n_q * a.heads, std::max<int64_t>(4, grain_for(2 * a.n_k * a.d)), [&](int64_t b, int64_t e) {
    std::vector<float> scores(static_cast<size_t>(a.n_k));
    for (int64_t job = b; job < e; ++job) {
      const int64_t i = job / a.heads, h = job % a.heads, g = h / group;
      const float* qi = a.q + i * a.q_s0 + h * a.q_s1;
      const int64_t visible = a.causal ? std::min<int64_t>(a.n_k, a.q_offset + i + 1) : a.n_k;
      // Each score is one running sum over t in order (the reference's arithmetic). A lone sum
      // waits on its own additions, so kKeys keys run side by side: the same sums, bit for bit,
      // kKeys times as many additions per cycle.
      constexpr int kKeys = 8;
      int64_t j = 0;
      for (; j + kKeys <= visible; j += kKeys) {
        const float* kj = a.k + j * a.k_s0 + g * a.k_s1;
        float s[kKeys] = {};
        for (int64_t t = 0; t < a.d; ++t) {
          const float qt = qi[t];
          for (int u = 0; u < kKeys; ++u) s[u] += qt * kj[u * a.k_s0 + t];
        }
        for (int u = 0; u < kKeys; ++u) scores[j + u] = s[u] * a.scale;
      }
      for (; j < visible; ++j) {
        const float* kj = a.k + j * a.k_s0 + g * a.k_s1;
        float s = 0.0f;
        for (int64_t t = 0; t < a.d; ++t) s += qi[t] * kj[t];
        scores[j] = s * a.scale;
      }
      float mx = -std::numeric_limits<float>::infinity();
      for (j = 0; j < visible; ++j) mx = std::max(mx, scores[j]);
      float sum = 0.0f;
      for (int64_t j = 0; j < visible; ++j) {
        scores[j] = std::exp(scores[j] - mx);
        sum += scores[j];
      }
      float* oi = a.out + (i * a.heads + h) * a.d;
      std::fill(oi, oi + a.d, 0.0f);
      if (visible == 0) continue;  // a fully masked row stays zero
      const float inv = 1.0f / sum;
      // out[t] = sum over j in order of p_j * v_j[t], kCols columns at a time held in registers
      // across all keys (the same sums as adding into out key by key, without its loads and
      // stores per key).
      constexpr int64_t kCols = 16;
      int64_t t0 = 0;
      for (; t0 + kCols <= a.d; t0 += kCols) {
        float acc[kCols] = {};
        for (j = 0; j < visible; ++j) {
          const float p = scores[j] * inv;
          const float* vj = a.v + j * a.v_s0 + g * a.v_s1 + t0;
          for (int64_t t = 0; t < kCols; ++t) acc[t] += p * vj[t];
        }
        std::copy(acc, acc + kCols, oi + t0);
      }
      for (j = 0; j < visible && t0 < a.d; ++j) {
        const float p = scores[j] * inv;
        const float* vj = a.v + j * a.v_s0 + g * a.v_s1;
        for (int64_t t = t0; t < a.d; ++t) oi[t] += p * vj[t];
      }
    }
  });
}

}  // namespace mvl::cpu
