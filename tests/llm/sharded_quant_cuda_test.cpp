// Quantized weights on the tensor-parallel path on CUDA (issue 17; gpu label: skips without a
// GPU, fails under MVL_REQUIRE_GPU=1; the model tests skip without NCCL).
//  - ops::moe_expert_range (the quantized MoE kernels on one rank's experts), int8 / fp8 / int4,
//    n = 1, 3, 64 (grouped decode kernels over the narrowed lists) and 65, 200 (prefill), ranges
//    of 8 experts as tp 1, 2 and 4 and an odd [3, 6): bit-identical to the one-device block
//    (ops::moe over packed experts) on the same experts with every expert outside the range
//    zeroed (the same kernels; a zero expert adds an exact 0 in the same ascending order), and
//    the ranges of each split summed in f32 within 1e-2 of the whole block (each partial is
//    rounded to bf16 once: <= 2^-8 relative each). The CPU or an f32 x gets the generic path.
//  - The golden l3s1 model (hidden 64, expert width 32: the kernels take these shapes) loaded
//    with each --quant scheme through ShardedTextModel on one GPU, tp 1 forced through the
//    expert-range path, once with RankMoe::kernels and once with RankMoe::generic (the
//    dequantize-per-call path), bf16 activations, against the CPU f32 TextModel with the same
//    scheme: prompt logits and 6 teacher-forced decode steps within the bf16 rule of
//    quant_model_cuda_test (3x the unquantized bf16 model's prompt error + 1e-3), except steps
//    whose reference routing is within the bf16 noise of a tie (routing_margin.h: there a bf16
//    run may take the runner-up expert; such steps are printed with their margin); and the
//    generic path with f32 activations, every step within 1e-3. The prompt keeps its routing
//    clear of ties (session 9's prompt had one at its first decode step, see stable_prompt).
//    With two GPUs the same at tp 2 (real ranges); with one, that case skips saying so.
//  - Random weights quantized per rank on the GPU (rank 1 of 2: device quantization, int8's
//    row-parallel codes cut on the device) dequantize exactly to the CPU's rank 1 of the same
//    bf16 tensors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kernels/comm/nccl_comm.h"
#include "kernels/ops/device.h"
#include "kernels/ops/moe.h"
#include "kernels/ops/moe_range.h"
#include "kernels/ops/quant.h"
#include "kernels/ops/sampling.h"
#include "kernels/ops/tensor_ops.h"
#include "llm/model/text_model.h"
#include "llm/parallel/sharded_text_model.h"
#include "llm/parallel/sharded_weights.h"
#include "llm/weights/random_weights.h"
#include "tests/llm/routing_margin.h"
#include "tests/llm/text_test_util.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

using namespace test;

std::vector<float> host(const Tensor& t) {
  const Tensor h = contiguous(ops::to_device(t, Device::cpu()));
  const Tensor f = h.dtype() == DType::f32 ? h : ops::cast(h, DType::f32);
  return std::vector<float>(f.data<float>(), f.data<float>() + f.numel());
}

// sqrt(sum (a - ref)^2 / sum ref^2); +inf for a NaN.
double rel(const std::vector<float>& a, const std::vector<float>& ref) {
  double se = 0, sr = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    se += (double(a[i]) - ref[i]) * (double(a[i]) - ref[i]);
    sr += double(ref[i]) * ref[i];
  }
  return std::isfinite(se) ? std::sqrt(se / (sr > 0 ? sr : 1e-300)) : INFINITY;
}

// Uniform values in [lo, hi) rounded to bf16 (CPU and GPU see the same inputs).
Tensor rand_bf16(const Shape& s, uint32_t seed, float lo, float hi) {
  std::vector<float> v(static_cast<size_t>(shape_numel(s)));
  uint32_t x = seed * 2654435761u + 12345u;
  for (auto& e : v) {
    x = x * 1664525u + 1013904223u;
    e = lo + (hi - lo) * static_cast<float>(x >> 8) / 16777216.0f;
  }
  return ops::cast(Tensor::from_f32(s, v), DType::bf16);
}

struct RangeCase {
  int format;
  int64_t n;
};
class MoeExpertRange : public ::testing::TestWithParam<RangeCase> {};

