// Rotary position embedding kernels (partial NeoX: the first rotary_dim dims rotate as
// (x_i, x_i+rot/2) pairs). bf16 (rope_partial): in place, one block per token, angles and the
// rotation in f32. f32 (rope_f32): grid (tokens, heads), inverse frequencies from the host.
// Positions come from device memory (a captured decode step replays at every position).
// CPU twin: kernels/cpu/rope.cpp; tests: tests/gpu/elementwise_test.cpp, ops parity tests.
#include "kernels/cuda/rope.h"

#include <cmath>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/launch.cuh"

namespace mvl::cuda {

using namespace dev;
using namespace host;

namespace {

__global__ void rope_kernel(bf16* x, const int32_t* __restrict__ pos, int H, int64_t tok_stride,
                            int64_t head_stride, int half, float log_theta) {
  const int64_t t = blockIdx.x;
  const float p = static_cast<float>(pos[t]);
  for (int j = threadIdx.x; j < H * half; j += blockDim.x) {
    const int h = j / half, i = j % half;
    const float inv_freq = __expf(-log_theta * (2.f * i) / (2.f * half));
    const float ang = p * inv_freq;
    float sn, cs;
    sincosf(ang, &sn, &cs);
    bf16* row = x + t * tok_stride + h * head_stride;
    const float a = to_f(row[i]), b = to_f(row[i + half]);
    row[i] = to_bf(a * cs - b * sn);
    row[i + half] = to_bf(b * cs + a * sn);
  }
}

struct InvFreq {
  float v[64];
};
// grid (n, H); threads over d.
// positions: i32 [n] on the device, or null for pos0 + t (a captured decode step reads its
// position from device memory, so one graph replays at every step).
__global__ void rope_f32_kernel(const float* x, int64_t s0, int64_t s1, float* out, int64_t heads,
                                int64_t d, int64_t pos0, const int32_t* positions, int64_t rot,
                                InvFreq inv) {
  const int64_t t = blockIdx.x, h = blockIdx.y, half = rot / 2;
  const float* xi = x + t * s0 + h * s1;
  float* yo = out + (t * heads + h) * d;
  const float p = static_cast<float>(positions ? static_cast<int64_t>(positions[t]) : pos0 + t);
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
    if (j < half) {
      const float ang = p * inv.v[j];
      yo[j] = xi[j] * cosf(ang) - xi[j + half] * sinf(ang);
    } else if (j < rot) {
      const float ang = p * inv.v[j - half];
      yo[j] = xi[j] * cosf(ang) + xi[j - half] * sinf(ang);
    } else {
      yo[j] = xi[j];
    }
  }
}

}  // namespace

void rope_partial(const Context& ctx, const Tensor& x, const Tensor& positions, int rotary_dim,
                  float theta) {
  MVL_CHECK(x.ndim() == 3 && x.dtype() == DType::bf16 && x.strides()[2] == 1, shape_mismatch,
            "cuda::rope_partial: x must be bf16 [n, H, d] with a contiguous last dim, got {}",
            x.str());
  MVL_CHECK(rotary_dim % 2 == 0 && rotary_dim <= x.dim(2), invalid_argument,
            "cuda::rope_partial: rotary_dim {}", rotary_dim);
  MVL_CHECK(positions.dtype() == DType::i32 && positions.numel() == x.dim(0), shape_mismatch,
            "cuda::rope_partial: positions {} for x {}", positions.str(), x.str());
  if (x.dim(0) == 0) return;
  rope_kernel<<<x.dim(0), 256, 0, ctx.stream()>>>(
      mb(x), static_cast<const int32_t*>(positions.data()), static_cast<int>(x.dim(1)),
      x.strides()[0], x.strides()[1], rotary_dim / 2, std::log(theta));
  MVL_CUDA_CHECK_LAUNCH();
}

void rope_f32(const Context& ctx, const Tensor& x, int64_t pos0, int64_t rotary_dim, double theta,
              const Tensor& out, const Tensor& positions) {
  MVL_CHECK(rotary_dim / 2 <= 64, unsupported, "rope on CUDA: rotary_dim {} > 128", rotary_dim);
  InvFreq inv{};
  for (int64_t i = 0; i < rotary_dim / 2; ++i) {
    const float e = static_cast<float>(2 * i) / static_cast<float>(rotary_dim);
    inv.v[i] = 1.0f / std::pow(static_cast<float>(theta), e);
  }
  const int64_t n = x.dim(0), heads = x.dim(1), d = x.dim(2);
  if (n * heads == 0) return;
  rope_f32_kernel<<<dim3(static_cast<unsigned>(n), static_cast<unsigned>(heads)), 128, 0,
                    ctx.stream()>>>(
      x.data<float>(), x.strides()[0], x.strides()[1], out.data<float>(), heads, d, pos0,
      positions.defined() ? positions.data<int32_t>() : nullptr, rotary_dim, inv);
  MVL_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mvl::cuda
