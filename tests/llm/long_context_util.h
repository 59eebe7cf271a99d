// Shared by long_context_test.cpp (CPU) and long_context_cuda_test.cpp: a random model at a
// golden tiny config (2 lightning + 1 softmax layers, block 8), and the comparison of two
// SequenceStates (position, every lightning state, every KV row written).
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernels/core/json.h"
#include "kernels/ops/tensor_ops.h"
#include "llm/model/text_model.h"
#include "tests/llm/text_test_util.h"

namespace mvl::test {

inline llm::TextConfig long_context_config() {
  const std::string dir = golden_dir("l2s1_hd16_b8", "released");
  return llm::TextConfig::from_json(json::parse_file(dir + "/config.json"), dir + "/config.json");
}

inline std::vector<int32_t> long_context_ids(int64_t n, int64_t vocab, uint32_t seed) {
  std::vector<int32_t> ids;
  uint32_t x = seed * 2654435761u + 12345u;
  for (int64_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    ids.push_back(static_cast<int32_t>((x >> 8) % static_cast<uint32_t>(vocab)));
  }
  return ids;
}

inline Tensor host_f32(const Tensor& t) {
  const Tensor h = t.device().is_cpu() ? t : ops::to_device(t, Device::cpu());
  return h.dtype() == DType::f32 ? h : ops::cast(h, DType::f32);
}

// |a - b| <= rel * max|b| on the lightning states and on the KV rows [0, position) of every
// softmax layer; positions equal.
inline void expect_states_close(llm::SequenceState& a, llm::SequenceState& b, const llm::TextConfig& cfg,
                                double rel, const std::string& what) {
  ASSERT_EQ(a.position(), b.position()) << what;
  for (int64_t l = 0; l < cfg.num_hidden_layers; ++l) {
    const std::string at = what + ", layer " + std::to_string(l);
    if (cfg.layer_types[static_cast<size_t>(l)] == llm::AttnKind::lightning) {
      const Tensor x = host_f32(a.lightning_state(l)), y = host_f32(b.lightning_state(l));
      EXPECT_LE(max_abs_diff(x, y), rel * max_abs(y)) << at << " lightning state";
    } else {
      const llm::KvCache &ca = a.kv_cache(l), &cb = b.kv_cache(l);
      ASSERT_EQ(ca.length, a.position()) << at;
      ASSERT_EQ(cb.length, b.position()) << at;
      for (int kv = 0; kv < 2; ++kv) {
        const Tensor x = host_f32((kv ? ca.v : ca.k).slice(0, 0, ca.length));
        const Tensor y = host_f32((kv ? cb.v : cb.k).slice(0, 0, cb.length));
        EXPECT_LE(max_abs_diff(x, y), rel * max_abs(y)) << at << (kv ? " V rows" : " K rows");
      }
    }
  }
}

}  // namespace mvl::test
