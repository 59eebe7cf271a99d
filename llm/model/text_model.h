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
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/core/safetensors.h"
#include "kernels/ops/device.h"
#include "llm/config/text_config.h"
#include "llm/layers/layers.h"
#include "llm/state/sequence_state.h"
#include "llm/weights/text_weights.h"

namespace mvl::llm {

// One run of prompt input: either token ids or ready-made embedding rows.
struct Segment {
  std::vector<int32_t> ids;  // used when `embeddings` is undefined
  Tensor embeddings;         // f32 [n, hidden] (e.g. image features), spliced as-is

  static Segment tokens(std::vector<int32_t> ids) { return Segment{std::move(ids), Tensor()}; }
  static Segment rows(Tensor embeddings) { return Segment{{}, std::move(embeddings)}; }
  int64_t size() const { return embeddings.defined() ? embeddings.dim(0) : static_cast<int64_t>(ids.size()); }
};

struct PrefillOptions {
  bool all_logits = false;  // true: logits for every position [n, vocab]; false: last row only [1, vocab]
  int64_t chunk_size = 0;   // > 0: run the prompt through the layers in chunks of this many tokens
                            // (bounds activation memory; same result up to f32 rounding)
  TraceFn trace;            // optional: "embed", "layer.<l>.attn", "layer.<l>.hidden" (output of
                            // layer l), "final_norm", "logits" (per chunk when chunked)
};

class TextModel {
 public:
  // device: where the model runs. A CUDA DeviceContext uploads every weight once as bf16
  // (slopes stay f32); activations, states and logits then live on that device, and the
  // same layer code runs through the ops CUDA branches.
  static TextModel load(const Checkpoint& ckpt, const TextConfig& cfg, const TextWeightNaming& naming,
                        const ops::DeviceContext& device = {});

  const TextConfig& config() const { return cfg_; }
  const TextWeights& weights() const { return w_; }
  const ops::DeviceContext& device() const { return dev_; }
  SequenceState new_state() const { return SequenceState(cfg_, dev_); }

  // f32 [ids.size(), hidden]: plain embedding lookup (no scaling). Throws for ids outside the vocabulary.
  Tensor embed(const std::vector<int32_t>& ids) const;
  // Consumes the segments in order at state.position(). Returns f32 [n_total, vocab] when
  // opts.all_logits, else f32 [1, vocab] (the last position). Empty input is an error.
  Tensor prefill(const std::vector<Segment>& segments, SequenceState& state, const PrefillOptions& opts = {}) const;
  // One token at state.position(); returns f32 [vocab] on the model's device.
  Tensor decode(int32_t token, SequenceState& state, const TraceFn& trace = {}) const;
  // Same, with the token as i32 [1] already on the model's device (e.g. ops::argmax_rows of
  // the previous logits): a CUDA decode step then never waits for the host.
  Tensor decode(const Tensor& token, SequenceState& state, const TraceFn& trace = {}) const;

 private:
  // x: f32 [n, hidden] at positions [state.position(), +n). Runs every layer and the final
  // norm; advances the state. Returns the final-normed hidden states f32 [n, hidden].
  Tensor forward(Tensor x, SequenceState& state, const TraceFn& trace) const;
  // x: f32 [1, hidden], the embedded token. Returns f32 [vocab].
  Tensor decode_rows(const Tensor& x, SequenceState& state, const TraceFn& trace) const;

  TextConfig cfg_;
  TextWeights w_;
  ops::DeviceContext dev_;  // CPU unless loaded for a GPU
};

}  // namespace mvl::llm
