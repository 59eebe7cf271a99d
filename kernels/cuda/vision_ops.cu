// Vision CUDA kernels (see vision_ops.h): one block per LayerNorm row, one thread per
// im2col element, bias-added output or embedding element; plain and obviously right (these
// are bandwidth-bound and a few % of the ViT; the GEMMs and attention are the tuned kernels).
// CPU twins: kernels/cpu/{layer_norm,patch_embed}.cpp and the loop in ops::vit_embeddings;
// tests: tests/gpu/vit_ops_test.cpp.
#include "kernels/cuda/vision_ops.h"

#include <cuda_bf16.h>

#include "kernels/core/error.h"
#include "kernels/cuda/check.cuh"

namespace mvl::cuda {

namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ float load_w(const void* w, bool bf16, int64_t i) {
  return bf16 ? __bfloat162float(static_cast<const __nv_bfloat16*>(w)[i]) : static_cast<const float*>(w)[i];
}
// One rounding to the output dtype (round to nearest even for bf16).
__device__ __forceinline__ void store(void* y, bool bf16, int64_t i, float v) {
  if (bf16)
    static_cast<__nv_bfloat16*>(y)[i] = __float2bfloat16_rn(v);
  else
    static_cast<float*>(y)[i] = v;
}

// Block-wide f64 sum (blockDim.x == kThreads); every thread gets the total.
__device__ double block_sum_f64(double v, double* red) {
  red[threadIdx.x] = v;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) red[threadIdx.x] += red[threadIdx.x + s];
    __syncthreads();
  }
  const double t = red[0];
  __syncthreads();
  return t;
}

__global__ void layer_norm_kernel(const float* x, const void* w, bool wbf, const void* b, bool bbf, float* y,
                                  int64_t d, float eps) {
  __shared__ double red[kThreads];
  const float* xr = x + blockIdx.x * d;
  float* yr = y + blockIdx.x * d;
  double s = 0.0;
  for (int64_t i = threadIdx.x; i < d; i += kThreads) s += xr[i];
  const double mean = block_sum_f64(s, red) / static_cast<double>(d);
  double sq = 0.0;
  for (int64_t i = threadIdx.x; i < d; i += kThreads) {
    const double c = xr[i] - mean;
    sq += c * c;
  }
  const double var = block_sum_f64(sq, red) / static_cast<double>(d);
  const float rstd = static_cast<float>(1.0 / sqrt(var + static_cast<double>(eps)));
  const float m = static_cast<float>(mean);
  for (int64_t i = threadIdx.x; i < d; i += kThreads)
    yr[i] = (xr[i] - m) * rstd * load_w(w, wbf, i) + load_w(b, bbf, i);
}

__global__ void patchify_kernel(const float* px, int64_t C, int64_t S, int64_t k, int64_t g, float* cols,
                                int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const int64_t K = C * k * k;
  const int64_t row = i / K, col = i % K;
  const int64_t t = row / (g * g), p = row % (g * g), py = p / g, pxi = p % g;
  const int64_t c = col / (k * k), ky = (col / k) % k, kx = col % k;
  cols[i] = px[((t * C + c) * S + py * k + ky) * S + pxi * k + kx];
}

// bf16 im2col with zero padding columns [K, Kp): the GEMM's rows stay 16-byte aligned.
__global__ void patchify_bf16_kernel(const void* px, bool px_bf16, int64_t C, int64_t S, int64_t k, int64_t g,
                                     int64_t Kp, __nv_bfloat16* cols, int64_t n) {
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
  cols[i] = __float2bfloat16_rn(load_w(px, px_bf16, ((t * C + c) * S + py * k + ky) * S + pxi * k + kx));
}

__global__ void pad_cols_kernel(const __nv_bfloat16* src, int64_t K, int64_t Kp, __nv_bfloat16* dst, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const int64_t r = i / Kp, c = i % Kp;
  dst[i] = c < K ? src[r * K + c] : __float2bfloat16_rn(0.0f);
}

