// TextModel::decode_batch on a GPU through batch_scenario() (mixed positions, join, pause,
// rewind, shuffled order). f32 precision: equal to the GPU's own per-sequence decode() within
// 1e-4 relative. bf16 (the default there), design.md's bf16 rule: the batched logits' rel L2
// error against the CPU f32 model is at most kC times that of the GPU's per-sequence bf16
// decode() (same weights, same inputs), with a floor for rows where that error is tiny.
// Labelled gpu (the _cuda_test suffix): skips without a GPU, fails under MVL_REQUIRE_GPU=1.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "kernels/ops/device.h"
#include "tests/llm/bf16_golden_util.h"
#include "tests/llm/decode_batch_util.h"

namespace mvl {
namespace {

using namespace test;

constexpr double kC = 2.0;

double rel_max(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0, m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    d = std::max(d, static_cast<double>(std::fabs(a[i] - b[i])));
    m = std::max(m, static_cast<double>(std::fabs(b[i])));
  }
  return d / std::max(m, 1e-30);
}

TEST(DecodeBatchCuda, F32EqualsSeparateDecodes) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(0));
  for (const std::string& name : golden_text_configs()) {
    SCOPED_TRACE(name);
    const std::string dir = golden_dir(name, "released");
    const Checkpoint ckpt = Checkpoint::open(dir + "/model.safetensors");
    const auto cfg =
        llm::TextConfig::from_json(json::parse_file(dir + "/config.json"), dir + "/config.json");
    const llm::TextModel gpu = llm::TextModel::load(ckpt, cfg, llm::TextWeightNaming::detect(ckpt),
                                                    dev, {.precision = ops::Precision::f32});
    const auto batched = run_batch_scenario(gpu, true), single = run_batch_scenario(gpu, false);
    ASSERT_EQ(batched.size(), single.size());
    for (size_t r = 0; r < single.size(); ++r)
      EXPECT_LE(rel_max(batched[r], single[r]), 1e-4) << "row " << r;
    // f32 on a GPU: the batched ops loop over the single-sequence kernels, so every mode gives
    // the per-sequence loop's bits.
    const auto loop = run_batch_scenario(gpu.with_batch_attention(llm::BatchAttention::per_sequence), true);
    const auto fill = run_batch_scenario(gpu.with_batch_attention(llm::BatchAttention::batched_fill), true);
    ASSERT_EQ(loop.size(), batched.size());
    for (size_t r = 0; r < loop.size(); ++r) {
      EXPECT_EQ(batched[r], loop[r]) << "row " << r;
      EXPECT_EQ(fill[r], loop[r]) << "row " << r;
    }
  }
}

// bf16 head dim 128 (the gather kernels run): every BatchAttention mode within the bf16 rule of
// the per-sequence decode() against the CPU f32 model, and the batched modes close to the
// per-sequence loop (the same GEMMs; only the lightning output's summation order and, for
// batched_fill, the softmax split merge differ; the op-level bit-for-bit checks are in
// tests/gpu/decode_batch_ops_test.cpp).
TEST(DecodeBatchCuda, Bf16BatchedAttentionModesAgree) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(0));
  const std::string dir = golden_dir(kBf16GoldenName, "released");
  const Checkpoint ckpt = Checkpoint::open(dir + "/model.safetensors");
  const auto cfg = llm::TextConfig::from_json(json::parse_file(dir + "/config.json"), dir + "/config.json");
  const auto naming = llm::TextWeightNaming::detect(ckpt);
  const llm::TextModel cpu = llm::TextModel::load(ckpt, cfg, naming);
  const llm::TextModel gpu = llm::TextModel::load(ckpt, cfg, naming, dev);
  const auto ref = run_batch_scenario(cpu, false);
  const auto single = run_batch_scenario(gpu, false);
  const double e_single = rel_l2_rows(single, ref);
  const auto loop = run_batch_scenario(gpu.with_batch_attention(llm::BatchAttention::per_sequence), true);
  for (const llm::BatchAttention mode :
       {llm::BatchAttention::per_sequence, llm::BatchAttention::batched, llm::BatchAttention::batched_fill}) {
    const auto got = run_batch_scenario(gpu.with_batch_attention(mode), true);
    ASSERT_EQ(got.size(), ref.size());
    const double e = rel_l2_rows(got, ref), e_loop = rel_l2_rows(got, loop);
    std::printf("%s %s: rel L2 vs CPU f32 %.4g (per-sequence decode %.4g), vs the per-sequence loop %.4g\n",
                kBf16GoldenName, llm::batch_attention_name(mode), e, e_single, e_loop);
    EXPECT_LE(e, kC * std::max(e_single, 2e-3)) << llm::batch_attention_name(mode);
    EXPECT_LE(e_loop, kC * std::max(e_single, 2e-3)) << llm::batch_attention_name(mode);
    if (mode == llm::BatchAttention::per_sequence) EXPECT_EQ(e_loop, 0.0);
  }
}

