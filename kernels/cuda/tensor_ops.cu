// Elementwise tensor kernels: bf16 add / mul / axpby with one bf16 rounding per PyTorch op,
// f32 mul / axpby, dtype conversion, strided copies and an i32 ramp (the row argmax declared in
// tensor_ops.h lives in argmax.cu). Grid-stride loops (or one thread per element), f32
// arithmetic. CPU twins: kernels/cpu/tensor_ops.cpp; tests: tests/gpu/model_ops_bf16_test.cpp,
// tests/gpu/elementwise_test.cpp.
#include "kernels/cuda/tensor_ops.h"

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/launch.cuh"

namespace mvl::cuda {

using namespace dev;
using namespace host;

namespace {

__global__ void add_kernel(const bf16* a, const bf16* b, bf16* c, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    c[i] = to_bf(to_f(a[i]) + to_f(b[i]));
}

__global__ void mul_bf16_kernel(const bf16* a, const bf16* b, bf16* c, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    c[i] = to_bf(to_f(a[i]) * to_f(b[i]));
}

__global__ void axpby_bf16_kernel(const bf16* a, float alpha, const bf16* b, float beta, bf16* c,
                                  int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const float x = round_bf(alpha * to_f(a[i]));
    c[i] = b ? to_bf(x + round_bf(beta * to_f(b[i]))) : to_bf(x);
  }
}

__global__ void axpby_f32_kernel(const float* a, float alpha, const float* b, float beta,
                                 float* out, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const float pa = alpha * a[i];
  out[i] = b ? pa + beta * b[i] : pa;
}
__global__ void mul_f32_kernel(const float* a, const float* b, float* out, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = a[i] * b[i];
}

__global__ void iota_kernel(int32_t* out, int64_t start, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    out[i] = static_cast<int32_t>(start + i);
}

__global__ void f32_to_bf16_kernel(const float* x, bf16* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    y[i] = to_bf(x[i]);
}
__global__ void bf16_to_f32_kernel(const bf16* x, float* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    y[i] = to_f(x[i]);
}

struct Strides4 {
  int64_t shape[4];
  int64_t dst[4];
  int64_t src[4];
};

template <typename T>
__global__ void copy_strided_kernel(T* dst, const T* src, Strides4 s, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  int64_t r = i, od = 0, os = 0;
  for (int d = 3; d >= 0; --d) {
    const int64_t c = r % s.shape[d];
    r /= s.shape[d];
    od += c * s.dst[d];
    os += c * s.src[d];
  }
  dst[od] = src[os];
}

void check_bf16(const Tensor& t, int64_t n, const char* op) {
  MVL_CHECK(t.dtype() == DType::bf16 && t.is_contiguous() && t.numel() == n && t.device().is_cuda(),
            shape_mismatch,
            "cuda::{}: expected a contiguous bf16 GPU tensor of {} elements, got {}", op, n,
            t.str());
}

}  // namespace

void add(const Context& ctx, const Tensor& a, const Tensor& b, const Tensor& c) {
  check_rows(a, c, "add");
  check_rows(b, c, "add");
  if (c.numel() == 0) return;
  add_kernel<<<grid_for(c.numel()), 256, 0, ctx.stream()>>>(cb(a), cb(b), mb(c), c.numel());
  MVL_CUDA_CHECK_LAUNCH();
}

void mul_bf16(const Context& ctx, const Tensor& a, const Tensor& b, const Tensor& c) {
  const int64_t n = c.numel();
  check_bf16(a, n, "mul_bf16");
  check_bf16(b, n, "mul_bf16");
  check_bf16(c, n, "mul_bf16");
  if (n == 0) return;
  mul_bf16_kernel<<<grid_for(n), 256, 0, ctx.stream()>>>(static_cast<const bf16*>(a.data()),
                                                         static_cast<const bf16*>(b.data()),
                                                         static_cast<bf16*>(c.data()), n);
  MVL_CUDA_CHECK_LAUNCH();
}

void axpby_bf16(const Context& ctx, const Tensor& a, float alpha, const Tensor& b, float beta,
                const Tensor& out) {
  const int64_t n = out.numel();
  check_bf16(a, n, "axpby_bf16");
  if (b.defined()) check_bf16(b, n, "axpby_bf16");
  check_bf16(out, n, "axpby_bf16");
  if (n == 0) return;
  axpby_bf16_kernel<<<grid_for(n), 256, 0, ctx.stream()>>>(
      static_cast<const bf16*>(a.data()), alpha,
      b.defined() ? static_cast<const bf16*>(b.data()) : nullptr, beta,
      static_cast<bf16*>(out.data()), n);
  MVL_CUDA_CHECK_LAUNCH();
}

