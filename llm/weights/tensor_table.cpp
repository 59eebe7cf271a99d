// The text half's tensor table (see tensor_table.h): names, shapes, roles and axes of every
// backbone tensor, and the layout detection.
#include "llm/weights/tensor_table.h"

#include "kernels/core/error.h"

namespace mvl::llm {

TextWeightNaming TextWeightNaming::released_vl() {
  return {"language_model.model.", "language_model.lm_head.weight", MoeLayout::per_expert};
}
TextWeightNaming TextWeightNaming::released_text() {
  return {"model.", "lm_head.weight", MoeLayout::per_expert};
}
TextWeightNaming TextWeightNaming::native_vl() {
  return {"model.language_model.", "lm_head.weight", MoeLayout::fused};
}

std::optional<TextWeightNaming> TextWeightNaming::find(
    const std::function<bool(const std::string&)>& has) {
  for (const char* p : {"language_model.model.", "model.language_model.", "model."}) {
    const std::string prefix(p);
    if (!has(prefix + "embed_tokens.weight") && !has(prefix + "norm.weight")) continue;
    TextWeightNaming n;
    n.layers_prefix = prefix;
    n.moe = has(prefix + "layers.0.mlp.experts.gate_up_proj") ? MoeLayout::fused
                                                              : MoeLayout::per_expert;
    if (has("language_model.lm_head.weight"))
      n.lm_head = "language_model.lm_head.weight";
    else if (has("lm_head.weight"))
      n.lm_head = "lm_head.weight";
    else
      n.lm_head = "";
    return n;
  }
  return std::nullopt;
}

TextWeightNaming TextWeightNaming::detect(const Checkpoint& ckpt) {
  auto n = find([&ckpt](const std::string& name) { return ckpt.has(name); });
  MVL_CHECK(n.has_value(), not_found,
            "no text embedding found: looked for language_model.model.embed_tokens.weight, "
            "model.language_model.embed_tokens.weight and model.embed_tokens.weight ({} tensors "
            "in the checkpoint)",
            ckpt.num_tensors());
  return *n;
}

const char* text_role_name(TextRole r) {
  switch (r) {
    case TextRole::embedding:
      return "embedding";
    case TextRole::lm_head:
      return "lm_head";
    case TextRole::final_norm:
      return "final_norm";
    case TextRole::input_norm:
      return "input_norm";
    case TextRole::post_attention_norm:
      return "post_attention_norm";
    case TextRole::lightning_qkv:
      return "lightning_qkv";
    case TextRole::lightning_gate:
      return "lightning_gate";
    case TextRole::lightning_out:
      return "lightning_out";
    case TextRole::lightning_norm:
      return "lightning_norm";
    case TextRole::attn_q:
      return "attn_q";
    case TextRole::attn_k:
      return "attn_k";
    case TextRole::attn_v:
      return "attn_v";
    case TextRole::attn_o:
      return "attn_o";
    case TextRole::router:
      return "router";
    case TextRole::expert_w1:
      return "expert_w1";
    case TextRole::expert_w3:
      return "expert_w3";
    case TextRole::expert_w2:
      return "expert_w2";
    case TextRole::experts_w13:
      return "experts_w13";
    case TextRole::experts_w2:
      return "experts_w2";
  }
  return "?";
}

bool TextTensor::is_expert() const {
  return role == TextRole::expert_w1 || role == TextRole::expert_w3 ||
         role == TextRole::expert_w2 || role == TextRole::experts_w13 ||
         role == TextRole::experts_w2;
}

std::string text_tensor_name(const TextWeightNaming& n, TextRole role, int64_t layer,
                             int64_t expert) {
  const std::string& g = n.layers_prefix;
  const std::string p = g + "layers." + std::to_string(layer) + ".";
  const std::string moe = n.moe == MoeLayout::fused ? "mlp." : "block_sparse_moe.";
  const std::string ex = p + "block_sparse_moe.experts." + std::to_string(expert) + ".";
  switch (role) {
    case TextRole::embedding:
      return g + "embed_tokens.weight";
    case TextRole::lm_head:
      return n.lm_head.empty() ? "lm_head.weight" : n.lm_head;
    case TextRole::final_norm:
      return g + "norm.weight";
    case TextRole::input_norm:
      return p + "input_layernorm.weight";
    case TextRole::post_attention_norm:
      return p + "post_attention_layernorm.weight";
    case TextRole::lightning_qkv:
      return p + "self_attn.qkv_proj.weight";
    case TextRole::lightning_gate:
      return p + "self_attn.output_gate.weight";
    case TextRole::lightning_out:
      return p + "self_attn.out_proj.weight";
    case TextRole::lightning_norm:
      return p + "self_attn.norm.weight";
    case TextRole::attn_q:
      return p + "self_attn.q_proj.weight";
    case TextRole::attn_k:
      return p + "self_attn.k_proj.weight";
    case TextRole::attn_v:
      return p + "self_attn.v_proj.weight";
    case TextRole::attn_o:
      return p + "self_attn.o_proj.weight";
    case TextRole::router:
      return p + moe + "gate.weight";
    case TextRole::expert_w1:
      return ex + "w1.weight";
    case TextRole::expert_w3:
      return ex + "w3.weight";
    case TextRole::expert_w2:
      return ex + "w2.weight";
    case TextRole::experts_w13:
      return p + "mlp.experts.gate_up_proj";
    case TextRole::experts_w2:
      return p + "mlp.experts.down_proj";
  }
  return "";
}

void for_each_text_tensor(const TextConfig& c, const TextWeightNaming& n,
                          const std::function<void(const TextTensor&)>& fn) {
  MVL_CHECK(static_cast<int64_t>(c.layer_types.size()) == c.num_hidden_layers, bad_format,
            "the config lists {} layer types for {} layers", c.layer_types.size(),
            c.num_hidden_layers);
  const int64_t H = c.hidden_size, nh = c.num_attention_heads, dh = c.head_dim,
                nkv = c.num_key_value_heads;
  const int64_t E = c.num_local_experts, I = c.intermediate_size, V = c.vocab_size;
  int64_t layer = -1;
  // A matrix [out, in] (Linear layout), a vector, or a fused-expert stack [E, out, in].
  auto matrix = [&](TextRole role, Shape shape, int64_t expert = -1) {
    TextTensor t;
    t.role = role;
    t.layer = layer;
    t.expert = expert;
    t.name = text_tensor_name(n, role, layer, expert);
    t.out_axis = static_cast<int>(shape.size()) - 2;
    t.in_axis = static_cast<int>(shape.size()) - 1;
    t.expert_axis = shape.size() == 3 ? 0 : -1;
    t.shape = std::move(shape);
    fn(t);
  };
  auto vector = [&](TextRole role, int64_t size) {
    TextTensor t;
    t.role = role;
    t.layer = layer;
    t.name = text_tensor_name(n, role, layer);
    t.shape = {size};
    fn(t);
  };
  matrix(TextRole::embedding, {V, H});
  vector(TextRole::final_norm, H);
  if (!c.tie_word_embeddings) matrix(TextRole::lm_head, {V, H});
  for (layer = 0; layer < c.num_hidden_layers; ++layer) {
    vector(TextRole::input_norm, H);
    vector(TextRole::post_attention_norm, H);
    if (c.layer_types[static_cast<size_t>(layer)] == AttnKind::lightning) {
      matrix(TextRole::lightning_qkv, {3 * nh * dh, H});
      matrix(TextRole::lightning_gate, {nh * dh, H});
      matrix(TextRole::lightning_out, {H, nh * dh});
      vector(TextRole::lightning_norm, nh * dh);
    } else {
      matrix(TextRole::attn_q, {nh * dh, H});
      matrix(TextRole::attn_k, {nkv * dh, H});
      matrix(TextRole::attn_v, {nkv * dh, H});
      matrix(TextRole::attn_o, {H, nh * dh});
    }
    matrix(TextRole::router, {E, H});
    if (n.moe == MoeLayout::fused) {
      matrix(TextRole::experts_w13, {E, 2 * I, H});
      matrix(TextRole::experts_w2, {E, H, I});
    } else {
      for (int64_t e = 0; e < E; ++e) {
        matrix(TextRole::expert_w1, {I, H}, e);
        matrix(TextRole::expert_w2, {H, I}, e);
        matrix(TextRole::expert_w3, {I, H}, e);
      }
    }
  }
}

}  // namespace mvl::llm
