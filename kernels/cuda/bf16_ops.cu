// bf16 elementwise kernels for the ops:: bf16 activation path (see bf16_ops.h): grid-stride
// loops, one element per thread step, f32 arithmetic with one bf16 rounding per PyTorch op.
// CPU twin: the f32 ops in kernels/cpu/tensor_ops rounded the same way (tests/gpu/bf16_ops_test.cpp).
#include "kernels/cuda/bf16_ops.h"

#include "kernels/core/error.h"
#include "kernels/cuda/check.cuh"
#include "kernels/cuda/common.cuh"

namespace mvl::cuda {

using namespace dev;

namespace {

__global__ void mul_kernel(const bf16* a, const bf16* b, bf16* c, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    c[i] = to_bf(to_f(a[i]) * to_f(b[i]));
}

__global__ void axpby_kernel(const bf16* a, float alpha, const bf16* b, float beta, bf16* c, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const float x = round_bf(alpha * to_f(a[i]));
    c[i] = b ? to_bf(x + round_bf(beta * to_f(b[i]))) : to_bf(x);
  }
}

__global__ void iota_kernel(int32_t* out, int64_t start, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = static_cast<int32_t>(start + i);
}

unsigned grid(int64_t n) {
  const int64_t b = (n + 255) / 256;
  return static_cast<unsigned>(b < 1 ? 1 : (b > 65535 * 8 ? 65535 * 8 : b));
}

void check_bf16(const Tensor& t, int64_t n, const char* op) {
  MVL_CHECK(t.dtype() == DType::bf16 && t.is_contiguous() && t.numel() == n && t.device().is_cuda(), shape_mismatch,
            "cuda::{}: expected a contiguous bf16 GPU tensor of {} elements, got {}", op, n, t.str());
}

}  // namespace

void mul_bf16(const Context& ctx, const Tensor& a, const Tensor& b, const Tensor& c) {
  const int64_t n = c.numel();
  check_bf16(a, n, "mul_bf16");
  check_bf16(b, n, "mul_bf16");
  check_bf16(c, n, "mul_bf16");
  if (n == 0) return;
  mul_kernel<<<grid(n), 256, 0, ctx.stream()>>>(static_cast<const bf16*>(a.data()), static_cast<const bf16*>(b.data()),
                                               static_cast<bf16*>(c.data()), n);
  MVL_CUDA_CHECK_LAUNCH();
}

void axpby_bf16(const Context& ctx, const Tensor& a, float alpha, const Tensor& b, float beta, const Tensor& out) {
  const int64_t n = out.numel();
  check_bf16(a, n, "axpby_bf16");
  if (b.defined()) check_bf16(b, n, "axpby_bf16");
  check_bf16(out, n, "axpby_bf16");
  if (n == 0) return;
  axpby_kernel<<<grid(n), 256, 0, ctx.stream()>>>(static_cast<const bf16*>(a.data()), alpha,
                                                 b.defined() ? static_cast<const bf16*>(b.data()) : nullptr, beta,
                                                 static_cast<bf16*>(out.data()), n);
  MVL_CUDA_CHECK_LAUNCH();
}

void iota_i32(const Context& ctx, int64_t start, const Tensor& out) {
  MVL_CHECK(out.dtype() == DType::i32 && out.is_contiguous() && out.device().is_cuda(), shape_mismatch,
            "cuda::iota_i32: expected a contiguous i32 GPU tensor, got {}", out.str());
  MVL_CHECK(start >= 0 && start + out.numel() <= INT32_MAX, invalid_argument,
            "cuda::iota_i32: positions [{}, {}) do not fit in i32", start, start + out.numel());
  if (out.numel() == 0) return;
  iota_kernel<<<grid(out.numel()), 256, 0, ctx.stream()>>>(static_cast<int32_t*>(out.data()), start, out.numel());
  MVL_CUDA_CHECK_LAUNCH();
}

}  // namespace mvl::cuda
