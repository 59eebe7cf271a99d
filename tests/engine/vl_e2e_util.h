// Shared by the end-to-end VL golden tests (tests/golden/vl/, made by
// tools/golden/vl/make_vl_goldens.py; tests/golden/vl_native/, made by make_vl_native_goldens.py
// from the native transformers port on the same model and images): open the golden checkpoint
// (released layout) the way the parity commands do, run one case from image files to the logits of
// every kept position, and compare them with the reference's rows.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "app/engine/loading/checkpoint.h"
#include "app/engine/loading/model_config.h"
#include "kernels/core/json.h"
#include "kernels/core/safetensors.h"
#include "kernels/ops/tensor_ops.h"
#include "llm/model/text_model.h"
#include "tests/support/test_util.h"

namespace mvl::test {

// dir: "vl" (composed reference) or "vl_native" (native transformers minimax_vl_01).
inline std::string vl_golden(const std::string& rel, const std::string& dir = "vl") {
  return source_path("tests/golden/" + dir + "/" + rel);
}

struct VlCase {
  std::string name;
  std::vector<int32_t> ids;           // the prompt, one image token per image
  std::vector<std::string> images;    // absolute paths, prompt order
  std::vector<int64_t> image_tokens;  // per image, as the reference packed them
  int64_t positions = 0;
};

inline std::vector<VlCase> vl_cases(const std::string& dir = "vl") {
  const json::Json m = json::parse_file(vl_golden("manifest.json", dir));
  std::vector<VlCase> out;
  for (const auto& [name, c] : m.at("cases").items()) {
    VlCase v;
    v.name = name;
    for (const auto& i : c.at("ids")) v.ids.push_back(i.get<int32_t>());
    for (const auto& p : c.at("images")) v.images.push_back(vl_golden(p.get<std::string>(), dir));
    for (const auto& t : c.at("image_tokens")) v.image_tokens.push_back(t.get<int64_t>());
    v.positions = c.at("positions").get<int64_t>();
    out.push_back(std::move(v));
  }
  return out;
}

// The kept reference rows of one case: positions (I32 [r]) and logits (F32 [r, vocab]).
struct VlRows {
  std::vector<int64_t> positions;
  std::vector<std::vector<float>> f32, bf16;
};

// Rows of a host [r, V] tensor (any float dtype) as f32 vectors.
inline std::vector<std::vector<float>> vl_rows_of(const Tensor& t) {
  const Tensor c = contiguous(t);
  const int64_t V = c.dim(1);
  std::vector<std::vector<float>> r(static_cast<size_t>(c.dim(0)),
                                    std::vector<float>(static_cast<size_t>(V)));
  for (int64_t i = 0; i < c.dim(0); ++i)
    for (int64_t j = 0; j < V; ++j)
      r[i][j] = load_as_f32(c.data(), c.dtype(), static_cast<size_t>(i * V + j));
  return r;
}

// pillow: "pillow12" (classic resize pass order) or "pillow13".
inline VlRows vl_reference(const std::string& pillow, const std::string& name,
                           const std::string& dir = "vl") {
  const Checkpoint g = Checkpoint::open(vl_golden("logits_" + pillow + ".safetensors", dir));
  VlRows r;
  const Tensor pos = contiguous(g.get(name + ".rows"));  // I32 [r]
  for (int64_t i = 0; i < pos.numel(); ++i) r.positions.push_back(pos.data<int32_t>()[i]);
  r.f32 = vl_rows_of(g.get(name + ".f32"));
  r.bf16 = vl_rows_of(g.get(name + ".bf16"));
  return r;
}

struct VlModel {
  engine::ModelConfig cfg;
  Checkpoint ckpt;
  llm::TextModel text;
  std::unique_ptr<engine::VisionEncoder> vision;
};

// Opens tests/golden/vl/model on `dev`; `vision` is made by the caller's `make_vision` so a
// test can pass its own options (or none: the defaults).
template <typename MakeVision>
VlModel open_vl_model(const ops::DeviceContext& dev, std::optional<ops::Precision> precision,
                      MakeVision make_vision) {
  const std::string dir = vl_golden("model");
  engine::ModelConfig cfg = engine::ModelConfig::load_dir(dir);
  Checkpoint ckpt = Checkpoint::open(dir);
  llm::TextLoadOptions o;
  o.precision = precision;
  llm::TextModel text =
      llm::TextModel::load(ckpt, cfg.text, llm::TextWeightNaming::detect(ckpt), dev, o);
  auto vision = make_vision(cfg, ckpt);
  return VlModel{std::move(cfg), std::move(ckpt), std::move(text), std::move(vision)};
}

// Image files -> prepare (decode + preprocess) -> encode -> prefill; logits of the kept rows.
inline std::vector<std::vector<float>> run_vl_case(const VlModel& m, const VlCase& c,
                                                   const std::vector<int64_t>& positions) {
  std::vector<llm::Segment> segs;
  std::vector<int32_t> run;
  size_t k = 0;
  for (int32_t id : c.ids) {
    if (id != m.cfg.image_token_index) {
      run.push_back(id);
      continue;
    }
    if (!run.empty()) segs.push_back(llm::Segment::tokens(run));
    run.clear();
    const auto prepared = m.vision->prepare(c.images[k]);
    EXPECT_EQ(prepared->image_tokens, c.image_tokens[k]) << c.images[k];
    segs.push_back(llm::Segment::rows(m.vision->encode(*prepared, {})));
    ++k;
  }
  if (!run.empty()) segs.push_back(llm::Segment::tokens(run));
  llm::SequenceState st = m.text.new_state();
  llm::PrefillOptions po;
  po.all_logits = true;
  Tensor logits = m.text.prefill(segs, st, po);
  if (!logits.device().is_cpu()) logits = ops::to_device(logits, Device::cpu());
  EXPECT_EQ(logits.dim(0), c.positions);
  const auto all = vl_rows_of(logits);
  std::vector<std::vector<float>> out;
  for (int64_t p : positions) out.push_back(all.at(static_cast<size_t>(p)));
  return out;
}

inline double vl_max_abs(const std::vector<std::vector<float>>& a) {
  double m = 0;
  for (const auto& r : a)
    for (float v : r) m = std::max(m, std::fabs(double(v)));
  return m;
}

// max |a - b| over all rows, and the first row (index into the kept rows) where it exceeds tol.
inline double vl_max_err(const std::vector<std::vector<float>>& a,
                         const std::vector<std::vector<float>>& b, double tol, int64_t* first_bad) {
  double m = 0;
  *first_bad = -1;
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t j = 0; j < a[i].size(); ++j) {
      const double e = std::fabs(double(a[i][j]) - b[i][j]);
      if (e > tol && *first_bad < 0) *first_bad = static_cast<int64_t>(i);
      m = std::max(m, e);
    }
  return m;
}

inline double vl_rel_l2(const std::vector<std::vector<float>>& a,
                        const std::vector<std::vector<float>>& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t j = 0; j < a[i].size(); ++j) {
      const double d = double(a[i][j]) - ref[i][j];
      num += d * d;
      den += double(ref[i][j]) * ref[i][j];
    }
  return std::sqrt(num / den);
}

}  // namespace mvl::test
