// The multi-modal projector (spec §5.1): z = linear_2(act(linear_1(f))), both with bias,
// act = projector_hidden_act (exact GELU in the release).
#pragma once

#include <string>

#include "kernels/core/safetensors.h"
#include "kernels/core/tensor.h"
#include "kernels/ops/device.h"
#include "vision/config/vision_config.h"
#include "vision/model/weight_names.h"

namespace mvl::vision {

class Projector {
 public:
  // names.projector: e.g. "multi_modal_projector."; cfg.hidden_size and text_hidden give the
  // shapes (the vision tensor table).
  static Projector load(const Checkpoint& ckpt, const VisionConfig& cfg,
                        const VisionWeightNames& names, int64_t text_hidden,
                        const std::string& act);
  // features: f32|bf16 [..., vision_hidden] -> [..., text_hidden] in the activation dtype
  // (features are cast to it first; f32 on the CPU).
  Tensor forward(const Tensor& features) const;
  // Moves the weights onto dev once as bf16 (no-op for the CPU); activations: f32 | bf16
  // (bf16 needs a CUDA device).
  void upload(const ops::DeviceContext& dev, DType activations = DType::f32);
  int64_t text_hidden() const { return w1_.dim(0); }

 private:
  Tensor w1_, b1_;  // f32|bf16 [text_hidden, vision_hidden], [text_hidden]: linear_1
  Tensor w2_, b2_;  // f32|bf16 [text_hidden, text_hidden], [text_hidden]: linear_2
  std::string act_;
  DType dtype_ = DType::f32;  // activation dtype
};

}  // namespace mvl::vision
