// The sampler behind every front end (ops::sample_on_device, CPU path): the counter-based
// draw, the vocabulary limit (padding ids are never chosen, greedy or sampled), and the
// chunked running mass, checked exactly on equal logits where the chosen index is
// floor(u * kept) across chunk boundaries, with top-k, top-p and the limit.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>
#include <vector>

#include "kernels/core/error.h"
#include "kernels/cpu/sampling.h"
#include "kernels/ops/sampling.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl {
namespace {

int32_t pick(const Tensor& logits, const ops::SamplingParams& p, double u,
             const std::vector<int32_t>& history = {}) {
  const Tensor id = ops::sample_on_device(logits, p, u, history);
  EXPECT_EQ(id.dtype(), DType::i32);
  EXPECT_EQ(id.numel(), 1);
  return id.data<int32_t>()[0];
}

TEST(Sampling, TheStreamIsCounterBased) {
  ops::Rng a(7), b(7), c(8);
  for (uint64_t k = 0; k < 5; ++k) {
    const double u = a.next_double();
    EXPECT_EQ(u, cpu::sample_uniform(7, k));
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
    EXPECT_EQ(u, b.next_double());
    EXPECT_NE(u, c.next_double());
  }
  EXPECT_EQ(a.counter(), 5u);
}

TEST(Sampling, PaddingIdsAreNeverChosen) {
  // Ids 6 and 7 are padding past a 6-id tokenizer, with the largest logits.
  const Tensor logits = Tensor::from_f32({8}, {0.5f, 1.0f, 0.2f, -1.0f, 0.9f, 0.0f, 50.0f, 40.0f});
  ops::SamplingParams greedy;
  EXPECT_EQ(pick(logits, greedy, 0.3), 6) << "without the limit the padding wins";
  greedy.vocab_limit = 6;
  EXPECT_EQ(pick(logits, greedy, 0.3), 1);
  ops::SamplingParams hot{5.0f, 0, 1.0f, 1.0f, 6};
  std::set<int32_t> seen;
  for (int k = 0; k < 400; ++k) {
    const int32_t id = pick(logits, hot, cpu::sample_uniform(3, k));
    EXPECT_LT(id, 6);
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 6u) << "a hot temperature reaches every real id";
  ops::SamplingParams pen{0.0f, 0, 1.0f, 2.0f, 6};  // the penalty path masks too
  EXPECT_EQ(pick(logits, pen, 0.0, {1}), 4);
}

TEST(Sampling, EqualLogitsPickFloorOfUTimesTheKeptCount) {
  const int64_t V = 600;  // crosses two chunk boundaries (256, 512)
  const Tensor logits = Tensor::from_f32({V}, std::vector<float>(V, 0.25f));
  struct Case {
    ops::SamplingParams p;
    int64_t kept;
  };
  const std::vector<Case> cases = {
      {{1.0f, 0, 1.0f, 1.0f, 0}, V},      // plain temperature: all 600
      {{1.0f, 100, 1.0f, 1.0f, 0}, 100},  // top-k
      {{0.7f, 0, 0.5f, 1.0f, 0}, 300},    // top-p: the first 300 hold half the mass
      {{2.0f, 0, 1.0f, 1.0f, 500}, 500},  // the vocabulary limit
      {{1.0f, 400, 0.5f, 1.0f, 520}, 200},  // all three: 400 kept, half of them by mass
  };
  for (const auto& c : cases) {
    for (int64_t j : {int64_t{0}, int64_t{1}, int64_t{255}, int64_t{256}, c.kept / 2, c.kept - 1}) {
      if (j >= c.kept) continue;
      const double u = (static_cast<double>(j) + 0.5) / static_cast<double>(c.kept);
      EXPECT_EQ(pick(logits, c.p, u), j) << "kept " << c.kept << ", u " << u;
    }
  }
}

TEST(Sampling, SortOrderAndTies) {
  // Stable sort: equal logits keep index order; the draw walks the sorted order.
  const Tensor logits = Tensor::from_f32({5}, {1.0f, 3.0f, 3.0f, -0.0f, 0.0f});
  ops::SamplingParams k2{1.0f, 2, 1.0f, 1.0f, 0};
  EXPECT_EQ(pick(logits, k2, 0.25), 1);
  EXPECT_EQ(pick(logits, k2, 0.75), 2);
  ops::SamplingParams greedy;
  EXPECT_EQ(pick(logits, greedy, 0.0), 1) << "lowest index wins a tie";
  // bf16 logits are widened exactly and give the same choice.
  const Tensor wide = Tensor::from_f32({4}, {0.5f, 2.0f, 1.0f, 2.0f});
  ops::SamplingParams t{0.5f, 0, 1.0f, 1.0f, 0};
  for (int k = 0; k < 20; ++k) {
    const double u = cpu::sample_uniform(11, k);
    EXPECT_EQ(pick(ops::cast(wide, DType::bf16), t, u), pick(wide, t, u));
  }
}

// sample_checked: the id of sample_on_device plus a flag for NaN/+Inf among the candidates
// (ids < vocab_limit), from the same pass. -Inf is masking, never flagged; a NaN in the padding
// past the limit is never sampled and not flagged.
TEST(Sampling, CheckedFlagsNanAndPlusInfAmongTheCandidates) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::nanf("");
  const std::vector<ops::SamplingParams> settings = {
      {0.0f, 0, 1.0f, 1.0f, 5}, {0.0f, 0, 1.0f, 1.2f, 5}, {0.8f, 3, 0.9f, 1.0f, 5}};
  for (const auto& p : settings) {
    for (DType dt : {DType::f32, DType::bf16}) {
      auto run = [&](std::vector<float> v) {
        const Tensor l = Tensor::from_f32({static_cast<int64_t>(v.size())}, v);
        const Tensor t =
            ops::sample_checked(dt == DType::f32 ? l : ops::cast(l, DType::bf16), p, 0.3, {1});
        EXPECT_EQ(t.numel(), 2);
        EXPECT_EQ(
            t.data<int32_t>()[0],
            ops::sample_on_device(dt == DType::f32 ? l : ops::cast(l, DType::bf16), p, 0.3, {1})
                .data<int32_t>()[0]);
        return t.data<int32_t>()[1];
      };
      EXPECT_EQ(run({1, 2, 3, -inf, 0, 7}), 0) << "finite (and -inf masking) is fine";
      EXPECT_EQ(run({1, nan, 3, 0, 0, 7}), 1) << "NaN candidate";
      EXPECT_EQ(run({1, 2, 3, 0, inf, 7}), 1) << "+Inf candidate";
      EXPECT_EQ(run({1, 2, 3, 0, 0, nan}), 0) << "padding past the limit is not a candidate";
    }
  }
}

TEST(Sampling, BadParametersAndShapesAreRefused) {
  const Tensor logits = Tensor::from_f32({3}, {1, 2, 3});
  EXPECT_THROW(ops::sample_on_device(logits, {1.0f, 0, 0.0f, 1.0f, 0}, 0.5), Error);
  EXPECT_THROW(ops::sample_on_device(logits, {1.0f, -1, 1.0f, 1.0f, 0}, 0.5), Error);
  EXPECT_THROW(ops::sample_on_device(logits, {}, 1.0), Error) << "u must be in [0, 1)";
  EXPECT_THROW(ops::sample_on_device(Tensor::from_f32({2, 3}, {1, 2, 3, 4, 5, 6}), {}, 0.5), Error);
  EXPECT_EQ(ops::sample_on_device(logits.view({1, 3}), {}, 0.5).data<int32_t>()[0], 2) << "[1, V] is one row";
}

}  // namespace
}  // namespace mvl
