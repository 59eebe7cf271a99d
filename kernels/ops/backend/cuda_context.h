// Helpers for the ops CUDA backend (kernels/ops/backend/cuda_*.cpp, compiled only with CUDA):
// find the cuda::Context an op runs on from its inputs' storage (the model owns it through
// ops::DeviceContext; no globals), check every input sits on that one device, and allocate
// outputs that carry the same context.
#pragma once

#include <initializer_list>
#include <memory>

#include "kernels/core/tensor.h"
#include "kernels/cuda/context.h"
#include "kernels/ops/device.h"

namespace mvl::ops::detail {

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

}  // namespace mvl::ops::detail
