// ops::fill_uniform_: validation, then cpu:: or the CUDA backend (backend/cuda_positions.cpp).
#include "kernels/ops/random.h"

#include <cmath>

#include "kernels/core/error.h"
#include "kernels/cpu/random.h"
#include "kernels/ops/backend/cuda_backend.h"
#include "kernels/ops/cuda_dispatch.h"

namespace mvl::ops {

void fill_uniform_(const Tensor& t, uint64_t seed, float lo, float hi) {
  MVL_CHECK(
      t.defined() && (t.dtype() == DType::f32 || t.dtype() == DType::bf16) && t.is_contiguous(),
      shape_mismatch, "fill_uniform_: expected a contiguous f32|bf16 tensor, got {}",
      t.defined() ? t.str() : "an undefined tensor");
  MVL_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo <= hi, invalid_argument,
            "fill_uniform_: the range [{}, {}) must be finite with lo <= hi", lo, hi);
  if (t.numel() == 0) return;
  if (detail::any_cuda({&t})) return cuda_backend::fill_uniform(t, seed, lo, hi);
  MVL_CHECK(t.device().is_cpu(), unsupported,
            "fill_uniform_: device tensors need the CUDA backend (got {})", t.str());
  MVL_CHECK(t.storage()->writable(), invalid_argument, "fill_uniform_: {} is read-only", t.str());
  if (t.dtype() == DType::f32)
    cpu::fill_uniform_f32(static_cast<float*>(t.data()), t.numel(), seed, 0, lo, hi);
  else
    cpu::fill_uniform_bf16(static_cast<uint16_t*>(t.data()), t.numel(), seed, 0, lo, hi);
}

}  // namespace mvl::ops
