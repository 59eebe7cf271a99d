// Linear layers on CUDA. bf16: cuBLASLt GEMMs with cached plans (descriptors + heuristic
// algorithm per shape). f32 generic (linear_f32): one warp per output element, f32|bf16
// weights; add_bias_rows_f32 adds a bias per output feature after it.
// Row-major y[n,out] = x[n,in]·w[out,in]ᵀ is column-major yᵀ = op_T(w) · xᵀ, so A = w
// (transposed), B = x, D = yᵀ with ld = out; the BIAS epilogue adds per row of D = per
// output feature. A residual (GemmOptions::residual) is cuBLASLt's C with beta = 1 (C != D);
// gemm_bias_act runs the GEMM then the bf16 activation in place (optionally per row block).
// Tested by tests/gpu/gemm_test.cpp against cpu::linear, tests/gpu/vit_ops_test.cpp (epilogues).
#include "kernels/cuda/linear.h"

#include <algorithm>

#include "kernels/cuda/activation.h"
#include "kernels/cuda/check.cuh"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/gemm_plan.cuh"
#include "kernels/cuda/launch.cuh"

namespace mvl::cuda {

using namespace dev;
using namespace host;

namespace {

// cuBLASLt's BIAS epilogue wants the bias in the output type; for f32 outputs with a bf16
// bias we add it in a second (cheap, bandwidth-bound) pass instead.
__global__ void add_bias_f32(float* y, const dev::bf16* b, int64_t rows, int64_t out) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < rows * out;
       i += int64_t(gridDim.x) * blockDim.x)
    y[i] += dev::to_f(b[i % out]);
}

std::shared_ptr<Context::GemmPlan> make_plan(const Context& ctx, int64_t n, int64_t in, int64_t out,
                                             bool y_bf16, bool bias) {
  auto p = std::make_shared<Context::GemmPlan>();
  MVL_CUBLAS_CHECK(cublasLtMatmulDescCreate(&p->op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
  MVL_CUBLAS_CHECK(
      cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)));
  MVL_CUBLAS_CHECK(
      cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)));
  if (bias) {
    const cublasLtEpilogue_t ep = CUBLASLT_EPILOGUE_BIAS;
    const cudaDataType_t bt = CUDA_R_16BF;
    MVL_CUBLAS_CHECK(
        cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &ep, sizeof(ep)));
    MVL_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt,
                                                    sizeof(bt)));
  }
  const cudaDataType_t dt = y_bf16 ? CUDA_R_16BF : CUDA_R_32F;
  MVL_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->a, CUDA_R_16BF, in, out, in));
  MVL_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->b, CUDA_R_16BF, in, n, in));
  MVL_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->d, dt, out, n, out));
  bool found = false;
  const cublasStatus_t s = pick_gemm_algo(ctx, *p, 0, &found);
  MVL_CHECK(s == CUBLAS_STATUS_SUCCESS && found, unsupported,
            "cuBLASLt has no bf16 GEMM algorithm for n={} in={} out={} (status {})", n, in, out,
            static_cast<int>(s));
  return p;
}

// One warp per output element y[r, c].
__global__ void linear_f32_kernel(const float* x, const void* w, bool wbf, float* y, int64_t n,
                                  int64_t in, int64_t out) {
  const int64_t warp = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (warp >= n * out) return;
  const int64_t r = warp / out, c = warp % out;
  const float* xr = x + r * in;
  float acc = 0.0f;
  for (int64_t j = lane; j < in; j += 32) acc += xr[j] * ldw(w, wbf, c * in + j);
  acc = warp_sum(acc);
  if (lane == 0) y[r * out + c] = acc;
}

__global__ void add_bias_kernel(float* y, const void* b, bool bbf, int64_t out, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  y[i] += ldw(b, bbf, i % out);
}

}  // namespace

void gemm_raw(const Context& ctx, const void* x, const void* w, void* y, bool y_bf16, int64_t n,
              int64_t in, int64_t out, const GemmOptions& opt) {
  if (n == 0) return;
  if (opt.bias && !y_bf16) {
    GemmOptions o2 = opt;
    o2.bias = nullptr;
    gemm_raw(ctx, x, w, y, y_bf16, n, in, out, o2);
    const int64_t blocks = std::min<int64_t>((n * out + 255) / 256, 65535 * 4);
    add_bias_f32<<<static_cast<unsigned>(blocks), 256, 0, ctx.stream()>>>(
        static_cast<float*>(y), static_cast<const dev::bf16*>(opt.bias->data()), n, out);
    MVL_CUDA_CHECK_LAUNCH();
    return;
  }
  const bool bias = opt.bias != nullptr;
  const Context::GemmKey key{n, in, out, y_bf16 ? 1 : 0, bias ? 1 : 0, 0};
  auto& cache = ctx.gemm_plans();
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, make_plan(ctx, n, in, out, y_bf16, bias)).first;
  Context::GemmPlan& p = *it->second;
  if (bias) {
    const void* bp = opt.bias->data();
    MVL_CUBLAS_CHECK(
        cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bp, sizeof(bp)));
  }
  const float alpha = opt.alpha, beta = opt.accumulate || opt.residual ? 1.0f : 0.0f;
  const void* c = opt.residual ? opt.residual->data() : y;
  MVL_CUBLAS_CHECK(cublasLtMatmul(static_cast<cublasLtHandle_t>(ctx.cublaslt()), p.op, &alpha, w,
                                  p.a, x, p.b, &beta, c, p.d, y, p.d, &p.algo, ctx.workspace(),
                                  ctx.workspace_bytes(), ctx.stream()));
}

