// --quant at load and stored quantized checkpoints on the sharded path (CPU ranks as threads,
// LocalComm). For every scheme (int8 = the official recipe, attention projections included,
// and the experts-only ones), each golden tiny model (both layouts) and every tp in {1, 2, 4}
// that splits it: ShardedTextModel::load with the scheme against the single-device TextModel
// loaded with the same scheme (--tp 1 --quant X): prefill logits of every position, 16 greedy
// decode steps and chunked prefill within 1e-5 of max |logit| (the bound of
// sharded_text_model_test). Why not bit-identical at tp > 1: every rank's codes and scales are
// exactly --tp 1's (whole experts under EP; int8's row-parallel o_proj / out_proj quantized over
// the full input row and then cut), so only the f32 summation order differs (all-reduce of
// the row-parallel partial sums and of the experts' partial sums). tp 1 through the sharded
// loader runs the same ops on the same codes: bit-identical prefill and decode logits.
// Each rank's weights are checked to be quantized exactly where the scheme says (experts, and
// for int8 the attention projections but never the router, embedding or LM head), and each
// int8 slice's dequantized values equal the same slice of --tp 1's dequantized tensor.
// A `minimax-vl quantize` checkpoint loaded with --tp 2 gives logits bit-identical to --quant
// at load with --tp 2 (the stored codes are the same bytes, cut the same way). Random weights
// quantized per rank (bench --random-weights --tp N --quant X) equal TextModel::random in that
// scheme: bit-identical at tp 1, within 1e-5 at tp 2.
#include <cstdio>
#include <string>

#include "kernels/core/error.h"
#include "kernels/core/quant_format.h"
#include "kernels/ops/quant.h"
#include "kernels/ops/sampling.h"
#include "kernels/ops/tensor_ops.h"
#include "llm/parallel/sharded_text_model.h"
#include "llm/parallel/sharded_weights.h"
#include "llm/weights/quant_checkpoint.h"
#include "tests/llm/text_test_util.h"
#include "tests/support/test_util.h"

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
  // Quantized exactly where the scheme says, on every rank, and each int8 projection's slice
  // dequantizes to the same slice of --tp 1's (the per-channel scales of the full row).
  const WeightFormat want = c.scheme == llm::QuantScheme::fp8_experts    ? WeightFormat::fp8_e4m3
                            : c.scheme == llm::QuantScheme::int4_experts ? WeightFormat::int4
                                                                         : WeightFormat::int8;
  const bool attn = c.scheme == llm::QuantScheme::int8;
  auto expect_format = [&](const Tensor& t, bool quantized, const std::string& what) {
    if (!quantized) {
      EXPECT_EQ(t.quant(), nullptr) << what;
      return;
    }
    ASSERT_NE(t.quant(), nullptr) << what;
    EXPECT_EQ(t.quant()->format, want) << what;
  };
  int compared = 0;
  for (int r = 0; r < c.tp; ++r) {
    const llm::ShardPlan& p = sm.plan(r);
    const llm::TextWeights& w = sm.weights(r);
    expect_format(w.embed_tokens, false, "embed_tokens");
    expect_format(w.lm_head, false, "lm_head");
    for (size_t l = 0; l < w.layers.size(); ++l) {
      const auto& y = w.layers[l];
      const auto& full = one.weights().layers[l];
      const std::string at = "rank " + std::to_string(r) + " layer " + std::to_string(l);
      ASSERT_EQ(static_cast<int64_t>(y.experts.size()), p.experts());
      expect_format(y.gate, false, at + " router");
      for (const auto& e : y.experts)
        for (const Tensor* t : {&e.w1, &e.w3, &e.w2}) expect_format(*t, true, at + " expert");
      const int64_t dh = g.cfg.head_dim;
      // (ours, --tp 1's, split axis, begin, end)
      std::vector<std::tuple<const Tensor*, const Tensor*, int, int64_t, int64_t, std::string>> mats;
      if (y.kind == llm::AttnKind::lightning) {
        mats = {{&y.lightning.qkv_proj, &full.lightning.qkv_proj, 0, p.head0 * 3 * dh,
                 p.head1 * 3 * dh, "qkv_proj"},
                {&y.lightning.output_gate, &full.lightning.output_gate, 0, p.head0 * dh,
                 p.head1 * dh, "output_gate"},
                {&y.lightning.out_proj, &full.lightning.out_proj, 1, p.head0 * dh, p.head1 * dh,
                 "out_proj"}};
      } else {
        mats = {{&y.softmax.q_proj, &full.softmax.q_proj, 0, p.head0 * dh, p.head1 * dh, "q_proj"},
                {&y.softmax.k_proj, &full.softmax.k_proj, 0, p.kv0 * dh, p.kv1 * dh, "k_proj"},
                {&y.softmax.v_proj, &full.softmax.v_proj, 0, p.kv0 * dh, p.kv1 * dh, "v_proj"},
                {&y.softmax.o_proj, &full.softmax.o_proj, 1, p.head0 * dh, p.head1 * dh, "o_proj"}};
      }
      for (const auto& [ours, ref, axis, b, e, name] : mats) {
        expect_format(*ours, attn, at + " " + name);
        if (!attn || !ours->quant() || !ref->quant()) continue;
        const Tensor want_vals = contiguous(ops::dequantize_weight(*ref).slice(axis, b, e));
        EXPECT_EQ(max_abs_diff(ops::dequantize_weight(*ours), want_vals), 0.0) << at << " " << name;
        ++compared;
      }
    }
  }
  if (attn) EXPECT_GT(compared, 0);

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
    for (auto s : {llm::QuantScheme::int8, llm::QuantScheme::int8_experts,
                   llm::QuantScheme::fp8_experts, llm::QuantScheme::int4_experts})
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

