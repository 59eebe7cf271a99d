// The three sub-blocks of a MiniMax-Text-01 decoder layer, written only with ops:: calls
// on tensors (so the same code runs on CPU or GPU tensors): lightning attention (§6.4),
// softmax attention with partial RoPE and a KV cache (§6.5), and the MoE block (§6.6).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "kernels/core/tensor.h"
#include "llm/config/text_config.h"
#include "llm/state/sequence_state.h"
#include "llm/weights/text_weights.h"

namespace mvl::llm {

// Receives every named intermediate ("layer.3.attn", "layer.3.hidden", ...); tensors are
// f32 and only valid during the call (copy to keep).
// The layer functions below take and return activations in the model's dtype: f32, or bf16
// on a GPU (the ops then run the tuned bf16 kernels); "f32" below means that dtype.
using TraceFn = std::function<void(const std::string& name, const Tensor& t)>;

// a: f32 [n, H] normalised layer input. state: f32 [nh, dh, dh], updated in place.
// Blockwise algorithm (block = cfg.block_size) for n > 1, recurrent for one token.
// Returns f32 [n, H] = out_proj(sigmoid(a W_gate^T) * RMSNorm_all_heads(o, eps 1e-6)).
Tensor lightning_attention(const LightningWeights& w, const TextConfig& cfg, const Tensor& a, Tensor& state);

// a: act [n, H]; tokens sit at positions [state.position(), + n). Appends post-RoPE K and V
// to the layer's cache in `state`, attends causally over the whole cache. Returns act [n, H].
// Positions come from state.positions() (device memory on a GPU) and a one-token step reads
// the cache length from the device too, so a decode step can be replayed as a CUDA graph.
Tensor softmax_attention(const SoftmaxWeights& w, const TextConfig& cfg, const Tensor& a, int64_t layer,
                         SequenceState& state);

// Batched decode (TextModel::decode_batch): a holds one row per sequence, row i at
// states[i]'s position. The projections run once over all rows; the state update / cached
// attention runs per sequence (lightning: states[i]'s f32 state; softmax: its own KV cache,
// RoPE at its own position). The states are not advanced. Returns act [B, H].
Tensor lightning_attention_batch(const LightningWeights& w, const TextConfig& cfg, const Tensor& a,
                                 int64_t layer, const std::vector<SequenceState*>& states);
Tensor softmax_attention_batch(const SoftmaxWeights& w, const TextConfig& cfg, const Tensor& a,
                               int64_t layer, const std::vector<SequenceState*>& states);

// b: f32 [n, H]. Router softmax -> top-k -> renormalise -> weighted SwiGLU experts.
Tensor moe_block(const LayerWeights& w, const TextConfig& cfg, const Tensor& b);

}  // namespace mvl::llm
