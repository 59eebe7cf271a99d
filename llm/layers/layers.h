// The three sub-blocks of a MiniMax-Text-01 decoder layer, written only with ops:: calls
// on tensors (so the same code runs on CPU or GPU tensors): lightning attention (§6.4),
// softmax attention with partial RoPE and a KV cache (§6.5), and the MoE block (§6.6).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "kernels/core/tensor.h"
#include "kernels/ops/device.h"
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

// How a batched decode step (TextModel::decode_batch) runs the per-sequence attention work.
//   per_sequence: B single-sequence op calls per layer (lightning_recurrent; append_kv +
//                 attention_cached): the reference the others are tested against.
//   batched:      one ops::lightning_decode_batch / append_kv_batch / attention_decode_batch
//                 call per layer (one launch each on a GPU), the softmax keys split per
//                 sequence as it would be alone: bit-identical to per_sequence except the
//                 lightning output on a GPU (bf16, head dim 128), which another kernel sums in
//                 another order (the states stay bit-identical).
//   batched_fill: batched with the softmax split count chosen for the whole batch (fewer
//                 partials at large B; equal up to the rounding of the split merge).
enum class BatchAttention { per_sequence, batched, batched_fill };
const char* batch_attention_name(BatchAttention m);

// One batched decode step's per-sequence tables (make_batch_step, once per step): each
// sequence's position and the addresses of its lightning states and KV caches, uploaded once
// for every layer (device tensors on a GPU; host ones on the CPU).
struct BatchStep {
  std::vector<SequenceState*> states;
  BatchAttention mode = BatchAttention::per_sequence;
  std::vector<int64_t> position;  // host copy of each state's position
  std::vector<int32_t> split_counts;  // host copy of `splits`
  Tensor table;      // i32 [3, B]: the three rows below
  Tensor positions;  // i32 [B]: position (RoPE, the KV row written)
  Tensor lens;       // i32 [B]: position + 1 (the keys attended)
  Tensor splits;     // i32 [B]: ops::decode_split_counts of the KV capacities
  Tensor ptrs;       // i64 [rows, B]: lightning layer -> its states' addresses; softmax layer
                     // -> its K caches' addresses, then (next row) its V caches'
  std::vector<int64_t> row;  // global layer -> its first row in ptrs
};
// Grows every KV cache for this step's row first (so no address changes inside the step).
// The states must be distinct and at least one.
BatchStep make_batch_step(const TextConfig& cfg, const ops::DeviceContext& dev,
                          const std::vector<SequenceState*>& states, BatchAttention mode);
// Points step's tables at `table` / `ptrs` (same shapes; e.g. a captured graph's own buffers,
// filled with copies of the step's).
void rebind_batch_step(BatchStep& step, const Tensor& table, const Tensor& ptrs);

// Batched decode (TextModel::decode_batch): a holds one row per sequence, row i at
// step.states[i]'s position. The projections run once over all rows; the state update /
// cached attention runs per sequence as step.mode says (lightning: states[i]'s f32 state;
// softmax: its own KV cache, RoPE at its own position). The states are not advanced.
// Returns act [B, H].
Tensor lightning_attention_batch(const LightningWeights& w, const TextConfig& cfg, const Tensor& a,
                                 int64_t layer, const BatchStep& step);
Tensor softmax_attention_batch(const SoftmaxWeights& w, const TextConfig& cfg, const Tensor& a,
                               int64_t layer, const BatchStep& step);

// b: f32 [n, H]. Router softmax -> top-k -> renormalise -> weighted SwiGLU experts.
Tensor moe_block(const LayerWeights& w, const TextConfig& cfg, const Tensor& b);

}  // namespace mvl::llm
