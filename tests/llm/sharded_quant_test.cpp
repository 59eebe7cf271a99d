// --quant at load on the sharded path (CPU ranks as threads, LocalComm): for each
// experts-only scheme, each golden tiny model (both layouts) and every tp in {2, 4} that
// splits it, ShardedTextModel::load with the scheme against the single-device TextModel
// loaded with the same scheme (--tp 1 --quant X): prefill logits of every position, 16 greedy
// decode steps and chunked prefill within 1e-5 of max |logit| (the bound of
// sharded_text_model_test: under EP each expert is whole, so its codes and scales are those of
// --tp 1; only the all-reduce order differs). tp 1 through the sharded loader gives bit-identical
// prefill and decode logits.
// The held experts are checked to be quantized in the scheme's format; int8 (attention
// projections too) is refused with Error{unsupported}.
#include <cstdio>
#include <string>

#include "kernels/core/error.h"
#include "kernels/core/quant_format.h"
#include "kernels/ops/sampling.h"
#include "kernels/ops/tensor_ops.h"
#include "llm/parallel/sharded_text_model.h"
#include "llm/parallel/sharded_weights.h"
#include "tests/llm/text_test_util.h"

namespace mvl::test {
namespace {

constexpr double kRelTol = 1e-5;

double rel_err(const Tensor& got, const Tensor& ref) {
  return max_abs_diff(got, ref) / max_abs(ref);
}

struct Case {
  std::string config, layout;
  llm::QuantScheme scheme;
  int tp;
};

std::string scheme_id(llm::QuantScheme s) {
  std::string n = llm::quant_scheme_name(s);
  for (char& ch : n)
    if (ch == '-') ch = '_';
  return n;
}

class ShardedQuant : public ::testing::TestWithParam<Case> {};

TEST_P(ShardedQuant, LogitsMatchOneDeviceWithTheSameScheme) {
  const Case c = GetParam();
  const TextCheckpoint g = open_text_checkpoint(golden_dir(c.config, c.layout));
  llm::TextLoadOptions to;
  to.quant = c.scheme;
  const llm::TextModel one = llm::TextModel::load(g.ckpt, g.cfg, g.naming, {}, to);
  llm::ShardedLoadOptions so;
  so.text.quant = c.scheme;
  const llm::ShardedTextModel sm = llm::ShardedTextModel::load(g.ckpt, g.cfg, g.naming, c.tp, so);
  ASSERT_EQ(sm.tp(), c.tp);
  const WeightFormat want = c.scheme == llm::QuantScheme::fp8_experts    ? WeightFormat::fp8_e4m3
                            : c.scheme == llm::QuantScheme::int4_experts ? WeightFormat::int4
                                                                         : WeightFormat::int8;
  for (int r = 0; r < c.tp; ++r)
    for (const auto& l : sm.weights(r).layers) {
      ASSERT_EQ(static_cast<int64_t>(l.experts.size()), sm.plan(r).experts());
      EXPECT_FALSE(l.gate.quant());
      for (const auto& e : l.experts)
        for (const Tensor* t : {&e.w1, &e.w3, &e.w2}) {
          ASSERT_NE(t->quant(), nullptr) << "rank " << r;
          EXPECT_EQ(t->quant()->format, want) << "rank " << r;
        }
    }

  std::vector<int32_t> ids;
  const int64_t n = 2 * g.cfg.block_size + 3;
  for (int64_t i = 0; i < n; ++i)
    ids.push_back(static_cast<int32_t>((i * 37 + 11) % g.cfg.vocab_size));
  double worst = 0;
  // exact: tp 1 runs one device's ops on the same codes (not so for chunked against unchunked).
  auto check = [&](const Tensor& got, const Tensor& ref, const std::string& what,
                   bool exact_at_tp1 = true) {
    const double e = rel_err(got, ref);
    worst = std::max(worst, e);
    if (c.tp == 1 && exact_at_tp1)
      EXPECT_EQ(max_abs_diff(got, ref), 0.0) << what;
    else
      EXPECT_LE(e, kRelTol) << what;
  };
  llm::PrefillOptions all;
  all.all_logits = true;
  llm::SequenceState st = one.new_state();
  llm::ShardedState sst = sm.new_state();
  const Tensor ref = one.prefill({llm::Segment::tokens(ids)}, st, all);
  check(sm.prefill({llm::Segment::tokens(ids)}, sst, all), ref, "prefill logits");
  Tensor last = ref.select(0, n - 1);
  for (int i = 0; i < 16; ++i) {
    const int32_t t = ops::argmax(last);
    last = one.decode(t, st);
    check(sm.decode(t, sst), last, "decode step " + std::to_string(i));
  }
  llm::PrefillOptions chunked = all;
  chunked.chunk_size = g.cfg.block_size - 1;
  llm::ShardedState fresh = sm.new_state();
  check(sm.prefill({llm::Segment::tokens(ids)}, fresh, chunked), ref, "chunked prefill", false);
  std::printf("%s/%s %s tp %d: worst relative error %.2e (bound %.0e)\n", c.config.c_str(),
              c.layout.c_str(), llm::quant_scheme_name(c.scheme), c.tp, worst, kRelTol);
}

std::vector<Case> cases() {
  std::vector<Case> out;
  for (const auto& name : golden_text_configs()) {
    const std::string path = golden_dir(name, "released") + "/config.json";
    const llm::TextConfig cfg = llm::TextConfig::from_json(json::parse_file(path), path);
    for (auto s : {llm::QuantScheme::int8_experts, llm::QuantScheme::fp8_experts,
                   llm::QuantScheme::int4_experts})
      for (int tp : {1, 2, 4})
        if (llm::tp_size_problem(cfg, tp).empty())
          for (const char* layout : {"released", "native"}) out.push_back({name, layout, s, tp});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Goldens, ShardedQuant, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& i) {
                           return i.param.config + "_" + i.param.layout + "_" +
                                  scheme_id(i.param.scheme) + "_tp" + std::to_string(i.param.tp);
                         });

TEST(ShardedQuantRefusal, Int8QuantizesAttentionAndIsNotShardedYet) {
  EXPECT_FALSE(llm::quant_scheme_sharded(llm::QuantScheme::int8));
  const TextCheckpoint g = open_text_checkpoint(golden_dir("l2s1_hd16_b8", "released"));
  llm::ShardedLoadOptions so;
  so.text.quant = llm::QuantScheme::int8;
  try {
    llm::ShardedTextModel::load(g.ckpt, g.cfg, g.naming, 2, so);
    ADD_FAILURE() << "--quant int8 with --tp 2 loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::unsupported) << e.what();
  }
}

}  // namespace
}  // namespace mvl::test
