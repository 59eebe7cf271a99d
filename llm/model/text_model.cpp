// TextModel: embedding, the decoder stack with the postnorm residual rule (spec §6.3),
// final norm and lm_head, in the activation dtype chosen at load (f32, or bf16 on a GPU).
// Only ops:: calls on tensors.
#include "llm/model/text_model.h"

#include <string>

#include "kernels/core/error.h"
#include "kernels/ops/embedding.h"
#include "kernels/ops/linear.h"
#include "kernels/ops/moe.h"
#include "kernels/ops/quant.h"
#include "kernels/ops/rms_norm.h"
#include "kernels/ops/tensor_ops.h"
#include "llm/weights/random_weights.h"

namespace mvl::llm {

namespace {
// Every weight onto dev as bf16 (the lightning slopes are derived f32 and stay f32); each
// layer's experts packed once into two buffers, the per-expert weights views into them.
TextWeights upload(const TextWeights& h, const ops::DeviceContext& dev,
                   const std::function<void(size_t)>& on_upload) {
  auto done = [&](const Tensor& t) {
    if (on_upload && t.defined()) on_upload(t.nbytes());
  };
  auto W = [&](const Tensor& t) {
    if (!t.defined()) return t;
    Tensor d = t.quant() ? ops::quant_to_device(t, dev) : ops::to_device_weight(t, dev);
    done(t);
    return d;
  };
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
    o.packed = ops::pack_experts(l.experts, dev, &o.experts);
    for (const auto& e : l.experts) {
      done(e.w1);
      done(e.w3);
      done(e.w2);
    }
    d.layers.push_back(std::move(o));
  }
  return d;
}

void check_config(const TextConfig& cfg) {
  MVL_CHECK(cfg.num_attention_heads > 0 && cfg.head_dim > 0 && cfg.num_key_value_heads > 0 &&
                cfg.num_attention_heads % cfg.num_key_value_heads == 0 && cfg.block_size > 0 &&
                cfg.num_experts_per_tok >= 1 && cfg.num_experts_per_tok <= cfg.num_local_experts,
            bad_format, "text config: inconsistent heads/experts/block size");
}

// Trace callbacks always see f32.
void emit(const TraceFn& trace, const std::string& name, const Tensor& t) {
  if (trace) trace(name, t.dtype() == DType::f32 ? t : ops::cast(t, DType::f32));
}
}  // namespace

TextModel TextModel::load(const Checkpoint& ckpt, const TextConfig& cfg, const TextWeightNaming& naming,
                          const ops::DeviceContext& device, const TextLoadOptions& opts) {
  TextModel m;
  m.cfg_ = cfg;
  check_config(cfg);
  m.precision_ = ops::resolve_precision(opts.precision, device);
  m.cuda_graphs_ = opts.cuda_graphs;
  m.batch_attention_ = opts.batch_attention;
  m.w_ = in_context("loading the text model weights", [&] {
    return TextWeights::load(ckpt, cfg, naming, opts.quant, opts.stored_quant);
  });
  m.dev_ = device;
  if (device.is_cuda())
    m.w_ = in_context(fmt::format("uploading the text model weights to {}", device.device().str()),
                      [&] { return upload(m.w_, device, opts.on_upload); });
  return m;
}

TextModel TextModel::random(const TextConfig& cfg, const ops::DeviceContext& device, const TextLoadOptions& opts,
                            uint64_t seed) {
  TextModel m;
  m.cfg_ = cfg;
  check_config(cfg);
  m.precision_ = ops::resolve_precision(opts.precision, device);
  m.cuda_graphs_ = opts.cuda_graphs;
  m.batch_attention_ = opts.batch_attention;
  m.dev_ = device;
  m.w_ = in_context(fmt::format("making random text model weights on {}", device.device().str()),
                    [&] { return random_text_weights(cfg, device, seed, opts.quant); });
  return m;
}

TextModel TextModel::with_cuda_graphs(bool on) const {
  TextModel m = *this;
  m.cuda_graphs_ = on;
  return m;
}

TextModel TextModel::with_batch_attention(BatchAttention mode) const {
  TextModel m = *this;
  m.batch_attention_ = mode;
  return m;
}

Tensor TextModel::embed(const std::vector<int32_t>& ids) const { return ops::embedding(w_.embed_tokens, ids); }

Tensor TextModel::forward(Tensor x, SequenceState& state, const TraceFn& trace) const {
  const Tensor a = run_layers(
      std::move(x),
      [&](int64_t l, const LayerWeights& lw, const Tensor& in) {
        return lw.kind == AttnKind::lightning
                   ? lightning_attention(lw.lightning, cfg_, in, state.lightning_state(l))
                   : softmax_attention(lw.softmax, cfg_, in, l, state);
      },
      trace);
  state.advance(a.dim(0));
  emit(trace, "final_norm", a);
  return a;
}