// A checkpoint written by `minimax-vl quantize`, loaded with --tp 2 as stored, against the bf16
// checkpoint with --quant at load and --tp 2: the same bytes cut the same way, so bit-identical
// logits (prefill of every position and 8 decode steps); asking for --quant on top of a stored
// scheme is refused as --tp 1 refuses it.
TEST(ShardedQuantStored, StoredCheckpointEqualsQuantAtLoad) {
  int cases_run = 0;
  for (const char* layout : {"released", "native"})
    for (auto s : {llm::QuantScheme::int8, llm::QuantScheme::int8_experts,
                   llm::QuantScheme::fp8_experts, llm::QuantScheme::int4_experts}) {
      const TextCheckpoint g = open_text_checkpoint(golden_dir("l2s1_hd16_b8", layout));
      if (!llm::tp_size_problem(g.cfg, 2).empty()) continue;
      const std::string dir = temp_dir("sharded_quant_stored");
      llm::quantize_checkpoint(g.ckpt, g.cfg, g.naming, s, dir);
      const Checkpoint qc = Checkpoint::open(dir);
      llm::ShardedLoadOptions at_load, stored;
      at_load.text.quant = s;
      stored.text.stored_quant = s;
      const llm::ShardedTextModel a = llm::ShardedTextModel::load(g.ckpt, g.cfg, g.naming, 2, at_load);
      const llm::ShardedTextModel b =
          llm::ShardedTextModel::load(qc, g.cfg, llm::TextWeightNaming::detect(qc), 2, stored);
      const std::string what = std::string(layout) + " " + llm::quant_scheme_name(s);
      for (int r = 0; r < 2; ++r)
        ASSERT_NE(b.weights(r).layers[0].experts[0].w1.quant(), nullptr) << what;
      std::vector<int32_t> ids;
      for (int64_t i = 0; i < 13; ++i)
        ids.push_back(static_cast<int32_t>((i * 29 + 5) % g.cfg.vocab_size));
      llm::PrefillOptions all;
      all.all_logits = true;
      llm::ShardedState sa = a.new_state(), sb = b.new_state();
      Tensor la = a.prefill({llm::Segment::tokens(ids)}, sa, all);
      EXPECT_EQ(max_abs_diff(b.prefill({llm::Segment::tokens(ids)}, sb, all), la), 0.0) << what;
      la = la.select(0, la.dim(0) - 1);
      for (int i = 0; i < 8; ++i) {
        const int32_t t = ops::argmax(la);
        la = a.decode(t, sa);
        EXPECT_EQ(max_abs_diff(b.decode(t, sb), la), 0.0) << what << " decode step " << i;
      }
      llm::ShardedLoadOptions both = stored;
      both.text.quant = s == llm::QuantScheme::int8 ? llm::QuantScheme::int4_experts
                                                    : llm::QuantScheme::int8;
      try {
        llm::ShardedTextModel::load(qc, g.cfg, llm::TextWeightNaming::detect(qc), 2, both);
        ADD_FAILURE() << what << ": --quant on a quantized checkpoint loaded";
      } catch (const Error& e) {
        EXPECT_EQ(e.category(), ErrorCategory::unsupported) << e.what();
      }
      ++cases_run;
    }
  EXPECT_EQ(cases_run, 8);
}

// Random weights (what `bench --random-weights --path model --tp N --quant X` makes): each rank
// quantizes its slices of the random tensors; against TextModel::random in the same scheme,
// bit-identical prefill logits at tp 1 and within 1e-5 at tp 2 (the all-reduce order).
TEST(ShardedQuantRandom, RandomWeightsQuantizeAsOneDevice) {
  const std::string path = golden_dir("l2s1_hd16_b8", "released") + "/config.json";
  const llm::TextConfig cfg = llm::TextConfig::from_json(json::parse_file(path), path);
  std::vector<int32_t> ids;
  for (int64_t i = 0; i < 11; ++i) ids.push_back(static_cast<int32_t>((i * 31 + 2) % cfg.vocab_size));
  llm::PrefillOptions all;
  all.all_logits = true;
  for (auto s : {llm::QuantScheme::int8, llm::QuantScheme::int4_experts}) {
    llm::TextLoadOptions to;
    to.quant = s;
    const llm::TextModel one = llm::TextModel::random(cfg, {}, to, 7);
    llm::SequenceState st = one.new_state();
    const Tensor ref = one.prefill({llm::Segment::tokens(ids)}, st, all);
    for (int tp : {1, 2}) {
      llm::ShardedLoadOptions so;
      so.text.quant = s;
      const llm::ShardedTextModel sm = llm::ShardedTextModel::random(cfg, tp, 7, so);
      ASSERT_NE(sm.weights(0).layers[0].experts[0].w1.quant(), nullptr);
      llm::ShardedState sst = sm.new_state();
      const Tensor got = sm.prefill({llm::Segment::tokens(ids)}, sst, all);
      if (tp == 1)
        EXPECT_EQ(max_abs_diff(got, ref), 0.0) << llm::quant_scheme_name(s);
      else
        EXPECT_LE(rel_err(got, ref), kRelTol) << llm::quant_scheme_name(s) << " tp " << tp;
    }
  }
}

}  // namespace
}  // namespace mvl::test