void gemm(const Context& ctx, const Tensor& x, const Tensor& w, const Tensor& y,
          const GemmOptions& opt) {
  MVL_CHECK(x.dtype() == DType::bf16 && w.dtype() == DType::bf16, unsupported,
            "cuda::gemm: x and w must be bf16, got {} and {}", x.str(), w.str());
  MVL_CHECK(w.ndim() == 2 && x.dim(-1) == w.dim(1), shape_mismatch, "cuda::gemm: x {} vs w {}",
            x.str(), w.str());
  MVL_CHECK(x.is_contiguous() && w.is_contiguous() && y.is_contiguous(), unsupported,
            "cuda::gemm: tensors must be contiguous");
  MVL_CHECK(x.device().is_cuda() && w.device().is_cuda() && y.device().is_cuda(), invalid_argument,
            "cuda::gemm: all tensors must be on the GPU ({} {} {})", x.str(), w.str(), y.str());
  const int64_t in = w.dim(1), out = w.dim(0), n = x.numel() / in;
  MVL_CHECK(y.numel() == n * out && y.dim(-1) == out, shape_mismatch,
            "cuda::gemm: y {} for x {} w {}", y.str(), x.str(), w.str());
  MVL_CHECK(y.dtype() == DType::f32 || y.dtype() == DType::bf16, unsupported, "cuda::gemm: y {}",
            y.str());
  if (opt.bias)
    MVL_CHECK(opt.bias->dtype() == DType::bf16 && opt.bias->numel() == out, shape_mismatch,
              "cuda::gemm: bias {} (want bf16 [{}])", opt.bias->str(), out);
  if (opt.residual)
    MVL_CHECK(
        !opt.accumulate && opt.residual->dtype() == y.dtype() &&
            opt.residual->numel() == y.numel() && opt.residual->dim(-1) == out &&
            opt.residual->is_contiguous() && opt.residual->device().is_cuda(),
        shape_mismatch,
        "cuda::gemm: residual {} for y {} (same dtype and shape, contiguous, not with accumulate)",
        opt.residual->str(), y.str());
  gemm_raw(ctx, x.data(), w.data(), y.data(), y.dtype() == DType::bf16, n, in, out, opt);
}

void gemm_bias_act(const Context& ctx, const Tensor& x, const Tensor& w, const Tensor* bias,
                   const std::string& act, const Tensor& y, int64_t chunk_rows) {
  MVL_CHECK(y.dtype() == DType::bf16, unsupported, "cuda::gemm_bias_act: y must be bf16, got {}",
            y.str());
  const int64_t in = w.dim(1), n = x.numel() / std::max<int64_t>(in, 1);
  GemmOptions opt;
  opt.bias = bias;
  if (chunk_rows <= 0 || chunk_rows >= n) {
    gemm(ctx, x, w, y, opt);
    activation_inplace(ctx, y, act);
    return;
  }
  const Tensor x2 = x.view({n, in}), y2 = y.view({n, w.dim(0)});
  for (int64_t r0 = 0; r0 < n; r0 += chunk_rows) {
    const int64_t r1 = std::min(n, r0 + chunk_rows);
    const Tensor yc = y2.slice(0, r0, r1);
    gemm(ctx, x2.slice(0, r0, r1), w, yc, opt);
    activation_inplace(ctx, yc, act);
  }
}

void linear_f32(const Context& ctx, const Tensor& x, const Tensor& w, const Tensor& y) {
  check_f32(x, "linear x");
  check_f32(y, "linear y");
  const int64_t in = w.dim(1), out = w.dim(0), n = x.numel() / in;
  if (n * out == 0) return;
  linear_f32_kernel<<<blocks_for(n * out * 32, 256), 256, 0, ctx.stream()>>>(
      x.data<float>(), w.data(), is_bf16(w), y.data<float>(), n, in, out);
  MVL_CUDA_CHECK(cudaGetLastError());
}

void add_bias_rows_f32(const Context& ctx, const Tensor& y, const Tensor& bias) {
  check_act(y, "bias add output");
  const int64_t out = y.dim(-1);
  check_param(bias, out, "linear bias");
  const int64_t n = y.numel();
  if (n == 0) return;
  add_bias_kernel<<<blocks_for(n, 256), 256, 0, ctx.stream()>>>(
      y.data<float>(), bias.data(), bias.dtype() == DType::bf16, out, n);
  MVL_CUDA_CHECK_LAUNCH();
}

}  // namespace mvl::cuda
