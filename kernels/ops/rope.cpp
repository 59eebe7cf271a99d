// ops::rope: validation and dispatch.
#include "kernels/ops/rope.h"

#include "kernels/core/error.h"
#include "kernels/cpu/rope.h"
#include "kernels/ops/backend/cuda_backend.h"
#include "kernels/ops/cuda_dispatch.h"

namespace mvl::ops {

Tensor rope(const Tensor& x, int64_t pos0, int64_t rotary_dim, double theta) {
  MVL_CHECK(x.ndim() == 3 && (x.dtype() == DType::f32 || detail::bf16_dev(x)) && x.strides()[2] == 1, unsupported,
            "rope: input must be f32 (or bf16 on a GPU) [n, heads, head_dim] with a contiguous last dim, got {}",
            x.str());
  MVL_CHECK(rotary_dim > 0 && rotary_dim % 2 == 0 && rotary_dim <= x.dim(2), invalid_argument,
            "rope: rotary_dim {} must be even and in (0, head_dim={}]", rotary_dim, x.dim(2));
  MVL_CHECK(pos0 >= 0 && theta > 0.0, invalid_argument, "rope: bad position {} or theta {}", pos0, theta);
  if (x.dtype() == DType::bf16) return cuda_backend::rope_bf16(x, pos0, rotary_dim, theta);
  if (detail::any_cuda({&x})) return cuda_backend::rope_f32(x, pos0, rotary_dim, theta);
  MVL_CHECK(x.device().is_cpu(), unsupported, "rope: device tensors go through the CUDA backend");
  Tensor y = Tensor::empty(x.shape(), DType::f32);
  cpu::rope(x.data<float>(), x.strides()[0], x.strides()[1], y.data<float>(), x.dim(0), x.dim(1), x.dim(2), pos0,
            rotary_dim, theta);
  return y;
}

Tensor rope(const Tensor& x, const Tensor& positions, int64_t rotary_dim, double theta) {
  MVL_CHECK(x.ndim() == 3 && (x.dtype() == DType::f32 || detail::bf16_dev(x)) && x.strides()[2] == 1, unsupported,
            "rope: input must be f32 (or bf16 on a GPU) [n, heads, head_dim] with a contiguous last dim, got {}",
            x.str());
  MVL_CHECK(positions.dtype() == DType::i32 && positions.ndim() == 1 && positions.dim(0) == x.dim(0) &&
                positions.is_contiguous(),
            shape_mismatch, "rope: positions must be contiguous i32 [{}], got {}", x.dim(0), positions.str());
  MVL_CHECK(positions.device() == x.device(), invalid_argument, "rope: positions on {} but x on {}",
            positions.device().str(), x.device().str());
  MVL_CHECK(rotary_dim > 0 && rotary_dim % 2 == 0 && rotary_dim <= x.dim(2), invalid_argument,
            "rope: rotary_dim {} must be even and in (0, head_dim={}]", rotary_dim, x.dim(2));
  MVL_CHECK(theta > 0.0, invalid_argument, "rope: bad theta {}", theta);
  if (x.device().is_cuda()) return cuda_backend::rope(x, positions, rotary_dim, theta);
  MVL_CHECK(x.device().is_cpu(), unsupported, "rope: device tensors go through the CUDA backend");
  // The CPU twin: one row at a time at its own position.
  Tensor y = Tensor::empty(x.shape(), DType::f32);
  const int32_t* pos = positions.data<int32_t>();
  const int64_t row = x.dim(1) * x.dim(2);
  for (int64_t i = 0; i < x.dim(0); ++i) {
    MVL_CHECK(pos[i] >= 0, invalid_argument, "rope: negative position {} at row {}", pos[i], i);
    cpu::rope(x.data<float>() + i * x.strides()[0], x.strides()[0], x.strides()[1], y.data<float>() + i * row, 1,
              x.dim(1), x.dim(2), pos[i], rotary_dim, theta);
  }
  return y;
}

}  // namespace mvl::ops
