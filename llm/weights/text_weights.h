// TextWeights: every tensor of the MiniMax-Text-01 backbone, bound by its checkpoint name.
// The names and shapes come from the text tensor table (tensor_table.h), walked under a
// TextWeightNaming, so one table serves the released VL-01 checkpoint, MiniMax-Text-01(-hf)
// and transformers' native state dicts; text_weights.cpp only says which member each role
// fills. Tensors stay zero-copy views into the mmapped files.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kernels/core/safetensors.h"
#include "kernels/ops/moe.h"
#include "llm/config/text_config.h"
#include "llm/weights/quant_rule.h"
#include "llm/weights/tensor_table.h"

namespace mvl::llm {

struct LightningWeights {
  Tensor qkv_proj;     // f32|bf16 [3*nh*dh, H], rows h*3dh + {q,k,v}*dh + d (per-head interleaved)
  Tensor output_gate;  // f32|bf16 [nh*dh, H]
  Tensor out_proj;     // f32|bf16 [H, nh*dh]
  Tensor norm;         // f32|bf16 [nh*dh]  one RMSNorm over all heads, eps lightning_norm_eps
  Tensor slopes;       // f32 [nh] derived, not in the checkpoint: s_h for this layer's global index
};

struct SoftmaxWeights {
  Tensor q_proj;  // f32|bf16 [nh*dh, H]
  Tensor k_proj;  // f32|bf16 [nkv*dh, H]
  Tensor v_proj;  // f32|bf16 [nkv*dh, H]
  Tensor o_proj;  // f32|bf16 [H, nh*dh]
};

struct LayerWeights {
  AttnKind kind = AttnKind::lightning;
  Tensor input_layernorm;           // f32|bf16 [H]
  Tensor post_attention_layernorm;  // f32|bf16 [H]
  LightningWeights lightning;       // set when kind == lightning
  SoftmaxWeights softmax;           // set when kind == softmax
  Tensor gate;                      // f32|bf16 [E, H] router (block_sparse_moe.gate / mlp.gate)
  std::vector<ops::ExpertWeights> experts;  // E entries: w1, w3 [I, H], w2 [H, I] (views into fused tensors,
                                            // or on a GPU into `packed`)
  ops::PackedExperts packed;  // GPU only: bf16 w13 [E, 2I, H], w2 [E, H, I], every expert packed once
};

struct TextWeights {
  Tensor embed_tokens;  // f32|bf16 [V, H]
  Tensor norm;          // f32|bf16 [H] final RMSNorm
  Tensor lm_head;       // f32|bf16 [V, H] (the embedding when tied)
  std::vector<LayerWeights> layers;

  // Binds and shape-checks every tensor; errors name the tensor and both shapes. With a
  // quantization scheme (quant_rule.h) each tensor the rule picks is quantized on the host as
  // it is read (ops/quant.h), one tensor at a time: only the quantized copy is kept, the
  // mmapped original is not (a fused experts tensor is quantized expert by expert).
  // `stored`: the scheme the checkpoint was written in by `minimax-vl quantize`
  // (quant_checkpoint.h): those tensors are read as stored, never re-quantized; a different
  // --quant on such a checkpoint is refused (Error{unsupported}).
  static TextWeights load(const Checkpoint& ckpt, const TextConfig& cfg, const TextWeightNaming& naming,
                          QuantScheme quant = QuantScheme::none,
                          QuantScheme stored = QuantScheme::none);
  // No tensors yet: one LayerWeights per layer with its kind and E (empty) experts, the
  // shape text_weight_slot fills.
  static TextWeights skeleton(const TextConfig& cfg);
};

// The member of w that a per-tensor table entry binds (e.g. expert_w1 of layer l, expert e ->
// w.layers[l].experts[e].w1). Fused entries (experts_w13, experts_w2) have no member of their
// own: fused_expert_views splits them. w must come from TextWeights::skeleton.
Tensor& text_weight_slot(TextWeights& w, const TextTensor& t);

// Binding a table walk: the fused experts of each layer (experts_w13 [E, 2I, H], experts_w2
// [E, H, I]) are kept here until the walk ends and the layer's experts are cut from them;
// every other entry goes to its text_weight_slot.
struct TableBinder {
  explicit TableBinder(TextWeights& w) : weights(w), w13(w.layers.size()), w2(w.layers.size()) {}
  void bind(const TextTensor& t, Tensor v);

  TextWeights& weights;         // from TextWeights::skeleton
  std::vector<Tensor> w13, w2;  // per layer; undefined for the per-expert layout
};

// Per-expert views into a layer's fused experts: w13 [E, 2I, H] (rows [0, I) = w1, [I, 2I) =
// w3 per expert) and w2 [E, H, I], plain or quantized (ops::quant_rows of the codes and scales).
std::vector<ops::ExpertWeights> fused_expert_views(const Tensor& w13, const Tensor& w2);

// s_{l,h} = f32(f32(2^(-8(h+1)/nh)) * f32(1 - l/(L-1) + 1e-5)) (spec §6.4.2, released formula,
// global layer index l counting softmax layers). Returns f32 [nh].
Tensor lightning_slopes(int64_t layer, int64_t num_layers, int64_t num_heads);

}  // namespace mvl::llm