Tensor TextModel::run_layers(Tensor x, const AttentionFn& attention, const TraceFn& trace) const {
  const float eps = static_cast<float>(cfg_.rms_norm_eps);
  emit(trace, "embed", x);
  // Postnorm without tracing: each residual add is fused with the norm that follows it (the
  // next layer's input norm, or the final norm), since only the normed value is used again.
  // For f32 the fused op is the same two ops, so the result is identical either way.
  const bool fuse = cfg_.postnorm && !trace;
  const int64_t L = cfg_.num_hidden_layers;
  Tensor a = ops::rms_norm(x, L > 0 ? w_.layers[0].input_layernorm : w_.norm, eps);
  for (int64_t l = 0; l < L; ++l) {
    const LayerWeights& lw = w_.layers[l];
    const bool lightning = lw.kind == AttnKind::lightning;
    const Tensor att = attention(l, lw, a);
    emit(trace, "layer." + std::to_string(l) + ".attn", att);
    // Postnorm (released): the residual is the normalised input scaled by alpha.
    const float aa = static_cast<float>(lightning ? cfg_.linear_attn_alpha : cfg_.full_attn_alpha);
    const float ab = static_cast<float>(lightning ? cfg_.linear_attn_beta : cfg_.full_attn_beta);
    Tensor y, b;
    if (cfg_.postnorm) {
      b = ops::residual_rms_norm(a, aa, att, ab, lw.post_attention_layernorm, eps);
    } else {
      y = ops::axpby(x, aa, att, ab);
      b = ops::rms_norm(y, lw.post_attention_layernorm, eps);
    }
    const Tensor m = moe_block(lw, cfg_, b);
    const Tensor& next_norm = l + 1 < L ? w_.layers[l + 1].input_layernorm : w_.norm;
    const float ma = static_cast<float>(cfg_.mlp_alpha), mb = static_cast<float>(cfg_.mlp_beta);
    if (fuse) {
      a = ops::residual_rms_norm(b, ma, m, mb, next_norm, eps);
    } else {
      x = ops::axpby(cfg_.postnorm ? b : y, ma, m, mb);
      emit(trace, "layer." + std::to_string(l) + ".hidden", x);
      a = ops::rms_norm(x, next_norm, eps);
    }
  }
  return a;
}

Tensor TextModel::lm_head(const Tensor& h) const {
  const Tensor logits = ops::linear(h, w_.lm_head);
  return logits.dtype() == DType::f32 ? logits : ops::cast(logits, DType::f32);
}

Tensor TextModel::prefill(const std::vector<Segment>& segments, SequenceState& state,
                          const PrefillOptions& opts) const {
  const DType act = activation_dtype();
  const int64_t vocab = w_.embed_tokens.dim(0);
  // Everything is checked before the first chunk runs: a bad segment never leaves the state
  // half-advanced.
  int64_t n = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    const Segment& s = segments[i];
    if (s.embeddings.defined()) {
      MVL_CHECK(s.embeddings.ndim() == 2 && s.embeddings.dim(1) == cfg_.hidden_size &&
                    (s.embeddings.dtype() == DType::f32 || s.embeddings.dtype() == DType::bf16),
                shape_mismatch, "prompt segment {}: embedding rows must be f32|bf16 [n, {}], got {}", i,
                cfg_.hidden_size, s.embeddings.str());
    } else {
      for (size_t k = 0; k < s.ids.size(); ++k)
        MVL_CHECK(s.ids[k] >= 0 && s.ids[k] < vocab, invalid_argument,
                  "prompt segment {}: token id {} at position {} is outside the vocabulary [0, {})", i, s.ids[k],
                  k, vocab);
    }
    n += s.size();
  }
  MVL_CHECK(n > 0, invalid_argument, "prefill: the prompt is empty");
  // Room for the whole prompt before the first chunk (a no-op where the caller reserved the
  // answer too): the chunks append without ever copying the caches.
  state.ensure_kv(state.position() + n);
  const int64_t chunk = opts.chunk_size > 0 ? opts.chunk_size : n;
  // The rows of prompt positions [c0, c1): id runs embedded now, embedding rows moved to the
  // model's device and dtype (sliced, so a huge image segment is never converted at once).
  size_t seg = 0;
  int64_t off = 0;  // within segments[seg]
  auto take = [&](int64_t count) {
    std::vector<Tensor> rows;
    while (count > 0) {
      const Segment& s = segments[seg];
      const int64_t m = std::min(count, s.size() - off);
      if (m > 0 && s.embeddings.defined()) {
        Tensor r = s.embeddings.slice(0, off, off + m);
        if (r.device() != dev_.device()) r = ops::to_device(r, dev_);
        rows.push_back(r.dtype() == act ? r : ops::cast(r, act));
      } else if (m > 0) {
        rows.push_back(ops::embedding(w_.embed_tokens, std::vector<int32_t>(s.ids.begin() + off, s.ids.begin() + off + m), act));
      }
      count -= m;
      off += m;
      if (off == s.size()) {
        ++seg;
        off = 0;
      }
    }
    // A fresh, contiguous tensor the layers may consume (never a view of the caller's rows).
    return rows.size() == 1 ? ops::clone(rows[0]) : ops::concat_rows(rows);
  };
  std::vector<Tensor> logits;
  for (int64_t c0 = 0; c0 < n; c0 += chunk) {
    const int64_t c1 = std::min(n, c0 + chunk);
    const Tensor h = forward(take(c1 - c0), state, opts.trace);
    if (opts.all_logits) {
      logits.push_back(lm_head(h));
      if (opts.trace) opts.trace("logits", logits.back());
    } else if (c1 == n) {
      logits.push_back(lm_head(ops::clone(h.slice(0, h.dim(0) - 1, h.dim(0)))));
      if (opts.trace) opts.trace("logits", logits.back());
    }
  }
  return logits.size() == 1 ? logits[0] : ops::concat_rows(logits);
}

