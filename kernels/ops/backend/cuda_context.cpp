// ops CUDA backend helpers (see cuda_context.h).
#include "kernels/ops/backend/cuda_context.h"

#include "kernels/core/error.h"
#include "kernels/cuda/storage.h"
#include "kernels/cuda/tensor_ops.h"

namespace mvl::ops::detail {

CtxPtr cuda_ctx(std::initializer_list<const Tensor*> ts, const char* op) {
  CtxPtr ctx;
  Device dev = Device::cpu();
  for (const Tensor* t : ts) {
    if (!t || !t->defined()) continue;
    MVL_CHECK(t->device().is_cuda(), invalid_argument,
              "{}: {} is a host tensor but the other inputs are on the GPU; move it with ops::to_device", op,
              t->str());
    if (!ctx) {
      ctx = cuda::context_of(*t);
      dev = t->device();
      MVL_CHECK(ctx != nullptr, internal, "{}: device tensor {} was not allocated through ops (no context)", op,
                t->str());
    }
    MVL_CHECK(t->device() == dev, invalid_argument, "{}: inputs on {} and {}", op, dev.str(), t->device().str());
  }
  MVL_CHECK(ctx != nullptr, internal, "{}: no device input", op);
  return ctx;
}

Tensor dev_empty(const Shape& shape, DType dtype, const CtxPtr& ctx) { return cuda::empty_with(shape, dtype, ctx); }

Tensor dev_uninit(const Shape& shape, DType dtype, const CtxPtr& ctx) {
  return cuda::empty_uninit_with(shape, dtype, ctx);
}

Tensor dev_contiguous(const Tensor& t, const CtxPtr& ctx) {
  if (t.is_contiguous()) return t;
  Tensor out = cuda::empty_with(t.shape(), t.dtype(), ctx);
  cuda::copy_strided(*ctx, out, t);
  return out;
}

Tensor dev_copy(const Tensor& t, const CtxPtr& ctx) {
  Tensor out = cuda::empty_uninit_with(t.shape(), t.dtype(), ctx);
  if (t.numel() == 0) return out;
  if (t.is_contiguous())
    cuda::convert(*ctx, t, out);
  else
    cuda::copy_strided(*ctx, out, t);
  return out;
}

}  // namespace mvl::ops::detail
