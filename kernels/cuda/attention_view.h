// AttentionView: how both flash-attention kernels (attention.cu, attention_sm90.cu) read
// a q/k/v/o tensor: bf16 [B, n, H, d] (or [n, H, d] as B = 1) on the GPU, contiguous last dim,
// 16-byte aligned, token/head/batch strides multiples of 8 elements. Plain C++ header.
#pragma once

#include <cstdint>

#include "kernels/core/error.h"
#include "kernels/core/tensor.h"

namespace mvl::cuda {

struct AttentionView {
  int64_t B, n, H, d, sb, st, sh;  // sizes, then batch/token/head strides in elements
};

// Throws Error (naming `op` and `what`, e.g. "cuda::flash_attention", "q") when t is not such a view.
inline AttentionView attention_view(const Tensor& t, const char* op, const char* what) {
  MVL_CHECK(t.dtype() == DType::bf16 && (t.ndim() == 3 || t.ndim() == 4) && t.strides().back() == 1 &&
                t.device().is_cuda() && t.offset_bytes() % 16 == 0,
            shape_mismatch, "{}: {} must be a bf16 [B, n, H, d] (or [n, H, d]) GPU view with a contiguous last dim, got {}",
            op, what, t.str());
  const int o = t.ndim() == 4 ? 1 : 0;
  const AttentionView v{o ? t.dim(0) : 1, t.dim(o), t.dim(o + 1), t.dim(o + 2), o ? t.strides()[0] : 0,
                        t.strides()[o], t.strides()[o + 1]};
  MVL_CHECK(v.st % 8 == 0 && v.sh % 8 == 0 && v.sb % 8 == 0, unsupported,
            "{}: {} strides must be multiples of 8 elements ({})", op, what, t.str());
  return v;
}

}  // namespace mvl::cuda
