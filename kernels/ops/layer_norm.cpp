// ops::layer_norm: validation and dispatch (CPU reference in kernels/cpu/layer_norm.cpp, CUDA
// f32 twin and bf16 activations through backend/cuda_layer_norm.cpp).
#include "kernels/ops/layer_norm.h"

#include "kernels/core/error.h"
#include "kernels/cpu/layer_norm.h"
#include "kernels/ops/backend/cuda_backend.h"
#include "kernels/ops/cuda_dispatch.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl::ops {

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps) {
  MVL_CHECK(x.ndim() >= 1 && x.dim(-1) > 0, shape_mismatch, "layer_norm: input {} has no features", x.str());
  const int64_t d = x.dim(-1);
  MVL_CHECK(x.dtype() == DType::f32 || (x.dtype() == DType::bf16 && x.device().is_cuda()), unsupported,
            "layer_norm: input must be f32 (or bf16 on a GPU: bf16 activations need the CUDA backend), got {}",
            x.str());
  for (const Tensor* p : {&weight, &bias}) {
    MVL_CHECK(p->ndim() == 1 && p->dim(0) == d, shape_mismatch, "layer_norm: parameter {} does not match input {}",
              p->str(), x.str());
    MVL_CHECK(p->dtype() == DType::f32 || p->dtype() == DType::bf16, unsupported,
              "layer_norm: parameters must be f32 or bf16, got {}", p->str());
  }
  MVL_CHECK(eps > 0.0f, invalid_argument, "layer_norm: eps must be positive, got {}", eps);
  if (detail::any_cuda({&x, &weight, &bias})) return cuda_backend::layer_norm(x, weight, bias, eps);
  MVL_CHECK(x.device().is_cpu() && weight.device().is_cpu() && bias.device().is_cpu(), unsupported,
            "layer_norm: device tensors go through the CUDA backend (got {})", x.str());
  Tensor xc = contiguous(x), wc = contiguous(weight), bc = contiguous(bias);
  Tensor y = Tensor::empty(x.shape(), DType::f32);
  cpu::layer_norm(xc.data<float>(), wc.data(), wc.dtype(), bc.data(), bc.dtype(), y.data<float>(), x.numel() / d, d, eps);
  return y;
}

}  // namespace mvl::ops
