// Golden parity of the text backbone with transformers' MiniMaxForCausalLM (patched to the
// released semantics, see tests/golden/text/manifest.json): for every tiny config, both
// checkpoint layouts (released legacy and native save_pretrained) and every prompt length
// (1, B-1, B, 3B+5): per-layer hidden states and fp32 logits within 1e-4 * max|ref|, and the
// 32-token greedy continuation identical. A failure names the first divergent layer.
#include <cstdio>
#include <map>

#include "kernels/ops/sampling.h"
#include "tests/llm/text_test_util.h"

namespace mvl::test {
namespace {

constexpr double kRelTol = 1e-4;

struct Case {
  std::string config, layout;
};

class TextGolden : public ::testing::TestWithParam<Case> {};

TEST_P(TextGolden, LogitsHiddenAndGreedyMatchReference) {
  const Case c = GetParam();
  LoadedTextModel m = load_text_model(golden_dir(c.config, c.layout));
  const Checkpoint golden = Checkpoint::open(golden_dir(c.config) + "/golden.safetensors");
  const int64_t B = m.cfg.block_size, L = m.cfg.num_hidden_layers;
  double worst_hidden = 0, worst_logits = 0;  // max |err| / max |ref| over all lengths
  for (int64_t n : {int64_t{1}, B - 1, B, 3 * B + 5}) {
    SCOPED_TRACE("prompt length " + std::to_string(n));
    const std::string sfx = "_" + std::to_string(n);
    const std::vector<int32_t> ids = to_ids(golden.get("ids" + sfx));
    ASSERT_EQ(static_cast<int64_t>(ids.size()), n);
    const Tensor ref_hidden = golden.get("hidden" + sfx);  // [L+1, n, H]
    const Tensor ref_logits = golden.get("logits" + sfx);  // [n, V]

    std::map<std::string, Tensor> seen;
    llm::PrefillOptions opts;
    opts.all_logits = true;
    opts.trace = [&](const std::string& name, const Tensor& t) { seen[name] = contiguous(t); };
    llm::SequenceState st = m.model.new_state();
    const Tensor logits = m.model.prefill({llm::Segment::tokens(ids)}, st, opts);

    double worst_hidden_here = 0;
    // Layer by layer; stop at the first divergent one so the message names it.
    for (int64_t l = -1; l < L; ++l) {
      const std::string name = l < 0 ? "embed" : "layer." + std::to_string(l) + ".hidden";
      ASSERT_TRUE(seen.count(name)) << "trace did not report " << name;
      const Tensor ref = ref_hidden.select(0, l + 1);
      const double err = max_abs_diff(seen[name], ref), bound = kRelTol * max_abs(ref);
      worst_hidden_here = std::max(worst_hidden_here, err / max_abs(ref));
      ASSERT_LE(err, bound) << "first divergent tensor: " << name << " (" << c.config << "/" << c.layout << ")";
    }
    const double err = max_abs_diff(logits, ref_logits), bound = kRelTol * max_abs(ref_logits);
    EXPECT_LE(err, bound) << "logits";
    worst_hidden = std::max(worst_hidden, worst_hidden_here);
    worst_logits = std::max(worst_logits, err / max_abs(ref_logits));

    // Greedy continuation through the cached decode path.
    const std::vector<int32_t> ref_greedy = to_ids(golden.get("greedy" + sfx));
    std::vector<int32_t> got;
    Tensor last = logits.select(0, n - 1);
    for (size_t i = 0; i < ref_greedy.size(); ++i) {
      const int32_t t = ops::argmax(last);
      got.push_back(t);
      if (i + 1 < ref_greedy.size()) last = m.model.decode(t, st);
    }
    EXPECT_EQ(got, ref_greedy) << "greedy continuation";
  }
  std::printf("%s/%s: worst relative error hidden %.2e, logits %.2e (bound %.0e)\n", c.config.c_str(),
              c.layout.c_str(), worst_hidden, worst_logits, kRelTol);
}

std::vector<Case> all_cases() {
  std::vector<Case> out;
  for (const auto& name : golden_text_configs())
    for (const char* layout : {"released", "native"}) out.push_back({name, layout});
  return out;
}

INSTANTIATE_TEST_SUITE_P(All, TextGolden, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<Case>& i) { return i.param.config + "_" + i.param.layout; });

}  // namespace
}  // namespace mvl::test
