// tests/llm/routing_margin.h, the helper the GPU-vs-CPU precision tests use to tell a routing
// near-tie from a precision loss: the margin is the exact distance to the nearest change of the
// top-k set (a step just past it along the worst direction changes the set, no step short of it
// in any direction does), and the router inputs it rebuilds from a CPU TextModel's trace are the
// ones the model routed (the layer outputs they give equal the traced ones bit for bit).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "kernels/ops/moe.h"
#include "kernels/ops/sampling.h"
#include "llm/layers/layers.h"
#include "tests/llm/routing_margin.h"
#include "tests/llm/text_test_util.h"

namespace mvl {
namespace {

using namespace test;

std::vector<int32_t> top_set(const Tensor& b, const Tensor& gate, int64_t k) {
  const ops::MoeRouting r = ops::moe_route(ops::linear(b, gate), k);
  std::vector<int32_t> s(r.experts.data<int32_t>(), r.experts.data<int32_t>() + k);
  std::sort(s.begin(), s.end());
  return s;
}

TEST(RoutingMargin, IsTheDistanceToTheNearestChangeOfTheTopKSet) {
  const int64_t n = 12, H = 64, E = 8;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> bv(n * H), gv(E * H);
  for (auto& v : bv) v = u(rng);
  for (auto& v : gv) v = 0.3f * u(rng);
  const Tensor gate = Tensor::from_f32({E, H}, gv);
  for (int64_t k : {1, 2, 3}) {
    for (int64_t t = 0; t < n; ++t) {
      SCOPED_TRACE(::testing::Message() << "top " << k << " row " << t);
      const std::vector<float> row(bv.begin() + t * H, bv.begin() + (t + 1) * H);
      const Tensor b = Tensor::from_f32({1, H}, row);
      const RoutingMargin m = routing_margin(b, gate, k);
      ASSERT_TRUE(std::isfinite(m.margin) && m.margin > 0);
      double nb = 0, nd = 0;
      std::vector<double> d(H);
      for (int64_t j = 0; j < H; ++j) {
        nb += double(row[j]) * row[j];
        d[j] = double(gv[m.runner_up * H + j]) - gv[m.chosen * H + j];
        nd += d[j] * d[j];
      }
      // Along the worst direction: just short keeps the set, just past swaps the pair.
      auto moved = [&](const std::vector<double>& dir, double dir_norm, double f) {
        std::vector<float> p(row);
        for (int64_t j = 0; j < H; ++j)
          p[j] = static_cast<float>(row[j] + f * m.margin * std::sqrt(nb) * dir[j] / dir_norm);
        return Tensor::from_f32({1, H}, p);
      };
      const std::vector<int32_t> base = top_set(b, gate, k);
      EXPECT_EQ(top_set(moved(d, std::sqrt(nd), 0.99), gate, k), base);
      const std::vector<int32_t> past = top_set(moved(d, std::sqrt(nd), 1.01), gate, k);
      EXPECT_TRUE(std::count(past.begin(), past.end(), m.runner_up) == 1 &&
                  std::count(past.begin(), past.end(), m.chosen) == 0);
      // Any other direction, the same distance short: the set stays.
      for (int trial = 0; trial < 20; ++trial) {
        std::vector<double> r(H);
        double nr = 0;
        for (auto& v : r) {
          v = u(rng);
          nr += v * v;
        }
        EXPECT_EQ(top_set(moved(r, std::sqrt(nr), 0.99), gate, k), base) << "trial " << trial;
      }
    }
  }
}

TEST(RoutingMargin, RouterInputsFromTheTraceAreTheOnesTheModelRouted) {
  const TextCheckpoint c = open_text_checkpoint(golden_dir("l3s1_hd32_b16", "released"));
  ASSERT_TRUE(c.cfg.postnorm);
  llm::TextLoadOptions o;
  o.quant = llm::QuantScheme::int8_experts;
  const llm::TextModel m = llm::TextModel::load(c.ckpt, c.cfg, c.naming, {}, o);
  RouterInputs ri(m, c.cfg);
  llm::SequenceState st = m.new_state();
  std::vector<int32_t> ids;
  for (int i = 0; i < 9; ++i) ids.push_back(static_cast<int32_t>((i * 53 + 7) % c.cfg.vocab_size));
  llm::PrefillOptions po;
  po.trace = ri.trace();
  const Tensor last = m.prefill({llm::Segment::tokens(ids)}, st, po);
  auto check = [&](const char* what) {
    for (int64_t l = 0; l < c.cfg.num_hidden_layers; ++l) {
      const llm::LayerWeights& lw = m.weights().layers[static_cast<size_t>(l)];
      const Tensor b = ri.b(l);
      const float ma = static_cast<float>(c.cfg.mlp_alpha), mb = static_cast<float>(c.cfg.mlp_beta);
      const Tensor x = ops::axpby(b, ma, llm::moe_block(lw, c.cfg, b), mb);
      EXPECT_EQ(max_abs_diff(x, ri.at("layer." + std::to_string(l) + ".hidden")), 0.0)
          << what << " layer " << l;
    }
    const RoutingMargin r = ri.margin();
    EXPECT_TRUE(std::isfinite(r.margin) && r.margin > 0 && r.layer >= 0) << what;
  };
  check("prefill");
  ri.clear();
  m.decode(ops::argmax(last.view({-1})), st, ri.trace());
  check("decode");
}

}  // namespace
}  // namespace mvl
