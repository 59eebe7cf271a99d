// ShardedTextModel::random (what `bench --random-weights --tp N` builds): each rank makes the
// full random tensors it needs and keeps its slices, so N CPU ranks must hold exactly the
// model TextModel::random makes on one device from the same seed. Checked on the logits of a
// prefill and 8 greedy decode steps, for every tp the bundled tiny model splits into, within
// the sharded suite's 1e-5 of max |logit|; and a rank keeps only its slices, not the full
// tensors it sliced them from.
#include <algorithm>
#include <string>

#include "kernels/ops/sampling.h"
#include "kernels/ops/tensor_ops.h"
#include "llm/parallel/sharded_text_model.h"
#include "tests/llm/text_test_util.h"

namespace mvl::test {
namespace {

llm::TextConfig tiny_text_config() {
  const std::string path = source_path("assets/models/tiny-random/config.json");
  return llm::TextConfig::from_json(json::parse_file(path).at("text_config"), "tiny text_config");
}

TEST(ShardedRandom, RanksHoldTheOneDeviceRandomModel) {
  const llm::TextConfig cfg = tiny_text_config();
  const uint64_t seed = 7;
  const llm::TextModel one = llm::TextModel::random(cfg, {}, {}, seed);
  const std::vector<int32_t> prompt = {3000, 17, 250, 999, 1024, 5, 77, 2047, 311, 12};
  for (const int N : {1, 2, 4}) {
    SCOPED_TRACE(N);
    const llm::ShardedTextModel sm = llm::ShardedTextModel::random(cfg, N, seed);
    llm::SequenceState a = one.new_state();
    llm::ShardedState b = sm.new_state();
    Tensor la = one.prefill({llm::Segment::tokens(prompt)}, a);
    Tensor lb = sm.prefill({llm::Segment::tokens(prompt)}, b);
    for (int step = 0; step < 8; ++step) {
      const Tensor ra = la.view({-1}), rb = lb.view({-1});
      ASSERT_EQ(ra.numel(), rb.numel());
      EXPECT_LE(max_abs_diff(rb, ra) / max_abs(ra), 1e-5) << "step " << step;
      const int32_t id = ops::argmax(ra);
      la = one.decode(id, a);
      lb = sm.decode(id, b);
    }
  }
}

TEST(ShardedRandom, RanksKeepOnlyTheirSlices) {
  const llm::TextConfig cfg = tiny_text_config();
  const int N = 4;
  std::vector<llm::ShardLoadStats> stats;
  const llm::ShardedTextModel sm = llm::ShardedTextModel::random(cfg, N, 1, {}, &stats);
  for (int r = 0; r < N; ++r) {
    const llm::TextWeights& w = sm.weights(r);
    for (const auto& l : w.layers)
      for (const auto& e : l.experts)
        for (const Tensor& t : {e.w1, e.w3, e.w2})
          EXPECT_LE(t.storage()->size(), t.nbytes() * 2 + 64)
              << "rank " << r << " pins a tensor larger than its slice: " << t.str();
    EXPECT_EQ(w.embed_tokens.storage()->size(), w.embed_tokens.nbytes()) << r;
    EXPECT_EQ(w.embed_tokens.dim(0), cfg.vocab_size / N) << r;
  }
}

}  // namespace
}  // namespace mvl::test
