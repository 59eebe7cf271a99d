// random_text_weights: allocation on the device (ops::empty) + ops::fill_uniform_, one derived
// seed per tensor in a fixed order, so the weights depend only on (cfg, seed).
#include "llm/weights/random_weights.h"

#include <cmath>

#include "kernels/core/error.h"
#include "kernels/cpu/random.h"
#include "kernels/ops/random.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl::llm {

namespace {

constexpr float kProjRange = 0.0346410162f;  // uniform [-a, a] with a = 0.02 * sqrt(3): std 0.02

class Filler {
 public:
  Filler(const ops::DeviceContext& dev, uint64_t seed)
      : dev_(dev), dtype_(dev.is_cuda() ? DType::bf16 : DType::f32), seed_(seed) {}
  DType dtype() const { return dtype_; }
  // A new weight of `shape` filled uniform in [lo, hi) from the next derived seed.
  Tensor make(const Shape& shape, float lo, float hi) {
    Tensor t = ops::empty(shape, dtype_, dev_);
    ops::fill_uniform_(t, cpu::derive_seed(seed_, counter_++), lo, hi);
    return t;
  }
  Tensor proj(const Shape& shape) { return make(shape, -kProjRange, kProjRange); }
  Tensor norm(int64_t n) { return make({n}, 0.9f, 1.1f); }

 private:
  const ops::DeviceContext& dev_;
  DType dtype_;
  uint64_t seed_;
  uint64_t counter_ = 0;
};

}  // namespace

TextWeights random_text_weights(const TextConfig& c, const ops::DeviceContext& dev, uint64_t seed) {
  MVL_CHECK(static_cast<int64_t>(c.layer_types.size()) == c.num_hidden_layers, bad_format,
            "the config lists {} layer types for {} layers", c.layer_types.size(),
            c.num_hidden_layers);
  const int64_t H = c.hidden_size, nh = c.num_attention_heads, dh = c.head_dim,
                nkv = c.num_key_value_heads;
  const int64_t E = c.num_local_experts, I = c.intermediate_size, V = c.vocab_size;
  MVL_CHECK(H > 0 && nh > 0 && dh > 0 && nkv > 0 && E > 0 && I > 0 && V > 0, bad_format,
            "text config: random weights need positive sizes");
  Filler f(dev, seed);
  TextWeights w;
  w.embed_tokens = f.proj({V, H});
  w.norm = f.norm(H);
  w.lm_head = c.tie_word_embeddings ? w.embed_tokens : f.proj({V, H});
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    LayerWeights y;
    y.kind = c.layer_types[l];
    y.input_layernorm = f.norm(H);
    y.post_attention_layernorm = f.norm(H);
    if (y.kind == AttnKind::lightning) {
      y.lightning.qkv_proj = f.proj({3 * nh * dh, H});
      y.lightning.output_gate = f.proj({nh * dh, H});
      y.lightning.out_proj = f.proj({H, nh * dh});
      y.lightning.norm = f.norm(nh * dh);
      const Tensor s = lightning_slopes(l, c.num_hidden_layers, nh);  // f32 [nh], host
      y.lightning.slopes = dev.is_cuda() ? ops::to_device(s, dev) : s;
    } else {
      y.softmax.q_proj = f.proj({nh * dh, H});
      y.softmax.k_proj = f.proj({nkv * dh, H});
      y.softmax.v_proj = f.proj({nkv * dh, H});
      y.softmax.o_proj = f.proj({H, nh * dh});
    }
    y.gate = f.proj({E, H});
    // Experts as the CUDA upload packs them (ops::pack_experts): w13 [E, 2I, H] with rows
    // [0, I) = w1 (gate) and [I, 2I) = w3 (up), w2 [E, H, I]; the per-expert weights are
    // views. On the CPU the same two buffers back the views and `packed` stays undefined,
    // like the fused checkpoint layout.
    const Tensor w13 = f.proj({E, 2 * I, H});
    const Tensor w2 = f.make({E, H, I}, -kProjRange, kProjRange);
    y.experts.reserve(static_cast<size_t>(E));
    for (int64_t e = 0; e < E; ++e) {
      const Tensor ge = w13.select(0, e);  // [2I, H]
      y.experts.push_back(
          ops::ExpertWeights{ge.slice(0, 0, I), ge.slice(0, I, 2 * I), w2.select(0, e)});
    }
    if (dev.is_cuda()) y.packed = ops::PackedExperts{w13, w2};
    w.layers.push_back(std::move(y));
  }
  return w;
}

int64_t text_layer_weight_bytes(const TextConfig& c, int64_t layer, DType dtype) {
  const int64_t H = c.hidden_size, nh = c.num_attention_heads, dh = c.head_dim,
                nkv = c.num_key_value_heads;
  const int64_t E = c.num_local_experts, I = c.intermediate_size;
  int64_t n = 2 * H + E * H + E * 3 * I * H;  // norms, router, experts
  int64_t slopes = 0;
  if (c.layer_types.at(layer) == AttnKind::lightning) {
    n += 5 * nh * dh * H + nh * dh;
    slopes = 4 * nh;
  } else {
    n += 2 * nh * dh * H + 2 * nkv * dh * H;
  }
  return n * static_cast<int64_t>(dtype_size(dtype)) + slopes;
}

int64_t text_global_weight_bytes(const TextConfig& c, DType dtype) {
  const int64_t n = c.vocab_size * c.hidden_size * (c.tie_word_embeddings ? 1 : 2) + c.hidden_size;
  return n * static_cast<int64_t>(dtype_size(dtype));
}

}  // namespace mvl::llm