void axpby_f32(const Context& ctx, const Tensor& a, float alpha, const Tensor& b, float beta,
               const Tensor& out) {
  const int64_t n = a.numel();
  if (n == 0) return;
  axpby_f32_kernel<<<blocks_for(n, 256), 256, 0, ctx.stream()>>>(
      a.data<float>(), alpha, b.defined() ? b.data<float>() : nullptr, beta, out.data<float>(), n);
  MVL_CUDA_CHECK(cudaGetLastError());
}

void mul_f32(const Context& ctx, const Tensor& a, const Tensor& b, const Tensor& out) {
  const int64_t n = a.numel();
  if (n == 0) return;
  mul_f32_kernel<<<blocks_for(n, 256), 256, 0, ctx.stream()>>>(a.data<float>(), b.data<float>(),
                                                               out.data<float>(), n);
  MVL_CUDA_CHECK(cudaGetLastError());
}

void iota_i32(const Context& ctx, int64_t start, const Tensor& out) {
  MVL_CHECK(out.dtype() == DType::i32 && out.is_contiguous() && out.device().is_cuda(),
            shape_mismatch, "cuda::iota_i32: expected a contiguous i32 GPU tensor, got {}",
            out.str());
  MVL_CHECK(start >= 0 && start + out.numel() <= INT32_MAX, invalid_argument,
            "cuda::iota_i32: positions [{}, {}) do not fit in i32", start, start + out.numel());
  if (out.numel() == 0) return;
  iota_kernel<<<grid_for(out.numel()), 256, 0, ctx.stream()>>>(static_cast<int32_t*>(out.data()),
                                                               start, out.numel());
  MVL_CUDA_CHECK_LAUNCH();
}

void convert(const Context& ctx, const Tensor& x, const Tensor& y) {
  MVL_CHECK(x.numel() == y.numel() && x.is_contiguous() && y.is_contiguous(), shape_mismatch,
            "cuda::convert: {} -> {}", x.str(), y.str());
  const int64_t n = x.numel();
  if (n == 0) return;
  if (x.dtype() == y.dtype()) {
    MVL_CUDA_CHECK(
        cudaMemcpyAsync(y.data(), x.data(), x.nbytes(), cudaMemcpyDeviceToDevice, ctx.stream()));
  } else if (x.dtype() == DType::f32 && y.dtype() == DType::bf16) {
    f32_to_bf16_kernel<<<grid_for(n), 256, 0, ctx.stream()>>>(static_cast<const float*>(x.data()),
                                                              mb(y), n);
  } else if (x.dtype() == DType::bf16 && y.dtype() == DType::f32) {
    bf16_to_f32_kernel<<<grid_for(n), 256, 0, ctx.stream()>>>(cb(x), static_cast<float*>(y.data()),
                                                              n);
  } else {
    throw_error(ErrorCategory::unsupported,
                fmt::format("cuda::convert: {} -> {}", x.str(), y.str()));
  }
  MVL_CUDA_CHECK_LAUNCH();
}

void copy_strided(const Context& ctx, const Tensor& dst, const Tensor& src) {
  MVL_CHECK(dst.shape() == src.shape() && dst.dtype() == src.dtype(), shape_mismatch,
            "copy_strided: {} vs {}", dst.str(), src.str());
  MVL_CHECK(dst.ndim() <= 4, unsupported, "copy_strided: at most 4 dims, got {}", dst.str());
  const int64_t n = dst.numel();
  if (n == 0) return;
  Strides4 s{};
  const int off = 4 - dst.ndim();
  for (int d = 0; d < 4; ++d) {
    s.shape[d] = 1;
    s.dst[d] = s.src[d] = 0;
  }
  for (int d = 0; d < dst.ndim(); ++d) {
    s.shape[off + d] = dst.dim(d);
    s.dst[off + d] = dst.strides()[d];
    s.src[off + d] = src.strides()[d];
  }
  const size_t es = dtype_size(dst.dtype());
  if (es == 4)
    copy_strided_kernel<uint32_t><<<blocks_for(n, 256), 256, 0, ctx.stream()>>>(
        static_cast<uint32_t*>(dst.data()), static_cast<const uint32_t*>(src.data()), s, n);
  else if (es == 2)
    copy_strided_kernel<uint16_t><<<blocks_for(n, 256), 256, 0, ctx.stream()>>>(
        static_cast<uint16_t*>(dst.data()), static_cast<const uint16_t*>(src.data()), s, n);
  else if (es == 1)  // int8 / fp8 / packed int4 codes of quantized weights
    copy_strided_kernel<uint8_t><<<blocks_for(n, 256), 256, 0, ctx.stream()>>>(
        static_cast<uint8_t*>(dst.data()), static_cast<const uint8_t*>(src.data()), s, n);
  else if (es == 8)
    copy_strided_kernel<uint64_t><<<blocks_for(n, 256), 256, 0, ctx.stream()>>>(
        static_cast<uint64_t*>(dst.data()), static_cast<const uint64_t*>(src.data()), s, n);
  else
    throw_error(ErrorCategory::unsupported, fmt::format("copy_strided: {}-byte elements", es));
  MVL_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mvl::cuda
