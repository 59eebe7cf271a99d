// ops::rms_norm: validation and dispatch.
#include "kernels/ops/rms_norm.h"

#include "kernels/core/error.h"
#include "kernels/cpu/rms_norm.h"

#include "kernels/ops/cuda_dispatch.h"

namespace mvl::ops {

Tensor rms_norm(const Tensor& x, const Tensor& w, float eps, bool round_bf16) {
  MVL_CHECK(x.ndim() >= 1 && x.dtype() == DType::f32 && x.is_contiguous(), unsupported,
            "rms_norm: input must be contiguous f32 [..., D], got {}", x.str());
  MVL_CHECK(w.ndim() == 1 && w.dim(0) == x.dim(-1), shape_mismatch, "rms_norm: weight {} does not match input {}",
            w.str(), x.str());
  MVL_CHECK(w.dtype() == DType::f32 || w.dtype() == DType::bf16, unsupported,
            "rms_norm: weight must be f32 or bf16, got {}", w.str());
  MVL_CHECK(eps > 0.0f, invalid_argument, "rms_norm: eps must be positive, got {}", eps);
#ifdef MVL_HAVE_CUDA
  if (detail::any_cuda({&x, &w})) {
    const detail::CtxPtr ctx = detail::cuda_ctx({&x, &w}, "rms_norm");
    Tensor y = detail::dev_empty(x.shape(), DType::f32, ctx);
    cuda::rms_norm_f32(*ctx, x, detail::dev_contiguous(w, ctx), eps, round_bf16, y);
    return y;
  }
#endif
  MVL_CHECK(x.device().is_cpu() && w.device().is_cpu(), unsupported,
            "rms_norm: device tensors go through the CUDA backend");
  Tensor wc = contiguous(w);
  Tensor y = Tensor::empty(x.shape(), DType::f32);
  const int64_t d = x.dim(-1);
  cpu::rms_norm(x.data<float>(), wc.data(), wc.dtype(), y.data<float>(), d ? x.numel() / d : 0, d, eps,
                round_bf16);
  return y;
}

}  // namespace mvl::ops