// out[t, j, :] = (j == 0 ? cls : patches[t, j - 1]) + pos[j], one rounding to out's dtype.
__global__ void vit_embeddings_kernel(const void* patches, bool p_bf16, const void* cls, bool c_bf16,
                                      const void* pos, bool pos_bf16, void* out, bool o_bf16, int64_t P, int64_t D,
                                      int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const int64_t d = i % D, j = (i / D) % (P + 1), t = i / (D * (P + 1));
  const float a = j == 0 ? load_w(cls, c_bf16, d) : load_w(patches, p_bf16, (t * P + j - 1) * D + d);
  store(out, o_bf16, i, a + load_w(pos, pos_bf16, j * D + d));
}

__global__ void add_bias_kernel(float* y, const void* b, bool bbf, int64_t out, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  y[i] += load_w(b, bbf, i % out);
}

unsigned blocks_for(int64_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

void check_param(const Tensor& p, int64_t d, const char* what) {
  MVL_CHECK(p.ndim() == 1 && p.dim(0) == d && p.is_contiguous() &&
                (p.dtype() == DType::f32 || p.dtype() == DType::bf16) && p.device().is_cuda(),
            unsupported, "{}: expected a contiguous f32|bf16 [{}] device tensor, got {}", what, d, p.str());
}
void check_float_dev(const Tensor& t, const char* what) {
  MVL_CHECK((t.dtype() == DType::f32 || t.dtype() == DType::bf16) && t.is_contiguous() && t.device().is_cuda(),
            unsupported, "{}: expected a contiguous f32|bf16 device tensor, got {}", what, t.str());
}
void check_act(const Tensor& t, const char* what) {
  MVL_CHECK(t.dtype() == DType::f32 && t.is_contiguous() && t.device().is_cuda(), unsupported,
            "{}: expected a contiguous f32 device tensor, got {}", what, t.str());
}

}  // namespace

void layer_norm_f32(const Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, float eps,
                    const Tensor& y) {
  check_act(x, "layer_norm x");
  check_act(y, "layer_norm y");
  const int64_t d = x.dim(-1);
  check_param(w, d, "layer_norm weight");
  check_param(b, d, "layer_norm bias");
  MVL_CHECK(y.shape() == x.shape(), shape_mismatch, "layer_norm: output {} vs input {}", y.str(), x.str());
  const int64_t rows = d ? x.numel() / d : 0;
  if (rows == 0) return;
  layer_norm_kernel<<<static_cast<unsigned>(rows), kThreads, 0, ctx.stream()>>>(
      x.data<float>(), w.data(), w.dtype() == DType::bf16, b.data(), b.dtype() == DType::bf16, y.data<float>(), d,
      eps);
  MVL_CUDA_CHECK_LAUNCH();
}

void patchify_f32(const Context& ctx, const Tensor& pixels, int64_t k, const Tensor& cols) {
  check_act(pixels, "patchify pixels");
  check_act(cols, "patchify cols");
  MVL_CHECK(pixels.ndim() == 4 && pixels.dim(2) == pixels.dim(3) && k > 0 && pixels.dim(2) % k == 0,
            shape_mismatch, "patchify: pixels {} with patch {}", pixels.str(), k);
  const int64_t T = pixels.dim(0), C = pixels.dim(1), S = pixels.dim(2), g = S / k;
  MVL_CHECK(cols.ndim() == 2 && cols.dim(0) == T * g * g && cols.dim(1) == C * k * k, shape_mismatch,
            "patchify: cols {} do not match pixels {} with patch {}", cols.str(), pixels.str(), k);
  const int64_t n = cols.numel();
  if (n == 0) return;
  patchify_kernel<<<blocks_for(n), kThreads, 0, ctx.stream()>>>(pixels.data<float>(), C, S, k, g,
                                                                 cols.data<float>(), n);
  MVL_CUDA_CHECK_LAUNCH();
}

void add_bias_rows_f32(const Context& ctx, const Tensor& y, const Tensor& bias) {
  check_act(y, "bias add output");
  const int64_t out = y.dim(-1);
  check_param(bias, out, "linear bias");
  const int64_t n = y.numel();
  if (n == 0) return;
  add_bias_kernel<<<blocks_for(n), kThreads, 0, ctx.stream()>>>(y.data<float>(), bias.data(),
                                                                 bias.dtype() == DType::bf16, out, n);
  MVL_CUDA_CHECK_LAUNCH();
}

