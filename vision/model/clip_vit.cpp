// CLIP ViT forward (see clip_vit.h). Tiles are batched through every op: row-wise ones (LayerNorm,
// linears, MLP) see [T*N, D]; attention sees [T, N, H, hd], one sequence per tile, because
// tokens never attend across tiles.
#include "vision/model/clip_vit.h"

#include <cmath>
#include <cstring>

#include "kernels/core/error.h"
#include "kernels/ops/activation.h"
#include "kernels/ops/attention.h"
#include "kernels/ops/layer_norm.h"
#include "kernels/ops/linear.h"
#include "kernels/ops/patch_embed.h"
#include "kernels/ops/tensor_ops.h"
#include "vision/model/tensor_table.h"

namespace mvl::vision {

namespace {

// The member of w a table entry binds (encoder layers must be sized first).
Tensor& clip_slot(ClipWeights& w, const VisionTensor& t) {
  const bool b = t.bias;
  if (t.layer < 0) {
    switch (t.role) {
      case VisionRole::class_embedding:
        return w.class_emb;
      case VisionRole::patch_embedding:
        return w.patch_w;
      case VisionRole::position_embedding:
        return w.pos_emb;
      case VisionRole::pre_norm:
        return b ? w.pre_ln_b : w.pre_ln_w;
      default:
        break;
    }
  } else {
    ClipLayerWeights& l = w.layers.at(static_cast<size_t>(t.layer));
    switch (t.role) {
      case VisionRole::attn_q:
        return b ? l.q_b : l.q_w;
      case VisionRole::attn_k:
        return b ? l.k_b : l.k_w;
      case VisionRole::attn_v:
        return b ? l.v_b : l.v_w;
      case VisionRole::attn_out:
        return b ? l.o_b : l.o_w;
      case VisionRole::norm1:
        return b ? l.ln1_b : l.ln1_w;
      case VisionRole::norm2:
        return b ? l.ln2_b : l.ln2_w;
      case VisionRole::mlp_fc1:
        return b ? l.fc1_b : l.fc1_w;
      case VisionRole::mlp_fc2:
        return b ? l.fc2_b : l.fc2_w;
      default:
        break;
    }
  }
  throw Error(ErrorCategory::internal,
              fmt::format("vision tensor '{}' is not part of the CLIP tower", t.name));
}

}  // namespace

ClipVit ClipVit::load(const Checkpoint& ckpt, const VisionConfig& cfg,
                      const VisionWeightNames& names, int64_t feature_layer) {
  const int64_t D = cfg.hidden_size, L = cfg.num_hidden_layers, p = cfg.patch_size;
  MVL_CHECK(D > 0 && cfg.num_attention_heads > 0 && D % cfg.num_attention_heads == 0, invalid_argument,
            "vision config: hidden_size {} is not divisible by {} heads", D, cfg.num_attention_heads);
  MVL_CHECK(p > 0 && cfg.image_size % p == 0, invalid_argument, "vision config: image_size {} is not a multiple of patch_size {}",
            cfg.image_size, p);
  // hidden_states has L + 1 entries (after pre_layrnorm, after each layer).
  const int64_t index = feature_layer < 0 ? L + 1 + feature_layer : feature_layer;
  MVL_CHECK(index >= 0 && index <= L, invalid_argument,
            "vision_feature_layer {} is out of range for a {}-layer vision tower", feature_layer, L);
  ClipVit vit;
  vit.cfg_ = cfg;
  ClipWeights& w = vit.w_;
  w.layers.resize(static_cast<size_t>(index));  // only the layers up to the feature layer
  for_each_vision_tensor(cfg, names, /*text_hidden=*/1, [&](const VisionTensor& t) {
    if (is_projector(t.role) || t.layer >= index) return;
    clip_slot(w, t) = load_vision_tensor(ckpt, t);
  });
  const std::string conv_bias =
      vision_tensor_name(names, VisionRole::patch_embedding, /*bias=*/true);
  MVL_CHECK(!ckpt.has(conv_bias), unsupported,
            "vision tensor '{}' exists but CLIP's patch conv has no bias", conv_bias);
  w.class_emb = ops::cast(w.class_emb, DType::f32).view({1, D});
  w.pos_emb = ops::cast(w.pos_emb, DType::f32);
  return vit;
}

namespace {

// Host tensors -> one host bf16 tensor with their rows stacked (each [rows_i, ...] of one width).
Tensor stack_rows_bf16(const std::vector<const Tensor*>& parts) {
  Shape shape = parts[0]->shape();
  int64_t rows = 0;
  for (const Tensor* p : parts) rows += p->dim(0);
  shape[0] = rows;
  Tensor out = Tensor::empty(shape, DType::bf16);
  auto* dst = static_cast<char*>(out.data());
  for (const Tensor* p : parts) {
    const Tensor b = ops::cast(*p, DType::bf16);  // contiguous host copy
    const size_t bytes = static_cast<size_t>(b.numel()) * dtype_size(DType::bf16);
    std::memcpy(dst, b.data(), bytes);
    dst += bytes;
  }
  return out;
}

}  // namespace

void ClipVit::upload(const ops::DeviceContext& dev, DType activations) {
  MVL_CHECK(activations == DType::f32 || activations == DType::bf16, invalid_argument,
            "vision tower: activations must be f32 or bf16, got {}", dtype_name(activations));
  MVL_CHECK(activations == DType::f32 || dev.is_cuda(), unsupported,
            "vision tower: bf16 activations need a CUDA device (the CPU runs f32)");
  if (!dev.is_cuda()) return;
  const int64_t D = cfg_.hidden_size;
  auto W = [&](Tensor& t) { t = ops::to_device_weight(t, dev); };
  W(w_.patch_w);
  // Cast to f32 at load; they are added to the activations, so they take the activation dtype
  // (bf16 as HF's bf16 model holds them; exact for the bf16 release).
  w_.class_emb = ops::to_device(ops::cast(w_.class_emb, activations), dev);
  w_.pos_emb = ops::to_device(ops::cast(w_.pos_emb, activations), dev);
  W(w_.pre_ln_w);
  W(w_.pre_ln_b);
  for (ClipLayerWeights& l : w_.layers) {
    l.qkv_w = ops::to_device_weight(stack_rows_bf16({&l.q_w, &l.k_w, &l.v_w}), dev);
    l.qkv_b = ops::to_device_weight(stack_rows_bf16({&l.q_b, &l.k_b, &l.v_b}), dev);
    l.q_w = l.qkv_w.slice(0, 0, D);
    l.k_w = l.qkv_w.slice(0, D, 2 * D);
    l.v_w = l.qkv_w.slice(0, 2 * D, 3 * D);
    l.q_b = l.qkv_b.slice(0, 0, D);
    l.k_b = l.qkv_b.slice(0, D, 2 * D);
    l.v_b = l.qkv_b.slice(0, 2 * D, 3 * D);
    for (Tensor* t : {&l.o_w, &l.o_b, &l.ln1_w, &l.ln1_b, &l.ln2_w, &l.ln2_b, &l.fc1_w, &l.fc1_b, &l.fc2_w, &l.fc2_b})
      W(*t);
  }
  act_ = activations;
}

Tensor ClipVit::encoder_layer(const Tensor& x, const ClipLayerWeights& l, int64_t tiles) const {
  const int64_t D = cfg_.hidden_size, H = cfg_.num_attention_heads, hd = D / H;
  const int64_t N = cfg_.num_positions();
  const float eps = static_cast<float>(cfg_.layer_norm_eps);
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));

  const Tensor h = ops::layer_norm(x, l.ln1_w, l.ln1_b, eps);  // act [T*N, D]
  // q, k, v: act [T, N, H, hd] each (one sequence per tile).
  Tensor q, k, v;
  if (l.qkv_w.defined()) {
    // One GEMM; q/k/v are strided views of its [T, N, 3, H, hd] output.
    const Tensor qkv = ops::linear(h, l.qkv_w, &l.qkv_b).view({tiles, N, 3, H, hd});  // act [T*N, 3D]
    q = qkv.select(2, 0);
    k = qkv.select(2, 1);
    v = qkv.select(2, 2);
  } else {
    q = ops::linear(h, l.q_w, &l.q_b).view({tiles, N, H, hd});
    k = ops::linear(h, l.k_w, &l.k_b).view({tiles, N, H, hd});
    v = ops::linear(h, l.v_w, &l.v_b).view({tiles, N, H, hd});
  }
  const Tensor attn = ops::attention(q, k, v, scale, /*causal=*/false).view({tiles * N, D});  // act [T*N, D]
  if (!fused_) {
    const Tensor x1 = ops::add(x, ops::linear(attn, l.o_w, &l.o_b));
    const Tensor h2 = ops::layer_norm(x1, l.ln2_w, l.ln2_b, eps);
    const Tensor mid = ops::activation(ops::linear(h2, l.fc1_w, &l.fc1_b), cfg_.hidden_act);
    return ops::add(x1, ops::linear(mid, l.fc2_w, &l.fc2_b));
  }
  // The same maths with the residual adds in the GEMMs' epilogues and the activation in place.
  const Tensor x1 = ops::linear_residual(attn, l.o_w, &l.o_b, x);
  const Tensor h2 = ops::layer_norm(x1, l.ln2_w, l.ln2_b, eps);
  const Tensor mid = ops::linear_act(h2, l.fc1_w, &l.fc1_b, cfg_.hidden_act);
  return ops::linear_residual(mid, l.fc2_w, &l.fc2_b, x1);
}

