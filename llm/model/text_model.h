// TextModel: the MiniMax-Text-01 backbone (spec §6) over a SequenceState.
//   prefill(segments, state) consumes a prompt made of token-id runs and embedding rows
//   (e.g. projected image features) and returns logits; decode(token, state) consumes one
//   token. Both advance state.position(). The model itself is immutable after load, so one
//   TextModel can serve many SequenceStates (one thread per state).
// Typical use:
//   auto model = TextModel::load(ckpt, cfg, TextWeightNaming::detect(ckpt));
//   SequenceState st = model.new_state();
//   Tensor last = model.prefill({Segment::tokens(ids)}, st);     // f32 [1, vocab]
//   Tensor next = model.decode(ops::argmax(last.select(0, 0)), st);  // f32 [vocab]
// On a GPU, TextModel::load(..., dev, {.precision = ops::Precision::f32}) keeps CPU parity; the
// default there is bf16 (fast).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "kernels/core/safetensors.h"
#include "kernels/ops/device.h"
#include "kernels/ops/precision.h"
#include "llm/config/text_config.h"
#include "llm/layers/layers.h"
#include "llm/model/decode_graph.h"
#include "llm/state/sequence_state.h"
#include "llm/weights/text_weights.h"

namespace mvl::llm {

// One run of prompt input: either token ids or ready-made embedding rows.
struct Segment {
  std::vector<int32_t> ids;  // used when `embeddings` is undefined
  Tensor embeddings;         // f32|bf16 [n, hidden] (e.g. image features), moved to the model's
                             // device and converted to its activation dtype on entry

  static Segment tokens(std::vector<int32_t> ids) { return Segment{std::move(ids), Tensor()}; }
  static Segment rows(Tensor embeddings) { return Segment{{}, std::move(embeddings)}; }
  int64_t size() const { return embeddings.defined() ? embeddings.dim(0) : static_cast<int64_t>(ids.size()); }
};

// Prompt positions per pass through the layers when the caller names none (llama.cpp's
// ubatch): the activations of one pass (the embedded chunk, the MoE's routed copies, the
// attention scores' tiles) scale with it, not with the prompt. 8192 is a multiple of the
// lightning block (256), long enough to keep the GEMMs at full rate.
inline constexpr int64_t kDefaultPrefillChunk = 8192;

struct PrefillOptions {
  bool all_logits = false;  // true: logits for every position [n, vocab]; false: last row only [1, vocab]
  // > 0: run the prompt through the layers in chunks of this many positions, embedding each
  // chunk as it goes (activation memory bounded at any prompt length; same result up to the
  // rounding of the split; tests/llm/long_context_test.cpp). 0: the whole prompt in one pass.
  int64_t chunk_size = kDefaultPrefillChunk;
  TraceFn trace;            // optional: "embed", "layer.<l>.attn", "layer.<l>.hidden" (output of
                            // layer l), "final_norm", "logits" (per chunk when chunked); always f32
                            // (bf16 activations are converted for the callback, and tracing turns
                            // the fused residual+norm steps off)
};

struct TextLoadOptions {
  // Activation precision (kernels/ops/precision.h). Unset: bf16 on a CUDA device, f32 on the CPU.
  // bf16 on the CPU is refused (Error{unsupported}).
  std::optional<ops::Precision> precision;
  // On a CUDA device, replay each decode step as one CUDA graph (llm/model/decode_graph.cpp):
  // same results, far fewer launches. Off: every step runs op by op.
  bool cuda_graphs = true;
  // How decode_batch runs the per-sequence attention work (llm/layers/layers.h): one batched
  // op per layer, or the per-sequence loop it is tested against. Batched on every device: on
  // the CPU it is bit-identical to the loop; on a GPU the gather launches and the batched
  // step's CUDA graph passed tools/device/bdec_check.sh's parity tests on an H100 in session 9
  // (the GPU lightning output differs from the loop only in its summation order).
  BatchAttention batch_attention = BatchAttention::batched;
  // On a CUDA device: called after each weight reaches the GPU with its host bytes (the
  // engine's load progress; the upload is where the checkpoint is actually read).
  std::function<void(size_t bytes)> on_upload;
  // Weight-only quantization at load (llm/weights/quant_rule.h), on the host tensor by tensor;
  // on a CUDA device the quantized weights are uploaded as they are (kernels/cuda/quant.h).
  // TextModel::random makes its weights in this scheme (quantized on the GPU).
  QuantScheme quant = QuantScheme::none;
  // The scheme a `minimax-vl quantize` checkpoint was written in (its config.json's
  // quantization_config; llm/weights/quant_checkpoint.h): read as stored, no re-quantization.
  QuantScheme stored_quant = QuantScheme::none;
};

// The largest batch decode_batch captures as a CUDA graph: the MoE's decode kernels (no host
// sync) take up to kernels/cuda/moe.h's 64 tokens.
inline constexpr int64_t kMaxGraphBatch = 64;

class TextModel {
 public:
  // device: where the model runs. A CUDA DeviceContext uploads every weight once as bf16
  // (slopes stay f32; each layer's experts packed into two buffers); activations, states and
  // logits then live on that device, and the same layer code runs through the ops CUDA
  // branches: the tuned bf16 kernels for Precision::bf16 (the default there), the generic
  // f32 kernels for Precision::f32.
  static TextModel load(const Checkpoint& ckpt, const TextConfig& cfg, const TextWeightNaming& naming,
                        const ops::DeviceContext& device = {}, const TextLoadOptions& opts = {});

