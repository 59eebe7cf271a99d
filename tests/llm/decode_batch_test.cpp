// TextModel::decode_batch on the CPU equals one decode() per sequence (f32, within 1e-5
// relative to the row's largest logit) through batch_scenario(): mixed positions, a
// sequence joining after the start, one pausing, a rewind to a snapshot, shuffled order.
// Every golden tiny config, so both layer orders (lightning first / softmax first) run.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "kernels/core/error.h"
#include "tests/llm/decode_batch_util.h"

namespace mvl {
namespace {

using namespace test;

double rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0, m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    d = std::max(d, static_cast<double>(std::fabs(a[i] - b[i])));
    m = std::max(m, static_cast<double>(std::fabs(b[i])));
  }
  return d / std::max(m, 1e-30);
}

TEST(DecodeBatch, EqualsSeparateDecodesOnEveryGoldenConfig) {
  for (const std::string& name : golden_text_configs()) {
    SCOPED_TRACE(name);
    const LoadedTextModel m = load_text_model(golden_dir(name, "released"));
    const auto batched = run_batch_scenario(m.model, true);
    const auto single = run_batch_scenario(m.model, false);
    ASSERT_EQ(batched.size(), single.size());
    double worst = 0;
    for (size_t r = 0; r < single.size(); ++r) {
      ASSERT_EQ(batched[r].size(), single[r].size());
      const double e = rel_diff(batched[r], single[r]);
      EXPECT_LE(e, 1e-5) << "row " << r;
      worst = std::max(worst, e);
    }
    std::printf("%s: %zu rows, worst rel diff %.3g\n", name.c_str(), single.size(), worst);
  }
}

// The batched ops (one call per layer for all sequences) against the per-sequence loop they
// replaced: on the CPU they loop over the same single-sequence ops, so every logit is equal.
TEST(DecodeBatch, BatchedAttentionEqualsThePerSequenceLoopBitForBit) {
  for (const std::string& name : golden_text_configs()) {
    SCOPED_TRACE(name);
    const LoadedTextModel m = load_text_model(golden_dir(name, "released"));
    EXPECT_EQ(m.model.batch_attention(), llm::BatchAttention::batched);  // the default
    const auto ref = run_batch_scenario(m.model.with_batch_attention(llm::BatchAttention::per_sequence), true);
    for (const llm::BatchAttention mode : {llm::BatchAttention::batched, llm::BatchAttention::batched_fill}) {
      SCOPED_TRACE(llm::batch_attention_name(mode));
      const auto got = run_batch_scenario(m.model.with_batch_attention(mode), true);
      ASSERT_EQ(got.size(), ref.size());
      for (size_t r = 0; r < ref.size(); ++r) EXPECT_EQ(got[r], ref[r]) << "row " << r;
    }
  }
}

TEST(DecodeBatch, RejectsMismatchedOrRepeatedStates) {
  const LoadedTextModel m = load_text_model(golden_dir("l2s1_hd16_b8", "released"));
  llm::SequenceState a = m.model.new_state(), b = m.model.new_state();
  m.model.prefill({llm::Segment::tokens({1, 2, 3})}, a);
  m.model.prefill({llm::Segment::tokens({4, 5})}, b);
  EXPECT_THROW(m.model.decode_batch({1, 2}, {&a}), Error);
  EXPECT_THROW(m.model.decode_batch({1, 2}, {&a, &a}), Error);
  EXPECT_THROW(m.model.decode_batch({}, {}), Error);
  EXPECT_EQ(a.position(), 3);  // nothing advanced by a refused call
  const Tensor l = m.model.decode_batch({1, 2}, {&a, &b});
  EXPECT_EQ(a.position(), 4);
  EXPECT_EQ(b.position(), 3);
  EXPECT_EQ(l.dim(0), 2);
}

}  // namespace
}  // namespace mvl
