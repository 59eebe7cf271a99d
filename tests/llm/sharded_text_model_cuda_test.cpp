// The sharded text model on CUDA ranks with NcclComm (gpu label: skips without a GPU, fails
// under MVL_REQUIRE_GPU=1; skips without NCCL). One GPU: tp 1 through NCCL gives the same
// 32 greedy tokens as the TextModel on that GPU without a communicator, and logits within
// f32 rounding, for f32 and bf16 activations. Two or more GPUs: tp 2 (and 4 when there are
// four) gives the CPU's greedy tokens. The bundled tiny model (4 heads, 2 KV heads, 4 experts).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "kernels/comm/nccl_comm.h"
#include "kernels/core/json.h"
#include "kernels/ops/sampling.h"
#include "kernels/ops/tensor_ops.h"
#include "llm/parallel/sharded_text_model.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

const std::vector<int32_t> kPrompt = {3000, 17, 250,  999, 1024, 5,  77,  2047,
                                      311,  12, 1500, 8,   2900, 64, 400, 33};

std::vector<float> host_row(const Tensor& t) {
  const Tensor h = ops::to_device(t, Device::cpu());
  return std::vector<float>(h.data<float>(), h.data<float>() + h.numel());
}

struct GreedyRun {
  std::vector<int32_t> tokens;
  std::vector<std::vector<float>> logits;
};

template <typename Model, typename State>
GreedyRun greedy(const Model& m, State st) {
  GreedyRun r;
  Tensor last = m.prefill({llm::Segment::tokens(kPrompt)}, st);
  for (int i = 0; i < 32; ++i) {
    r.logits.push_back(host_row(last));
    const int32_t t = ops::argmax(ops::to_device(last, Device::cpu()).view({-1}));
    r.tokens.push_back(t);
    last = m.decode(t, st);
  }
  return r;
}

double worst_rel(const GreedyRun& a, const GreedyRun& b) {
  double w = 0;
  for (size_t s = 0; s < a.logits.size(); ++s) {
    double mx = 0, d = 0;
    for (size_t j = 0; j < a.logits[s].size(); ++j) {
      mx = std::max(mx, std::fabs(static_cast<double>(a.logits[s][j])));
      d = std::max(d, std::fabs(static_cast<double>(a.logits[s][j]) - b.logits[s][j]));
    }
    w = std::max(w, d / (1.0 + mx));
  }
  return w;
}

struct Tiny {
  Checkpoint ckpt;
  llm::TextConfig cfg;
  llm::TextWeightNaming naming;
};
Tiny tiny() {
  const std::string dir = test::source_path("assets/models/tiny-random");
  Tiny t{Checkpoint::open(dir),
         llm::TextConfig::from_json(json::parse_file(dir + "/config.json").at("text_config"),
                                    "tiny text_config"),
         {}};
  t.naming = llm::TextWeightNaming::detect(t.ckpt);
  return t;
}

TEST(ShardedTextModelCuda, OneRankThroughNcclGivesTheTokensOfNoCommunicator) {
  MVL_REQUIRE_GPU_OR_SKIP();
  if (!comm::nccl_built()) GTEST_SKIP() << "built without NCCL";
  const Tiny t = tiny();
  const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(0));
  std::printf("GPU: %s\n", ops::cuda_device_name(0).c_str());
  for (const ops::Precision p : {ops::Precision::f32, ops::Precision::bf16}) {
    SCOPED_TRACE(ops::precision_name(p));
    llm::TextLoadOptions to;
    to.precision = p;
    const llm::TextModel plain = llm::TextModel::load(t.ckpt, t.cfg, t.naming, dev, to);
    llm::ShardedLoadOptions so;
    so.devices = {dev};
    so.text = to;
    const llm::ShardedTextModel sm = llm::ShardedTextModel::load(t.ckpt, t.cfg, t.naming, 1, so);
    EXPECT_TRUE(sm.weights(0).embed_tokens.device().is_cuda());
    const GreedyRun a = greedy(plain, plain.new_state());
    const GreedyRun b = greedy(sm, sm.new_state());
    EXPECT_EQ(a.tokens, b.tokens);
    const double w = worst_rel(a, b);
    // f32: summation order only. bf16: the sharded path takes the generic MoE/norm ops, not
    // the fused bf16 kernels, so roundings differ by about a bf16 ulp of the logits.
    EXPECT_LE(w, p == ops::Precision::f32 ? 1e-4 : 3e-2);
    std::printf(
        "tp 1 over NCCL, %s: 32 greedy tokens equal: %s; worst max|dlogit|/(1+max|logit|) %.3g\n",
        ops::precision_name(p), a.tokens == b.tokens ? "yes" : "no", w);
  }
}

TEST(ShardedTextModelCuda, SeveralGpusGiveTheCpuTokens) {
  MVL_REQUIRE_GPU_OR_SKIP();
  if (!comm::nccl_built()) GTEST_SKIP() << "built without NCCL";
  const int G = ops::cuda_device_count();
  if (G < 2) GTEST_SKIP() << "one GPU";
  const Tiny t = tiny();
  const llm::TextModel cpu = llm::TextModel::load(t.ckpt, t.cfg, t.naming);
  const GreedyRun ref = greedy(cpu, cpu.new_state());
  for (int tp : {2, 4}) {
    if (tp > G) break;
    llm::ShardedLoadOptions so;
    for (int r = 0; r < tp; ++r) so.devices.push_back(ops::DeviceContext::open(Device::cuda(r)));
    so.text.precision = ops::Precision::f32;
    const llm::ShardedTextModel sm = llm::ShardedTextModel::load(t.ckpt, t.cfg, t.naming, tp, so);
    const GreedyRun b = greedy(sm, sm.new_state());
    EXPECT_EQ(ref.tokens, b.tokens) << "tp " << tp;
    EXPECT_LE(worst_rel(ref, b), 1e-3) << "tp " << tp;
    std::printf("tp %d over %d GPUs (f32): tokens equal the CPU's: %s; worst %.3g\n", tp, tp,
                ref.tokens == b.tokens ? "yes" : "no", worst_rel(ref, b));
  }
}

}  // namespace
}  // namespace mvl
