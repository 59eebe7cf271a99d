// The CUDA branch of ops::layer_norm (layer_norm.h): the f32 twin of the CPU reference, or the
// tuned kernel for bf16 activations.
#include "kernels/cuda/layer_norm.h"
#include "kernels/ops/backend/cuda_backend.h"
#include "kernels/ops/backend/cuda_context.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl::ops::cuda_backend {

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&x, &weight, &bias}, "layer_norm");
  if (x.dtype() == DType::bf16) {
    // The tuned kernel reads bf16 parameters only (weights are uploaded as bf16 anyway).
    auto bf = [&](const Tensor& p) {
      return p.dtype() == DType::bf16 ? detail::dev_contiguous(p, ctx) : ops::cast(p, DType::bf16);
    };
    Tensor y = detail::dev_empty(x.shape(), DType::bf16, ctx);
    if (y.numel() == 0) return y;
    cuda::layer_norm(*ctx, detail::dev_contiguous(x, ctx), bf(weight), bf(bias), eps, y);
    return y;
  }
  Tensor y = detail::dev_empty(x.shape(), DType::f32, ctx);
  cuda::layer_norm_f32(*ctx, detail::dev_contiguous(x, ctx), detail::dev_contiguous(weight, ctx),
                       detail::dev_contiguous(bias, ctx), eps, y);
  return y;
}

}  // namespace mvl::ops::cuda_backend
