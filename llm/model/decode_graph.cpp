// TextModel's decode step as one CUDA graph. A sequence's first step runs op by op (it
// settles cuBLASLt plans and scratch sizes); the second captures the step (embedding of a
// device token buffer -> layers -> lm_head -> a persistent logits buffer) and every later
// step replays it with one launch. Everything that moves between steps is read from device
// memory: the token buffer, SequenceState::position_tensor() (RoPE positions, KV append
// row, attention length), and the states/caches updated in place. The KV caches are grown
// ahead (by doubling) outside the capture; a growth moves them, so the step is re-captured,
// as it is when the context's scratch arena was reallocated since the capture.
// A failed capture turns graphs off for that sequence (logged once) and decoding goes on
// eagerly: same results, only slower. Covered by tests/llm/decode_graph_cuda_test.cpp.
#include "llm/model/decode_graph.h"

#include "kernels/core/error.h"
#include "kernels/core/log.h"
#include "kernels/ops/embedding.h"
#include "kernels/ops/tensor_ops.h"
#include "llm/model/text_model.h"

namespace mvl::llm {

namespace {
DecodeGraphCache& cache_of(SequenceState& state) {
  std::shared_ptr<void>& slot = state.decode_graph_slot();
  if (!slot) slot = std::make_shared<DecodeGraphCache>();
  return *std::static_pointer_cast<DecodeGraphCache>(slot);
}
}  // namespace

DecodeGraphStats TextModel::decode_graph_stats(SequenceState& state) const { return cache_of(state).stats; }

Tensor TextModel::decode_graphed(const Tensor& token, SequenceState& state) const {
  DecodeGraphCache& g = cache_of(state);
  auto eager = [&] {
    ++g.stats.eager_steps;
    return decode_rows(ops::embedding(w_.embed_tokens, token, activation_dtype()), state, {});
  };
  if (!g.stats.disabled.empty()) return eager();
  // Room for this step, so no cache grows inside the capture (past a reservation the caches
  // double, so re-captures are rare: log2 of the context length over a whole conversation).
  state.ensure_kv(state.position() + 1);
  const std::vector<const void*> key = state.buffer_key();
  // stale(): an op between two steps (a prefill chunk, a batched step) grew the context's
  // scratch arena, so the captured kernels would read freed memory: capture again.
  if (!g.graph.valid() || g.key != key || g.graph.stale()) {
    if (g.graph.stale()) ++g.stats.scratch_recaptures;
    if (!g.warm) {
      g.warm = true;
      return eager();
    }
    if (!g.token.defined()) {
      g.token = ops::empty({1}, DType::i32, dev_);
      g.logits = ops::empty({cfg_.vocab_size}, DType::f32, dev_);
    }
    const int64_t p = state.position();
    try {
      // The body runs host code once and queues nothing: the state's host counters move as
      // if a step ran, so put them back afterwards.
      g.graph = ops::CudaGraph::capture(dev_, [&] {
        const Tensor l = decode_rows(ops::embedding(w_.embed_tokens, g.token, activation_dtype()), state, {});
        ops::copy_into(g.logits, l);
      });
      state.set_host_position(p);
      g.key = key;
      ++g.stats.captures;
    } catch (const Error& e) {
      state.set_host_position(p);
      g.graph = ops::CudaGraph();
      g.stats.disabled = e.what();
      MVL_LOG_WARN("decode: CUDA graph capture failed, decoding this sequence op by op ({})", e.what());
      return eager();
    }
  }
  ops::copy_into(g.token, token);
  g.graph.launch();
  state.set_host_position(state.position() + 1);
  ++g.stats.replays;
  return ops::clone(g.logits);
}

}  // namespace mvl::llm
