// Projector (see projector.h).
#include "vision/model/projector.h"

#include "kernels/core/error.h"
#include "kernels/ops/activation.h"
#include "kernels/ops/linear.h"
#include "kernels/ops/tensor_ops.h"
#include "vision/model/tensor_table.h"

namespace mvl::vision {

Projector Projector::load(const Checkpoint& ckpt, const VisionConfig& cfg,
                          const VisionWeightNames& names, int64_t text_hidden,
                          const std::string& act) {
  Projector p;
  for_each_vision_tensor(cfg, names, text_hidden, [&](const VisionTensor& t) {
    if (t.role != VisionRole::projector_1 && t.role != VisionRole::projector_2) return;
    Tensor& slot =
        t.role == VisionRole::projector_1 ? (t.bias ? p.b1_ : p.w1_) : (t.bias ? p.b2_ : p.w2_);
    slot = load_vision_tensor(ckpt, t);
  });
  p.act_ = act;
  return p;
}

void Projector::upload(const ops::DeviceContext& dev, DType activations) {
  MVL_CHECK(activations == DType::f32 || (activations == DType::bf16 && dev.is_cuda()), unsupported,
            "projector: activations {} on {} (bf16 needs a CUDA device)", dtype_name(activations), dev.device().str());
  if (!dev.is_cuda()) return;
  for (Tensor* t : {&w1_, &b1_, &w2_, &b2_}) *t = ops::to_device_weight(*t, dev);
  dtype_ = activations;
}

Tensor Projector::forward(const Tensor& features) const {
  const Tensor x = features.dtype() != dtype_ ? ops::cast(features, dtype_)
                   : features.is_contiguous() ? features
                                              : ops::clone(features);
  return ops::linear(ops::activation(ops::linear(x, w1_, &b1_), act_), w2_, &b2_);
}

}  // namespace mvl::vision
