// Helpers shared by the text-backbone tests: loading a golden tiny model (config through
// TextConfig::from_json, so both config layouts are exercised) and comparing tensors.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "kernels/core/json.h"
#include "kernels/core/safetensors.h"
#include "llm/config/text_config.h"
#include "llm/model/text_model.h"
#include "tests/support/test_util.h"

namespace mvl::test {

inline const std::vector<std::string>& golden_text_configs() {
  static const std::vector<std::string> names = {"l2s1_hd16_b8", "l3s1_hd32_b16", "s1l2_hd16_b12"};
  return names;
}

struct LoadedTextModel {
  Checkpoint ckpt;
  llm::TextConfig cfg;
  llm::TextModel model;
};

// A tiny model directory opened but not loaded: its checkpoint, config and naming.
struct TextCheckpoint {
  std::string dir;
  Checkpoint ckpt;
  llm::TextConfig cfg;
  llm::TextWeightNaming naming;
};

// dir: a tiny model directory (config.json + model.safetensors).
inline TextCheckpoint open_text_checkpoint(const std::string& dir) {
  Checkpoint ckpt = Checkpoint::open(dir + "/model.safetensors");
  llm::TextConfig cfg = llm::TextConfig::from_json(json::parse_file(dir + "/config.json"), dir + "/config.json");
  const llm::TextWeightNaming naming = llm::TextWeightNaming::detect(ckpt);
  return {dir, std::move(ckpt), std::move(cfg), naming};
}

inline LoadedTextModel load_text_model(const std::string& dir) {
  TextCheckpoint c = open_text_checkpoint(dir);
  llm::TextModel model = llm::TextModel::load(c.ckpt, c.cfg, c.naming);
  return {std::move(c.ckpt), c.cfg, std::move(model)};
}

inline std::string golden_dir(const std::string& name, const std::string& layout = "") {
  std::string d = source_path("tests/golden/text/" + name);
  return layout.empty() ? d : d + "/" + layout;
}

// max |a - b| over all elements (shapes must match), as f32 row-major copies.
inline std::vector<float> to_vec(const Tensor& t) {
  std::vector<float> v(static_cast<size_t>(t.numel()));
  Tensor c = contiguous(t);
  for (int64_t i = 0; i < t.numel(); ++i) v[i] = load_as_f32(c.data(), c.dtype(), static_cast<size_t>(i));
  return v;
}
inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape()) << a.str() << " vs " << b.str();
  if (a.shape() != b.shape()) return INFINITY;
  auto x = to_vec(a), y = to_vec(b);
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, static_cast<double>(std::fabs(x[i] - y[i])));
  return m;
}
inline double max_abs(const Tensor& a) {
  double m = 0;
  for (float v : to_vec(a)) m = std::max(m, static_cast<double>(std::fabs(v)));
  return m;
}
inline std::vector<int32_t> to_ids(const Tensor& t) {
  std::vector<int32_t> ids;
  for (float v : to_vec(t)) ids.push_back(static_cast<int32_t>(v));
  return ids;
}

}  // namespace mvl::test
