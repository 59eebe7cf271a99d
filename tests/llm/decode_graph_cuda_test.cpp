// TextModel's CUDA-graph decode (llm/model/decode_graph.cpp) against op-by-op decoding of the
// same model: the graph replays the very kernels the eager step launches, so the logits must
// be bit-identical at every step, across a KV-cache growth (which forces a re-capture), after
// a rewind (restore() moves the device position back), and for both precisions: bf16 on the
// head-dim-128 golden (tuned kernels; flash attention reads the length from device memory)
// and f32 on the bundled tiny model (generic kernels, head dim 16). The f32 run is also
// checked against the CPU reference's greedy tokens.
// Labelled gpu (the _cuda_test suffix): skips without a GPU, fails under MVL_REQUIRE_GPU=1.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

#include "kernels/ops/device.h"
#include "kernels/ops/sampling.h"
#include "kernels/ops/tensor_ops.h"
#include "llm/model/text_model.h"
#include "tests/llm/text_test_util.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

using namespace test;

struct Loaded {
  Checkpoint ckpt;
  llm::TextConfig cfg;
};

Loaded golden_bf16() {
  const std::string dir = golden_dir("bf16_hd128", "released");
  return {Checkpoint::open(dir + "/model.safetensors"),
          llm::TextConfig::from_json(json::parse_file(dir + "/config.json"), dir + "/config.json")};
}

Loaded tiny() {
  const std::string dir = source_path("assets/models/tiny-random");
  return {Checkpoint::open(dir),
          llm::TextConfig::from_json(json::parse_file(dir + "/config.json").at("text_config"), "tiny text_config")};
}

std::vector<int32_t> prompt(int64_t n, int64_t vocab) {
  std::vector<int32_t> ids;
  for (int64_t i = 0; i < n; ++i) ids.push_back(static_cast<int32_t>((i * 7919 + 13) % (vocab - 16)));
  return ids;
}

std::vector<float> host(const Tensor& t) { return to_vec(ops::to_device(t, Device::cpu())); }

// Greedy decode of `steps` tokens after a prefill of `prompt_ids`; every step's logits.
std::vector<std::vector<float>> greedy(const llm::TextModel& m, llm::SequenceState& st,
                                       const std::vector<int32_t>& prompt_ids, int steps) {
  std::vector<std::vector<float>> out;
  Tensor logits = m.prefill({llm::Segment::tokens(prompt_ids)}, st);  // f32 [1, V]
  Tensor tok = ops::argmax_rows(logits);                               // i32 [1] on the device
  for (int s = 0; s < steps; ++s) {
    const Tensor l = m.decode(tok, st);  // f32 [V]
    out.push_back(host(l));
    tok = ops::argmax_rows(l.view({1, m.config().vocab_size}));
  }
  return out;
}

void expect_identical(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t s = 0; s < a.size(); ++s) {
    ASSERT_EQ(a[s].size(), b[s].size());
    EXPECT_EQ(std::memcmp(a[s].data(), b[s].data(), a[s].size() * sizeof(float)), 0)
        << "step " << s << ": graph replay and op-by-op logits differ";
  }
}

