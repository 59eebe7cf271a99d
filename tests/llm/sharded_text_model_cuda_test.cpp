// The sharded text model on CUDA ranks with NcclComm (gpu label: skips without a GPU, fails
// under MVL_REQUIRE_GPU=1; skips without NCCL). One GPU: tp 1 through NCCL gives the 32
// greedy tokens and the logits of the TextModel on that GPU without a communicator, for f32
// and bf16 activations, and per-layer traces of prefill and decode that name the first
// divergent tensor. Two or more GPUs: tp 2 (and 4 when there are four) gives the CPU's
// greedy tokens. The bundled tiny model (4 heads, 2 KV heads, 4 experts).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <thread>
#include <utility>

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

// 32 greedy steps; with `forced`, the given tokens drive the steps (teacher forcing), so
// logits compare step by step even where a rounding flips an argmax.
template <typename Model, typename State>
GreedyRun greedy(const Model& m, State st, const std::vector<int32_t>* forced = nullptr) {
  GreedyRun r;
  Tensor last = m.prefill({llm::Segment::tokens(kPrompt)}, st);
  for (int i = 0; i < 32; ++i) {
    r.logits.push_back(host_row(last));
    const int32_t t = forced ? (*forced)[static_cast<size_t>(i)]
                             : ops::argmax(ops::to_device(last, Device::cpu()).view({-1}));
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

// tp 1 runs one device's kernels (the fused gated norm, the tuned bf16 MoE) and NCCL over one
// rank is the identity, so the logits are one device's bit for bit, up to the device's own
// run-to-run jitter (measured: the plain model run twice; zero for deterministic kernels).
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
    const double jitter = worst_rel(a, greedy(plain, plain.new_state(), &a.tokens));
    const GreedyRun b = greedy(sm, sm.new_state());
    const GreedyRun forced = greedy(sm, sm.new_state(), &a.tokens);
    EXPECT_EQ(a.tokens, b.tokens);
    const double w = worst_rel(a, forced);
    EXPECT_LE(w, jitter);
    std::printf(
        "tp 1 over NCCL, %s: 32 greedy tokens equal: %s; worst max|dlogit|/(1+max|logit|) on the "
        "same tokens %.3g (plain model run twice: %.3g)\n",
        ops::precision_name(p), a.tokens == b.tokens ? "yes" : "no", w, jitter);
  }
}

// Per-layer traces (embed, layer.<l>.attn, layer.<l>.hidden, final_norm, logits) of the
// prefill and of 8 decode steps: sharded tp 1 through NCCL against the TextModel, bf16 and
// f32. Names the first tensor that differs beyond the plain model's own run-to-run jitter.
using Trace = std::vector<std::pair<std::string, std::vector<float>>>;

template <typename Model, typename State>
std::vector<Trace> traced(const Model& m, State st, const std::vector<int32_t>& tokens) {
  std::vector<Trace> steps(1);
  auto rec = [&](const std::string& name, const Tensor& x) {
    steps.back().emplace_back(name, host_row(x));
  };
  llm::PrefillOptions po;
  po.trace = rec;
  m.prefill({llm::Segment::tokens(kPrompt)}, st, po);
  for (int32_t tok : tokens) {
    steps.emplace_back();
    m.decode(tok, st, rec);
  }
  return steps;
}

double trace_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i)
    d = std::max(d, std::fabs(static_cast<double>(a[i]) - b[i]));
  return d;
}

