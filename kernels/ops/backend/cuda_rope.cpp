// The CUDA branch of ops::rope (rope.h): the generic f32 kernel, and for bf16 the tuned kernel
// in place on a copy with positions built on the device (a decode step stays sync-free).
#include "kernels/cuda/rope.h"
#include "kernels/cuda/tensor_ops.h"
#include "kernels/ops/backend/cuda_backend.h"
#include "kernels/ops/backend/cuda_context.h"

namespace mvl::ops::cuda_backend {

Tensor rope_bf16(const Tensor& x, int64_t pos0, int64_t rotary_dim, double theta) {
  // bf16 activations: the tuned kernel in place on a copy, positions built on the device
  // (no host copy, so a decode step stays sync-free). Angles and rotation in f32, one rounding.
  const detail::CtxPtr ctx = detail::cuda_ctx({&x}, "rope");
  Tensor y = detail::dev_copy(x, ctx);
  Tensor pos = detail::dev_uninit({x.dim(0)}, DType::i32, ctx);
  cuda::iota_i32(*ctx, pos0, pos);
  cuda::rope_partial(*ctx, y, pos, static_cast<int>(rotary_dim), static_cast<float>(theta));
  return y;
}

Tensor rope_f32(const Tensor& x, int64_t pos0, int64_t rotary_dim, double theta) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&x}, "rope");
  Tensor y = detail::dev_empty(x.shape(), DType::f32, ctx);
  cuda::rope_f32(*ctx, x, pos0, rotary_dim, theta, y);
  return y;
}

Tensor rope(const Tensor& x, const Tensor& positions, int64_t rotary_dim, double theta) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&x, &positions}, "rope");
  if (x.dtype() == DType::bf16) {
    Tensor y = detail::dev_copy(x, ctx);
    cuda::rope_partial(*ctx, y, positions, static_cast<int>(rotary_dim), static_cast<float>(theta));
    return y;
  }
  Tensor y = detail::dev_empty(x.shape(), DType::f32, ctx);
  cuda::rope_f32(*ctx, x, 0, rotary_dim, theta, y, positions);
  return y;
}

}  // namespace mvl::ops::cuda_backend