void run_case(const Loaded& L, ops::Precision prec, int64_t prompt_len, int steps, int64_t min_captures) {
  const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(0));
  const auto naming = llm::TextWeightNaming::detect(L.ckpt);
  llm::TextLoadOptions with, without;
  with.precision = without.precision = prec;
  without.cuda_graphs = false;
  const llm::TextModel g = llm::TextModel::load(L.ckpt, L.cfg, naming, dev, with);
  const llm::TextModel e = llm::TextModel::load(L.ckpt, L.cfg, naming, dev, without);
  const std::vector<int32_t> ids = prompt(prompt_len, L.cfg.vocab_size);

  llm::SequenceState sg = g.new_state(), se = e.new_state();
  const auto lg = greedy(g, sg, ids, steps);
  const auto le = greedy(e, se, ids, steps);
  const llm::DecodeGraphStats st = g.decode_graph_stats(sg);
  std::printf("%s, prompt %lld, %d steps: %lld eager, %lld captures, %lld replays%s%s\n",
              prec == ops::Precision::bf16 ? "bf16" : "f32", static_cast<long long>(prompt_len), steps,
              static_cast<long long>(st.eager_steps), static_cast<long long>(st.captures),
              static_cast<long long>(st.replays), st.disabled.empty() ? "" : "; disabled: ", st.disabled.c_str());
  EXPECT_TRUE(st.disabled.empty()) << st.disabled;
  EXPECT_GE(st.captures, min_captures);
  EXPECT_EQ(st.eager_steps + st.replays, steps);
  EXPECT_EQ(st.eager_steps, 1);  // the warm-up step
  EXPECT_EQ(sg.position(), prompt_len + steps);
  expect_identical(lg, le);

  // Rewind to the end of the prompt and decode again: the graph must now read the restored
  // position (and write the KV rows there), giving the first run's logits again.
  llm::SequenceState s2 = g.new_state();
  Tensor logits = g.prefill({llm::Segment::tokens(ids)}, s2);
  const llm::SequenceState::Snapshot snap = s2.snapshot();
  Tensor tok = ops::argmax_rows(logits);
  for (int s = 0; s < 3; ++s) tok = ops::argmax_rows(g.decode(tok, s2).view({1, L.cfg.vocab_size}));
  s2.restore(snap);
  tok = ops::argmax_rows(logits);
  std::vector<std::vector<float>> again;
  for (int s = 0; s < steps; ++s) {
    const Tensor l = g.decode(tok, s2);
    again.push_back(host(l));
    tok = ops::argmax_rows(l.view({1, L.cfg.vocab_size}));
  }
  expect_identical(again, lg);
}

TEST(DecodeGraphCuda, Bf16GoldenReplayEqualsEager) {
  MVL_REQUIRE_GPU_OR_SKIP();
  run_case(golden_bf16(), ops::Precision::bf16, 40, 12, 1);
}

TEST(DecodeGraphCuda, Bf16ReplayAcrossKvGrowth) {
  MVL_REQUIRE_GPU_OR_SKIP();
  // The first cache holds 64 rows: a 60-token prompt and 12 steps grow it once, re-capturing.
  run_case(golden_bf16(), ops::Precision::bf16, 60, 12, 2);
}

TEST(DecodeGraphCuda, F32TinyReplayEqualsEagerAndCpu) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const Loaded L = tiny();
  run_case(L, ops::Precision::f32, 60, 12, 2);
  // And the graph-decoded greedy tokens are the CPU reference's.
  const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(0));
  const auto naming = llm::TextWeightNaming::detect(L.ckpt);
  const llm::TextModel cpu = llm::TextModel::load(L.ckpt, L.cfg, naming);
  const llm::TextModel gpu = llm::TextModel::load(L.ckpt, L.cfg, naming, dev, {ops::Precision::f32});
  const std::vector<int32_t> ids = prompt(30, L.cfg.vocab_size);
  llm::SequenceState sc = cpu.new_state(), sg = gpu.new_state();
  Tensor lc = cpu.prefill({llm::Segment::tokens(ids)}, sc).view({L.cfg.vocab_size});
  Tensor lg = gpu.prefill({llm::Segment::tokens(ids)}, sg).view({L.cfg.vocab_size});
  for (int s = 0; s < 16; ++s) {
    const std::vector<float> hc = to_vec(lc), hg = host(lg);
    const int32_t tc = static_cast<int32_t>(std::max_element(hc.begin(), hc.end()) - hc.begin());
    const int32_t tg = static_cast<int32_t>(std::max_element(hg.begin(), hg.end()) - hg.begin());
    ASSERT_EQ(tc, tg) << "greedy token " << s;
    lc = cpu.decode(tc, sc);
    lg = gpu.decode(tg, sg);  // host token: uploaded into the graph's input buffer
  }
  EXPECT_GE(gpu.decode_graph_stats(sg).replays, 10);
}

}  // namespace
}  // namespace mvl