TEST(DecodeBatchCuda, Bf16WithinTheBf16RuleOfSeparateDecodes) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(0));
  for (const std::string& name : {std::string(kBf16GoldenName), std::string("l3s1_hd32_b16")}) {
    SCOPED_TRACE(name);
    const std::string dir = golden_dir(name, "released");
    const Checkpoint ckpt = Checkpoint::open(dir + "/model.safetensors");
    const auto cfg =
        llm::TextConfig::from_json(json::parse_file(dir + "/config.json"), dir + "/config.json");
    const auto naming = llm::TextWeightNaming::detect(ckpt);
    const llm::TextModel cpu = llm::TextModel::load(ckpt, cfg, naming);
    const llm::TextModel gpu = llm::TextModel::load(ckpt, cfg, naming, dev);
    ASSERT_EQ(gpu.precision(), ops::Precision::bf16);
    const auto ref = run_batch_scenario(cpu, false);
    const auto batched = run_batch_scenario(gpu, true), single = run_batch_scenario(gpu, false);
    ASSERT_EQ(batched.size(), ref.size());
    ASSERT_EQ(single.size(), ref.size());
    const double e_single = rel_l2_rows(single, ref), e_batch = rel_l2_rows(batched, ref);
    std::printf(
        "%s bf16 vs CPU f32: per-sequence decode rel L2 %.4g, decode_batch %.4g (bound %.4g)\n",
        name.c_str(), e_single, e_batch, kC * std::max(e_single, 2e-3));
    EXPECT_LE(e_batch, kC * std::max(e_single, 2e-3));
  }
}

// decode_batch as a CUDA graph (llm/model/decode_graph.cpp) against op by op on the same
// model: the graph replays the very kernels of the eager step, so every logit must be equal.
// Four sequences step together (one crosses its KV cache's 64-row capacity, which moves the
// cache: a new key), then three of them in another order (a new composition). bf16 head dim
// 128 (the gather kernels) must capture and replay; f32 (tiny hd16 config) may run op by op.
TEST(DecodeBatchCuda, GraphReplayEqualsOpByOp) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(0));
  for (const auto& [name, prec] : {std::pair{std::string(kBf16GoldenName), ops::Precision::bf16},
                                   std::pair{std::string("l3s1_hd32_b16"), ops::Precision::f32}}) {
    SCOPED_TRACE(name);
    const std::string dir = golden_dir(name, "released");
    const Checkpoint ckpt = Checkpoint::open(dir + "/model.safetensors");
    const auto cfg =
        llm::TextConfig::from_json(json::parse_file(dir + "/config.json"), dir + "/config.json");
    const llm::TextModel graphed =
        llm::TextModel::load(ckpt, cfg, llm::TextWeightNaming::detect(ckpt), dev,
                             {.precision = prec, .batch_attention = llm::BatchAttention::batched});
    const int64_t vocab = cfg.vocab_size;
    auto run = [&](const llm::TextModel& m, llm::DecodeGraphStats* first_stats) {
      std::vector<llm::SequenceState> st;
      const std::vector<int64_t> plen = {3, 9, 62, 30};
      for (size_t s = 0; s < plen.size(); ++s) {
        st.push_back(m.new_state());
        std::vector<int32_t> ids;
        for (int64_t i = 0; i < plen[s]; ++i) ids.push_back(static_cast<int32_t>((s * 577 + i * 13 + 1) % vocab));
        m.prefill({llm::Segment::tokens(ids)}, st.back());
      }
      std::vector<std::vector<float>> out;
      for (int t = 0; t < 10; ++t) {
        const std::vector<int> seqs = t < 6 ? std::vector<int>{0, 1, 2, 3} : std::vector<int>{2, 0, 3};
        std::vector<int32_t> toks;
        std::vector<llm::SequenceState*> states;
        for (int s : seqs) {
          toks.push_back(static_cast<int32_t>((s * 131 + t * 17 + 5) % vocab));
          states.push_back(&st[static_cast<size_t>(s)]);
        }
        const Tensor l = m.decode_batch(toks, states);
        for (size_t i = 0; i < toks.size(); ++i)
          out.push_back(to_vec(ops::to_device(l.select(0, static_cast<int64_t>(i)), Device::cpu())));
      }
      if (first_stats) {
        const llm::DecodeGraphStats a = m.batch_graph_stats(st[0]), b = m.batch_graph_stats(st[2]);
        first_stats->eager_steps = a.eager_steps + b.eager_steps;
        first_stats->captures = a.captures + b.captures;
        first_stats->replays = a.replays + b.replays;
        first_stats->disabled = a.disabled + b.disabled;
      }
      return out;
    };
    llm::DecodeGraphStats gs;
    const auto g = run(graphed, &gs);
    const auto e = run(graphed.with_cuda_graphs(false), nullptr);
    ASSERT_EQ(g.size(), e.size());
    for (size_t r = 0; r < g.size(); ++r) EXPECT_EQ(g[r], e[r]) << "row " << r;
    std::printf("%s: batched graph steps: %lld eager, %lld captures, %lld replays%s%s\n", name.c_str(),
                (long long)gs.eager_steps, (long long)gs.captures, (long long)gs.replays,
                gs.disabled.empty() ? "" : "; off: ", gs.disabled.c_str());
    EXPECT_EQ(gs.eager_steps + gs.replays, 10);
    if (prec == ops::Precision::bf16) {
      EXPECT_TRUE(gs.disabled.empty()) << gs.disabled;
      EXPECT_GE(gs.captures, 2);  // the first composition (again after the cache moved), the second
      EXPECT_GE(gs.replays, 4);
    }
  }
}

}  // namespace
}  // namespace mvl
