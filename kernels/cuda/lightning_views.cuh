// Internal to the lightning .cu files (include only from .cu files): the check of a q/k/v/o view
// and the decode parameters' pointer and stride fields, shared by lightning.cu (prefill and
// decode kernel 0) and lightning_decode.cu (the row kernels).
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

#include "kernels/core/tensor.h"
#include "kernels/cuda/check.cuh"

namespace mvl::cuda {

// t: a bf16 [n0, H, 128] GPU view, last dim contiguous, rows 16-byte aligned (cp.async / vector
// loads).
inline void check_lightning_view(const Tensor& t, const char* what, int64_t n0, int64_t H) {
  MVL_CHECK(
      t.dtype() == DType::bf16 && t.ndim() == 3 && t.dim(0) == n0 && t.dim(1) == H &&
          t.dim(2) == 128 && t.strides()[2] == 1 && t.strides()[0] % 8 == 0 &&
          t.strides()[1] % 8 == 0 && t.offset_bytes() % 16 == 0,
      shape_mismatch,
      "cuda lightning: {} must be a bf16 [{}, {}, 128] view with a contiguous last dim and 16-byte "
      "aligned rows, got {}",
      what, n0, H, t.str());
  MVL_CHECK(t.device().is_cuda(), invalid_argument, "cuda lightning: {} is not on the GPU", what);
}

// The q, k, v, o, slopes pointers, the (sequence, head) strides and H of a decode step's
// parameters P (lightning.cu's DecodeParams, lightning_decode.cu's RowParams).
template <typename P>
void set_decode_io(P& p, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& o,
                   const Tensor& slopes) {
  p.q = static_cast<const __nv_bfloat16*>(q.data());
  p.k = static_cast<const __nv_bfloat16*>(k.data());
  p.v = static_cast<const __nv_bfloat16*>(v.data());
  p.o = static_cast<__nv_bfloat16*>(o.data());
  p.slopes = static_cast<const float*>(slopes.data());
  p.q_b = q.strides()[0];
  p.q_h = q.strides()[1];
  p.k_b = k.strides()[0];
  p.k_h = k.strides()[1];
  p.v_b = v.strides()[0];
  p.v_h = v.strides()[1];
  p.o_b = o.strides()[0];
  p.o_h = o.strides()[1];
  p.H = static_cast<int>(q.dim(1));
}

}  // namespace mvl::cuda
