// Quantized checkpoints (llm/weights/quant_checkpoint.h): for every scheme and both layouts,
// quantize_checkpoint then loading the output as stored gives logits bit-identical to --quant
// at load on the source (the codes are the same bytes, so a mismatch means the writer or the
// reader moved or re-quantized something); a missing, mis-shaped or mis-typed scale or zero
// tensor is refused with an error naming it; a foreign quantization_config is refused.
#include <gtest/gtest.h>

#include <cstring>

#include "kernels/core/error.h"
#include "kernels/core/json.h"
#include "kernels/core/safetensors.h"
#include "llm/model/text_model.h"
#include "llm/weights/quant_checkpoint.h"
#include "tests/llm/text_test_util.h"
#include "tests/support/test_util.h"

namespace mvl::llm {
namespace {

test::TextCheckpoint open_src(const std::string& layout) {
  return test::open_text_checkpoint(test::golden_dir("l3s1_hd32_b16", layout));
}

std::vector<float> logits(const Checkpoint& ckpt, const test::TextCheckpoint& s, QuantScheme quant,
                          QuantScheme stored) {
  TextLoadOptions o;
  o.quant = quant;
  o.stored_quant = stored;
  const TextModel m = TextModel::load(ckpt, s.cfg, s.naming, {}, o);
  SequenceState st = m.new_state();
  std::vector<int32_t> prompt;
  for (int i = 0; i < 19; ++i)
    prompt.push_back(static_cast<int32_t>((i * 41 + 3) % s.cfg.vocab_size));
  PrefillOptions po;
  po.all_logits = true;
  Tensor lg = m.prefill({Segment::tokens(prompt)}, st, po);
  std::vector<float> r(lg.data<float>(), lg.data<float>() + lg.numel());
  const Tensor d = m.decode(7, st);
  r.insert(r.end(), d.data<float>(), d.data<float>() + d.numel());
  return r;
}

TEST(QuantCheckpoint, RoundTripIsBitIdenticalToQuantAtLoad) {
  for (const char* layout : {"released", "native"}) {
    const test::TextCheckpoint s = open_src(layout);
    for (auto q : all_quant_schemes()) {
      if (q == QuantScheme::none) continue;
      const std::string out = test::temp_dir("quant_ckpt");
      const auto files = quantize_checkpoint(s.ckpt, s.cfg, s.naming, q, out);
      ASSERT_EQ(files.size(), 1u);
      const Checkpoint qc = Checkpoint::open(out);
      // Every quantized weight has codes of its format and a scale beside it.
      int quantized = 0;
      for_each_text_tensor(s.cfg, s.naming, [&](const TextTensor& t) {
        const WeightFormat f = quant_format_of(t, q);
        if (f == WeightFormat::plain) {
          EXPECT_EQ(qc.info(t.name).dtype, s.ckpt.info(t.name).dtype) << t.name;
          return;
        }
        ++quantized;
        EXPECT_EQ(qc.info(t.name).dtype, stored_code_dtype(f)) << t.name;
        EXPECT_EQ(qc.info(quant_scale_name(t.name)).shape, stored_scale_shape(t.shape, f));
        EXPECT_EQ(qc.has(quant_zero_name(t.name)), f == WeightFormat::int4) << t.name;
      });
      EXPECT_GT(quantized, 0);
      const std::vector<float> a = logits(s.ckpt, s, q, QuantScheme::none);
      const std::vector<float> b = logits(qc, s, QuantScheme::none, q);
      ASSERT_EQ(a.size(), b.size());
      EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0)
          << layout << " " << quant_scheme_name(q) << ": stored and at-load logits differ";
      // Same --quant on a stored checkpoint is accepted; another is refused.
      EXPECT_NO_THROW(TextWeights::load(qc, s.cfg, s.naming, q, q));
      EXPECT_THROW(TextWeights::load(
                       qc, s.cfg, s.naming,
                       q == QuantScheme::int8 ? QuantScheme::int4_experts : QuantScheme::int8, q),
                   Error);
    }
  }
}

// Rewrites `dir`'s model.safetensors with `edit` applied to the tensor list.
void rewrite(const std::string& dir,
             const std::function<void(std::map<std::string, Tensor>&)>& edit) {
  const auto f = SafetensorsFile::open(dir + "/model.safetensors");
  std::map<std::string, Tensor> ts;
  for (const auto& ti : f->tensors()) ts[ti.name] = contiguous(f->get(ti.name));
  edit(ts);
  SafetensorsWriter w;
  for (const auto& [n, t] : ts) w.add(n, t);
  w.write(dir + "/model.safetensors.tmp");
  std::rename((dir + "/model.safetensors.tmp").c_str(), (dir + "/model.safetensors").c_str());
}

std::string load_error(const std::string& dir, const test::TextCheckpoint& s, QuantScheme q) {
  try {
    const Checkpoint c = Checkpoint::open(dir);
    TextWeights::load(c, s.cfg, s.naming, QuantScheme::none, q);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(QuantCheckpoint, RefusesMissingOrMisshapenScales) {
  const test::TextCheckpoint s = open_src("released");
  const std::string w = text_tensor_name(s.naming, TextRole::expert_w2, 1, 2);
  struct Case {
    QuantScheme q;
    std::string victim;
    std::function<void(std::map<std::string, Tensor>&)> edit;
  };
  const std::vector<Case> cases = {
      {QuantScheme::int8_experts, quant_scale_name(w),
       [&](auto& ts) { ts.erase(quant_scale_name(w)); }},
      {QuantScheme::fp8_experts, quant_scale_name(w),
       [&](auto& ts) {  // truncated: one channel short
         const Tensor& sc = ts[quant_scale_name(w)];
         ts[quant_scale_name(w)] = contiguous(sc.slice(0, 0, sc.dim(0) - 1));
       }},
      {QuantScheme::int4_experts, quant_zero_name(w),
       [&](auto& ts) { ts.erase(quant_zero_name(w)); }},
      {QuantScheme::int4_experts, quant_scale_name(w),
       [&](auto& ts) {  // wrong dtype
         ts[quant_scale_name(w)] = Tensor::empty(ts[quant_scale_name(w)].shape(), DType::bf16);
       }},
      {QuantScheme::int8, w,
       [&](auto& ts) {  // codes of the wrong shape
         const Tensor& c = ts[w];
         ts[w] = contiguous(c.slice(1, 0, c.dim(1) - 1));
       }},
  };
  for (const auto& c : cases) {
    const std::string out = test::temp_dir("quant_bad");
    quantize_checkpoint(s.ckpt, s.cfg, s.naming, c.q, out);
    ASSERT_EQ(load_error(out, s, c.q), "") << quant_scheme_name(c.q);
    rewrite(out, c.edit);
    const std::string err = load_error(out, s, c.q);
    EXPECT_NE(err.find("'" + c.victim + "'"), std::string::npos) << err;
    EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  }
}

TEST(QuantCheckpoint, ConfigEntry) {
  for (auto q : all_quant_schemes()) {
    if (q == QuantScheme::none) continue;
    json::Json cfg = json::Json::object();
    cfg["quantization_config"] = quantization_config_json(q);
    EXPECT_EQ(stored_quant_scheme(cfg, "config.json"), q);
  }
  EXPECT_EQ(stored_quant_scheme(json::Json::object(), "config.json"), QuantScheme::none);
  json::Json quanto = json::Json::object();
  quanto["quantization_config"] = {{"quant_method", "quanto"}, {"weights", "int8"}};
  EXPECT_THROW(stored_quant_scheme(quanto, "config.json"), Error);
}

}  // namespace
}  // namespace mvl::llm
