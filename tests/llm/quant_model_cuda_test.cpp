// --quant on a GPU through TextModel (issue 17): the golden l3s1 model (hidden 64, expert width
// 32: the quantized GEMV and grouped MoE kernels take these shapes) loaded with each scheme on
// the CPU (the dequant reference) and on CUDA. bf16 activations: the prompt's logits within 3x
// the unquantized bf16 model's error against the CPU f32 one (+ 1e-3), and the graphed decode
// bit-identical to op-by-op decode (the quantized kernels replay inside a CUDA graph); f32
// activations: within 1e-4 of the CPU's.
// Labelled gpu (the _cuda_test suffix): skips without a GPU, fails under MVL_REQUIRE_GPU=1.
#include <gtest/gtest.h>

#include <cmath>
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

std::vector<float> host(const Tensor& t) {
  return to_vec(ops::to_device(t, Device::cpu()));
}

double rel(const std::vector<float>& a, const std::vector<float>& ref) {
  double se = 0, sr = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    se += (double(a[i]) - ref[i]) * (double(a[i]) - ref[i]);
    sr += double(ref[i]) * ref[i];
  }
  return std::isfinite(se) ? std::sqrt(se / sr) : INFINITY;
}

TEST(QuantModelCuda, MatchesTheCpuDequantModel) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const std::string dir = golden_dir("l3s1_hd32_b16", "released");
  const Checkpoint ckpt = Checkpoint::open(dir + "/model.safetensors");
  const llm::TextConfig cfg =
      llm::TextConfig::from_json(json::parse_file(dir + "/config.json"), dir + "/config.json");
  const auto naming = llm::TextWeightNaming::detect(ckpt);
  const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(0));
  std::vector<int32_t> ids;
  for (int i = 0; i < 21; ++i) ids.push_back(static_cast<int32_t>((i * 53 + 7) % cfg.vocab_size));
  // The bf16 rule's yardstick: the unquantized bf16 CUDA model against the CPU f32 one.
  double base = 0;
  {
    llm::TextLoadOptions o;
    const llm::TextModel cpu = llm::TextModel::load(ckpt, cfg, naming, {}, o);
    llm::SequenceState sc = cpu.new_state();
    const std::vector<float> want = host(cpu.prefill({llm::Segment::tokens(ids)}, sc));
    o.precision = ops::Precision::bf16;
    const llm::TextModel gb = llm::TextModel::load(ckpt, cfg, naming, dev, o);
    llm::SequenceState sb = gb.new_state();
    base = rel(host(gb.prefill({llm::Segment::tokens(ids)}, sb)), want);
    std::printf("bf16 (unquantized) prompt logits vs CPU f32: %.2e\n", base);
  }
  for (auto s : llm::all_quant_schemes()) {
    if (s == llm::QuantScheme::none) continue;
    SCOPED_TRACE(llm::quant_scheme_name(s));
    llm::TextLoadOptions o;
    o.quant = s;
    const llm::TextModel cpu = llm::TextModel::load(ckpt, cfg, naming, {}, o);
    llm::SequenceState sc = cpu.new_state();
    const std::vector<float> want = host(cpu.prefill({llm::Segment::tokens(ids)}, sc));

    o.precision = ops::Precision::f32;
    const llm::TextModel g32 = llm::TextModel::load(ckpt, cfg, naming, dev, o);
    llm::SequenceState s32 = g32.new_state();
    const double e32 = rel(host(g32.prefill({llm::Segment::tokens(ids)}, s32)), want);
    EXPECT_LE(e32, 1e-4);

    o.precision = ops::Precision::bf16;
    const llm::TextModel gb = llm::TextModel::load(ckpt, cfg, naming, dev, o);
    o.cuda_graphs = false;
    const llm::TextModel ge = llm::TextModel::load(ckpt, cfg, naming, dev, o);
    llm::SequenceState sb = gb.new_state(), se = ge.new_state();
    const Tensor lb = gb.prefill({llm::Segment::tokens(ids)}, sb);
    const double eb = rel(host(lb), want);
    EXPECT_LE(eb, 3 * base + 1e-3);
    std::printf("%-13s prompt logits vs CPU: f32 %.2e, bf16 %.2e\n", llm::quant_scheme_name(s), e32,
                eb);
    Tensor tb = ops::argmax_rows(lb),
           te = ops::argmax_rows(ge.prefill({llm::Segment::tokens(ids)}, se));
    for (int step = 0; step < 6; ++step) {
      const Tensor a = gb.decode(tb, sb), b = ge.decode(te, se);
      const std::vector<float> ha = host(a), hb = host(b);
      ASSERT_EQ(ha.size(), hb.size());
      EXPECT_EQ(std::memcmp(ha.data(), hb.data(), ha.size() * sizeof(float)), 0)
          << "step " << step << ": graphed and op-by-op decode differ";
      tb = ops::argmax_rows(a.view({1, cfg.vocab_size}));
      te = ops::argmax_rows(b.view({1, cfg.vocab_size}));
    }
  }
}

}  // namespace
}  // namespace mvl
