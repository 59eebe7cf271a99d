// Plain CPU lightning attention. Accumulation is f32 throughout; each decay factor is
// exp(-(s * t)) with s and t in f32, as the reference's decay tables are built.
#include "kernels/cpu/lightning.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/parallel.h"

namespace mvl::cpu {

namespace {
inline float decay(float s, int64_t t) { return std::exp(-(s * static_cast<float>(t))); }

struct Head {
  const LightningArgs& a;
  int64_t h;
  const float* q(int64_t i) const { return a.q + i * a.q_s0 + h * a.q_s1; }
  const float* k(int64_t i) const { return a.k + i * a.k_s0 + h * a.k_s1; }
  const float* v(int64_t i) const { return a.v + i * a.v_s0 + h * a.v_s1; }
  float* o(int64_t i) const { return a.out + (i * a.heads + h) * a.d; }
  float* S() const { return a.state + h * a.d * a.d; }
};

float dot(const float* x, const float* y, int64_t d) {
  float acc = 0.0f;
  for (int64_t t = 0; t < d; ++t) acc += x[t] * y[t];
  return acc;
}

// out[c] += scale * sum_r x[r] * S[r, c]
void row_times_state(const float* x, float scale, const float* S, int64_t d, float* out) {
  for (int64_t r = 0; r < d; ++r) {
    const float xr = x[r] * scale;
    const float* Sr = S + r * d;
    for (int64_t c = 0; c < d; ++c) out[c] += xr * Sr[c];
  }
}
}  // namespace

void lightning_quadratic(const LightningArgs& a) {
  const int64_t d = a.d;
  parallel_for(a.heads, grain_for(a.n * (a.n + 2 * d) * d), [&](int64_t h0, int64_t h1) {
    for (int64_t h = h0; h < h1; ++h) {
      Head hd{a, h};
      const float s = a.slopes[h];
      float* S = hd.S();
      for (int64_t i = 0; i < a.n; ++i) {
        float* o = hd.o(i);
        std::fill(o, o + d, 0.0f);
        row_times_state(hd.q(i), decay(s, i + 1), S, d, o);
        for (int64_t j = 0; j <= i; ++j) {
          const float w = dot(hd.q(i), hd.k(j), d) * decay(s, i - j);
          const float* vj = hd.v(j);
          for (int64_t c = 0; c < d; ++c) o[c] += w * vj[c];
        }
      }
      // S_out = lambda^n S_in + sum_j lambda^(n-1-j) k_j^T v_j
      const float total = decay(s, a.n);
      for (int64_t e = 0; e < d * d; ++e) S[e] *= total;
      for (int64_t j = 0; j < a.n; ++j) {
        const float w = decay(s, a.n - 1 - j);
        const float* kj = hd.k(j);
        const float* vj = hd.v(j);
        for (int64_t r = 0; r < d; ++r) {
          const float kr = kj[r] * w;
          for (int64_t c = 0; c < d; ++c) S[r * d + c] += kr * vj[c];
        }
      }
    }
  });
}

void lightning_recurrent(const LightningArgs& a) {
  const int64_t d = a.d;
  parallel_for(a.heads, grain_for(2 * a.n * d * d), [&](int64_t h0, int64_t h1) {
    for (int64_t h = h0; h < h1; ++h) {
      Head hd{a, h};
      const float ratio = decay(a.slopes[h], 1);
      float* S = hd.S();
      for (int64_t i = 0; i < a.n; ++i) {
        const float* ki = hd.k(i);
        const float* vi = hd.v(i);
        for (int64_t r = 0; r < d; ++r)
          for (int64_t c = 0; c < d; ++c) S[r * d + c] = ratio * S[r * d + c] + ki[r] * vi[c];
        float* o = hd.o(i);
        std::fill(o, o + d, 0.0f);
        row_times_state(hd.q(i), 1.0f, S, d, o);
      }
    }
  });
}

void lightning_blockwise(const LightningArgs& a, int64_t B) {
  const int64_t d = a.d;
  parallel_for(a.heads, grain_for(a.n * (std::min(a.n, B) + 3 * d) * d), [&](int64_t h0, int64_t h1) {
    std::vector<float> qdec(static_cast<size_t>(B)), kdec(static_cast<size_t>(B)), diag(static_cast<size_t>(B)),
        wts(static_cast<size_t>(B));
    std::vector<float> kv(static_cast<size_t>(d * d)), inter(static_cast<size_t>(d));
    for (int64_t h = h0; h < h1; ++h) {
      Head hd{a, h};
      const float s = a.slopes[h];
      for (int64_t t = 0; t < B; ++t) {
        qdec[t] = decay(s, t + 1);  // inter-block: t+1, not t
        diag[t] = decay(s, t);      // intra-block: exp(-s (t-u)) looked up by t-u
      }
      float* S = hd.S();
      for (int64_t a0 = 0; a0 < a.n; a0 += B) {
        const int64_t m = std::min(B, a.n - a0);
        for (int64_t u = 0; u < m; ++u) kdec[u] = decay(s, m - 1 - u);  // right-aligned key decays
        for (int64_t t = 0; t < m; ++t) {
          const float* qt = hd.q(a0 + t);
          float* o = hd.o(a0 + t);
          std::fill(o, o + d, 0.0f);
          // intra: sum_{u<=t} (q_t.k_u) exp(-s(t-u)) v_u ; j > i is masked (exp(-inf) = 0).
          // The weights first, 8 keys' dots side by side (each dot's own order), then the sum
          // over u in order, 16 columns of o held in registers (the same bits as adding into o
          // key by key; tests/ops/cpu_lightning_order_test.cpp).
          constexpr int kKeys = 8;
          int64_t u = 0;
          for (; u + kKeys <= t + 1; u += kKeys) {
            float sc[kKeys] = {};
            for (int64_t c = 0; c < d; ++c) {
              const float qc = qt[c];
              for (int j = 0; j < kKeys; ++j) sc[j] += qc * hd.k(a0 + u + j)[c];
            }
            for (int j = 0; j < kKeys; ++j) wts[u + j] = sc[j] * diag[t - u - j];
          }
          for (; u <= t; ++u) wts[u] = dot(qt, hd.k(a0 + u), d) * diag[t - u];
          constexpr int64_t kCols = 16;
          int64_t c0 = 0;
          for (; c0 + kCols <= d; c0 += kCols) {
            float acc[kCols] = {};
            for (u = 0; u <= t; ++u) {
              const float w = wts[u];
              const float* vu = hd.v(a0 + u) + c0;
              for (int64_t c = 0; c < kCols; ++c) acc[c] += w * vu[c];
            }
            std::copy(acc, acc + kCols, o + c0);
          }
          for (u = 0; u <= t && c0 < d; ++u) {
            const float w = wts[u];
            const float* vu = hd.v(a0 + u);
            for (int64_t c = c0; c < d; ++c) o[c] += w * vu[c];
          }
          // inter: (q_t * exp(-s(t+1))) . S_prev
          std::fill(inter.begin(), inter.end(), 0.0f);
          row_times_state(qt, qdec[t], S, d, inter.data());
          for (int64_t c = 0; c < d; ++c) o[c] = inter[c] + o[c];
        }
        // S <- exp(-s m) S + sum_u (k_u exp(-s(m-1-u)))^T v_u
        std::fill(kv.begin(), kv.end(), 0.0f);
        for (int64_t u = 0; u < m; ++u) {
          const float* ku = hd.k(a0 + u);
          const float* vu = hd.v(a0 + u);
          for (int64_t r = 0; r < d; ++r) {
            const float kr = ku[r] * kdec[u];
            for (int64_t c = 0; c < d; ++c) kv[r * d + c] += kr * vu[c];
          }
        }
        const float bd = decay(s, m);
        for (int64_t e = 0; e < d * d; ++e) S[e] = S[e] * bd + kv[e];
      }
    }
  });
}

}  // namespace mvl::cpu
