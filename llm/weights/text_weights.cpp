// The text backbone's tensor mapping table and its loader.
#include "llm/weights/text_weights.h"

#include <cmath>

#include "kernels/core/error.h"

namespace mvl::llm {

TextWeightNaming TextWeightNaming::released_vl() {
  return {"language_model.model.", "language_model.lm_head.weight", MoeLayout::per_expert};
}
TextWeightNaming TextWeightNaming::released_text() { return {"model.", "lm_head.weight", MoeLayout::per_expert}; }
TextWeightNaming TextWeightNaming::native_vl() { return {"model.language_model.", "lm_head.weight", MoeLayout::fused}; }

TextWeightNaming TextWeightNaming::detect(const Checkpoint& ckpt) {
  TextWeightNaming n;
  const char* prefixes[] = {"language_model.model.", "model.language_model.", "model."};
  bool found = false;
  for (const char* p : prefixes) {
    if (ckpt.has(std::string(p) + "embed_tokens.weight")) {
      n.layers_prefix = p;
      found = true;
      break;
    }
  }
  MVL_CHECK(found, not_found,
            "no text embedding found: looked for language_model.model.embed_tokens.weight, "
            "model.language_model.embed_tokens.weight and model.embed_tokens.weight ({} tensors in the checkpoint)",
            ckpt.num_tensors());
  n.moe = ckpt.has(n.layers_prefix + "layers.0.mlp.experts.gate_up_proj") ? MoeLayout::fused : MoeLayout::per_expert;
  if (ckpt.has("language_model.lm_head.weight")) n.lm_head = "language_model.lm_head.weight";
  else if (ckpt.has("lm_head.weight")) n.lm_head = "lm_head.weight";
  else n.lm_head = "";
  return n;
}

Tensor lightning_slopes(int64_t layer, int64_t num_layers, int64_t num_heads) {
  std::vector<float> s(static_cast<size_t>(num_heads));
  const double factor = num_layers > 1 ? 1.0 - static_cast<double>(layer) / static_cast<double>(num_layers - 1) + 1e-5
                                       : 1.0 + 1e-5;
  const float f = static_cast<float>(factor);
  for (int64_t h = 0; h < num_heads; ++h) {
    const float base = static_cast<float>(std::pow(2.0, -8.0 * static_cast<double>(h + 1) / static_cast<double>(num_heads)));
    s[h] = base * f;
  }
  return Tensor::from_f32({num_heads}, s);
}

namespace {
// Fetches `name`, checks its shape and that its dtype is one the ops accept.
Tensor fetch(const Checkpoint& ckpt, const std::string& name, const Shape& shape) {
  MVL_CHECK(ckpt.has(name), not_found, "tensor '{}' is missing from the checkpoint", name);
  Tensor t = ckpt.get(name);
  MVL_CHECK(t.shape() == shape, shape_mismatch, "tensor '{}' has shape {} but the config implies {}", name,
            shape_str(t.shape()), shape_str(shape));
  MVL_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::bf16, unsupported,
            "tensor '{}' has dtype {}; only F32 and BF16 weights are supported", name, dtype_name(t.dtype()));
  return t;
}

// THE mapping table for one layer: checkpoint suffix -> member, with its shape.
LayerWeights bind_layer(const Checkpoint& ckpt, const TextConfig& c, const TextWeightNaming& n, int64_t l) {
  const std::string p = n.layers_prefix + "layers." + std::to_string(l) + ".";
  const int64_t H = c.hidden_size, nh = c.num_attention_heads, dh = c.head_dim, nkv = c.num_key_value_heads;
  const int64_t E = c.num_local_experts, I = c.intermediate_size;
  LayerWeights w;
  w.kind = c.layer_types.at(l);
  w.input_layernorm = fetch(ckpt, p + "input_layernorm.weight", {H});
  w.post_attention_layernorm = fetch(ckpt, p + "post_attention_layernorm.weight", {H});
  if (w.kind == AttnKind::lightning) {
    w.lightning.qkv_proj = fetch(ckpt, p + "self_attn.qkv_proj.weight", {3 * nh * dh, H});
    w.lightning.output_gate = fetch(ckpt, p + "self_attn.output_gate.weight", {nh * dh, H});
    w.lightning.out_proj = fetch(ckpt, p + "self_attn.out_proj.weight", {H, nh * dh});
    w.lightning.norm = fetch(ckpt, p + "self_attn.norm.weight", {nh * dh});
    w.lightning.slopes = lightning_slopes(l, c.num_hidden_layers, nh);
  } else {
    w.softmax.q_proj = fetch(ckpt, p + "self_attn.q_proj.weight", {nh * dh, H});
    w.softmax.k_proj = fetch(ckpt, p + "self_attn.k_proj.weight", {nkv * dh, H});
    w.softmax.v_proj = fetch(ckpt, p + "self_attn.v_proj.weight", {nkv * dh, H});
    w.softmax.o_proj = fetch(ckpt, p + "self_attn.o_proj.weight", {H, nh * dh});
  }
  w.experts.resize(static_cast<size_t>(E));
  if (n.moe == MoeLayout::per_expert) {
    w.gate = fetch(ckpt, p + "block_sparse_moe.gate.weight", {E, H});
    for (int64_t e = 0; e < E; ++e) {
      const std::string q = p + "block_sparse_moe.experts." + std::to_string(e) + ".";
      w.experts[e].w1 = fetch(ckpt, q + "w1.weight", {I, H});
      w.experts[e].w3 = fetch(ckpt, q + "w3.weight", {I, H});
      w.experts[e].w2 = fetch(ckpt, q + "w2.weight", {H, I});
    }
  } else {
    w.gate = fetch(ckpt, p + "mlp.gate.weight", {E, H});
    const Tensor gate_up = fetch(ckpt, p + "mlp.experts.gate_up_proj", {E, 2 * I, H});
    const Tensor down = fetch(ckpt, p + "mlp.experts.down_proj", {E, H, I});
    for (int64_t e = 0; e < E; ++e) {
      const Tensor ge = gate_up.select(0, e);  // [2I, H]: rows [0, I) gate (w1), [I, 2I) up (w3)
      w.experts[e].w1 = ge.slice(0, 0, I);
      w.experts[e].w3 = ge.slice(0, I, 2 * I);
      w.experts[e].w2 = down.select(0, e);
    }
  }
  return w;
}
}  // namespace

TextWeights TextWeights::load(const Checkpoint& ckpt, const TextConfig& c, const TextWeightNaming& n) {
  TextWeights w;
  w.embed_tokens = fetch(ckpt, n.layers_prefix + "embed_tokens.weight", {c.vocab_size, c.hidden_size});
  w.norm = fetch(ckpt, n.layers_prefix + "norm.weight", {c.hidden_size});
  if (!n.lm_head.empty()) {
    w.lm_head = fetch(ckpt, n.lm_head, {c.vocab_size, c.hidden_size});
  } else {
    MVL_CHECK(c.tie_word_embeddings, not_found,
              "no lm_head tensor (looked for language_model.lm_head.weight and lm_head.weight) and the config does "
              "not tie it to the embedding");
    w.lm_head = w.embed_tokens;
  }
  MVL_CHECK(static_cast<int64_t>(c.layer_types.size()) == c.num_hidden_layers, bad_format,
            "the config lists {} layer types for {} layers", c.layer_types.size(), c.num_hidden_layers);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) w.layers.push_back(bind_layer(ckpt, c, n, l));
  return w;
}

}  // namespace mvl::llm