Tensor TextModel::decode(int32_t token, SequenceState& state, const TraceFn& trace) const {
  if (dev_.is_cuda() && cuda_graphs_ && !trace) {
    MVL_CHECK(token >= 0 && token < cfg_.vocab_size, invalid_argument, "decode: token {} is outside the vocabulary [0, {})",
              token, cfg_.vocab_size);
    Tensor t = Tensor::empty({1}, DType::i32);
    t.data<int32_t>()[0] = token;
    return decode_graphed(ops::to_device(t, dev_), state);
  }
  return decode_rows(ops::embedding(w_.embed_tokens, std::vector<int32_t>{token}, activation_dtype()), state, trace);
}

Tensor TextModel::decode(const Tensor& token, SequenceState& state, const TraceFn& trace) const {
  MVL_CHECK(token.ndim() == 1 && token.dim(0) == 1 && token.dtype() == DType::i32, shape_mismatch,
            "decode: the token must be i32 [1], got {}", token.str());
  MVL_CHECK(token.device() == dev_.device(), invalid_argument, "decode: the token is on {} but the model on {}",
            token.device().str(), dev_.device().str());
  if (dev_.is_cuda() && cuda_graphs_ && !trace) return decode_graphed(token, state);
  return decode_rows(ops::embedding(w_.embed_tokens, token, activation_dtype()), state, trace);
}

Tensor TextModel::decode_batch(const std::vector<int32_t>& tokens,
                               const std::vector<SequenceState*>& states) const {
  const int64_t B = static_cast<int64_t>(tokens.size());
  MVL_CHECK(B > 0 && tokens.size() == states.size(), invalid_argument,
            "decode_batch: {} tokens for {} sequence states (need one token per state, at least "
            "one)",
            tokens.size(), states.size());
  for (size_t i = 0; i < states.size(); ++i) {
    MVL_CHECK(states[i] != nullptr && states[i]->device() == dev_.device(), invalid_argument,
              "decode_batch: state {} is missing or not on the model's device {}", i,
              dev_.device().str());
    for (size_t j = 0; j < i; ++j)
      MVL_CHECK(states[j] != states[i], invalid_argument,
                "decode_batch: states {} and {} are the same sequence", j, i);
  }
  if (B == 1) return decode(tokens[0], *states[0]).view({1, cfg_.vocab_size});
  if (dev_.is_cuda() && cuda_graphs_ && batch_attention_ != BatchAttention::per_sequence && B <= kMaxGraphBatch)
    return decode_batch_graphed(tokens, states);
  const Tensor x = in_context(
      "decode_batch", [&] { return ops::embedding(w_.embed_tokens, tokens, activation_dtype()); });
  return decode_batch_rows(x, make_batch_step(cfg_, dev_, states, batch_attention_));
}

Tensor TextModel::decode_batch_rows(const Tensor& x, const BatchStep& step) const {
  const Tensor h =
      run_layers(x,
                 [&](int64_t l, const LayerWeights& lw, const Tensor& in) {
                   return lw.kind == AttnKind::lightning
                              ? lightning_attention_batch(lw.lightning, cfg_, in, l, step)
                              : softmax_attention_batch(lw.softmax, cfg_, in, l, step);
                 },
                 {});
  for (SequenceState* s : step.states) s->advance(1);
  return lm_head(h);
}

Tensor TextModel::decode_rows(const Tensor& x, SequenceState& state, const TraceFn& trace) const {
  const Tensor h = forward(x, state, trace);
  const Tensor logits = lm_head(h);
  if (trace) trace("logits", logits);
  return logits.view({cfg_.vocab_size});
}

}  // namespace mvl::llm
