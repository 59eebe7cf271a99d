// Long-context plumbing on the GPU (issue 21 item 2), random bf16 model at a golden tiny
// config: chunked prefill against one pass (logits and state, bf16 tolerance: the split only
// changes where the bf16 activations round), the KV caches sized once for a prompt, and the
// decode graph after the context's scratch arena moved (a big prefill on another sequence
// grows it between two replays): the step is re-captured and its logits stay those of the
// op-by-op model.
// Labelled gpu (the _cuda_test suffix): skips without a GPU, fails under MVL_REQUIRE_GPU=1.
#include <gtest/gtest.h>

#include <cstdio>

#include "kernels/ops/device.h"
#include "kernels/ops/sampling.h"
#include "tests/llm/long_context_util.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

using namespace test;

// bf16 activations: a relative error of a few bf16 ulps (2^-8) of the largest value.
constexpr double kBf16Rel = 3e-2;

TEST(LongContextCuda, ChunkedPrefillEqualsOnePassBf16) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const llm::TextConfig cfg = long_context_config();
  const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(0));
  const llm::TextModel m = llm::TextModel::random(cfg, dev, {}, 5);
  ASSERT_EQ(m.activation_dtype(), DType::bf16);
  const int64_t n = 1000;
  const auto ids = long_context_ids(n, cfg.vocab_size, 1);
  llm::PrefillOptions o;
  o.all_logits = true;
  o.chunk_size = 0;
  llm::SequenceState whole = m.new_state();
  const Tensor want = host_f32(m.prefill({llm::Segment::tokens(ids)}, whole, o));
  for (int64_t chunk : {int64_t{64}, int64_t{100}, int64_t{256}}) {
    const std::string what = "chunk " + std::to_string(chunk);
    o.chunk_size = chunk;
    llm::SequenceState st = m.new_state();
    const Tensor got = host_f32(m.prefill({llm::Segment::tokens(ids)}, st, o));
    EXPECT_LE(max_abs_diff(got, want), kBf16Rel * max_abs(want)) << what;
    expect_states_close(st, whole, cfg, kBf16Rel, what);
    EXPECT_EQ(st.kv_stats().allocations, 1) << what;
    EXPECT_EQ(st.kv_stats().copies, 0) << what;
  }
}

TEST(LongContextCuda, DecodeGraphRecapturesAfterTheScratchArenaMoves) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const llm::TextConfig cfg = long_context_config();
  const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(0));
  const llm::TextModel g = llm::TextModel::random(cfg, dev, {}, 9);
  const llm::TextModel e = g.with_cuda_graphs(false);
  const auto ids = long_context_ids(40, cfg.vocab_size, 2);
  llm::SequenceState sg = g.new_state(), se = e.new_state();
  g.prefill({llm::Segment::tokens(ids)}, sg);
  Tensor tok = ops::argmax_rows(e.prefill({llm::Segment::tokens(ids)}, se));
  auto step = [&] {
    const Tensor b = e.decode(tok, se);
    const Tensor a = host_f32(g.decode(tok, sg));
    EXPECT_EQ(max_abs_diff(a, host_f32(b)), 0.0) << "graph replay vs op by op at position " << sg.position();
    tok = ops::argmax_rows(b.view({1, cfg.vocab_size}));
  };
  for (int i = 0; i < 3; ++i) step();  // warm-up, capture, replays
  const llm::DecodeGraphStats first = g.decode_graph_stats(sg);
  const int64_t before = first.captures;
  // Another sequence's long single-pass prefill through the same context: its ops need far
  // more scratch than a decode step, so the arena is reallocated (the old one freed).
  llm::SequenceState other = g.new_state();
  llm::PrefillOptions big;
  big.chunk_size = 0;
  g.prefill({llm::Segment::tokens(long_context_ids(8192, cfg.vocab_size, 3))}, other, big);
  for (int i = 0; i < 3; ++i) step();
  const llm::DecodeGraphStats st = g.decode_graph_stats(sg);
  std::printf("captures %lld -> %lld, scratch re-captures %lld, replays %lld\n", static_cast<long long>(before),
              static_cast<long long>(st.captures), static_cast<long long>(st.scratch_recaptures),
              static_cast<long long>(st.replays));
  EXPECT_TRUE(st.disabled.empty()) << st.disabled;
  // Whenever the arena moved, the graph was captured again before its next launch.
  EXPECT_EQ(st.captures - before, st.scratch_recaptures);
  // And every step after the move still ran as a graph (one eager warm-up step before the first
  // capture, none after it; the H100 run of session 7 counted 5 replays over the 6 steps).
  EXPECT_EQ(st.replays - first.replays, 3);
}

}  // namespace
}  // namespace mvl
