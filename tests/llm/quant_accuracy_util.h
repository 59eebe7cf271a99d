// Shared by the quantization accuracy golden tests (quant_accuracy_golden_test.cpp on the CPU,
// quant_accuracy_golden_cuda_test.cpp on CUDA): tests/golden/quant/accuracy.json and one traced
// prefill of a golden text model under a quantization scheme, on a chosen device and precision.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kernels/core/json.h"
#include "kernels/ops/device.h"
#include "kernels/ops/tensor_ops.h"
#include "llm/model/text_model.h"
#include "tests/llm/text_test_util.h"
#include "tests/support/test_util.h"

namespace mvl::test {

struct QuantOutcome {
  std::vector<std::vector<float>> hidden;  // [L+1] of [n * hidden]: embeddings, then each layer's output
  std::vector<float> logits;               // [n * vocab]
};

// One prefill of `ids` with every position's logits; each layer's output comes from the trace,
// copied to the host as f32 (bf16 activations widened exactly).
inline QuantOutcome run_quant_model(const TextCheckpoint& g, llm::QuantScheme s, const std::vector<int32_t>& ids,
                                    const ops::DeviceContext& dev = {},
                                    std::optional<ops::Precision> precision = std::nullopt) {
  llm::TextLoadOptions o;
  o.quant = s;
  o.precision = precision;
  const llm::TextModel m = llm::TextModel::load(g.ckpt, g.cfg, g.naming, dev, o);
  std::map<std::string, std::vector<float>> seen;
  llm::PrefillOptions p;
  p.all_logits = true;
  p.trace = [&](const std::string& name, const Tensor& t) { seen[name] = to_vec(ops::to_device(t, Device::cpu())); };
  llm::SequenceState st = m.new_state();
  QuantOutcome r;
  r.logits = to_vec(ops::to_device(m.prefill({llm::Segment::tokens(ids)}, st, p), Device::cpu()));
  for (int64_t l = -1; l < g.cfg.num_hidden_layers; ++l) {
    const std::string name = l < 0 ? "embed" : "layer." + std::to_string(l) + ".hidden";
    EXPECT_TRUE(seen.count(name)) << "trace did not report " << name;
    r.hidden.push_back(seen[name]);
  }
  return r;
}

// ||x - y||_F / ||y||_F
inline double quant_rel_err(const std::vector<float>& x, const std::vector<float>& y) {
  EXPECT_EQ(x.size(), y.size());
  double d = 0, n = 0;
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
    d += (double(x[i]) - y[i]) * (double(x[i]) - y[i]);
    n += double(y[i]) * y[i];
  }
  return std::isfinite(d) ? std::sqrt(d / n) : INFINITY;
}

inline std::vector<double> json_numbers(const json::Json& arr, const std::string& what) {
  EXPECT_TRUE(arr.is_array()) << what;
  std::vector<double> v;
  for (const auto& x : arr) v.push_back(x.get<double>());
  return v;
}

inline const json::Json& quant_golden() {
  static const json::Json j = json::parse_file(source_path("tests/golden/quant/accuracy.json"));
  return j;
}

inline const json::Json& quant_golden_config(const std::string& name) {
  return json::get_object(json::get_object(quant_golden(), "configs", "accuracy.json"), name, "configs");
}

inline std::vector<int32_t> quant_golden_ids(const std::string& name) {
  std::vector<int32_t> ids;
  for (int64_t id : json::as_int_list(json::get_array(quant_golden_config(name), "ids", name), name + ".ids"))
    ids.push_back(static_cast<int32_t>(id));
  return ids;
}

inline std::vector<std::string> quant_golden_configs() {
  std::vector<std::string> names;
  for (const auto& [k, v] : json::get_object(quant_golden(), "configs", "accuracy.json").items()) names.push_back(k);
  return names;
}

// The schemes the reference has figures for (quanto qint8 / qfloat8); int4-experts has none.
inline std::vector<llm::QuantScheme> quant_golden_schemes() {
  return {llm::QuantScheme::int8, llm::QuantScheme::int8_experts, llm::QuantScheme::fp8_experts};
}

}  // namespace mvl::test