TEST_P(MoeExpertRange, EqualsTheWholeBlockOnZeroedExpertsAndSplitsSumToIt) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const WeightFormat f = std::vector<WeightFormat>{WeightFormat::int8, WeightFormat::fp8_e4m3,
                                                   WeightFormat::int4}[GetParam().format];
  const int64_t n = GetParam().n, E = 8, D = 256, F = 128;
  const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(0));
  std::vector<ops::ExpertWeights> host_experts, zero_experts;
  const Tensor zf = Tensor::from_f32({F, D}, std::vector<float>(F * D, 0.f));
  const Tensor zd = Tensor::from_f32({D, F}, std::vector<float>(D * F, 0.f));
  for (int64_t e = 0; e < E; ++e) {
    const auto s = static_cast<uint32_t>(10 + 3 * e);
    host_experts.push_back({ops::quantize_weight(rand_bf16({F, D}, s, -0.2f, 0.2f), f),
                            ops::quantize_weight(rand_bf16({F, D}, s + 1, -0.2f, 0.2f), f),
                            ops::quantize_weight(rand_bf16({D, F}, s + 2, -0.2f, 0.2f), f)});
  }
  const ops::ExpertWeights zero{ops::quantize_weight(zf, f), ops::quantize_weight(zf, f),
                                ops::quantize_weight(zd, f)};
  const Tensor x = ops::to_device(rand_bf16({n, D}, 1, -1.f, 1.f), dev);
  const Tensor gate = ops::to_device(rand_bf16({E, D}, 2, -0.3f, 0.3f), dev);
  std::vector<ops::ExpertWeights> views;
  const ops::PackedExperts all = ops::pack_experts(host_experts, dev, &views);
  const std::vector<float> whole = host(ops::moe(x, gate, 2, views, &all));
  struct Range {
    int64_t e0, held;
  };
  const std::vector<std::vector<Range>> splits = {
      {{0, 8}}, {{0, 4}, {4, 4}}, {{0, 2}, {2, 2}, {4, 2}, {6, 2}}, {{3, 3}}};
  for (const auto& split : splits) {
    std::vector<float> sum(whole.size(), 0.f);
    for (const Range& r : split) {
      SCOPED_TRACE(::testing::Message() << weight_format_name(f) << " n " << n << " experts ["
                                        << r.e0 << ", " << r.e0 + r.held << ")");
      const std::vector<ops::ExpertWeights> held(host_experts.begin() + r.e0,
                                                 host_experts.begin() + r.e0 + r.held);
      std::vector<ops::ExpertWeights> hv, zv;
      const ops::PackedExperts packed = ops::pack_experts(held, dev, &hv);
      const Tensor part = ops::moe_expert_range(x, gate, 2, packed, r.e0);
      ASSERT_TRUE(part.defined()) << "the quantized MoE kernels must take these shapes";
      ASSERT_EQ(part.dtype(), DType::bf16);
      std::vector<ops::ExpertWeights> masked;
      for (int64_t e = 0; e < E; ++e)
        masked.push_back(e >= r.e0 && e < r.e0 + r.held ? host_experts[e] : zero);
      const ops::PackedExperts mp = ops::pack_experts(masked, dev, &zv);
      const std::vector<float> got = host(part), want = host(ops::moe(x, gate, 2, zv, &mp));
      int64_t differ = 0;
      for (size_t i = 0; i < got.size(); ++i) differ += got[i] != want[i];
      EXPECT_EQ(differ, 0) << "of " << got.size() << " values";
      for (size_t i = 0; i < got.size(); ++i) sum[i] += got[i];
    }
    if (split.size() > 1 || split[0].held == E) {
      const double e = rel(sum, whole);
      EXPECT_LE(e, 1e-2) << split.size() << " ranges summed vs the whole block";
      std::printf("%s n %lld: %zu ranges summed vs the whole block: rel %.2e\n",
                  weight_format_name(f), static_cast<long long>(n), split.size(), e);
    }
  }
  // Anything the kernels do not take: undefined (the caller runs the generic path).
  EXPECT_FALSE(ops::moe_expert_range(ops::cast(x, DType::f32), gate, 2, all, 0).defined());
  EXPECT_FALSE(ops::moe_expert_range(x, gate, 1, all, 0).defined());
}

INSTANTIATE_TEST_SUITE_P(FormatsTokens, MoeExpertRange,
                         ::testing::ValuesIn([] {
                           std::vector<RangeCase> v;
                           for (int f = 0; f < 3; ++f)
                             for (int64_t n : {1, 3, 64, 65, 200}) v.push_back({f, n});
                           return v;
                         }()),
                         [](const ::testing::TestParamInfo<RangeCase>& i) {
                           return std::string(i.param.format == 0   ? "int8"
                                              : i.param.format == 1 ? "fp8"
                                                                    : "int4") +
                                  "_n" + std::to_string(i.param.n);
                         });

