// The vision half's tensor table: every checkpoint tensor of the CLIP tower, the projector and
// image_newline for a VisionConfig, with its name under VisionWeightNames (released or native),
// shape, release dtype and role. for_each_vision_tensor visits them in checkpoint order, in the
// style of gemma.cpp's ForEachTensor; loading, `info`'s inventory, make-tiny, parameter counts
// and the memory plan all walk it. Per-tensor rules (sharding, quantization) key on `role`,
// `bias` and `out_axis` / `in_axis`, never on names.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "kernels/core/dtype.h"
#include "kernels/core/safetensors.h"
#include "kernels/core/tensor.h"
#include "vision/config/vision_config.h"
#include "vision/model/weight_names.h"

namespace mvl::vision {

// What a tensor is (D vision hidden, I vision FFN width, C channels, p patch, g grid side,
// T text hidden). Roles with a bias have two entries: the weight and (bias = true) the bias.
enum class VisionRole : uint8_t {
  patch_embedding,     // embeddings.patch_embedding.weight [D, C, p, p] (a conv; no bias)
  class_embedding,     // embeddings.class_embedding [D]
  position_embedding,  // embeddings.position_embedding.weight [1 + g*g, D]
  pre_norm,            // pre_layrnorm [D] + bias (spelling as stored)
  attn_q,              // encoder.layers.l.self_attn.q_proj [D, D] + bias [D]
  attn_k,              // ... k_proj
  attn_v,              // ... v_proj
  attn_out,            // ... out_proj
  norm1,               // layer_norm1 [D] + bias
  norm2,               // layer_norm2 [D] + bias
  mlp_fc1,             // mlp.fc1 [I, D] + bias [I]
  mlp_fc2,             // mlp.fc2 [D, I] + bias [D]
  projector_1,         // multi_modal_projector.linear_1 [T, D] + bias [T]
  projector_2,         // multi_modal_projector.linear_2 [T, T] + bias [T]
  image_newline,       // image_newline [T]: the row separator of packed image features
};
const char* vision_role_name(VisionRole role);  // "attn_q", ...
// projector_1, projector_2 and image_newline (the projector side, sized by the text hidden).
bool is_projector(VisionRole role);

struct VisionTensor {
  std::string name;  // the checkpoint key under the visited names
  Shape shape;
  DType dtype = DType::bf16;  // as released; loaders also accept f32
  VisionRole role = VisionRole::class_embedding;
  bool bias = false;   // the bias of a Linear or LayerNorm
  int64_t layer = -1;  // encoder layer, -1 outside the encoder
  // Axes by meaning (-1 = none): out_axis indexes output features (rows of a Linear, output
  // channels of the patch conv), in_axis what a GEMM reduces over (for the patch conv: the
  // channel axis; the conv reduces over C*p*p).
  int out_axis = -1;
  int in_axis = -1;
  bool is_matrix() const { return in_axis >= 0; }  // a weight that feeds a GEMM
};

// Calls fn for every tensor, in this order: the tower's embeddings (patch conv first) and
// pre_layrnorm, the projector and image_newline (sized by text_hidden), then every encoder
// layer.
void for_each_vision_tensor(const VisionConfig& cfg, const VisionWeightNames& names,
                            int64_t text_hidden,
                            const std::function<void(const VisionTensor&)>& fn);

// The key of one tensor under names (the same rule the visitor uses).
std::string vision_tensor_name(const VisionWeightNames& names, VisionRole role, bool bias = false,
                               int64_t layer = -1);

// t from ckpt, checked: present, of t.shape, f32 or bf16. Errors name the tensor.
Tensor load_vision_tensor(const Checkpoint& ckpt, const VisionTensor& t);

}  // namespace mvl::vision
