// Projector (see projector.h).
#include "vision/model/projector.h"

#include "kernels/core/error.h"
#include "kernels/ops/activation.h"
#include "kernels/ops/linear.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl::vision {

namespace {
Tensor get_checked(const Checkpoint& ckpt, const std::string& name, const Shape& shape) {
  MVL_CHECK(ckpt.has(name), not_found, "projector tensor '{}' is missing from the checkpoint", name);
  Tensor t = ckpt.get(name);
  check_shape(t, shape, name);
  MVL_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::bf16, unsupported,
            "projector tensor '{}' has dtype {} (f32 or bf16 expected)", name, dtype_name(t.dtype()));
  return t;
}
}  // namespace

Projector Projector::load(const Checkpoint& ckpt, const std::string& prefix, int64_t vision_hidden, int64_t text_hidden,
                          const std::string& act) {
  Projector p;
  p.w1_ = get_checked(ckpt, prefix + "linear_1.weight", {text_hidden, vision_hidden});
  p.b1_ = get_checked(ckpt, prefix + "linear_1.bias", {text_hidden});
  p.w2_ = get_checked(ckpt, prefix + "linear_2.weight", {text_hidden, text_hidden});
  p.b2_ = get_checked(ckpt, prefix + "linear_2.bias", {text_hidden});
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
