// TextModel: embedding, the decoder stack with the postnorm residual rule (spec §6.3),
// final norm and lm_head. Only ops:: calls on tensors.
#include "llm/model/text_model.h"

#include <string>

#include "kernels/core/error.h"
#include "kernels/ops/embedding.h"
#include "kernels/ops/linear.h"
#include "kernels/ops/rms_norm.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl::llm {

namespace {
// Every weight onto dev as bf16 (the lightning slopes are derived f32 and stay f32).
TextWeights upload(const TextWeights& h, const ops::DeviceContext& dev) {
  auto W = [&](const Tensor& t) { return t.defined() ? ops::to_device_weight(t, dev) : t; };
  TextWeights d;
  d.embed_tokens = W(h.embed_tokens);
  d.norm = W(h.norm);
  // A tied head is the embedding: upload it once.
  d.lm_head = h.lm_head.data() == h.embed_tokens.data() && h.lm_head.shape() == h.embed_tokens.shape()
                  ? d.embed_tokens
                  : W(h.lm_head);
  for (const LayerWeights& l : h.layers) {
    LayerWeights o;
    o.kind = l.kind;
    o.input_layernorm = W(l.input_layernorm);
    o.post_attention_layernorm = W(l.post_attention_layernorm);
    if (l.kind == AttnKind::lightning) {
      o.lightning = LightningWeights{W(l.lightning.qkv_proj), W(l.lightning.output_gate), W(l.lightning.out_proj),
                                     W(l.lightning.norm), ops::to_device(l.lightning.slopes, dev)};
    } else {
      o.softmax = SoftmaxWeights{W(l.softmax.q_proj), W(l.softmax.k_proj), W(l.softmax.v_proj), W(l.softmax.o_proj)};
    }
    o.gate = W(l.gate);
    for (const ops::ExpertWeights& e : l.experts) o.experts.push_back({W(e.w1), W(e.w3), W(e.w2)});
    d.layers.push_back(std::move(o));
  }
  return d;
}
}  // namespace

TextModel TextModel::load(const Checkpoint& ckpt, const TextConfig& cfg, const TextWeightNaming& naming,
                          const ops::DeviceContext& device) {
  TextModel m;
  m.cfg_ = cfg;
  MVL_CHECK(cfg.num_attention_heads > 0 && cfg.head_dim > 0 && cfg.num_key_value_heads > 0 &&
                cfg.num_attention_heads % cfg.num_key_value_heads == 0 && cfg.block_size > 0 &&
                cfg.num_experts_per_tok >= 1 && cfg.num_experts_per_tok <= cfg.num_local_experts,
            bad_format, "text config: inconsistent heads/experts/block size");
  m.w_ = in_context("loading the text model weights", [&] { return TextWeights::load(ckpt, cfg, naming); });
  m.dev_ = device;
  if (device.is_cuda())
    m.w_ = in_context(fmt::format("uploading the text model weights to {}", device.device().str()),
                      [&] { return upload(m.w_, device); });
  return m;
}

Tensor TextModel::embed(const std::vector<int32_t>& ids) const { return ops::embedding(w_.embed_tokens, ids); }

Tensor TextModel::forward(Tensor x, SequenceState& state, const TraceFn& trace) const {
  const int64_t pos0 = state.position();
  const float eps = static_cast<float>(cfg_.rms_norm_eps);
  if (trace) trace("embed", x);
  for (int64_t l = 0; l < cfg_.num_hidden_layers; ++l) {
    const LayerWeights& lw = w_.layers[l];
    const bool lightning = lw.kind == AttnKind::lightning;
    const Tensor a = ops::rms_norm(x, lw.input_layernorm, eps);
    const Tensor att = lightning ? lightning_attention(lw.lightning, cfg_, a, state.lightning_state(l))
                                 : softmax_attention(lw.softmax, cfg_, a, l, pos0, state);
    if (trace) trace("layer." + std::to_string(l) + ".attn", att);
    // Postnorm (released): the residual is the normalised input scaled by alpha.
    const float aa = static_cast<float>(lightning ? cfg_.linear_attn_alpha : cfg_.full_attn_alpha);
    const float ab = static_cast<float>(lightning ? cfg_.linear_attn_beta : cfg_.full_attn_beta);
    const Tensor y = ops::axpby(cfg_.postnorm ? a : x, aa, att, ab);
    const Tensor b = ops::rms_norm(y, lw.post_attention_layernorm, eps);
    const Tensor m = moe_block(lw, cfg_, b);
    x = ops::axpby(cfg_.postnorm ? b : y, static_cast<float>(cfg_.mlp_alpha), m, static_cast<float>(cfg_.mlp_beta));
    if (trace) trace("layer." + std::to_string(l) + ".hidden", x);
  }
  state.advance(x.dim(0));
  const Tensor h = ops::rms_norm(x, w_.norm, eps);
  if (trace) trace("final_norm", h);
  return h;
}

