// Internal helpers for the ops:: CUDA branches: find the cuda::Context an op runs on from
// its inputs' storage (the model owns it through ops::DeviceContext; no globals), check
// every input sits on that one device, and allocate outputs that carry the same context.
#pragma once

#include <initializer_list>
#include <memory>

#include "kernels/core/tensor.h"
#include "kernels/ops/device.h"
#ifdef MVL_HAVE_CUDA
#include "kernels/cuda/context.h"
#endif

namespace mvl::ops::detail {

// True when any defined tensor in `ts` lives on a CUDA device (null pointers are skipped).
bool any_cuda(std::initializer_list<const Tensor*> ts);

#ifdef MVL_HAVE_CUDA
using CtxPtr = std::shared_ptr<const cuda::Context>;
// The context of the inputs; throws Error{invalid_argument} when inputs mix host and device
// tensors or devices, or Error{internal} when a device tensor carries no context.
CtxPtr cuda_ctx(std::initializer_list<const Tensor*> ts, const char* op);
// The cuda::Context behind a CUDA DeviceContext.
inline CtxPtr ctx_of(const DeviceContext& d) { return std::static_pointer_cast<const cuda::Context>(d.backend()); }
// Zero-filled contiguous device tensor on ctx.
Tensor dev_empty(const Shape& shape, DType dtype, const CtxPtr& ctx);
// Uninitialised contiguous device tensor on ctx: only for outputs the kernel writes entirely.
Tensor dev_uninit(const Shape& shape, DType dtype, const CtxPtr& ctx);
// t itself when contiguous, else a contiguous device copy.
Tensor dev_contiguous(const Tensor& t, const CtxPtr& ctx);
// Always a new contiguous device copy of t (same dtype).
Tensor dev_copy(const Tensor& t, const CtxPtr& ctx);
#endif
// True when t is a bf16 activation on a CUDA device (the bf16 fast path of the ops).
inline bool bf16_dev(const Tensor& t) { return t.defined() && t.dtype() == DType::bf16 && t.device().is_cuda(); }
#ifdef MVL_HAVE_CUDA
#endif

}  // namespace mvl::ops::detail
