// The vision half's tensor table (see tensor_table.h).
#include "vision/model/tensor_table.h"

#include "kernels/core/error.h"

namespace mvl::vision {

const char* vision_role_name(VisionRole r) {
  switch (r) {
    case VisionRole::class_embedding:
      return "class_embedding";
    case VisionRole::patch_embedding:
      return "patch_embedding";
    case VisionRole::position_embedding:
      return "position_embedding";
    case VisionRole::pre_norm:
      return "pre_norm";
    case VisionRole::attn_q:
      return "attn_q";
    case VisionRole::attn_k:
      return "attn_k";
    case VisionRole::attn_v:
      return "attn_v";
    case VisionRole::attn_out:
      return "attn_out";
    case VisionRole::norm1:
      return "norm1";
    case VisionRole::norm2:
      return "norm2";
    case VisionRole::mlp_fc1:
      return "mlp_fc1";
    case VisionRole::mlp_fc2:
      return "mlp_fc2";
    case VisionRole::projector_1:
      return "projector_1";
    case VisionRole::projector_2:
      return "projector_2";
    case VisionRole::image_newline:
      return "image_newline";
  }
  return "?";
}

bool is_projector(VisionRole r) {
  return r == VisionRole::projector_1 || r == VisionRole::projector_2 ||
         r == VisionRole::image_newline;
}

std::string vision_tensor_name(const VisionWeightNames& n, VisionRole role, bool bias,
                               int64_t layer) {
  const std::string wb = bias ? ".bias" : ".weight";
  const std::string e = n.tower + "embeddings.";
  const std::string l = n.tower + "encoder.layers." + std::to_string(layer) + ".";
  switch (role) {
    case VisionRole::class_embedding:
      return e + "class_embedding";
    case VisionRole::patch_embedding:
      return e + "patch_embedding" + wb;
    case VisionRole::position_embedding:
      return e + "position_embedding" + wb;
    case VisionRole::pre_norm:
      return n.tower + "pre_layrnorm" + wb;
    case VisionRole::attn_q:
      return l + "self_attn.q_proj" + wb;
    case VisionRole::attn_k:
      return l + "self_attn.k_proj" + wb;
    case VisionRole::attn_v:
      return l + "self_attn.v_proj" + wb;
    case VisionRole::attn_out:
      return l + "self_attn.out_proj" + wb;
    case VisionRole::norm1:
      return l + "layer_norm1" + wb;
    case VisionRole::norm2:
      return l + "layer_norm2" + wb;
    case VisionRole::mlp_fc1:
      return l + "mlp.fc1" + wb;
    case VisionRole::mlp_fc2:
      return l + "mlp.fc2" + wb;
    case VisionRole::projector_1:
      return n.projector + "linear_1" + wb;
    case VisionRole::projector_2:
      return n.projector + "linear_2" + wb;
    case VisionRole::image_newline:
      return n.image_newline;
  }
  return "";
}

void for_each_vision_tensor(const VisionConfig& c, const VisionWeightNames& n, int64_t text_hidden,
                            const std::function<void(const VisionTensor&)>& fn) {
  const int64_t D = c.hidden_size, I = c.intermediate_size, T = text_hidden, p = c.patch_size;
  int64_t layer = -1;
  auto emit = [&](VisionRole role, bool bias, Shape shape, int out_axis, int in_axis) {
    VisionTensor t;
    t.name = vision_tensor_name(n, role, bias, layer);
    t.shape = std::move(shape);
    t.role = role;
    t.bias = bias;
    t.layer = layer;
    t.out_axis = out_axis;
    t.in_axis = in_axis;
    fn(t);
  };
  auto vector = [&](VisionRole role, bool bias, int64_t size) { emit(role, bias, {size}, -1, -1); };
  // A Linear: weight [out, in] and bias [out].
  auto linear = [&](VisionRole role, int64_t out, int64_t in) {
    emit(role, false, {out, in}, 0, 1);
    vector(role, true, out);
  };
  auto norm = [&](VisionRole role, int64_t size) {
    vector(role, false, size);
    vector(role, true, size);
  };
  emit(VisionRole::patch_embedding, false, {D, c.num_channels, p, p}, 0, 1);
  vector(VisionRole::class_embedding, false, D);
  emit(VisionRole::position_embedding, false, {c.num_positions(), D}, -1, -1);
  norm(VisionRole::pre_norm, D);
  linear(VisionRole::projector_1, T, D);
  linear(VisionRole::projector_2, T, T);
  vector(VisionRole::image_newline, false, T);
  for (layer = 0; layer < c.num_hidden_layers; ++layer) {
    linear(VisionRole::attn_q, D, D);
    linear(VisionRole::attn_k, D, D);
    linear(VisionRole::attn_v, D, D);
    linear(VisionRole::attn_out, D, D);
    norm(VisionRole::norm1, D);
    norm(VisionRole::norm2, D);
    linear(VisionRole::mlp_fc1, I, D);
    linear(VisionRole::mlp_fc2, D, I);
  }
}

Tensor load_vision_tensor(const Checkpoint& ckpt, const VisionTensor& t) {
  MVL_CHECK(ckpt.has(t.name), not_found, "vision tensor '{}' is missing from the checkpoint",
            t.name);
  Tensor v = ckpt.get(t.name);
  check_shape(v, t.shape, t.name);
  MVL_CHECK(v.dtype() == DType::f32 || v.dtype() == DType::bf16, unsupported,
            "vision tensor '{}' has dtype {} (f32 or bf16 expected)", t.name,
            dtype_name(v.dtype()));
  return v;
}

}  // namespace mvl::vision
