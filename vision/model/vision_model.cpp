// VisionModel (see vision_model.h).
#include "vision/model/vision_model.h"

#include "kernels/core/error.h"
#include "kernels/ops/tensor_ops.h"
#include "vision/model/packing.h"
#include "vision/model/tensor_table.h"

namespace mvl::vision {

VisionModel VisionModel::load(const Checkpoint& ckpt, const VisionConfig& cfg, const VisionModelOptions& opts,
                              const VisionWeightNames& names, const ops::DeviceContext& device) {
  MVL_CHECK(opts.select_strategy == "default", unsupported,
            "vision_feature_select_strategy '{}' is not supported (the anyres packing needs 'default', which drops CLS)",
            opts.select_strategy);
  VisionModel m;
  m.opts_ = opts;
  m.vit_ = ClipVit::load(ckpt, cfg, names, opts.feature_layer);
  m.vit_.set_fused_epilogues(opts.fused_epilogues);
  m.projector_ = Projector::load(ckpt, cfg, names, opts.text_hidden, opts.projector_act);
  Tensor nl;  // f32|bf16 [text_hidden]
  for_each_vision_tensor(cfg, names, opts.text_hidden, [&](const VisionTensor& t) {
    if (t.role == VisionRole::image_newline) nl = load_vision_tensor(ckpt, t);
  });
  const DType act = opts.activations.value_or(device.is_cuda() ? DType::bf16 : DType::f32);
  MVL_CHECK(act == DType::f32 || act == DType::bf16, invalid_argument,
            "vision model: activations must be f32 or bf16, got {}", dtype_name(act));
  MVL_CHECK(act == DType::f32 || device.is_cuda(), unsupported,
            "vision model: bf16 activations need a CUDA device; the CPU runs f32 (choose f32 precision)");
  // HF's bf16 model holds image_newline in bf16: round it so the packed rows match (exact for
  // the bf16 release).
  m.newline_ = act == DType::bf16 ? ops::cast(ops::cast(nl, DType::bf16), DType::f32) : ops::cast(nl, DType::f32);
  m.dev_ = device;
  if (device.is_cuda()) {
    in_context(fmt::format("uploading the vision model weights to {}", device.device().str()), [&] {
      m.vit_.upload(device, act);
      m.projector_.upload(device, act);
      m.newline_ = ops::to_device(m.newline_, device);
      return 0;
    });
  }
  return m;
}

Tensor VisionModel::on_device(const Tensor& t) const {
  return t.device() == dev_.device() ? t : ops::to_device(t, dev_);
}

Tensor VisionModel::vit_rows(const Tensor& pixel_values, bool widen) const {
  const Tensor up = on_device(pixel_values);
  const Tensor pixels = opts_.bf16_pixels ? ops::cast(ops::cast(up, DType::bf16), DType::f32) : up;
  const Tensor hidden = vit_.forward(pixels);  // act [T, 1 + g*g, Dv]
  // Strategy "default": drop CLS (row 0 of every tile); bf16 widens to f32 exactly.
  const Tensor feats = hidden.slice(1, 1, hidden.dim(1));
  return hidden.dtype() == DType::f32 || !widen ? ops::clone(feats) : ops::cast(feats, DType::f32);
}

Tensor VisionModel::vit_features(const Tensor& pixel_values) const { return vit_rows(pixel_values, true); }

Tensor VisionModel::project(const Tensor& features) const {
  const Tensor z = projector_.forward(on_device(features));  // act [T, g*g, text_hidden]
  return z.dtype() == DType::f32 ? z : ops::cast(z, DType::f32);
}

Tensor VisionModel::encode(const PreprocessResult& image) const { return encode(image, nullptr); }

Tensor VisionModel::features(const PreprocessResult& image, const std::function<bool()>& cancelled,
                             bool widen) const {
  MVL_CHECK(image.layout.feature_side == vit_.config().grid(), invalid_argument,
            "preprocessing makes {}-px tiles with {} features per side but the vision tower expects {}",
            image.pixel_values.dim(-1), image.layout.feature_side, vit_.config().grid());
  const int64_t T = image.pixel_values.dim(0);
  if (dev_.is_cuda() || T == 1) {
    if (cancelled && cancelled()) return {};
    return vit_rows(image.pixel_values, widen);
  }
  std::vector<Tensor> per_tile;  // [1, g*g, Dv] each
  for (int64_t t = 0; t < T; ++t) {
    if (cancelled && cancelled()) return {};
    per_tile.push_back(vit_rows(image.pixel_values.slice(0, t, t + 1), widen));
  }
  return ops::concat_rows(per_tile);
}

Tensor VisionModel::encode(const PreprocessResult& image, const std::function<bool()>& cancelled) const {
  const Tensor feats = features(image, cancelled, true);  // f32 [T, g*g, Dv]
  if (!feats.defined() || (cancelled && cancelled())) return {};
  return pack_image_features(project(feats), newline_, image.layout);
}

Tensor VisionModel::encode_rows(const PreprocessResult& image, const std::function<bool()>& cancelled,
                                const std::function<void()>& after_vit) const {
  const Tensor feats = features(image, cancelled, false);  // act [T, g*g, Dv]
  if (!feats.defined()) return {};
  if (after_vit) after_vit();
  if (cancelled && cancelled()) return {};
  const Tensor z = projector_.forward(feats);  // act [T, g*g, text_hidden]
  return pack_image_features(z, newline_, image.layout);
}

}  // namespace mvl::vision
