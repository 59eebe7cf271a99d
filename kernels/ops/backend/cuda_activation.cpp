// The CUDA branch of ops activations (activation.h): the tuned bf16 kernel in place on a fresh
// copy, or the generic f32 one.
#include "kernels/cuda/activation.h"
#include "kernels/ops/backend/cuda_backend.h"
#include "kernels/ops/backend/cuda_context.h"

namespace mvl::ops::cuda_backend {

Tensor activation_bf16(const Tensor& x, const char* name) {
  // bf16 activations: the tuned in-place kernel on a fresh copy (f32 math, one rounding).
  const detail::CtxPtr ctx = detail::cuda_ctx({&x}, name);
  Tensor y = detail::dev_copy(x, ctx);
  cuda::activation_inplace(*ctx, y, name);
  return y;
}

Tensor activation_f32(const Tensor& x, const char* name) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&x}, name);
  Tensor y = detail::dev_empty(x.shape(), DType::f32, ctx);
  cuda::activation_f32(*ctx, detail::dev_contiguous(x, ctx), name, y);
  return y;
}

}  // namespace mvl::ops::cuda_backend
