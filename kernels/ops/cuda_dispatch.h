// The two questions every op asks before it picks a backend: does any input live on a CUDA
// device, and is this a bf16 activation on one. Always compiled (a CPU-only build answers
// false for every tensor it can make); the CUDA branches themselves are in
// kernels/ops/backend/ (cuda_backend.h).
#pragma once

#include <initializer_list>

#include "kernels/core/tensor.h"

namespace mvl::ops::detail {

// True when any defined tensor in `ts` lives on a CUDA device (null pointers are skipped).
bool any_cuda(std::initializer_list<const Tensor*> ts);
// True when t is a bf16 activation on a CUDA device (the bf16 fast path of the ops).
inline bool bf16_dev(const Tensor& t) { return t.defined() && t.dtype() == DType::bf16 && t.device().is_cuda(); }

}  // namespace mvl::ops::detail
