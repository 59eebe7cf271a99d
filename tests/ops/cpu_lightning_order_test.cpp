// cpu::lightning_blockwise (kernels/cpu/lightning.cpp: the intra-block weights 8 keys at a time,
// then 16 output columns held across keys) gives, bit for bit, what the plain loops give: one
// running dot per (query, key), and the output accumulated key by key. The CPU is the reference
// the GPU kernels and goldens are held to, so its speed-ups must not move a bit. Lengths around
// the block and the 8 keys, head sizes around the 16 columns, a carried-in state, strided q/k/v.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/cpu/lightning.h"

namespace mvl::cpu {
namespace {

float decay(float s, int64_t t) { return std::exp(-(s * static_cast<float>(t))); }

// The loops as they were before the speed-up (session 9), state update included.
void plain_blockwise(const LightningArgs& a, int64_t B) {
  const int64_t d = a.d;
  std::vector<float> kv(static_cast<size_t>(d * d)), inter(static_cast<size_t>(d));
  for (int64_t h = 0; h < a.heads; ++h) {
    const float s = a.slopes[h];
    auto q = [&](int64_t i) { return a.q + i * a.q_s0 + h * a.q_s1; };
    auto k = [&](int64_t i) { return a.k + i * a.k_s0 + h * a.k_s1; };
    auto v = [&](int64_t i) { return a.v + i * a.v_s0 + h * a.v_s1; };
    float* S = a.state + h * d * d;
    for (int64_t a0 = 0; a0 < a.n; a0 += B) {
      const int64_t m = std::min(B, a.n - a0);
      for (int64_t t = 0; t < m; ++t) {
        const float* qt = q(a0 + t);
        float* o = a.out + ((a0 + t) * a.heads + h) * d;
        std::fill(o, o + d, 0.0f);
        for (int64_t u = 0; u <= t; ++u) {
          float dt = 0.0f;
          for (int64_t c = 0; c < d; ++c) dt += qt[c] * k(a0 + u)[c];
          const float w = dt * decay(s, t - u);
          for (int64_t c = 0; c < d; ++c) o[c] += w * v(a0 + u)[c];
        }
        std::fill(inter.begin(), inter.end(), 0.0f);
        const float qd = decay(s, t + 1);
        for (int64_t r = 0; r < d; ++r) {
          const float xr = qt[r] * qd;
          for (int64_t c = 0; c < d; ++c) inter[c] += xr * S[r * d + c];
        }
        for (int64_t c = 0; c < d; ++c) o[c] = inter[c] + o[c];
      }
      std::fill(kv.begin(), kv.end(), 0.0f);
      for (int64_t u = 0; u < m; ++u) {
        const float kd = decay(s, m - 1 - u);
        for (int64_t r = 0; r < d; ++r) {
          const float kr = k(a0 + u)[r] * kd;
          for (int64_t c = 0; c < d; ++c) kv[r * d + c] += kr * v(a0 + u)[c];
        }
      }
      const float bd = decay(s, m);
      for (int64_t e = 0; e < d * d; ++e) S[e] = S[e] * bd + kv[e];
    }
  }
}

TEST(CpuLightningOrder, BlockwiseEqualsThePlainLoopsBitForBit) {
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  int cases = 0;
  for (const int64_t d : {8, 16, 24, 64}) {
    for (const int64_t n : {1, 7, 9, 40, 70}) {
      const int64_t heads = 3, B = 32, pad = 5;
      const int64_t row = heads * d + pad;
      std::vector<float> q(static_cast<size_t>(n * row)), k(q.size()), v(q.size());
      for (auto* t : {&q, &k, &v})
        for (float& x : *t) x = u(rng);
      std::vector<float> slopes{0.5f, 0.06f, 0.004f};
      std::vector<float> s0(static_cast<size_t>(heads * d * d));
      for (float& x : s0) x = 0.1f * u(rng);
      std::vector<float> st_got = s0, st_want = s0;
      std::vector<float> got(static_cast<size_t>(n * heads * d)), want(got.size());
      LightningArgs a{q.data(), row, d, k.data(), row, d, v.data(), row, d, slopes.data(),
                      st_got.data(), got.data(), n, heads, d};
      lightning_blockwise(a, B);
      a.state = st_want.data();
      a.out = want.data();
      plain_blockwise(a, B);
      ASSERT_EQ(std::memcmp(got.data(), want.data(), sizeof(float) * got.size()), 0) << "out, d " << d << ", n " << n;
      ASSERT_EQ(std::memcmp(st_got.data(), st_want.data(), sizeof(float) * st_got.size()), 0)
          << "state, d " << d << ", n " << n;
      ++cases;
    }
  }
  EXPECT_EQ(cases, 20);
}

}  // namespace
}  // namespace mvl::cpu
