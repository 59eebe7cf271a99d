// The ViT's patch-embedding kernels: im2col of the pixels (f32, and bf16 with zero padding
// columns so the cuBLASLt GEMM's rows stay 16-byte aligned), zero-padding a weight's columns,
// and the [CLS; patches] + positions step (f32 sum, one rounding to the output dtype). One
// thread per output element: bandwidth-bound and a few % of the ViT.
// CPU twins: kernels/cpu/patch_embed.cpp, the loop in ops::vit_embeddings;
// tests: tests/gpu/vit_ops_test.cpp.
#include "kernels/cuda/patch_embed.h"

#include <cuda_bf16.h>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/launch.cuh"

namespace mvl::cuda {

using namespace dev;
using namespace host;

namespace {

constexpr int kThreads = 256;

// One rounding to the output dtype (round to nearest even for bf16).
__device__ __forceinline__ void store(void* y, bool bf16, int64_t i, float v) {
  if (bf16)
    static_cast<__nv_bfloat16*>(y)[i] = __float2bfloat16_rn(v);
  else
    static_cast<float*>(y)[i] = v;
}

__global__ void patchify_kernel(const float* px, int64_t C, int64_t S, int64_t k, int64_t g,
                                float* cols, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const int64_t K = C * k * k;
  const int64_t row = i / K, col = i % K;
  const int64_t t = row / (g * g), p = row % (g * g), py = p / g, pxi = p % g;
  const int64_t c = col / (k * k), ky = (col / k) % k, kx = col % k;
  cols[i] = px[((t * C + c) * S + py * k + ky) * S + pxi * k + kx];
}

// bf16 im2col with zero padding columns [K, Kp): the GEMM's rows stay 16-byte aligned.
__global__ void patchify_bf16_kernel(const void* px, bool px_bf16, int64_t C, int64_t S, int64_t k,
                                     int64_t g, int64_t Kp, __nv_bfloat16* cols, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const int64_t K = C * k * k;
  const int64_t row = i / Kp, col = i % Kp;
  if (col >= K) {
    cols[i] = __float2bfloat16_rn(0.0f);
    return;
  }
  const int64_t t = row / (g * g), p = row % (g * g), py = p / g, pxi = p % g;
  const int64_t c = col / (k * k), ky = (col / k) % k, kx = col % k;
  cols[i] =
      __float2bfloat16_rn(ldw(px, px_bf16, ((t * C + c) * S + py * k + ky) * S + pxi * k + kx));
}

__global__ void pad_cols_kernel(const __nv_bfloat16* src, int64_t K, int64_t Kp, __nv_bfloat16* dst,
                                int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const int64_t r = i / Kp, c = i % Kp;
  dst[i] = c < K ? src[r * K + c] : __float2bfloat16_rn(0.0f);
}

// out[t, j, :] = (j == 0 ? cls : patches[t, j - 1]) + pos[j], one rounding to out's dtype.
__global__ void vit_embeddings_kernel(const void* patches, bool p_bf16, const void* cls,
                                      bool c_bf16, const void* pos, bool pos_bf16, void* out,
                                      bool o_bf16, int64_t P, int64_t D, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const int64_t d = i % D, j = (i / D) % (P + 1), t = i / (D * (P + 1));
  const float a = j == 0 ? ldw(cls, c_bf16, d) : ldw(patches, p_bf16, (t * P + j - 1) * D + d);
  store(out, o_bf16, i, a + ldw(pos, pos_bf16, j * D + d));
}

}  // namespace

void patchify_f32(const Context& ctx, const Tensor& pixels, int64_t k, const Tensor& cols) {
  check_act(pixels, "patchify pixels");
  check_act(cols, "patchify cols");
  MVL_CHECK(pixels.ndim() == 4 && pixels.dim(2) == pixels.dim(3) && k > 0 && pixels.dim(2) % k == 0,
            shape_mismatch, "patchify: pixels {} with patch {}", pixels.str(), k);
  const int64_t T = pixels.dim(0), C = pixels.dim(1), S = pixels.dim(2), g = S / k;
  MVL_CHECK(cols.ndim() == 2 && cols.dim(0) == T * g * g && cols.dim(1) == C * k * k,
            shape_mismatch, "patchify: cols {} do not match pixels {} with patch {}", cols.str(),
            pixels.str(), k);
  const int64_t n = cols.numel();
  if (n == 0) return;
  patchify_kernel<<<blocks_for(n, kThreads), kThreads, 0, ctx.stream()>>>(
      pixels.data<float>(), C, S, k, g, cols.data<float>(), n);
  MVL_CUDA_CHECK_LAUNCH();
}

void patchify_bf16(const Context& ctx, const Tensor& pixels, int64_t k, const Tensor& cols) {
  check_float_dev(pixels, "patchify pixels");
  MVL_CHECK(cols.dtype() == DType::bf16 && cols.is_contiguous() && cols.device().is_cuda(),
            unsupported, "patchify: cols must be a contiguous bf16 device tensor, got {}",
            cols.str());
  MVL_CHECK(pixels.ndim() == 4 && pixels.dim(2) == pixels.dim(3) && k > 0 && pixels.dim(2) % k == 0,
            shape_mismatch, "patchify: pixels {} with patch {}", pixels.str(), k);
  const int64_t T = pixels.dim(0), C = pixels.dim(1), S = pixels.dim(2), g = S / k, K = C * k * k;
  MVL_CHECK(cols.ndim() == 2 && cols.dim(0) == T * g * g && cols.dim(1) >= K, shape_mismatch,
            "patchify: cols {} do not match pixels {} with patch {}", cols.str(), pixels.str(), k);
  const int64_t n = cols.numel();
  if (n == 0) return;
  patchify_bf16_kernel<<<blocks_for(n, kThreads), kThreads, 0, ctx.stream()>>>(
      pixels.data(), pixels.dtype() == DType::bf16, C, S, k, g, cols.dim(1),
      static_cast<__nv_bfloat16*>(cols.data()), n);
  MVL_CUDA_CHECK_LAUNCH();
}

void pad_cols_bf16(const Context& ctx, const Tensor& src, const Tensor& dst) {
  for (const Tensor* t : {&src, &dst})
    MVL_CHECK(
        t->dtype() == DType::bf16 && t->ndim() == 2 && t->is_contiguous() && t->device().is_cuda(),
        unsupported, "pad_cols: expected a contiguous bf16 [rows, cols] device tensor, got {}",
        t->str());
  MVL_CHECK(src.dim(0) == dst.dim(0) && src.dim(1) <= dst.dim(1), shape_mismatch,
            "pad_cols: {} -> {}", src.str(), dst.str());
  const int64_t n = dst.numel();
  if (n == 0) return;
  pad_cols_kernel<<<blocks_for(n, kThreads), kThreads, 0, ctx.stream()>>>(
      static_cast<const __nv_bfloat16*>(src.data()), src.dim(1), dst.dim(1),
      static_cast<__nv_bfloat16*>(dst.data()), n);
  MVL_CUDA_CHECK_LAUNCH();
}

void vit_embeddings(const Context& ctx, const Tensor& patches, const Tensor& cls, const Tensor& pos,
                    const Tensor& out) {
  for (const Tensor* t : {&patches, &cls, &pos, &out}) check_float_dev(*t, "vit_embeddings");
  MVL_CHECK(patches.ndim() == 3, shape_mismatch, "vit_embeddings: patches {} must be [T, P, D]",
            patches.str());
  const int64_t T = patches.dim(0), P = patches.dim(1), D = patches.dim(2);
  MVL_CHECK(cls.numel() == D && pos.numel() == (P + 1) * D && pos.dim(-1) == D, shape_mismatch,
            "vit_embeddings: class {} / positions {} do not match patches {}", cls.str(), pos.str(),
            patches.str());
  MVL_CHECK(out.shape() == (Shape{T, P + 1, D}), shape_mismatch,
            "vit_embeddings: output {} for patches {}", out.str(), patches.str());
  const int64_t n = out.numel();
  if (n == 0) return;
  vit_embeddings_kernel<<<blocks_for(n, kThreads), kThreads, 0, ctx.stream()>>>(
      patches.data(), patches.dtype() == DType::bf16, cls.data(), cls.dtype() == DType::bf16,
      pos.data(), pos.dtype() == DType::bf16, out.data(), out.dtype() == DType::bf16, P, D, n);
  MVL_CUDA_CHECK_LAUNCH();
}

}  // namespace mvl::cuda
