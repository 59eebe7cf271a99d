// Sampler: greedy is argmax, seeded sampling is reproducible, top-k=1 and a tiny top-p
// reduce to greedy, the repetition penalty pushes seen tokens down.
#include <gtest/gtest.h>

#include <set>

#include "app/engine/core/sampler.h"
#include "kernels/core/error.h"

namespace mvl::engine {
namespace {

std::vector<float> logits() { return {0.1f, 2.0f, 1.9f, -1.0f, 1.5f, 0.0f}; }

TEST(Sampler, GreedyIsArgmax) {
  Sampler s(SamplingOptions{});
  auto l = logits();
  EXPECT_EQ(s.sample(l, {}), 1);
}

TEST(Sampler, SeededSamplingIsReproducibleAndVaries) {
  SamplingOptions o;
  o.temperature = 2.0f;
  o.seed = 42;
  Sampler a(o), b(o);
  std::vector<int32_t> xa, xb;
  std::set<int32_t> seen;
  for (int i = 0; i < 50; ++i) {
    auto l1 = logits(), l2 = logits();
    xa.push_back(a.sample(l1, {}));
    xb.push_back(b.sample(l2, {}));
    seen.insert(xa.back());
  }
  EXPECT_EQ(xa, xb);
  EXPECT_GE(seen.size(), 3u);
}

TEST(Sampler, TopKOneAndTinyTopPAreGreedy) {
  SamplingOptions o;
  o.temperature = 1.0f;
  o.top_k = 1;
  Sampler a(o);
  o.top_k = 0;
  o.top_p = 1e-5f;
  Sampler b(o);
  for (int i = 0; i < 20; ++i) {
    auto l1 = logits(), l2 = logits();
    EXPECT_EQ(a.sample(l1, {}), 1);
    EXPECT_EQ(b.sample(l2, {}), 1);
  }
}

TEST(Sampler, TopKTwoOnlyPicksTheTwoBest) {
  SamplingOptions o;
  o.temperature = 5.0f;
  o.top_k = 2;
  Sampler s(o);
  for (int i = 0; i < 50; ++i) {
    auto l = logits();
    const int32_t id = s.sample(l, {});
    EXPECT_TRUE(id == 1 || id == 2) << id;
  }
}

TEST(Sampler, RepetitionPenaltyDemotesSeenTokens) {
  SamplingOptions o;
  o.repetition_penalty = 1.5f;
  Sampler s(o);
  auto l = logits();
  EXPECT_EQ(s.sample(l, {1}), 2);  // 2.0/1.5 < 1.9
}

TEST(Sampler, RejectsBadOptions) {
  SamplingOptions o;
  o.top_p = 0;
  EXPECT_THROW(Sampler{o}, Error);
  o.top_p = 1;
  o.top_k = -1;
  EXPECT_THROW(Sampler{o}, Error);
}

}  // namespace
}  // namespace mvl::engine