Tensor ClipVit::forward(const Tensor& pixel_values, std::vector<Tensor>* hidden_states) const {
  const int64_t S = cfg_.image_size, C = cfg_.num_channels, D = cfg_.hidden_size, N = cfg_.num_positions();
  MVL_CHECK(pixel_values.ndim() == 4 && pixel_values.dim(1) == C && pixel_values.dim(2) == S && pixel_values.dim(3) == S,
            shape_mismatch, "vision tower: pixel_values {} do not match [tiles, {}, {}, {}]", pixel_values.str(), C, S, S);
  const int64_t T = pixel_values.dim(0);
  MVL_CHECK(T >= 1, shape_mismatch, "vision tower: no tiles");
  // bf16 activations start from bf16 pixels (HF's bf16 model casts pixel_values to its dtype).
  const Tensor px = act_ == DType::bf16 ? ops::cast(pixel_values, DType::bf16) : pixel_values;
  const Tensor patches = ops::patch_embed(px, w_.patch_w);  // act [T, g*g, D]
  // [CLS; patches] + learned absolute positions (no interpolation: the size is fixed).
  const Tensor emb = ops::vit_embeddings(patches, w_.class_emb, w_.pos_emb);  // act [T, N, D]
  Tensor x = ops::layer_norm(emb.view({T * N, D}), w_.pre_ln_w, w_.pre_ln_b,
                             static_cast<float>(cfg_.layer_norm_eps));  // act [T*N, D]
  if (hidden_states) hidden_states->push_back(x.view({T, N, D}));
  for (const ClipLayerWeights& l : w_.layers) {
    x = encoder_layer(x, l, T);
    if (hidden_states) hidden_states->push_back(x.view({T, N, D}));
  }
  return x.view({T, N, D});
}

}  // namespace mvl::vision
