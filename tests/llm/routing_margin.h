// How close a CPU f32 reference run's MoE routing is to flipping. A run with bf16 activations
// (or any other rounding) sees router inputs a little off the reference's; where a token's
// top-k choice is that close to a tie, the run may pick the runner-up expert, and its logits then
// differ from the reference's by far more than rounding (one flipped expert in one layer of the
// golden l3s1 model moves a decode step's logits by ~20%). Such a step measures the tie, not
// the precision, so the GPU-vs-CPU precision tests report it instead of holding it to their bound.
//
// margin of one token in one layer: the smallest |Δb| / |b| (b = that token's router input)
// that changes its top-k set, i.e. the distance from b to the nearest hyperplane
// (g_c - g_j)·b = 0 for a chosen expert c and an unchosen j (g = router rows), relative to |b|:
// min over c, j of (l_c - l_j) / (|g_c - g_j| |b|), l = the router logits (softmax is monotone).
// It is exact for the worst direction; a perturbation of relative size eps in a random
// direction moves b along one direction by about eps / sqrt(hidden).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/ops/linear.h"
#include "kernels/ops/rms_norm.h"
#include "kernels/ops/tensor_ops.h"
#include "llm/config/text_config.h"
#include "llm/model/text_model.h"

namespace mvl::test {

struct RoutingMargin {
  double margin = std::numeric_limits<double>::infinity();
  int64_t layer = -1, row = -1;
  int32_t chosen = -1, runner_up = -1;  // the pair whose tie is nearest
};

// The smallest margin over rows [row0, n) of b (f32 [n, H]) under gate (f32|bf16 [E, H], host).
inline RoutingMargin routing_margin(const Tensor& b, const Tensor& gate, int64_t top_k,
                                    int64_t row0 = 0, int64_t layer = -1) {
  const Tensor bf = contiguous(b.dtype() == DType::f32 ? b : ops::cast(b, DType::f32));
  const Tensor gf = contiguous(gate.dtype() == DType::f32 ? gate : ops::cast(gate, DType::f32));
  const int64_t n = bf.dim(0), H = bf.dim(1), E = gf.dim(0);
  const float* bp = bf.data<float>();
  const float* gp = gf.data<float>();
  RoutingMargin r;
  r.layer = layer;
  for (int64_t t = row0; t < n; ++t) {
    std::vector<double> l(static_cast<size_t>(E));
    double nb = 0;
    for (int64_t j = 0; j < H; ++j) nb += double(bp[t * H + j]) * bp[t * H + j];
    for (int64_t e = 0; e < E; ++e) {
      double s = 0;
      for (int64_t j = 0; j < H; ++j) s += double(gp[e * H + j]) * bp[t * H + j];
      l[static_cast<size_t>(e)] = s;
    }
    // The top-k set (lowest index on ties, as moe_route picks).
    std::vector<bool> in(static_cast<size_t>(E), false);
    for (int64_t k = 0; k < top_k; ++k) {
      int64_t best = -1;
      for (int64_t e = 0; e < E; ++e)
        if (!in[static_cast<size_t>(e)] && (best < 0 || l[static_cast<size_t>(e)] > l[static_cast<size_t>(best)]))
          best = e;
      in[static_cast<size_t>(best)] = true;
    }
    for (int64_t c = 0; c < E; ++c) {
      if (!in[static_cast<size_t>(c)]) continue;
      for (int64_t j = 0; j < E; ++j) {
        if (in[static_cast<size_t>(j)]) continue;
        double nd = 0;
        for (int64_t i = 0; i < H; ++i) {
          const double d = double(gp[c * H + i]) - gp[j * H + i];
          nd += d * d;
        }
        const double den = std::sqrt(nd * nb);
        const double m = den > 0 ? (l[static_cast<size_t>(c)] - l[static_cast<size_t>(j)]) / den
                                 : std::numeric_limits<double>::infinity();
        if (m < r.margin) {
          r.margin = m;
          r.row = t;
          r.chosen = static_cast<int32_t>(c);
          r.runner_up = static_cast<int32_t>(j);
        }
      }
    }
  }
  return r;
}

// Records a CPU TextModel's trace ("embed", "layer.<l>.attn", "layer.<l>.hidden") and rebuilds
// each layer's router input b from it with the model's own ops (TextModel::run_layers).
class RouterInputs {
 public:
  RouterInputs(const llm::TextModel& m, const llm::TextConfig& cfg) : m_(m), cfg_(cfg) {}
  // Pass to prefill / decode; clear() before each.
  llm::TraceFn trace() {
    return [this](const std::string& name, const Tensor& t) { seen_[name] = ops::clone(t); };
  }
  void clear() { seen_.clear(); }
  // Layer l's router input (f32 [n, H]) of the last traced call.
  Tensor b(int64_t l) const {
    const llm::LayerWeights& lw = m_.weights().layers[static_cast<size_t>(l)];
    const float eps = static_cast<float>(cfg_.rms_norm_eps);
    const Tensor& x = at(l == 0 ? "embed" : "layer." + std::to_string(l - 1) + ".hidden");
    const Tensor a = ops::rms_norm(x, lw.input_layernorm, eps);
    const bool lightning = lw.kind == llm::AttnKind::lightning;
    const float aa = static_cast<float>(lightning ? cfg_.linear_attn_alpha : cfg_.full_attn_alpha);
    const float ab = static_cast<float>(lightning ? cfg_.linear_attn_beta : cfg_.full_attn_beta);
    const Tensor& att = at("layer." + std::to_string(l) + ".attn");
    if (cfg_.postnorm) return ops::residual_rms_norm(a, aa, att, ab, lw.post_attention_layernorm, eps);
    return ops::rms_norm(ops::axpby(x, aa, att, ab), lw.post_attention_layernorm, eps);
  }
  // The smallest margin over every layer, for rows [row0, n) of the last traced call.
  RoutingMargin margin(int64_t row0 = 0) const {
    RoutingMargin r;
    for (int64_t l = 0; l < cfg_.num_hidden_layers; ++l) {
      const RoutingMargin m = routing_margin(b(l), m_.weights().layers[static_cast<size_t>(l)].gate,
                                             cfg_.num_experts_per_tok, row0, l);
      if (m.margin < r.margin) r = m;
    }
    return r;
  }
  const Tensor& at(const std::string& name) const {
    const auto it = seen_.find(name);
    if (it == seen_.end()) throw std::runtime_error("RouterInputs: no traced '" + name + "'");
    return it->second;
  }

 private:
  const llm::TextModel& m_;
  const llm::TextConfig& cfg_;
  std::map<std::string, Tensor> seen_;
};

}  // namespace mvl::test
