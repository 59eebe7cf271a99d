// Long-context plumbing on the CPU (issue 21 item 2), on a random model at a golden tiny
// config: chunked prefill (chunks on and off the lightning block, ids and embedding rows
// mixed) gives the one-pass logits AND the same state afterwards (lightning states, KV rows,
// the next decode step); the KV caches are sized once for a prompt (no copy while it runs),
// a reservation of prompt + answer means decoding never copies, growth past it doubles and
// is counted; a bad id in a late chunk leaves the state untouched; clone keeps the capacity.
#include <gtest/gtest.h>

#include "kernels/core/error.h"
#include "tests/llm/long_context_util.h"

namespace mvl {
namespace {

using namespace test;

class LongContext : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_ = long_context_config();
    model_ = std::make_unique<llm::TextModel>(llm::TextModel::random(cfg_, {}, {}, 5));
  }
  Tensor prefill(const std::vector<llm::Segment>& segs, llm::SequenceState& st, int64_t chunk) const {
    llm::PrefillOptions o;
    o.all_logits = true;
    o.chunk_size = chunk;
    return model_->prefill(segs, st, o);
  }
  llm::TextConfig cfg_;
  std::unique_ptr<llm::TextModel> model_;
};

TEST_F(LongContext, ChunkedPrefillEqualsOnePassLogitsAndState) {
  const int64_t n = 203;  // not a multiple of the block (8) or of any chunk below
  const auto ids = long_context_ids(n, cfg_.vocab_size, 1);
  llm::SequenceState whole = model_->new_state();
  const Tensor want = prefill({llm::Segment::tokens(ids)}, whole, 0);
  ASSERT_EQ(want.dim(0), n);
  for (int64_t chunk : {int64_t{1}, int64_t{7}, int64_t{8}, int64_t{64}, int64_t{100}, n, n + 5}) {
    const std::string what = "chunk " + std::to_string(chunk);
    llm::SequenceState st = model_->new_state();
    const Tensor got = prefill({llm::Segment::tokens(ids)}, st, chunk);
    EXPECT_LE(max_abs_diff(got, want), 1e-5 * max_abs(want)) << what;
    expect_states_close(st, whole, cfg_, 1e-5, what);
    llm::SequenceState w = whole.clone();
    const Tensor a = model_->decode(11, st), b = model_->decode(11, w);
    EXPECT_LE(max_abs_diff(a, b), 1e-5 * max_abs(b)) << what << ": the next decode step";
  }
}

TEST_F(LongContext, ChunksCrossSegmentBoundaries) {
  // ids | embedding rows | ids, chunked so that chunks straddle both boundaries: the rows of a
  // chunk are gathered from two segments.
  const int64_t n = 90;
  const auto ids = long_context_ids(n, cfg_.vocab_size, 2);
  llm::SequenceState plain = model_->new_state();
  const Tensor want = prefill({llm::Segment::tokens(ids)}, plain, 0);
  const std::vector<int32_t> mid(ids.begin() + 20, ids.begin() + 61);
  llm::SequenceState st = model_->new_state();
  const Tensor got = prefill({llm::Segment::tokens({ids.begin(), ids.begin() + 20}), llm::Segment::rows(model_->embed(mid)),
                              llm::Segment::tokens({}), llm::Segment::tokens({ids.begin() + 61, ids.end()})},
                             st, 16);
  EXPECT_LE(max_abs_diff(got, want), 1e-5 * max_abs(want));
  expect_states_close(st, plain, cfg_, 1e-5, "segments");
}

TEST_F(LongContext, PromptSizesTheCacheOnceWithoutCopies) {
  const int64_t n = 300;
  llm::SequenceState st = model_->new_state();
  prefill({llm::Segment::tokens(long_context_ids(n, cfg_.vocab_size, 3))}, st, 32);
  llm::KvStats k = st.kv_stats();
  EXPECT_EQ(k.allocations, 1) << "10 chunks must not grow the cache chunk by chunk";
  EXPECT_EQ(k.copies, 0);
  EXPECT_GE(k.capacity, n);
  // Decoding past the capacity: the fallback doubles, copying the rows (counted).
  const int64_t cap = k.capacity;
  for (int64_t i = st.position(); i <= cap; ++i) model_->decode(3, st);
  k = st.kv_stats();
  EXPECT_EQ(k.copies, 1);
  EXPECT_GE(k.capacity, 2 * cap);
  const uint64_t row = 2ull * cfg_.num_key_value_heads * cfg_.head_dim * sizeof(float);
  EXPECT_EQ(k.copied_bytes, static_cast<uint64_t>(cap) * row) << "one softmax layer, K and V, f32";
}

TEST_F(LongContext, ReservingPromptPlusAnswerNeverCopies) {
  const int64_t n = 130, answer = 40;
  llm::SequenceState st = model_->new_state();
  st.reserve_kv(n + answer);
  prefill({llm::Segment::tokens(long_context_ids(n, cfg_.vocab_size, 4))}, st, 16);
  for (int64_t i = 0; i < answer; ++i) model_->decode(static_cast<int32_t>(i % cfg_.vocab_size), st);
  const llm::KvStats k = st.kv_stats();
  EXPECT_EQ(k.allocations, 1);
  EXPECT_EQ(k.copies, 0);
  EXPECT_EQ(k.capacity, n + answer) << "reserve_kv sizes exactly";
  // A later, larger reservation on a filled cache copies once (counted), then holds.
  st.reserve_kv(st.position() + 100);
  EXPECT_EQ(st.kv_stats().copies, 1);
  EXPECT_EQ(st.kv_stats().capacity, n + answer + 100);
  // A clone keeps the capacity and the rows.
  llm::SequenceState c = st.clone();
  EXPECT_EQ(c.kv_stats().capacity, st.kv_stats().capacity);
  expect_states_close(c, st, cfg_, 0.0, "clone");
}

TEST_F(LongContext, BadIdInALateChunkLeavesTheStateUntouched) {
  llm::SequenceState st = model_->new_state();
  model_->prefill({llm::Segment::tokens(long_context_ids(10, cfg_.vocab_size, 5))}, st);
  llm::SequenceState before = st.clone();
  auto ids = long_context_ids(100, cfg_.vocab_size, 6);
  ids[95] = static_cast<int32_t>(cfg_.vocab_size);  // in the last of seven 16-token chunks
  try {
    prefill({llm::Segment::tokens(ids)}, st, 16);
    FAIL() << "an id outside the vocabulary must be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("position 95"), std::string::npos) << e.what();
  }
  expect_states_close(st, before, cfg_, 0.0, "after the refused prompt");
}

}  // namespace
}  // namespace mvl
