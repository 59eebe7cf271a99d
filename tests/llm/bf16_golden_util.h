// The bf16 golden (tests/golden/text/bf16_hd128, tools/golden/text/make_text_bf16_golden.py):
// runs a TextModel over its 300-token prompt (all-position logits, the stored rows kept)
// and its teacher-forced decode steps, and measures relative L2 errors against the stored
// transformers f32 / bf16 logits. Shared by the CPU check of the golden and the CUDA bf16 test.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "kernels/core/safetensors.h"
#include "kernels/ops/tensor_ops.h"
#include "llm/model/text_model.h"
#include "tests/llm/text_test_util.h"

namespace mvl::test {

inline const char* kBf16GoldenName = "bf16_hd128";

struct Bf16GoldenRun {
  std::vector<std::vector<float>> prefill;  // [rows][vocab] at the golden's `rows`
  std::vector<std::vector<float>> decode;   // [steps][vocab]
};

inline std::vector<float> host_vec(const Tensor& t) {
  return to_vec(t.device().is_cpu() ? t : ops::to_device(t, Device::cpu()));
}

// Rows of a host [r, V] tensor as vectors.
inline std::vector<std::vector<float>> rows_of(const Tensor& t) {
  std::vector<std::vector<float>> out;
  const std::vector<float> v = host_vec(t);
  const int64_t V = t.dim(1);
  for (int64_t r = 0; r < t.dim(0); ++r) out.emplace_back(v.begin() + r * V, v.begin() + (r + 1) * V);
  return out;
}

// ||a - ref|| / ||ref|| over all rows together.
inline double rel_l2_rows(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& ref) {
  EXPECT_EQ(a.size(), ref.size());
  double num = 0, den = 0;
  for (size_t r = 0; r < a.size() && r < ref.size(); ++r) {
    EXPECT_EQ(a[r].size(), ref[r].size());
    for (size_t j = 0; j < a[r].size() && j < ref[r].size(); ++j) {
      if (!std::isfinite(a[r][j])) return INFINITY;
      num += (static_cast<double>(a[r][j]) - ref[r][j]) * (static_cast<double>(a[r][j]) - ref[r][j]);
      den += static_cast<double>(ref[r][j]) * ref[r][j];
    }
  }
  return std::sqrt(num / std::max(den, 1e-30));
}

// Prefill of the golden prompt (all logits, chunk_size as given), then the decode steps fed
// as device tokens (TextModel::decode(Tensor)), so a CUDA model never syncs inside a step.
inline Bf16GoldenRun run_bf16_golden(const llm::TextModel& model, const Checkpoint& golden, int64_t chunk = 0) {
  Bf16GoldenRun r;
  const std::vector<int32_t> ids = to_ids(golden.get("ids"));
  const std::vector<int32_t> rows = to_ids(golden.get("rows"));
  llm::SequenceState st = model.new_state();
  llm::PrefillOptions opts;
  opts.all_logits = true;
  opts.chunk_size = chunk;
  const Tensor all = model.prefill({llm::Segment::tokens(ids)}, st, opts);  // f32 [n, V]
  EXPECT_EQ(all.dtype(), DType::f32);
  const std::vector<std::vector<float>> every = rows_of(all);
  for (int32_t row : rows) r.prefill.push_back(every.at(static_cast<size_t>(row)));
  for (int32_t t : to_ids(golden.get("decode_ids"))) {
    Tensor tok = Tensor::empty({1}, DType::i32);
    tok.data<int32_t>()[0] = t;
    const Tensor logits = model.decode(ops::to_device(tok, model.device()), st);  // f32 [V]
    r.decode.push_back(host_vec(logits));
  }
  return r;
}

}  // namespace mvl::test
