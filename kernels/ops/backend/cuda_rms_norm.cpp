// The CUDA branch of ops::rms_norm and its fused forms (rms_norm.h): the generic f32 kernel and
// the tuned bf16 kernels (plain, residual + norm, gated).
#include "kernels/cuda/rms_norm.h"
#include "kernels/ops/backend/cuda_backend.h"
#include "kernels/ops/backend/cuda_context.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl::ops::cuda_backend {

namespace {
Tensor bf16_weight(const Tensor& w, const detail::CtxPtr& ctx) {
  return w.dtype() == DType::bf16 ? detail::dev_contiguous(w, ctx) : ops::cast(w, DType::bf16);
}
}  // namespace

Tensor rms_norm_bf16(const Tensor& x, const Tensor& w, float eps) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&x, &w}, "rms_norm");
  Tensor y = detail::dev_uninit(x.shape(), DType::bf16, ctx);
  cuda::rms_norm(*ctx, detail::dev_contiguous(x, ctx), bf16_weight(w, ctx), eps, y);
  return y;
}

Tensor rms_norm_f32(const Tensor& x, const Tensor& w, float eps, bool round_bf16) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&x, &w}, "rms_norm");
  Tensor y = detail::dev_empty(x.shape(), DType::f32, ctx);
  cuda::rms_norm_f32(*ctx, x, detail::dev_contiguous(w, ctx), eps, round_bf16, y);
  return y;
}

Tensor residual_rms_norm_bf16(const Tensor& resid, float alpha, const Tensor& branch, const Tensor& w, float eps) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&resid, &branch, &w}, "residual_rms_norm");
  Tensor y = detail::dev_uninit(branch.shape(), DType::bf16, ctx);
  cuda::residual_rms_norm(*ctx, detail::dev_contiguous(resid, ctx), alpha, detail::dev_contiguous(branch, ctx),
                          bf16_weight(w, ctx), eps, y);
  return y;
}

Tensor gated_rms_norm_bf16(const Tensor& o, const Tensor& w, float eps, const Tensor& gate) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&o, &gate, &w}, "gated_rms_norm");
  Tensor y = detail::dev_uninit(o.shape(), DType::bf16, ctx);
  cuda::gated_rms_norm(*ctx, detail::dev_contiguous(o, ctx), bf16_weight(w, ctx), eps,
                       detail::dev_contiguous(gate, ctx), y);
  return y;
}

}  // namespace mvl::ops::cuda_backend