// Prompts for check_model, (i * m + o) % V over 21 positions. stable_prompt: its last row's and
// the 6 decode steps' reference routing stays >= 5.5e-3 from a tie in every layer for every
// scheme (routing_margin.h; over 2x the near-tie margin of check_model, 2.6e-3 at an H100's base
// of 1.03e-2), picked on the CPU among 200 m, o. Session 9's prompt, quant_model_cuda_test's
// (m 53, o 7), is 4.8e-4 from a tie at the first decode step's layer 2 (int8; 1.4e-3
// int8-experts, 7.4e-4 fp8-experts) and 1.1e-3..2.2e-3 at the prompt's last row. Run with it on
// an H100 (session 11), the generic path in bf16 was 0.214 / 0.208 off at that step for
// int8-experts / fp8-experts (the runner-up expert taken) while in f32 every step of every
// scheme was within 5.2e-7; the steps after the flip carry it in their state (fp8-experts' step
// 3: 3.3e-2 against a bound of 3.2e-2), so a prompt near a tie cannot test the bf16 bound.
std::vector<int32_t> prompt(int64_t vocab, int m, int o) {
  std::vector<int32_t> ids;
  for (int i = 0; i < 21; ++i) ids.push_back(static_cast<int32_t>((i * m + o) % vocab));
  return ids;
}
std::vector<int32_t> stable_prompt(int64_t vocab) {
  return prompt(vocab, 71, 1);
}