void patchify_bf16(const Context& ctx, const Tensor& pixels, int64_t k, const Tensor& cols) {
  check_float_dev(pixels, "patchify pixels");
  MVL_CHECK(cols.dtype() == DType::bf16 && cols.is_contiguous() && cols.device().is_cuda(), unsupported,
            "patchify: cols must be a contiguous bf16 device tensor, got {}", cols.str());
  MVL_CHECK(pixels.ndim() == 4 && pixels.dim(2) == pixels.dim(3) && k > 0 && pixels.dim(2) % k == 0,
            shape_mismatch, "patchify: pixels {} with patch {}", pixels.str(), k);
  const int64_t T = pixels.dim(0), C = pixels.dim(1), S = pixels.dim(2), g = S / k, K = C * k * k;
  MVL_CHECK(cols.ndim() == 2 && cols.dim(0) == T * g * g && cols.dim(1) >= K, shape_mismatch,
            "patchify: cols {} do not match pixels {} with patch {}", cols.str(), pixels.str(), k);
  const int64_t n = cols.numel();
  if (n == 0) return;
  patchify_bf16_kernel<<<blocks_for(n), kThreads, 0, ctx.stream()>>>(
      pixels.data(), pixels.dtype() == DType::bf16, C, S, k, g, cols.dim(1),
      static_cast<__nv_bfloat16*>(cols.data()), n);
  MVL_CUDA_CHECK_LAUNCH();
}

void pad_cols_bf16(const Context& ctx, const Tensor& src, const Tensor& dst) {
  for (const Tensor* t : {&src, &dst})
    MVL_CHECK(t->dtype() == DType::bf16 && t->ndim() == 2 && t->is_contiguous() && t->device().is_cuda(),
              unsupported, "pad_cols: expected a contiguous bf16 [rows, cols] device tensor, got {}", t->str());
  MVL_CHECK(src.dim(0) == dst.dim(0) && src.dim(1) <= dst.dim(1), shape_mismatch, "pad_cols: {} -> {}", src.str(),
            dst.str());
  const int64_t n = dst.numel();
  if (n == 0) return;
  pad_cols_kernel<<<blocks_for(n), kThreads, 0, ctx.stream()>>>(static_cast<const __nv_bfloat16*>(src.data()),
                                                                 src.dim(1), dst.dim(1),
                                                                 static_cast<__nv_bfloat16*>(dst.data()), n);
  MVL_CUDA_CHECK_LAUNCH();
}

void vit_embeddings(const Context& ctx, const Tensor& patches, const Tensor& cls, const Tensor& pos,
                    const Tensor& out) {
  for (const Tensor* t : {&patches, &cls, &pos, &out}) check_float_dev(*t, "vit_embeddings");
  MVL_CHECK(patches.ndim() == 3, shape_mismatch, "vit_embeddings: patches {} must be [T, P, D]", patches.str());
  const int64_t T = patches.dim(0), P = patches.dim(1), D = patches.dim(2);
  MVL_CHECK(cls.numel() == D && pos.numel() == (P + 1) * D && pos.dim(-1) == D, shape_mismatch,
            "vit_embeddings: class {} / positions {} do not match patches {}", cls.str(), pos.str(), patches.str());
  MVL_CHECK(out.shape() == (Shape{T, P + 1, D}), shape_mismatch, "vit_embeddings: output {} for patches {}",
            out.str(), patches.str());
  const int64_t n = out.numel();
  if (n == 0) return;
  vit_embeddings_kernel<<<blocks_for(n), kThreads, 0, ctx.stream()>>>(
      patches.data(), patches.dtype() == DType::bf16, cls.data(), cls.dtype() == DType::bf16, pos.data(),
      pos.dtype() == DType::bf16, out.data(), out.dtype() == DType::bf16, P, D, n);
  MVL_CUDA_CHECK_LAUNCH();
}

}  // namespace mvl::cuda
