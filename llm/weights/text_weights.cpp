// TextWeights::load and the role -> member binding; the names and shapes come from the
// text tensor table (tensor_table.cpp).
#include "llm/weights/text_weights.h"

#include <cmath>

#include "kernels/core/error.h"
#include "kernels/ops/quant.h"
#include "llm/weights/quant_checkpoint.h"

namespace mvl::llm {

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

}  // namespace

TextWeights TextWeights::skeleton(const TextConfig& c) {
  MVL_CHECK(static_cast<int64_t>(c.layer_types.size()) == c.num_hidden_layers, bad_format,
            "the config lists {} layer types for {} layers", c.layer_types.size(),
            c.num_hidden_layers);
  TextWeights w;
  w.layers.resize(static_cast<size_t>(c.num_hidden_layers));
  for (size_t l = 0; l < w.layers.size(); ++l) {
    w.layers[l].kind = c.layer_types[l];
    w.layers[l].experts.resize(static_cast<size_t>(c.num_local_experts));
  }
  return w;
}

Tensor& text_weight_slot(TextWeights& w, const TextTensor& t) {
  auto layer = [&]() -> LayerWeights& { return w.layers.at(static_cast<size_t>(t.layer)); };
  auto expert = [&]() -> ops::ExpertWeights& {
    return layer().experts.at(static_cast<size_t>(t.expert));
  };
  switch (t.role) {
    case TextRole::embedding:
      return w.embed_tokens;
    case TextRole::lm_head:
      return w.lm_head;
    case TextRole::final_norm:
      return w.norm;
    case TextRole::input_norm:
      return layer().input_layernorm;
    case TextRole::post_attention_norm:
      return layer().post_attention_layernorm;
    case TextRole::lightning_qkv:
      return layer().lightning.qkv_proj;
    case TextRole::lightning_gate:
      return layer().lightning.output_gate;
    case TextRole::lightning_out:
      return layer().lightning.out_proj;
    case TextRole::lightning_norm:
      return layer().lightning.norm;
    case TextRole::attn_q:
      return layer().softmax.q_proj;
    case TextRole::attn_k:
      return layer().softmax.k_proj;
    case TextRole::attn_v:
      return layer().softmax.v_proj;
    case TextRole::attn_o:
      return layer().softmax.o_proj;
    case TextRole::router:
      return layer().gate;
    case TextRole::expert_w1:
      return expert().w1;
    case TextRole::expert_w3:
      return expert().w3;
    case TextRole::expert_w2:
      return expert().w2;
    case TextRole::experts_w13:
    case TextRole::experts_w2:
      break;
  }
  throw Error(ErrorCategory::internal, fmt::format("tensor '{}' ({}) has no member of its own",
                                                   t.name, text_role_name(t.role)));
}

void TableBinder::bind(const TextTensor& t, Tensor v) {
  if (t.role == TextRole::experts_w13)
    w13.at(static_cast<size_t>(t.layer)) = std::move(v);
  else if (t.role == TextRole::experts_w2)
    w2.at(static_cast<size_t>(t.layer)) = std::move(v);
  else
    text_weight_slot(weights, t) = std::move(v);
}

std::vector<ops::ExpertWeights> fused_expert_views(const Tensor& w13, const Tensor& w2) {
  const int64_t E = w13.dim(0), I = w13.dim(1) / 2, H = w13.dim(2);
  std::vector<ops::ExpertWeights> v;
  v.reserve(static_cast<size_t>(E));
  for (int64_t e = 0; e < E; ++e) {
    if (w13.quant()) {  // codes + per-row scales: each expert's rows of the stacked matrices
      v.push_back(ops::ExpertWeights{ops::quant_rows(w13, e * 2 * I, e * 2 * I + I, {I, H}),
                                     ops::quant_rows(w13, e * 2 * I + I, (e + 1) * 2 * I, {I, H}),
                                     ops::quant_rows(w2, e * H, (e + 1) * H, {H, I})});
      continue;
    }
    const Tensor ge = w13.select(0, e);  // [2I, H]: rows [0, I) gate (w1), [I, 2I) up (w3)
    v.push_back(ops::ExpertWeights{ge.slice(0, 0, I), ge.slice(0, I, 2 * I), w2.select(0, e)});
  }
  return v;
}

TextWeights TextWeights::load(const Checkpoint& ckpt, const TextConfig& c, const TextWeightNaming& n,
                              QuantScheme quant, QuantScheme stored) {
  MVL_CHECK(stored == QuantScheme::none || quant == QuantScheme::none || quant == stored,
            unsupported,
            "the checkpoint is already quantized ({}); drop --quant {} or quantize the bf16 "
            "checkpoint instead",
            quant_scheme_name(stored), quant_scheme_name(quant));
  MVL_CHECK(c.tie_word_embeddings || !n.lm_head.empty(), not_found,
            "no lm_head tensor (looked for language_model.lm_head.weight and lm_head.weight) and "
            "the config does "
            "not tie it to the embedding");
  TextWeights w = skeleton(c);
  TableBinder binder(w);  // fused layouts' experts wait in binder.w13 / binder.w2
  std::vector<Tensor>& w13 = binder.w13;
  std::vector<Tensor>& w2 = binder.w2;
  WeightFormat fused_format = WeightFormat::plain;
  for_each_text_tensor(c, n, [&](const TextTensor& t) {
    const WeightFormat sf = quant_format_of(t, stored);
    if (sf != WeightFormat::plain) {  // stored quantized: codes + scales as written, no re-quant
      binder.bind(t, read_quantized_weight(ckpt, t.name, t.shape, sf));
      return;
    }
    Tensor v = fetch(ckpt, t.name, t.shape);
    const WeightFormat f = quant_format_of(t, quant);
    if (t.role == TextRole::experts_w13 || t.role == TextRole::experts_w2) fused_format = f;
    else if (f != WeightFormat::plain)
      v = in_context(fmt::format("quantizing '{}' to {}", t.name, weight_format_name(f)),
                     [&] { return ops::quantize_weight(v, f); });
    binder.bind(t, std::move(v));
  });
  // A tied config still takes a stored LM head when the checkpoint has one.
  if (c.tie_word_embeddings)
    w.lm_head =
        n.lm_head.empty() ? w.embed_tokens : fetch(ckpt, n.lm_head, {c.vocab_size, c.hidden_size});
  for (size_t l = 0; l < w.layers.size(); ++l) {
    LayerWeights& y = w.layers[l];
    if (y.kind == AttnKind::lightning)
      y.lightning.slopes =
          lightning_slopes(static_cast<int64_t>(l), c.num_hidden_layers, c.num_attention_heads);
    if (n.moe == MoeLayout::fused && w13[l].quant()) {  // stored quantized: cut rows per expert
      y.experts = fused_expert_views(w13[l], w2[l]);
    } else if (n.moe == MoeLayout::fused) {
      y.experts = fused_expert_views(w13[l], w2[l]);
      if (fused_format != WeightFormat::plain) {
        for (auto& e : y.experts)
          for (Tensor* t : {&e.w1, &e.w3, &e.w2}) *t = ops::quantize_weight(*t, fused_format);
        w13[l] = Tensor();  // the per-expert quantized copies are all that is kept
        w2[l] = Tensor();
      }
    }
  }
  return w;
}

}  // namespace mvl::llm
