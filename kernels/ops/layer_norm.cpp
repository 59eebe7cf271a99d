// ops::layer_norm: validation and dispatch (CPU reference in kernels/cpu/layer_norm.cpp, CUDA
// f32 twin and bf16 activations in kernels/cuda/layer_norm.cu).
#include "kernels/ops/layer_norm.h"

#include "kernels/core/error.h"
#include "kernels/cpu/layer_norm.h"
#include "kernels/ops/cuda_dispatch.h"
#include "kernels/ops/tensor_ops.h"
#ifdef MVL_HAVE_CUDA
#include "kernels/cuda/layer_norm.h"
#endif

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
#ifdef MVL_HAVE_CUDA
  if (detail::any_cuda({&x, &weight, &bias})) {
    const detail::CtxPtr ctx = detail::cuda_ctx({&x, &weight, &bias}, "layer_norm");
    if (x.dtype() == DType::bf16) {
      // The tuned kernel reads bf16 parameters only (weights are uploaded as bf16 anyway).
      auto bf = [&](const Tensor& p) { return p.dtype() == DType::bf16 ? detail::dev_contiguous(p, ctx) : cast(p, DType::bf16); };
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
#endif
  MVL_CHECK(x.device().is_cpu() && weight.device().is_cpu() && bias.device().is_cpu(), unsupported,
            "layer_norm: device tensors go through the CUDA backend (got {})", x.str());
  Tensor xc = contiguous(x), wc = contiguous(weight), bc = contiguous(bias);
  Tensor y = Tensor::empty(x.shape(), DType::f32);
  cpu::layer_norm(xc.data<float>(), wc.data(), wc.dtype(), bc.data(), bc.dtype(), y.data<float>(), x.numel() / d, d, eps);
  return y;
}

}  // namespace mvl::ops
