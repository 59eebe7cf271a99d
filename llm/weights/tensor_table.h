// The text half's tensor table: every checkpoint tensor of a MiniMax-Text-01 backbone for a
// TextConfig, with its name under a TextWeightNaming (released VL-01, MiniMax-Text-01, or
// transformers' native layout), shape, release dtype and role. for_each_text_tensor visits them
// in checkpoint order, in the style of gemma.cpp's ForEachTensor. Loading, random weights,
// `info`'s inventory, make-tiny, parameter counts and the memory plan all walk this one table.
//
// Per-tensor rules hang on the entries, never on names: sharding over ranks picks the split
// axis from `role` (heads, KV heads, experts or vocabulary) and `out_axis` / `in_axis` /
// `expert_axis`; quantization asks `is_matrix()` (a GEMM weight with an output and an input
// axis) and `role` (e.g. keep the router or the embedding in bf16). The lightning slopes are
// not here: they are derived from the layer index (lightning_slopes), not stored.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "kernels/core/dtype.h"
#include "kernels/core/safetensors.h"
#include "kernels/core/tensor.h"
#include "llm/config/text_config.h"

namespace mvl::llm {

enum class MoeLayout {
  per_expert,  // <layer>.block_sparse_moe.experts.<e>.w1|w2|w3.weight +
               // block_sparse_moe.gate.weight (released checkpoints, and what transformers'
               // save_pretrained writes)
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

  static TextWeightNaming
  released_vl();  // language_model.model. / language_model.lm_head / per_expert
  static TextWeightNaming released_text();  // model. / lm_head / per_expert
  static TextWeightNaming native_vl();      // model.language_model. / lm_head / fused
  // THE layout detection (the engine's CheckpointLayout derives from it): the prefix is the
  // first of language_model.model., model.language_model., model. under which the checkpoint
  // has embed_tokens.weight or norm.weight; the MoE layout follows layer 0's keys, lm_head its
  // presence. nullopt when no prefix matches.
  static std::optional<TextWeightNaming> find(const std::function<bool(const std::string&)>& has);
  // find() on a checkpoint; throws Error{not_found} listing what was looked for.
  static TextWeightNaming detect(const Checkpoint& ckpt);
};

// What a tensor is. Shapes are PyTorch's, outermost first (H hidden, V vocab, nh/nkv heads,
// dh head_dim, E experts, I expert width).
enum class TextRole : uint8_t {
  embedding,            // embed_tokens [V, H], gathered by token id
  lm_head,              // [V, H] (absent when tied to the embedding)
  final_norm,           // norm [H]
  input_norm,           // layers.l.input_layernorm [H]
  post_attention_norm,  // layers.l.post_attention_layernorm [H]
  lightning_qkv,        // self_attn.qkv_proj [3*nh*dh, H], rows h*3dh + {q,k,v}*dh + d (per head)
  lightning_gate,       // self_attn.output_gate [nh*dh, H]
  lightning_out,        // self_attn.out_proj [H, nh*dh]
  lightning_norm,       // self_attn.norm [nh*dh]: one RMSNorm over all heads
  attn_q,               // self_attn.q_proj [nh*dh, H] (softmax layers)
  attn_k,               // self_attn.k_proj [nkv*dh, H]
  attn_v,               // self_attn.v_proj [nkv*dh, H]
  attn_o,               // self_attn.o_proj [H, nh*dh]
  router,               // block_sparse_moe.gate / mlp.gate [E, H]
  expert_w1,            // per expert: gate [I, H]   (MoeLayout::per_expert)
  expert_w3,            // per expert: up [I, H]
  expert_w2,            // per expert: down [H, I]
  experts_w13,          // all experts: gate_up_proj [E, 2I, H], rows [0,I) w1, [I,2I) w3 (fused)
  experts_w2,           // all experts: down_proj [E, H, I]
};
const char* text_role_name(TextRole role);  // "lightning_qkv", ...

struct TextTensor {
  std::string name;  // the checkpoint key under the visited naming
  Shape shape;
  DType dtype = DType::bf16;  // as released; loaders also accept f32 (spec §1.3)
  TextRole role = TextRole::embedding;
  int64_t layer = -1;   // decoder layer, -1 for embedding, final norm and LM head
  int64_t expert = -1;  // expert_w1/w3/w2: the expert; -1 otherwise
  // Axes by meaning (-1 = none): out_axis indexes output features (a Linear's rows; the
  // vocabulary for embedding and LM head), in_axis the features a GEMM reduces over (the
  // hidden size for the embedding too), expert_axis the experts of a fused tensor.
  int out_axis = -1;
  int in_axis = -1;
  int expert_axis = -1;
  bool is_matrix() const { return in_axis >= 0; }  // a weight that feeds a GEMM
  bool is_expert() const;                          // expert_w1/w3/w2, experts_w13/w2
};

// Calls fn for every checkpoint tensor of cfg under naming, in checkpoint order: embedding,
// final norm, LM head (unless tied), then per layer the two norms, its attention (lightning
// or softmax per cfg.layer_types), router and experts (per naming.moe). Throws
// Error{bad_format} when layer_types does not list num_hidden_layers kinds.
void for_each_text_tensor(const TextConfig& cfg, const TextWeightNaming& naming,
                          const std::function<void(const TextTensor&)>& fn);

// The key of one tensor under a naming (the same rule the visitor uses), e.g. the released
// name of the expert_w1 that the native experts_w13 of the same layer stacks.
std::string text_tensor_name(const TextWeightNaming& naming, TextRole role, int64_t layer = -1,
                             int64_t expert = -1);

}  // namespace mvl::llm