Tensor TextModel::prefill(const std::vector<Segment>& segments, SequenceState& state,
                          const PrefillOptions& opts) const {
  std::vector<Tensor> rows;
  for (size_t i = 0; i < segments.size(); ++i) {
    const Segment& s = segments[i];
    if (s.embeddings.defined()) {
      MVL_CHECK(s.embeddings.ndim() == 2 && s.embeddings.dim(1) == cfg_.hidden_size &&
                    s.embeddings.dtype() == DType::f32,
                shape_mismatch, "prompt segment {}: embedding rows must be f32 [n, {}], got {}", i, cfg_.hidden_size,
                s.embeddings.str());
      if (s.embeddings.dim(0) > 0)
        rows.push_back(s.embeddings.device() == dev_.device() ? s.embeddings : ops::to_device(s.embeddings, dev_));
    } else if (!s.ids.empty()) {
      rows.push_back(in_context(fmt::format("prompt segment {}", i), [&] { return embed(s.ids); }));
    }
  }
  MVL_CHECK(!rows.empty(), invalid_argument, "prefill: the prompt is empty");
  const Tensor x = rows.size() == 1 ? ops::clone(rows[0]) : ops::concat_rows(rows);
  const int64_t n = x.dim(0);
  const int64_t chunk = opts.chunk_size > 0 ? opts.chunk_size : n;
  std::vector<Tensor> logits;
  for (int64_t c0 = 0; c0 < n; c0 += chunk) {
    const int64_t c1 = std::min(n, c0 + chunk);
    const Tensor h = forward(ops::clone(x.slice(0, c0, c1)), state, opts.trace);
    if (opts.all_logits) {
      logits.push_back(ops::linear(h, w_.lm_head));
      if (opts.trace) opts.trace("logits", logits.back());
    } else if (c1 == n) {
      logits.push_back(ops::linear(ops::clone(h.slice(0, h.dim(0) - 1, h.dim(0))), w_.lm_head));
      if (opts.trace) opts.trace("logits", logits.back());
    }
  }
  return logits.size() == 1 ? logits[0] : ops::concat_rows(logits);
}

Tensor TextModel::decode(int32_t token, SequenceState& state, const TraceFn& trace) const {
  return decode_rows(embed({token}), state, trace);
}

Tensor TextModel::decode(const Tensor& token, SequenceState& state, const TraceFn& trace) const {
  MVL_CHECK(token.ndim() == 1 && token.dim(0) == 1 && token.dtype() == DType::i32, shape_mismatch,
            "decode: the token must be i32 [1], got {}", token.str());
  MVL_CHECK(token.device() == dev_.device(), invalid_argument, "decode: the token is on {} but the model on {}",
            token.device().str(), dev_.device().str());
  return decode_rows(ops::embedding(w_.embed_tokens, token), state, trace);
}

Tensor TextModel::decode_rows(const Tensor& x, SequenceState& state, const TraceFn& trace) const {
  const Tensor h = forward(x, state, trace);
  const Tensor logits = ops::linear(h, w_.lm_head);
  if (trace) trace("logits", logits);
  return logits.view({cfg_.vocab_size});
}

}  // namespace mvl::llm
