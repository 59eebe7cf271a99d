// The CUDA branch of ops tensor utilities (tensor_ops.h): allocation, host<->device copies,
// casts and strided copies, and the elementwise add/mul/scale/axpby (f32 generic kernels, or
// the bf16 ones for bf16 activations).
#include "kernels/core/error.h"
#include "kernels/cuda/storage.h"
#include "kernels/cuda/tensor_ops.h"
#include "kernels/ops/backend/cuda_backend.h"
#include "kernels/ops/backend/cuda_context.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl::ops::cuda_backend {

Tensor empty(const Shape& shape, DType dtype, const DeviceContext& dev) {
  return detail::dev_empty(shape, dtype, detail::ctx_of(dev));
}

Tensor to_device(const Tensor& t, const DeviceContext& dev) {
  if (t.device().is_cuda()) {
    MVL_CHECK(t.device() == dev.device(), unsupported, "to_device: {} -> {} (peer copies are not supported)",
              t.device().str(), dev.device().str());
    return ops::clone(t);
  }
  const detail::CtxPtr ctx = detail::ctx_of(dev);
  Tensor src = contiguous(t);
  Tensor out = detail::dev_empty(t.shape(), t.dtype(), ctx);
  // The host staging finishes inside the call for pageable memory, so `src` may die after it.
  cuda::copy(src, out, *ctx);
  return out;
}

Tensor to_host(const Tensor& t) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&t}, "to_device");
  return cuda::to_host(detail::dev_contiguous(t, ctx), *ctx);
}

Tensor cast(const Tensor& t, DType dtype) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&t}, "cast");
  Tensor out = detail::dev_empty(t.shape(), dtype, ctx);
  cuda::convert(*ctx, detail::dev_contiguous(t, ctx), out);
  return out;
}

Tensor clone(const Tensor& t) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&t}, "clone");
  Tensor out = detail::dev_empty(t.shape(), t.dtype(), ctx);
  cuda::copy_strided(*ctx, out, t);
  return out;
}

void copy_into(const Tensor& dst, const Tensor& src) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&dst, &src}, "copy_into");
  cuda::copy_strided(*ctx, dst, src);
}

Tensor add_bf16(const Tensor& a, const Tensor& b) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&a, &b}, "add");
  Tensor out = detail::dev_uninit(a.shape(), DType::bf16, ctx);
  cuda::add(*ctx, detail::dev_contiguous(a, ctx), detail::dev_contiguous(b, ctx), out);
  return out;
}

Tensor mul_bf16(const Tensor& a, const Tensor& b) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&a, &b}, "mul");
  Tensor out = detail::dev_uninit(a.shape(), DType::bf16, ctx);
  cuda::mul_bf16(*ctx, detail::dev_contiguous(a, ctx), detail::dev_contiguous(b, ctx), out);
  return out;
}

Tensor mul_f32(const Tensor& a, const Tensor& b) {
  MVL_CHECK(a.dtype() == DType::f32 && b.dtype() == DType::f32 && a.shape() == b.shape(), shape_mismatch,
            "mul: expected f32 of one shape, got {} and {}", a.str(), b.str());
  const detail::CtxPtr ctx = detail::cuda_ctx({&a, &b}, "mul");
  Tensor out = detail::dev_empty(a.shape(), DType::f32, ctx);
  cuda::mul_f32(*ctx, detail::dev_contiguous(a, ctx), detail::dev_contiguous(b, ctx), out);
  return out;
}

Tensor scale_bf16(const Tensor& a, float s) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&a}, "scale");
  Tensor out = detail::dev_uninit(a.shape(), DType::bf16, ctx);
  cuda::axpby_bf16(*ctx, detail::dev_contiguous(a, ctx), s, Tensor(), 0.0f, out);
  return out;
}

Tensor scale_f32(const Tensor& a, float s) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&a}, "scale");
  Tensor out = detail::dev_empty(a.shape(), DType::f32, ctx);
  cuda::axpby_f32(*ctx, detail::dev_contiguous(a, ctx), s, Tensor(), 0.0f, out);
  return out;
}

Tensor axpby_bf16(const Tensor& a, float alpha, const Tensor& b, float beta) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&a, &b}, "axpby");
  Tensor out = detail::dev_uninit(a.shape(), DType::bf16, ctx);
  cuda::axpby_bf16(*ctx, detail::dev_contiguous(a, ctx), alpha, detail::dev_contiguous(b, ctx), beta, out);
  return out;
}

Tensor axpby_f32(const Tensor& a, float alpha, const Tensor& b, float beta) {
  MVL_CHECK(a.dtype() == DType::f32 && b.dtype() == DType::f32 && a.shape() == b.shape(), shape_mismatch,
            "axpby: expected f32 of one shape, got {} and {}", a.str(), b.str());
  const detail::CtxPtr ctx = detail::cuda_ctx({&a, &b}, "axpby");
  Tensor out = detail::dev_empty(a.shape(), DType::f32, ctx);
  cuda::axpby_f32(*ctx, detail::dev_contiguous(a, ctx), alpha, detail::dev_contiguous(b, ctx), beta, out);
  return out;
}

Tensor concat_rows(const std::vector<Tensor>& parts, const Shape& shape) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&parts[0]}, "concat_rows");
  Tensor out = detail::dev_empty(shape, parts[0].dtype(), ctx);
  int64_t at = 0;
  for (const Tensor& p : parts) {
    MVL_CHECK(p.device() == parts[0].device(), invalid_argument, "concat_rows: {} is not on {}", p.str(),
              parts[0].device().str());
    if (p.dim(0) > 0) cuda::copy_strided(*ctx, out.slice(0, at, at + p.dim(0)), p);
    at += p.dim(0);
  }
  return out;
}

}  // namespace mvl::ops::cuda_backend
