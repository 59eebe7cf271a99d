// TextWeights: every tensor of the MiniMax-Text-01 backbone, bound by its checkpoint name.
// One mapping table (text_weights.cpp, bind_layer/bind_globals) lists each tensor under
// the released names; TextWeightNaming supplies the outer prefix and the MoE layout so
// the same table serves the released VL-01 checkpoint, MiniMax-Text-01(-hf) and
// transformers' native state dicts. Tensors stay zero-copy views into the mmapped files.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kernels/core/safetensors.h"
#include "kernels/ops/moe.h"
#include "llm/config/text_config.h"

namespace mvl::llm {

enum class MoeLayout {
  per_expert,  // <layer>.block_sparse_moe.experts.<e>.w1|w2|w3.weight + block_sparse_moe.gate.weight
               // (released checkpoints, and what transformers' save_pretrained writes)
  fused,       // <layer>.mlp.experts.gate_up_proj [E, 2I, H] (rows 0..I-1 = w1, I..2I-1 = w3),
               // <layer>.mlp.experts.down_proj [E, H, I], <layer>.mlp.gate.weight
               // (transformers' in-memory state_dict / native VL-01 conversion)
};

struct TextWeightNaming {
  // "language_model.model." (released VL-01), "model." (MiniMax-Text-01 and transformers
  // MiniMaxForCausalLM), "model.language_model." (native VL-01).
  std::string layers_prefix = "language_model.model.";
  // "language_model.lm_head.weight" | "lm_head.weight"; "" = tied to the embedding.
  std::string lm_head = "language_model.lm_head.weight";
  MoeLayout moe = MoeLayout::per_expert;

  static TextWeightNaming released_vl();    // language_model.model. / language_model.lm_head / per_expert
  static TextWeightNaming released_text();  // model. / lm_head / per_expert
  static TextWeightNaming native_vl();      // model.language_model. / lm_head / fused
  // Finds the naming a checkpoint uses (prefix by its embed_tokens key, MoE layout by layer
  // 0's keys, lm_head by presence). Throws Error{not_found} listing what was looked for.
  static TextWeightNaming detect(const Checkpoint& ckpt);
};

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

  // Binds and shape-checks every tensor; errors name the tensor and both shapes.
  static TextWeights load(const Checkpoint& ckpt, const TextConfig& cfg, const TextWeightNaming& naming);
};

// s_{l,h} = f32(f32(2^(-8(h+1)/nh)) * f32(1 - l/(L-1) + 1e-5)) (spec §6.4.2, released formula,
// global layer index l counting softmax layers). Returns f32 [nh].
Tensor lightning_slopes(int64_t layer, int64_t num_layers, int64_t num_heads);

}  // namespace mvl::llm
