// The continuous-batching scenario shared by the CPU and CUDA decode_batch tests: five
// sequences at different positions advance in steps whose membership changes (one pauses,
// one joins after the start, one is rewound to a snapshot, the order is shuffled), either
// with one TextModel::decode_batch per step or with one decode() per sequence. Tokens are a
// fixed function of (sequence, step), so both modes consume the same inputs.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/ops/tensor_ops.h"
#include "llm/model/text_model.h"
#include "tests/llm/text_test_util.h"

namespace mvl::test {

struct BatchScenarioStep {
  std::vector<int> seqs;  // the sequences advancing this step, in batch order
  int rewind = -1;        // this sequence goes back to its snapshot before the step
};

inline std::vector<BatchScenarioStep> batch_scenario() {
  return {{{0, 1, 2, 3}},    {{0, 2, 3}},       {{3, 2, 0, 4}}, {{0, 1, 4}, 0},
          {{0, 1, 2, 3, 4}}, {{4, 3, 2, 1, 0}}, {{1, 3}},       {{0, 1, 2, 3, 4}, 2}};
}

// Returns every logits row the scenario produced, in step order then batch order, as f32 on
// the host. batched: decode_batch per step; else one decode() per sequence.
inline std::vector<std::vector<float>> run_batch_scenario(const llm::TextModel& m, bool batched) {
  const int64_t vocab = m.config().vocab_size;
  const std::vector<int64_t> prompt_len = {3, 7, 12, 20, 5};
  std::vector<llm::SequenceState> st;
  std::vector<llm::SequenceState::Snapshot> snap;
  auto start = [&](int s) {
    std::vector<int32_t> ids;
    for (int64_t i = 0; i < prompt_len[static_cast<size_t>(s)]; ++i)
      ids.push_back(static_cast<int32_t>((s * 977 + i * 31 + 11) % vocab));
    m.prefill({llm::Segment::tokens(ids)}, st[static_cast<size_t>(s)]);
    snap[static_cast<size_t>(s)] = st[static_cast<size_t>(s)].snapshot();
  };
  for (int s = 0; s < 5; ++s) st.push_back(m.new_state());
  snap.resize(5);
  for (int s = 0; s < 4; ++s) start(s);  // sequence 4 joins at step 2
  std::vector<std::vector<float>> out;
  const auto steps = batch_scenario();
  for (size_t t = 0; t < steps.size(); ++t) {
    const BatchScenarioStep& step = steps[t];
    if (step.rewind >= 0)
      st[static_cast<size_t>(step.rewind)].restore(snap[static_cast<size_t>(step.rewind)]);
    for (int s : step.seqs)
      if (s == 4 && st[4].position() == 0) start(4);
    std::vector<int32_t> toks;
    std::vector<llm::SequenceState*> states;
    for (int s : step.seqs) {
      toks.push_back(static_cast<int32_t>((s * 131 + static_cast<int64_t>(t) * 17 + 5) % vocab));
      states.push_back(&st[static_cast<size_t>(s)]);
    }
    std::vector<Tensor> rows;
    if (batched) {
      const Tensor l = m.decode_batch(toks, states);
      EXPECT_EQ(l.shape(), (Shape{static_cast<int64_t>(toks.size()), vocab}));
      for (size_t i = 0; i < toks.size(); ++i) rows.push_back(l.select(0, static_cast<int64_t>(i)));
    } else {
      for (size_t i = 0; i < toks.size(); ++i) rows.push_back(m.decode(toks[i], *states[i]));
    }
    for (const Tensor& r : rows) out.push_back(to_vec(ops::to_device(r, Device::cpu())));
  }
  return out;
}

}  // namespace mvl::test