// The golden l3s1 model with each scheme through the sharded path on `tp` GPUs; make_ids(V)
// gives the prompt.
void check_model(int tp, std::vector<int32_t> (*make_ids)(int64_t)) {
  const std::string dir = golden_dir("l3s1_hd32_b16", "released");
  const Checkpoint ckpt = Checkpoint::open(dir + "/model.safetensors");
  const llm::TextConfig cfg =
      llm::TextConfig::from_json(json::parse_file(dir + "/config.json"), dir + "/config.json");
  const auto naming = llm::TextWeightNaming::detect(ckpt);
  std::vector<ops::DeviceContext> devs;
  for (int r = 0; r < tp; ++r) devs.push_back(ops::DeviceContext::open(Device::cuda(r)));
  std::printf("GPU: %s, tp %d\n", ops::cuda_device_name(0).c_str(), tp);
  const std::vector<int32_t> ids = make_ids(cfg.vocab_size);
  double base = 0;  // the bf16 rule's yardstick: unquantized bf16 on the GPU vs CPU f32
  {
    const llm::TextModel cpu = llm::TextModel::load(ckpt, cfg, naming);
    llm::SequenceState sc = cpu.new_state();
    const std::vector<float> want = host(cpu.prefill({llm::Segment::tokens(ids)}, sc));
    llm::TextLoadOptions o;
    o.precision = ops::Precision::bf16;
    const llm::TextModel gb = llm::TextModel::load(ckpt, cfg, naming, devs[0], o);
    llm::SequenceState sb = gb.new_state();
    base = rel(host(gb.prefill({llm::Segment::tokens(ids)}, sb)), want);
  }
  const double bound = 3 * base + 1e-3;
  // A step whose reference routing is nearer a tie than the bf16 noise reaches (routing_margin.h:
  // relative error ~base in a random direction moves a router input ~base / sqrt(H) along the
  // tie's normal; 2x that) measures the tie, not the precision: a bf16 run may take the
  // runner-up there, one expert of one layer, and be ~20% off (session 9: the generic path's
  // first decode step of int8-experts and fp8-experts, layer 2's experts 4 and 3). Those steps
  // and the steps after them are reported, not held to the bound; the f32 run holds every step.
  const double near_tie = 2 * base / std::sqrt(static_cast<double>(cfg.hidden_size));
  std::printf("bf16 bound %.2e; routing near-tie below a margin of %.2e\n", bound, near_tie);
  for (auto s : llm::all_quant_schemes()) {
    if (s == llm::QuantScheme::none) continue;
    llm::TextLoadOptions co;
    co.quant = s;
    const llm::TextModel cpu = llm::TextModel::load(ckpt, cfg, naming, {}, co);
    llm::SequenceState sc = cpu.new_state();
    RouterInputs ri(cpu, cfg);
    llm::PrefillOptions po;
    po.trace = ri.trace();
    Tensor last = cpu.prefill({llm::Segment::tokens(ids)}, sc, po);
    std::vector<std::vector<float>> want{host(last)};
    // margins[0]: the prompt's last row (the one compared); margins[1 + i]: decode step i.
    std::vector<RoutingMargin> margins{ri.margin(static_cast<int64_t>(ids.size()) - 1)};
    std::vector<int32_t> forced;
    for (int i = 0; i < 6; ++i) {
      forced.push_back(ops::argmax(last.view({-1})));
      ri.clear();
      last = cpu.decode(forced.back(), sc, ri.trace());
      want.push_back(host(last));
      margins.push_back(ri.margin());
    }
    RoutingMargin least;
    for (const RoutingMargin& m : margins)
      if (m.margin < least.margin) least = m;
    std::printf("%-13s reference routing: nearest tie %.2e away (layer %lld, experts %d and %d)\n",
                llm::quant_scheme_name(s), least.margin, static_cast<long long>(least.layer),
                least.chosen, least.runner_up);
    // A step is held only while no step so far (the prompt's last row included) was near a tie:
    // a flipped expert changes the state every later step reads.
    std::vector<bool> clear(margins.size());
    for (size_t i = 0; i < margins.size(); ++i)
      clear[i] = margins[i].margin >= near_tie && (i == 0 || clear[i - 1]);
    int held_decode = 0;
    for (size_t i = 1; i < margins.size(); ++i) held_decode += clear[i];
    for (size_t i = 0; i < margins.size(); ++i)
      if (margins[i].margin < near_tie)
        std::printf("%-13s %s: reference routing near-tie (layer %lld, experts %d and %d, margin "
                    "%.2e): it and the steps after it are not held to the bf16 bound\n",
                    llm::quant_scheme_name(s),
                    i == 0 ? "prompt" : ("decode step " + std::to_string(i - 1)).c_str(),
                    static_cast<long long>(margins[i].layer), margins[i].chosen,
                    margins[i].runner_up, margins[i].margin);
    EXPECT_GE(held_decode, 4) << llm::quant_scheme_name(s)
                              << ": too few decode steps without a routing near-tie to test "
                                 "the bound (choose another prompt)";
    struct Run {
      llm::RankMoe path;
      ops::Precision precision;
    };
    for (const Run run : {Run{llm::RankMoe::kernels, ops::Precision::bf16},
                          Run{llm::RankMoe::generic, ops::Precision::bf16},
                          Run{llm::RankMoe::generic, ops::Precision::f32}}) {
      const char* pname = run.path == llm::RankMoe::kernels ? "kernels" : "generic";
      const bool f32 = run.precision == ops::Precision::f32;
      SCOPED_TRACE(::testing::Message() << llm::quant_scheme_name(s) << " tp " << tp << " "
                                        << pname << " " << ops::precision_name(run.precision));
      llm::ShardedLoadOptions so;
      so.devices = devs;
      so.text.precision = run.precision;
      so.text.quant = s;
      so.rank_moe = run.path;
      so.expert_range_always = true;
      const llm::ShardedTextModel sm = llm::ShardedTextModel::load(ckpt, cfg, naming, tp, so);
      if (run.path == llm::RankMoe::kernels) {  // the kernels, not the fallback, run on every rank
        for (int r = 0; r < tp; ++r) {
          const llm::LayerWeights& l = sm.weights(r).layers[0];
          const Tensor probe = ops::to_device(rand_bf16({2, cfg.hidden_size}, 5, -1.f, 1.f),
                                              devs[static_cast<size_t>(r)]);
          EXPECT_TRUE(ops::moe_expert_range(probe, l.gate, cfg.num_experts_per_tok, l.packed,
                                            sm.plan(r).expert0)
                          .defined())
              << "rank " << r << " would fall back to the generic path";
        }
      }
      // f32 activations (the generic path; the kernels take bf16 only) follow the CPU's f32
      // op for op, so no near-tie is reached and every step is held, to sharded_text_model_
      // cuda_test's f32 rule.
      const double b = f32 ? 1e-3 : bound;
      auto held = [&](size_t i) { return f32 || clear[i]; };
      llm::ShardedState st = sm.new_state();
      const double ep = rel(host(sm.prefill({llm::Segment::tokens(ids)}, st)), want[0]);
      if (held(0)) {
        EXPECT_LE(ep, b) << "prompt logits";
      }
      double ed = 0;
      std::string steps;
      for (size_t i = 0; i < forced.size(); ++i) {
        const double e = rel(host(sm.decode(forced[i], st)), want[i + 1]);
        steps += fmt::format(" {:.2e}{}", e, held(i + 1) ? "" : "*");
        if (!held(i + 1)) continue;
        EXPECT_LE(e, b) << "decode step " << i;
        ed = std::max(ed, e);
      }
      std::printf("%-13s tp %d %-7s %-4s vs CPU f32 (same scheme): prompt %.2e, decode worst held "
                  "%.2e (bound %.2e); steps%s\n",
                  llm::quant_scheme_name(s), tp, pname, ops::precision_name(run.precision), ep, ed,
                  b, steps.c_str());
    }
  }
}