  // A model with random weights made on `device` at cfg's shapes (llm/weights/random_weights.h:
  // bf16 on a GPU with each layer's experts packed as load() packs them, f32 on the CPU),
  // for benchmarks of the real model path without a checkpoint. Deterministic by seed.
  static TextModel random(const TextConfig& cfg, const ops::DeviceContext& device = {},
                          const TextLoadOptions& opts = {}, uint64_t seed = 1);
  // The same model (weights shared, not copied) with CUDA-graph decode on or off, e.g. to
  // time both in one process.
  TextModel with_cuda_graphs(bool on) const;
  // The same model with decode_batch's attention run another way (to time them in one process).
  TextModel with_batch_attention(BatchAttention mode) const;
  BatchAttention batch_attention() const { return batch_attention_; }

  const TextConfig& config() const { return cfg_; }
  const TextWeights& weights() const { return w_; }
  const ops::DeviceContext& device() const { return dev_; }
  ops::Precision precision() const { return precision_; }
  // f32 or bf16: the dtype of hidden states and the KV cache.
  DType activation_dtype() const { return ops::activation_dtype(precision_); }
  SequenceState new_state() const { return SequenceState(cfg_, dev_, activation_dtype()); }

  // f32 [ids.size(), hidden]: plain embedding lookup (no scaling). Throws for ids outside the vocabulary.
  Tensor embed(const std::vector<int32_t>& ids) const;
  // Consumes the segments in order at state.position(). Returns f32 [n_total, vocab] when
  // opts.all_logits, else f32 [1, vocab] (the last position). Empty input is an error, and so
  // is an id outside the vocabulary (checked before any work: the state is left untouched).
  // The KV caches are sized for the whole prompt first (SequenceState::ensure_kv), so no
  // chunk copies them.
  Tensor prefill(const std::vector<Segment>& segments, SequenceState& state, const PrefillOptions& opts = {}) const;
  // One token at state.position(); returns f32 [vocab] on the model's device.
  Tensor decode(int32_t token, SequenceState& state, const TraceFn& trace = {}) const;
  // Same, with the token as i32 [1] already on the model's device (e.g. ops::argmax_rows of
  // the previous logits): a CUDA decode step then never waits for the host.
  Tensor decode(const Tensor& token, SequenceState& state, const TraceFn& trace = {}) const;
  // One token for each of B sequences, each at its own position (a continuous-batching step):
  // the embedding, dense projections, norms, MoE (router + experts over B rows) and LM head
  // run once for all B rows; the attention's per-sequence part (lightning state update, KV
  // append and attention over that sequence's own cache, RoPE at its position) runs as
  // batch_attention() says: one batched op per layer, or one call per sequence. Advances
  // every state by one. Returns f32 [B, vocab] on the model's device: row i equals
  // decode(tokens[i], *states[i]) up to the rounding of the batched GEMMs. The states must be
  // distinct. B == 1 takes decode() (a CUDA graph where enabled). B > 1 with a batched
  // batch_attention() and B <= kMaxGraphBatch on a CUDA device with graphs on replays a captured
  // step (llm/model/decode_graph.cpp: captured once the same sequences have stepped together
  // twice; bit-identical to op by op); else op by op.
  Tensor decode_batch(const std::vector<int32_t>& tokens,
                      const std::vector<SequenceState*>& states) const;
  // How state's decode steps ran (graph replays, captures, eager steps; why graphs are off).
  DecodeGraphStats decode_graph_stats(SequenceState& state) const;
  // The same for the batched steps decode_batch ran with `first` as states[0].
  DecodeGraphStats batch_graph_stats(SequenceState& first) const;
  bool cuda_graphs() const { return cuda_graphs_; }

 private:
  // x: act [n, hidden] at positions [state.position(), +n). Runs every layer and the final
  // norm; advances the state. Returns the final-normed hidden states act [n, hidden].
  Tensor forward(Tensor x, SequenceState& state, const TraceFn& trace) const;
  // The decoder stack and the final norm over x act [n, hidden]; `attention` computes each
  // layer's attention output from its normed input (one sequence, or a batch of them).
  using AttentionFn = std::function<Tensor(int64_t layer, const LayerWeights& lw, const Tensor& a)>;
  Tensor run_layers(Tensor x, const AttentionFn& attention, const TraceFn& trace) const;
  // x: act [1, hidden], the embedded token. Returns f32 [vocab].
  Tensor decode_rows(const Tensor& x, SequenceState& state, const TraceFn& trace) const;
  // h: act [n, hidden] -> f32 [n, vocab] (bf16: the bf16 GEMM's rounded logits, upcast).
  Tensor lm_head(const Tensor& h) const;
  // token: i32 [1] on the device. One decode step through the state's captured graph.
  Tensor decode_graphed(const Tensor& token, SequenceState& state) const;
  // One batched step op by op with the step's tables; advances the states. f32 [B, vocab].
  Tensor decode_batch_rows(const Tensor& x, const BatchStep& step) const;
  // One batched step through states[0]'s captured batch graph.
  Tensor decode_batch_graphed(const std::vector<int32_t>& tokens, const std::vector<SequenceState*>& states) const;

  TextConfig cfg_;
  TextWeights w_;
  ops::DeviceContext dev_;  // CPU unless loaded for a GPU
  ops::Precision precision_ = ops::Precision::f32;
  bool cuda_graphs_ = true;  // TextLoadOptions::cuda_graphs, for CUDA devices
  BatchAttention batch_attention_ = BatchAttention::batched;
};

}  // namespace mvl::llm
