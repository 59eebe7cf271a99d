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

#include <algorithm>

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

DecodeGraphStats TextModel::batch_graph_stats(SequenceState& first) const { return cache_of(first).batch.stats; }

// The batched step as one graph (decode_batch with CUDA graphs): the tables of make_batch_step
// (positions, lengths, split counts; the states' and caches' addresses) are copied into the
// graph's own buffers before each replay, as are the tokens, so a replay runs at the positions
// of the moment; the caches are grown outside (make_batch_step), and their addresses are part of
// the key. A composition (which sequences, in which order, with which buffers) is captured
// only once it repeats: in continuous batching the composition changes as requests come and
// go, and each capture costs about one eager step.
Tensor TextModel::decode_batch_graphed(const std::vector<int32_t>& tokens,
                                       const std::vector<SequenceState*>& states) const {
  BatchGraphCache& g = cache_of(*states.front()).batch;
  const int64_t B = static_cast<int64_t>(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i)
    MVL_CHECK(tokens[i] >= 0 && tokens[i] < cfg_.vocab_size, invalid_argument,
              "decode_batch: token {} (row {}) is outside the vocabulary [0, {})", tokens[i], i, cfg_.vocab_size);
  BatchStep step = make_batch_step(cfg_, dev_, states, batch_attention_);
  Tensor ids = Tensor::empty({B}, DType::i32);
  std::copy(tokens.begin(), tokens.end(), ids.data<int32_t>());
  auto eager = [&] {
    ++g.stats.eager_steps;
    return decode_batch_rows(ops::embedding(w_.embed_tokens, ops::to_device(ids, dev_), activation_dtype()), step);
  };
  if (!g.stats.disabled.empty()) return eager();
  std::vector<int64_t> key = {static_cast<int64_t>(batch_attention_), B};
  for (SequenceState* s : states)
    for (const void* p : s->buffer_key()) key.push_back(reinterpret_cast<int64_t>(p));
  for (int32_t sp : step.split_counts) key.push_back(sp);
  const bool repeat = key == g.last_key;
  g.last_key = key;
  if (!g.graph.valid() || g.key != key || g.graph.stale()) {
    if (!repeat) {  // a new composition (or its first step): op by op, capture next time
      g.graph = ops::CudaGraph();
      return eager();
    }
    if (g.graph.valid() && g.key == key) ++g.stats.scratch_recaptures;
    if (!g.tokens.defined() || g.tokens.dim(0) != B || g.ptrs.shape() != step.ptrs.shape()) {
      g.tokens = ops::empty({B}, DType::i32, dev_);
      g.logits = ops::empty({B, cfg_.vocab_size}, DType::f32, dev_);
      g.table = ops::empty(step.table.shape(), DType::i32, dev_);
      g.ptrs = ops::empty(step.ptrs.shape(), DType::i64, dev_);
    }
    ops::copy_into(g.table, step.table);
    ops::copy_into(g.ptrs, step.ptrs);
    BatchStep cap = step;
    rebind_batch_step(cap, g.table, g.ptrs);
    std::vector<int64_t> pos;
    for (SequenceState* s : states) pos.push_back(s->position());
    auto put_back = [&] {
      for (size_t i = 0; i < states.size(); ++i) states[i]->set_host_position(pos[i]);
    };
    try {
      // The body runs host code once and queues nothing: the states' host counters move as if a
      // step ran, so put them back afterwards.
      g.graph = ops::CudaGraph::capture(dev_, [&] {
        const Tensor l = decode_batch_rows(ops::embedding(w_.embed_tokens, g.tokens, activation_dtype()), cap);
        ops::copy_into(g.logits, l);
      });
      put_back();
      g.key = key;
      ++g.stats.captures;
    } catch (const Error& e) {
      put_back();
      g.graph = ops::CudaGraph();
      g.stats.disabled = e.what();
      MVL_LOG_WARN("decode_batch: CUDA graph capture failed, running batched steps op by op ({})", e.what());
      return eager();
    }
  } else {
    ops::copy_into(g.table, step.table);  // this step's positions (the addresses are the key's)
  }
  ops::copy_into(g.tokens, ops::to_device(ids, dev_));
  g.graph.launch();
  for (SequenceState* s : states) s->set_host_position(s->position() + 1);
  ++g.stats.replays;
  return ops::clone(g.logits);
}

}  // namespace mvl::llm
