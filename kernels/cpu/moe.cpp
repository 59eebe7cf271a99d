// Plain CPU MoE: routing per token, then expert by expert (ascending) over the tokens
// routed to it: gather rows, two linears, silu*up, down linear, scale, scatter-add.
#include "kernels/cpu/moe.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/linear.h"

namespace mvl::cpu {

void moe_route(const float* logits, int64_t n, int64_t E, int64_t k, int32_t* experts, float* weights) {
  std::vector<float> p(static_cast<size_t>(E));
  std::vector<int32_t> order(static_cast<size_t>(E));
  for (int64_t t = 0; t < n; ++t) {
    const float* l = logits + t * E;
    float mx = l[0];
    for (int64_t e = 1; e < E; ++e) mx = std::max(mx, l[e]);
    float sum = 0.0f;
    for (int64_t e = 0; e < E; ++e) {
      p[e] = std::exp(l[e] - mx);
      sum += p[e];
    }
    for (int64_t e = 0; e < E; ++e) p[e] /= sum;
    for (int64_t e = 0; e < E; ++e) order[e] = static_cast<int32_t>(e);
    // Descending probability; equal probabilities keep ascending index (lowest wins).
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return p[a] > p[b]; });
    float top = 0.0f;
    for (int64_t j = 0; j < k; ++j) top += p[order[j]];
    for (int64_t j = 0; j < k; ++j) {
      experts[t * k + j] = order[j];
      weights[t * k + j] = p[order[j]] / top;
    }
  }
}

void silu_mul(const float* gate, const float* up, float* out, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    const float g = gate[i];
    out[i] = (g / (1.0f + std::exp(-g))) * up[i];
  }
}

namespace {
// A plain weight through cpu::linear, a quantized one through linear_quantized.
void linear_any(const float* x, const void* w, DType t, const QuantView& q, float* out, int64_t n,
                int64_t in, int64_t out_f) {
  if (q.format == WeightFormat::plain)
    linear(x, w, t, nullptr, DType::f32, out, n, in, out_f);
  else
    linear_quantized(x, q.format, static_cast<const uint8_t*>(w), q.scales, q.zeros, nullptr,
                     DType::f32, out, n, in, out_f);
}
}  // namespace

void moe_experts(const float* x, int64_t n, int64_t H, int64_t I, const int32_t* experts, const float* weights,
                 int64_t k, const std::vector<ExpertPtrs>& w, float* out) {
  std::fill(out, out + n * H, 0.0f);
  std::vector<int64_t> tok;
  std::vector<float> wt, xs, g, u, y;
  for (int64_t e = 0; e < static_cast<int64_t>(w.size()); ++e) {
    tok.clear();
    wt.clear();
    for (int64_t t = 0; t < n; ++t)
      for (int64_t j = 0; j < k; ++j)
        if (experts[t * k + j] == e) {
          tok.push_back(t);
          wt.push_back(weights[t * k + j]);
        }
    const int64_t m = static_cast<int64_t>(tok.size());
    if (m == 0) continue;
    xs.resize(static_cast<size_t>(m * H));
    for (int64_t r = 0; r < m; ++r) std::copy(x + tok[r] * H, x + (tok[r] + 1) * H, xs.begin() + r * H);
    g.resize(static_cast<size_t>(m * I));
    u.resize(static_cast<size_t>(m * I));
    y.resize(static_cast<size_t>(m * H));
    linear_any(xs.data(), w[e].w1, w[e].t1, w[e].q1, g.data(), m, H, I);
    linear_any(xs.data(), w[e].w3, w[e].t3, w[e].q3, u.data(), m, H, I);
    silu_mul(g.data(), u.data(), g.data(), m * I);
    linear_any(g.data(), w[e].w2, w[e].t2, w[e].q2, y.data(), m, I, H);
    for (int64_t r = 0; r < m; ++r) {
      float* o = out + tok[r] * H;
      const float* yr = y.data() + r * H;
      for (int64_t c = 0; c < H; ++c) o[c] += yr[c] * wt[r];
    }
  }
}

}  // namespace mvl::cpu
