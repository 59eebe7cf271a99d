// VisionModel (see vision_model.h).
#include "vision/model/vision_model.h"

#include "kernels/core/error.h"
#include "kernels/ops/tensor_ops.h"
#include "vision/model/packing.h"

namespace mvl::vision {

VisionModel VisionModel::load(const Checkpoint& ckpt, const VisionConfig& cfg, const VisionModelOptions& opts,
                              const VisionWeightNames& names, const ops::DeviceContext& device) {
  MVL_CHECK(opts.select_strategy == "default", unsupported,
            "vision_feature_select_strategy '{}' is not supported (the anyres packing needs 'default', which drops CLS)",
            opts.select_strategy);
  VisionModel m;
  m.opts_ = opts;
  m.vit_ = ClipVit::load(ckpt, cfg, names.tower, opts.feature_layer);
  m.projector_ = Projector::load(ckpt, names.projector, cfg.hidden_size, opts.text_hidden, opts.projector_act);
  MVL_CHECK(ckpt.has(names.image_newline), not_found, "vision tensor '{}' is missing from the checkpoint",
            names.image_newline);
  Tensor nl = ckpt.get(names.image_newline);
  check_shape(nl, {opts.text_hidden}, names.image_newline);
  m.newline_ = ops::cast(nl, DType::f32);
  m.dev_ = device;
  if (device.is_cuda()) {
    in_context(fmt::format("uploading the vision model weights to {}", device.device().str()), [&] {
      m.vit_.upload(device);
      m.projector_.upload(device);
      m.newline_ = ops::to_device(m.newline_, device);
      return 0;
    });
  }
  return m;
}

Tensor VisionModel::on_device(const Tensor& t) const {
  return t.device() == dev_.device() ? t : ops::to_device(t, dev_);
}

Tensor VisionModel::vit_features(const Tensor& pixel_values) const {
  const Tensor up = on_device(pixel_values);
  const Tensor pixels = opts_.bf16_pixels ? ops::cast(ops::cast(up, DType::bf16), DType::f32) : up;
  const Tensor hidden = vit_.forward(pixels);  // f32 [T, 1 + g*g, Dv]
  // Strategy "default": drop CLS (row 0 of every tile).
  return ops::clone(hidden.slice(1, 1, hidden.dim(1)));
}

Tensor VisionModel::project(const Tensor& features) const { return projector_.forward(on_device(features)); }

Tensor VisionModel::encode(const PreprocessResult& image) const {
  MVL_CHECK(image.layout.feature_side == vit_.config().grid(), invalid_argument,
            "preprocessing makes {}-px tiles with {} features per side but the vision tower expects {}",
            image.pixel_values.dim(-1), image.layout.feature_side, vit_.config().grid());
  return pack_image_features(project(vit_features(image.pixel_values)), newline_, image.layout);
}

}  // namespace mvl::vision
