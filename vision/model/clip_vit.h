// The CLIP vision transformer as MiniMax-VL-01 uses it (spec §4): patch conv without bias,
// class embedding, learned positions, pre_layrnorm, pre-LN encoder layers with biased
// attention and an MLP with the configured activation; features are taken from a configured
// layer with no post_layernorm. Only ops:: calls touch activations, so the same code runs on
// the CPU (f32) and on a CUDA device with f32 activations (CPU parity) or bf16 activations
// (HF bf16 semantics, the tuned kernels).
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/core/safetensors.h"
#include "kernels/core/tensor.h"
#include "kernels/ops/device.h"
#include "vision/config/vision_config.h"
#include "vision/model/weight_names.h"

namespace mvl::vision {

struct ClipLayerWeights {
  Tensor q_w, k_w, v_w, o_w;  // f32|bf16 [D, D]: self_attn.{q,k,v,out}_proj.weight
  Tensor q_b, k_b, v_b, o_b;  // f32|bf16 [D]:    self_attn.{q,k,v,out}_proj.bias
  // Device only (set by upload): q, k, v fused into one GEMM; q_w/k_w/v_w (and the biases)
  // then are row slices of these, so nothing is stored twice.
  Tensor qkv_w;  // bf16 [3D, D]: rows [q_proj; k_proj; v_proj]
  Tensor qkv_b;  // bf16 [3D]
  Tensor ln1_w, ln1_b;        // f32|bf16 [D]:    layer_norm1.{weight,bias}
  Tensor ln2_w, ln2_b;        // f32|bf16 [D]:    layer_norm2.{weight,bias}
  Tensor fc1_w, fc1_b;        // f32|bf16 [I, D], [I]: mlp.fc1
  Tensor fc2_w, fc2_b;        // f32|bf16 [D, I], [D]: mlp.fc2
};

struct ClipWeights {
  Tensor patch_w;          // f32|bf16 [D, C, p, p]: embeddings.patch_embedding.weight (no bias)
  Tensor class_emb;        // f32|bf16 [1, D]: embeddings.class_embedding (f32 at load; bf16 on a bf16 device)
  Tensor pos_emb;          // f32|bf16 [1 + g*g, D]: embeddings.position_embedding.weight (likewise)
  Tensor pre_ln_w, pre_ln_b;  // f32|bf16 [D]: pre_layrnorm.{weight,bias} (spelling as stored)
  std::vector<ClipLayerWeights> layers;  // only the layers up to the feature layer are loaded
};

class ClipVit {
 public:
  // feature_layer: index into [after pre_layrnorm, after layer 1, ..., after layer L]; negative
  // counts from the end (-1 = last layer, the release). Loads only the layers it needs.
  // names: where the tower's tensors live (names.tower; the vision tensor table gives the rest).
  static ClipVit load(const Checkpoint& ckpt, const VisionConfig& cfg,
                      const VisionWeightNames& names, int64_t feature_layer);

  // pixel_values: f32 [T, C, S, S] -> the feature layer's hidden states, [T, 1 + g*g, D] in the
  // activation dtype (CLS first; the caller drops it per the select strategy). bf16 activations
  // cast the pixels to bf16 first (as HF's bf16 model does). If `hidden_states` is given it
  // receives every intermediate, [T, 1 + g*g, D] each in the activation dtype: after
  // pre_layrnorm, after layer 1, ... up to the feature layer (for layer-by-layer comparisons).
  // All tiles go through every op together, attention included (one batched call).
  Tensor forward(const Tensor& pixel_values, std::vector<Tensor>* hidden_states = nullptr) const;

  // Moves every weight onto dev once: matrices and LayerNorm parameters as bf16 (as the
  // text model does; q/k/v fused into one [3D, D] matrix), the class/position embeddings as
  // f32 for f32 activations and bf16 for bf16 ones. activations: f32 | bf16 (bf16 needs a CUDA
  // device). No-op for the CPU (which runs f32).
  void upload(const ops::DeviceContext& dev, DType activations = DType::f32);

  DType activation_dtype() const { return act_; }

  // true (the default): residual adds fused into the o_proj / fc2 GEMMs and fc1's activation
  // applied in place (ops::linear_residual, ops::linear_act); false: linear, then add /
  // activation. The same numbers on the CPU and with f32 activations; bf16 on a GPU saves the
  // two residual roundings.
  void set_fused_epilogues(bool on) { fused_ = on; }

  const VisionConfig& config() const { return cfg_; }
  const ClipWeights& weights() const { return w_; }
  int64_t layers_run() const { return static_cast<int64_t>(w_.layers.size()); }

 private:
  Tensor encoder_layer(const Tensor& x, const ClipLayerWeights& l, int64_t tiles) const;
  VisionConfig cfg_;
  ClipWeights w_;
  DType act_ = DType::f32;  // activation dtype: f32, or bf16 on a CUDA device
  bool fused_ = true;       // set_fused_epilogues
};

}  // namespace mvl::vision
