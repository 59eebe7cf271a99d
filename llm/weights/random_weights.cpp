// random_text_weights: the text tensor table walked in its (fused-expert) order, each tensor
// allocated on the device (ops::empty) + ops::fill_uniform_ from its own derived seed, so the
// weights depend only on (cfg, seed).
#include "llm/weights/random_weights.h"

#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "kernels/core/error.h"
#include "kernels/cpu/random.h"
#include "kernels/ops/quant.h"
#include "kernels/ops/random.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl::llm {

namespace {

constexpr float kProjRange = 0.0346410162f;  // uniform [-a, a] with a = 0.02 * sqrt(3): std 0.02

bool is_norm(const TextTensor& t) {
  return t.role == TextRole::final_norm || t.role == TextRole::input_norm ||
         t.role == TextRole::post_attention_norm || t.role == TextRole::lightning_norm;
}

// Table entry number `index` (native_vl order) of a random model: on dev (bf16 on a GPU, f32
// on the CPU), uniform from the entry's own derived seed, so it depends only on (cfg, seed).
Tensor random_entry(const TextTensor& t, uint64_t index, const ops::DeviceContext& dev,
                    uint64_t seed) {
  Tensor v = ops::empty(t.shape, dev.is_cuda() ? DType::bf16 : DType::f32, dev);
  const bool norm = is_norm(t);
  ops::fill_uniform_(v, cpu::derive_seed(seed, index), norm ? 0.9f : -kProjRange,
                     norm ? 1.1f : kProjRange);
  return v;
}

void check_sizes(const TextConfig& c) {
  MVL_CHECK(c.hidden_size > 0 && c.num_attention_heads > 0 && c.head_dim > 0 &&
                c.num_key_value_heads > 0 && c.num_local_experts > 0 && c.intermediate_size > 0 &&
                c.vocab_size > 0,
            bad_format, "text config: random weights need positive sizes");
}

}  // namespace

TextWeights random_text_weights(const TextConfig& c, const ops::DeviceContext& dev, uint64_t seed,
                                QuantScheme quant) {
  TextWeights w = TextWeights::skeleton(c);
  check_sizes(c);
  uint64_t index = 0;
  // Experts as the CUDA upload packs them (ops::pack_experts), which is the fused table:
  // w13 [E, 2I, H] with rows [0, I) = w1 (gate) and [I, 2I) = w3 (up), w2 [E, H, I]; the
  // per-expert weights are views. On the CPU the same two buffers back the views and `packed`
  // stays undefined, like the fused checkpoint layout. One derived seed per tensor in table order.
  TableBinder binder(w);
  std::vector<Tensor>& w13 = binder.w13;
  std::vector<Tensor>& w2 = binder.w2;
  for_each_text_tensor(c, TextWeightNaming::native_vl(), [&](const TextTensor& t) {
    Tensor v = random_entry(t, index++, dev, seed);
    const WeightFormat qf = quant_format_of(t, quant);
    if (qf != WeightFormat::plain) v = ops::quantize_weight(v, qf);
    binder.bind(t, std::move(v));
  });
  if (c.tie_word_embeddings) w.lm_head = w.embed_tokens;
  for (size_t l = 0; l < w.layers.size(); ++l) {
    LayerWeights& y = w.layers[l];
    if (y.kind == AttnKind::lightning) {
      const Tensor s = lightning_slopes(static_cast<int64_t>(l), c.num_hidden_layers,
                                        c.num_attention_heads);  // f32 [nh], host
      y.lightning.slopes = dev.is_cuda() ? ops::to_device(s, dev) : s;
    }
    y.experts = fused_expert_views(w13[l], w2[l]);
    if (dev.is_cuda()) y.packed = ops::PackedExperts{w13[l], w2[l]};
  }
  return w;
}

std::function<Tensor(const TextTensor&)> random_text_source(const TextConfig& c,
                                                           const ops::DeviceContext& dev,
                                                           uint64_t seed) {
  check_sizes(c);
  auto index = std::make_shared<std::map<std::string, uint64_t>>();
  for_each_text_tensor(c, TextWeightNaming::native_vl(), [&](const TextTensor& t) {
    index->emplace(t.name, index->size());
  });
  return [index, dev, seed](const TextTensor& t) {
    const auto it = index->find(t.name);
    MVL_CHECK(it != index->end(), not_found,
              "random weights: '{}' is not a tensor of the fused (native) table", t.name);
    return random_entry(t, it->second, dev, seed);
  };
}

namespace {
// Bytes of the table entries `keep` selects at element size `dtype` (layout-independent:
// the fused table has the fewest entries).
int64_t table_bytes(const TextConfig& c, DType dtype, QuantScheme quant,
                    const std::function<bool(const TextTensor&)>& keep) {
  int64_t n = 0;
  for_each_text_tensor(c, TextWeightNaming::native_vl(), [&](const TextTensor& t) {
    if (keep(t))
      n += static_cast<int64_t>(quantized_bytes(t.shape, std::max(t.in_axis, 0),
                                                quant_format_of(t, quant), dtype_size(dtype)));
  });
  return n;
}
}  // namespace

int64_t text_layer_weight_bytes(const TextConfig& c, int64_t layer, DType dtype, QuantScheme quant) {
  const int64_t slopes =
      c.layer_types.at(layer) == AttnKind::lightning ? 4 * c.num_attention_heads : 0;
  return table_bytes(c, dtype, quant, [layer](const TextTensor& t) { return t.layer == layer; }) +
         slopes;
}

int64_t text_global_weight_bytes(const TextConfig& c, DType dtype, QuantScheme quant) {
  return table_bytes(c, dtype, quant, [](const TextTensor& t) { return t.layer < 0; });
}

}  // namespace mvl::llm