// Random weights quantized on the GPU per rank (bench --random-weights --tp N --quant X): rank 1
// of 2 made on the GPU (device quantization, int8's out_proj / o_proj codes cut on the device)
// dequantizes exactly to rank 1 made on the CPU from the same bf16 tensors copied to the host
// (GPU quantization is bit-exact to the CPU's: quant_cuda_test), every projection and expert.
TEST(ShardedQuantCuda, RandomRankSlicesQuantizedOnTheGpuEqualTheCpus) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const std::string path = golden_dir("l3s1_hd32_b16", "released") + "/config.json";
  const llm::TextConfig cfg = llm::TextConfig::from_json(json::parse_file(path), path);
  const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(0));
  const llm::ShardPlan p = llm::ShardPlan::make(cfg, 1, 2);
  auto values = [](const Tensor& t) {
    return host(t.device().is_cuda() ? ops::dequantize_to_bf16(t, DType::f32)
                                     : ops::dequantize_weight(t));
  };
  for (auto s : {llm::QuantScheme::int8, llm::QuantScheme::int4_experts}) {
    SCOPED_TRACE(llm::quant_scheme_name(s));
    const llm::TextWeights g =
        llm::shard_text_weights(llm::random_text_source(cfg, dev, 3), cfg,
                                llm::TextWeightNaming::native_vl(), p, dev, nullptr, s);
    // The CPU reference quantizes the same bf16 tensors, copied to the host.
    const auto gpu_source = llm::random_text_source(cfg, dev, 3);
    const llm::TextWeights c = llm::shard_text_weights(
        [&](const llm::TextTensor& t) { return ops::to_device(gpu_source(t), Device::cpu()); }, cfg,
        llm::TextWeightNaming::native_vl(), p, {}, nullptr, s);
    int compared = 0;
    for (size_t l = 0; l < c.layers.size(); ++l) {
      const auto &gl = g.layers[l], &cl = c.layers[l];
      std::vector<std::pair<const Tensor*, const Tensor*>> pairs;
      if (cl.kind == llm::AttnKind::lightning)
        pairs = {{&gl.lightning.qkv_proj, &cl.lightning.qkv_proj},
                 {&gl.lightning.output_gate, &cl.lightning.output_gate},
                 {&gl.lightning.out_proj, &cl.lightning.out_proj}};
      else
        pairs = {{&gl.softmax.q_proj, &cl.softmax.q_proj}, {&gl.softmax.k_proj, &cl.softmax.k_proj},
                 {&gl.softmax.v_proj, &cl.softmax.v_proj}, {&gl.softmax.o_proj, &cl.softmax.o_proj}};
      for (size_t e = 0; e < cl.experts.size(); ++e)
        pairs.insert(pairs.end(), {{&gl.experts[e].w1, &cl.experts[e].w1},
                                   {&gl.experts[e].w3, &cl.experts[e].w3},
                                   {&gl.experts[e].w2, &cl.experts[e].w2}});
      for (const auto& [gt, ct] : pairs) {
        ASSERT_EQ(gt->quant() != nullptr, ct->quant() != nullptr) << "layer " << l;
        if (!ct->quant()) continue;
        ASSERT_TRUE(gt->device().is_cuda());
        const std::vector<float> a = values(*gt), b = values(*ct);
        ASSERT_EQ(a.size(), b.size());
        int64_t differ = 0;
        for (size_t i = 0; i < a.size(); ++i) differ += a[i] != b[i];
        EXPECT_EQ(differ, 0) << "layer " << l << " " << shape_str(ct->shape());
        ++compared;
      }
    }
    EXPECT_GT(compared, 0);
  }
}

TEST(ShardedQuantCuda, OneGpuThroughTheExpertRangePathMatchesTheCpu) {
  MVL_REQUIRE_GPU_OR_SKIP();
  if (!comm::nccl_built()) GTEST_SKIP() << "built without NCCL";
  check_model(1, stable_prompt);
}

TEST(ShardedQuantCuda, TwoGpusMatchTheCpu) {
  MVL_REQUIRE_GPU_OR_SKIP();
  if (!comm::nccl_built()) GTEST_SKIP() << "built without NCCL";
  if (ops::cuda_device_count() < 2)
    GTEST_SKIP() << "one GPU here: tp 2 needs two (the expert ranges are covered by "
                    "MoeExpertRange on one)";
  check_model(2, stable_prompt);
}

}  // namespace
}  // namespace mvl
