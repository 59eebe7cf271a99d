// ops::rms_norm and its fused forms: validation and dispatch (CPU reference, CUDA f32 generic
// kernel, CUDA bf16 tuned kernels).
#include "kernels/ops/rms_norm.h"

#include "kernels/core/error.h"
#include "kernels/cpu/rms_norm.h"
#include "kernels/ops/activation.h"
#include "kernels/ops/backend/cuda_backend.h"
#include "kernels/ops/cuda_dispatch.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl::ops {

namespace {
void check_weight(const Tensor& x, const Tensor& w, float eps, const char* op) {
  MVL_CHECK(x.ndim() >= 1, shape_mismatch, "{}: input must be [..., D], got {}", op, x.str());
  MVL_CHECK(w.ndim() == 1 && w.dim(0) == x.dim(-1), shape_mismatch, "{}: weight {} does not match input {}", op,
            w.str(), x.str());
  MVL_CHECK(w.dtype() == DType::f32 || w.dtype() == DType::bf16, unsupported,
            "{}: weight must be f32 or bf16, got {}", op, w.str());
  MVL_CHECK(eps > 0.0f, invalid_argument, "{}: eps must be positive, got {}", op, eps);
}
}  // namespace

Tensor rms_norm(const Tensor& x, const Tensor& w, float eps, bool round_bf16) {
  check_weight(x, w, eps, "rms_norm");
  if (detail::bf16_dev(x)) return cuda_backend::rms_norm_bf16(x, w, eps);
  MVL_CHECK(x.dtype() == DType::f32 && x.is_contiguous(), unsupported,
            "rms_norm: input must be contiguous f32 [..., D] (bf16 only on a GPU), got {}", x.str());
  if (detail::any_cuda({&x, &w})) return cuda_backend::rms_norm_f32(x, w, eps, round_bf16);
  MVL_CHECK(x.device().is_cpu() && w.device().is_cpu(), unsupported,
            "rms_norm: device tensors go through the CUDA backend");
  Tensor wc = contiguous(w);
  Tensor y = Tensor::empty(x.shape(), DType::f32);
  const int64_t d = x.dim(-1);
  cpu::rms_norm(x.data<float>(), wc.data(), wc.dtype(), y.data<float>(), d ? x.numel() / d : 0, d, eps,
                round_bf16);
  return y;
}

Tensor residual_rms_norm(const Tensor& resid, float alpha, const Tensor& branch, float beta, const Tensor& w,
                         float eps) {
  check_weight(branch, w, eps, "residual_rms_norm");
  MVL_CHECK(resid.shape() == branch.shape() && resid.dtype() == branch.dtype(), shape_mismatch,
            "residual_rms_norm: residual {} and branch {} differ", resid.str(), branch.str());
  if (detail::bf16_dev(branch) && beta == 1.0f)
    return cuda_backend::residual_rms_norm_bf16(resid, alpha, branch, w, eps);
  return rms_norm(axpby(resid, alpha, branch, beta), w, eps);
}

Tensor gated_rms_norm(const Tensor& o, const Tensor& w, float eps, const Tensor& gate) {
  check_weight(o, w, eps, "gated_rms_norm");
  MVL_CHECK(o.shape() == gate.shape() && o.dtype() == gate.dtype(), shape_mismatch,
            "gated_rms_norm: input {} and gate {} differ", o.str(), gate.str());
  if (detail::bf16_dev(o)) return cuda_backend::gated_rms_norm_bf16(o, w, eps, gate);
  return mul(sigmoid(gate), rms_norm(o, w, eps));
}

}  // namespace mvl::ops
