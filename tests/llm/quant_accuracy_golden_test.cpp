// Accuracy of weight-only quantization against the reference's own (issue 17's target "per-layer
// hidden-state error within 2x that of transformers' own quanto int8 / torch FP8 on the same
// weights"). tests/golden/quant/accuracy.json (tools/golden/quant/make_quant_golden.py, see the
// manifest beside it) holds, for tiny text goldens and a stored prompt, the per-layer relative
// error ||h_q - h||_F / ||h||_F of transformers + optimum-quanto (qint8 on the official module
// list; qint8 and qfloat8 = e4m3 on the experts only) against the same model unquantized in f32.
// Here the same released checkpoint runs with --quant int8 / int8-experts / fp8-experts against
// our own unquantized f32 run on the same prompt, and for every layer and the logits
//   ours <= 2 * reference + kFloor.
// kFloor (1e-5, relative) only matters where the reference error is ~0 (the embeddings, which no
// scheme quantizes): two f32 runs of the same weights in a different summation order differ at
// ~1e-6 relative, far below any quantization error here (>= 1e-3). int4-experts has no
// reference; its logits error is printed for docs/benchmarks.md.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>

#include "kernels/core/json.h"
#include "llm/model/text_model.h"
#include "tests/llm/text_test_util.h"
#include "tests/support/test_util.h"

namespace mvl::test {
namespace {

constexpr double kRatio = 2.0;
constexpr double kFloor = 1e-5;

struct Outcome {
  std::vector<Tensor> hidden;  // [L+1] of [n, hidden]: embeddings, then each layer's output
  Tensor logits;               // [n, vocab]
};

Outcome run_model(const TextCheckpoint& g, llm::QuantScheme s, const std::vector<int32_t>& ids) {
  llm::TextLoadOptions o;
  o.quant = s;
  const llm::TextModel m = llm::TextModel::load(g.ckpt, g.cfg, g.naming, {}, o);
  std::map<std::string, Tensor> seen;
  llm::PrefillOptions p;
  p.all_logits = true;
  p.trace = [&](const std::string& name, const Tensor& t) { seen[name] = contiguous(t); };
  llm::SequenceState st = m.new_state();
  Outcome r;
  r.logits = m.prefill({llm::Segment::tokens(ids)}, st, p);
  for (int64_t l = -1; l < g.cfg.num_hidden_layers; ++l) {
    const std::string name = l < 0 ? "embed" : "layer." + std::to_string(l) + ".hidden";
    EXPECT_TRUE(seen.count(name)) << "trace did not report " << name;
    r.hidden.push_back(seen[name]);
  }
  return r;
}

// ||a - b||_F / ||b||_F
double rel_err(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  const std::vector<float> x = to_vec(a), y = to_vec(b);
  double d = 0, n = 0;
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
    d += (double(x[i]) - y[i]) * (double(x[i]) - y[i]);
    n += double(y[i]) * y[i];
  }
  return std::sqrt(d / n);
}

std::vector<double> numbers(const json::Json& arr, const std::string& what) {
  EXPECT_TRUE(arr.is_array()) << what;
  std::vector<double> v;
  for (const auto& x : arr) v.push_back(x.get<double>());
  return v;
}

const json::Json& golden() {
  static const json::Json j = json::parse_file(source_path("tests/golden/quant/accuracy.json"));
  return j;
}

class QuantAccuracy : public ::testing::TestWithParam<std::string> {};

TEST_P(QuantAccuracy, PerLayerErrorWithinTwiceTheReference) {
  const std::string name = GetParam();
  const json::Json& cfg = json::get_object(json::get_object(golden(), "configs", "accuracy.json"), name, "configs");
  std::vector<int32_t> ids;
  for (int64_t id : json::as_int_list(json::get_array(cfg, "ids", name), name + ".ids"))
    ids.push_back(static_cast<int32_t>(id));
  ASSERT_FALSE(ids.empty());
  const TextCheckpoint g = open_text_checkpoint(golden_dir(name, "released"));
  const int64_t L = g.cfg.num_hidden_layers;
  ASSERT_EQ(json::get_int(cfg, "layers", name), L);
  const Outcome base = run_model(g, llm::QuantScheme::none, ids);
  const json::Json& schemes = json::get_object(cfg, "schemes", name);

  for (auto s : {llm::QuantScheme::int8, llm::QuantScheme::int8_experts, llm::QuantScheme::fp8_experts}) {
    const std::string sn = llm::quant_scheme_name(s);
    SCOPED_TRACE(name + " " + sn);
    const json::Json& ref = json::get_object(schemes, sn, name + ".schemes");
    const std::vector<double> ref_rel = numbers(json::get_array(ref, "hidden_rel", sn), sn);
    ASSERT_EQ(static_cast<int64_t>(ref_rel.size()), L + 1);
    const double ref_logits = json::get_number(ref, "logits_rel", sn);
    const Outcome q = run_model(g, s, ids);
    std::printf("%s %s (n = %zu): relative error ||h_q - h|| / ||h|| vs own f32, ours | reference "
                "(transformers + optimum-quanto) | ratio\n",
                name.c_str(), sn.c_str(), ids.size());
    for (int64_t i = 0; i <= L; ++i) {
      const double ours = rel_err(q.hidden[i], base.hidden[i]);
      const std::string what = i == 0 ? "embed" : "layer " + std::to_string(i - 1);
      std::printf("  %-8s %.3e | %.3e | %.3f\n", what.c_str(), ours, ref_rel[i],
                  ref_rel[i] > 0 ? ours / ref_rel[i] : 0.0);
      EXPECT_LE(ours, kRatio * ref_rel[i] + kFloor) << what;
      if (i > 0) {
        EXPECT_GT(ours, 0.0) << what << ": nothing was quantized";
      }
    }
    const double ours = rel_err(q.logits, base.logits);
    std::printf("  %-8s %.3e | %.3e | %.3f\n", "logits", ours, ref_logits, ours / ref_logits);
    EXPECT_LE(ours, kRatio * ref_logits + kFloor) << "logits";
  }
  // int4-experts: no reference (quanto's int4 is another format); its logits error is reported.
  const Outcome q4 = run_model(g, llm::QuantScheme::int4_experts, ids);
  const double r4 = rel_err(q4.logits, base.logits);
  std::printf("%s int4-experts: logits relative error %.3e, last layer %.3e (no reference)\n", name.c_str(), r4,
              rel_err(q4.hidden[L], base.hidden[L]));
  EXPECT_GT(r4, 0.0);
}

std::vector<std::string> configs() {
  std::vector<std::string> names;
  for (const auto& [k, v] : json::get_object(golden(), "configs", "accuracy.json").items()) names.push_back(k);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Golden, QuantAccuracy, ::testing::ValuesIn(configs()),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

}  // namespace
}  // namespace mvl::test
