// cpu::attention (kernels/cpu/attention.cpp: 8 keys' scores side by side, 16 output columns
// held across keys) gives, bit for bit, what the plain loops give: one running sum per score
// over t in order, max-subtracted exp, and the output accumulated key by key. The CPU is the
// reference the GPU kernels and the goldens are held to, so its speed-ups must not move a bit.
// Key counts around the block of 8 (and below it), head sizes around the 16 columns (and below
// them), causal with an offset and not, grouped-query heads, strided q/k/v.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "kernels/cpu/attention.h"

namespace mvl::cpu {
namespace {

void plain_attention(const AttentionArgs& a) {
  const int64_t group = a.heads / a.kv_heads;
  std::vector<float> scores(static_cast<size_t>(a.n_k));
  for (int64_t i = 0; i < a.n_q; ++i) {
    for (int64_t h = 0; h < a.heads; ++h) {
      const int64_t g = h / group;
      const float* qi = a.q + i * a.q_s0 + h * a.q_s1;
      const int64_t visible = a.causal ? std::min<int64_t>(a.n_k, a.q_offset + i + 1) : a.n_k;
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < visible; ++j) {
        const float* kj = a.k + j * a.k_s0 + g * a.k_s1;
        float s = 0.0f;
        for (int64_t t = 0; t < a.d; ++t) s += qi[t] * kj[t];
        scores[j] = s * a.scale;
        mx = std::max(mx, scores[j]);
      }
      float sum = 0.0f;
      for (int64_t j = 0; j < visible; ++j) {
        scores[j] = std::exp(scores[j] - mx);
        sum += scores[j];
      }
      float* oi = a.out + (i * a.heads + h) * a.d;
      std::fill(oi, oi + a.d, 0.0f);
      if (visible == 0) continue;
      const float inv = 1.0f / sum;
      for (int64_t j = 0; j < visible; ++j) {
        const float p = scores[j] * inv;
        const float* vj = a.v + j * a.v_s0 + g * a.v_s1;
        for (int64_t t = 0; t < a.d; ++t) oi[t] += p * vj[t];
      }
    }
  }
}

TEST(CpuAttentionOrder, EqualsThePlainLoopsBitForBit) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-2.f, 2.f);
  int cases = 0;
  for (const int64_t d : {8, 16, 24, 64, 72}) {
    for (const int64_t n_k : {1, 7, 8, 9, 33}) {
      for (const bool causal : {false, true}) {
        const int64_t heads = 4, kv_heads = 2, n_q = causal ? 5 : 3, pad = 3;  // pad: strided rows
        const int64_t q_offset = causal ? n_k - n_q : 0;
        if (q_offset < 0) continue;
        std::vector<float> q(static_cast<size_t>(n_q * (heads * d + pad)));
        std::vector<float> k(static_cast<size_t>(n_k * (kv_heads * d + pad)));
        std::vector<float> v(k.size());
        for (auto* t : {&q, &k, &v})
          for (float& x : *t) x = u(rng);
        std::vector<float> got(static_cast<size_t>(n_q * heads * d)), want(got.size());
        AttentionArgs a{q.data(), heads * d + pad, d, k.data(), kv_heads * d + pad, d, v.data(),
                        kv_heads * d + pad, d, got.data(), n_q, n_k, heads, kv_heads, d,
                        1.0f / std::sqrt(static_cast<float>(d)), causal, q_offset};
        attention(a);
        a.out = want.data();
        plain_attention(a);
        ASSERT_EQ(std::memcmp(got.data(), want.data(), sizeof(float) * got.size()), 0)
            << "d " << d << ", n_k " << n_k << (causal ? ", causal" : "");
        ++cases;
      }
    }
  }
  EXPECT_GE(cases, 40);
}

}  // namespace
}  // namespace mvl::cpu
