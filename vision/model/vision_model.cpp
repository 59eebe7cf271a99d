// VisionModel (see vision_model.h).
#include "vision/model/vision_model.h"

#include "kernels/core/error.h"
#include "kernels/ops/tensor_ops.h"
#include "vision/model/packing.h"

namespace mvl::vision {

VisionModel VisionModel::load(const Checkpoint& ckpt, const VisionConfig& cfg, const VisionModelOptions& opts,
                              const VisionWeightNames& names) {
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
  return m;
}

Tensor VisionModel::vit_features(const Tensor& pixel_values) const {
  const Tensor pixels = opts_.bf16_pixels ? ops::cast(ops::cast(pixel_values, DType::bf16), DType::f32) : pixel_values;
  const Tensor hidden = vit_.forward(pixels);  // f32 [T, 1 + g*g, Dv]
  // Strategy "default": drop CLS (row 0 of every tile).
  return ops::clone(hidden.slice(1, 1, hidden.dim(1)));
}

Tensor VisionModel::project(const Tensor& features) const { return projector_.forward(features); }

Tensor VisionModel::encode(const PreprocessResult& image) const {
  MVL_CHECK(image.layout.feature_side == vit_.config().grid(), invalid_argument,
            "preprocessing makes {}-px tiles with {} features per side but the vision tower expects {}",
            image.pixel_values.dim(-1), image.layout.feature_side, vit_.config().grid());
  return pack_image_features(project(vit_features(image.pixel_values)), newline_, image.layout);
}

}  // namespace mvl::vision