TEST(ShardedTextModelCuda, OneRankTracesEqualOneDeviceLayerByLayer) {
  MVL_REQUIRE_GPU_OR_SKIP();
  if (!comm::nccl_built()) GTEST_SKIP() << "built without NCCL";
  const Tiny t = tiny();
  const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(0));
  const std::vector<int32_t> tokens = {42, 7, 3001, 256, 999, 12, 1800, 5};
  for (const ops::Precision p : {ops::Precision::bf16, ops::Precision::f32}) {
    SCOPED_TRACE(ops::precision_name(p));
    llm::TextLoadOptions to;
    to.precision = p;
    const llm::TextModel plain = llm::TextModel::load(t.ckpt, t.cfg, t.naming, dev, to);
    llm::ShardedLoadOptions so;
    so.devices = {dev};
    so.text = to;
    const llm::ShardedTextModel sm = llm::ShardedTextModel::load(t.ckpt, t.cfg, t.naming, 1, so);
    const std::vector<Trace> a = traced(plain, plain.new_state(), tokens);
    const std::vector<Trace> again = traced(plain, plain.new_state(), tokens);
    const std::vector<Trace> b = traced(sm, sm.new_state(), tokens);
    ASSERT_EQ(a.size(), b.size());
    std::string first;
    double worst = 0;
    for (size_t s = 0; s < a.size(); ++s) {
      ASSERT_EQ(a[s].size(), b[s].size()) << "step " << s << ": traced tensors differ in number";
      for (size_t i = 0; i < a[s].size(); ++i) {
        ASSERT_EQ(a[s][i].first, b[s][i].first) << "step " << s;
        const double d = trace_diff(a[s][i].second, b[s][i].second);
        const double jitter = trace_diff(a[s][i].second, again[s][i].second);
        worst = std::max(worst, d);
        const std::string where =
            (s == 0 ? std::string("prefill") : "decode step " + std::to_string(s - 1)) + ", " +
            a[s][i].first;
        if (d > jitter && first.empty())
          first = where + ": max|diff| " + std::to_string(d) +
                  " (plain run twice: " + std::to_string(jitter) + ")";
      }
    }
    EXPECT_TRUE(first.empty()) << "first divergent tensor: " << first;
    std::printf("tp 1 traces, %s: %zu steps, worst max|diff| %.3g; first divergent: %s\n",
                ops::precision_name(p), a.size(), worst, first.empty() ? "none" : first.c_str());
  }
}

// One rank per process, bootstrapped through an NCCL unique-id file (NcclComm::create_rank):
// threads stand in for the processes, each with its own ShardedTextModel holding one rank.
// tp 1 on GPU 0 gives the TextModel's tokens; with two GPUs, tp 2 gives the CPU's.
TEST(ShardedTextModelCuda, OneRankPerProcessThroughAnNcclIdFile) {
  MVL_REQUIRE_GPU_OR_SKIP();
  if (!comm::nccl_built()) GTEST_SKIP() << "built without NCCL";
  const Tiny t = tiny();
  const int G = std::min(ops::cuda_device_count(), 2);
  llm::TextLoadOptions to;
  to.precision = ops::Precision::f32;
  const llm::TextModel cpu = llm::TextModel::load(t.ckpt, t.cfg, t.naming);
  const GreedyRun ref = greedy(cpu, cpu.new_state());
  for (int tp = 1; tp <= G; ++tp) {
    const std::string id = test::temp_dir("nccl-id") + "/id";
    std::vector<GreedyRun> runs(static_cast<size_t>(tp));
    std::vector<std::string> errors(static_cast<size_t>(tp));
    std::vector<std::thread> procs;
    for (int r = 0; r < tp; ++r)
      procs.emplace_back([&, r] {
        try {
          const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(r));
          llm::ShardedLoadOptions so;
          so.devices = {dev};
          so.text = to;
          so.rank = r;
          so.join = [&, r, dev] { return comm::NcclComm::create_rank(id, r, tp, dev, 60.0); };
          const llm::ShardedTextModel sm =
              llm::ShardedTextModel::load(t.ckpt, t.cfg, t.naming, tp, so);
          runs[static_cast<size_t>(r)] = greedy(sm, sm.new_state());
        } catch (const std::exception& e) {
          errors[static_cast<size_t>(r)] = e.what();
        }
      });
    for (auto& p : procs) p.join();
    for (int r = 0; r < tp; ++r) {
      ASSERT_EQ(errors[static_cast<size_t>(r)], "") << "tp " << tp << " rank " << r;
      EXPECT_EQ(runs[static_cast<size_t>(r)].tokens, ref.tokens) << "tp " << tp << " rank " << r;
      EXPECT_LE(worst_rel(ref, runs[static_cast<size_t>(r)]), 1e-3) << "tp " << tp;
    }
    std::printf(
        "tp %d as %d one-rank models joined by an NCCL id file (f32): tokens equal the "
        "CPU's: %s; worst %.3g\n",
        tp, tp, runs[0].tokens == ref.tokens ? "yes" : "no", worst_rel(ref, runs[0]));
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
