// FP8 GEMMs through cuBLASLt (fp8_gemm.h). Host-only code (descriptors, plans, the probe), so
// a .cpp like context.cpp; the activation quantizer is quant.cu's quantize_rows.
// Row-major y[n, out] = x[n, in] . w[out, in]^T is column-major y^T = op_T(w) . x^T (linear.cu's
// mapping), which is the "TN" form FP8 needs on Hopper: A = weight codes (K-major, transposed),
// B = activation codes (K-major), D = bf16 [out, n] with ld = out. So M = out and N = n:
// OUTER_VEC_32F's A scale vector (length M) is the per-channel weight scales, the B vector
// (length N) the per-token activation scales (cuBLAS docs, "Outer Vector Scaling for FP8 Data
// Types": D_ij = alpha * scaleA_i * scaleB_j * sum_l a_il b_lj + beta * scaleC * C_ij; no D
// scale because D is 16F/16BF/32F). Compute type 32F, scale type 32F, C = D type (bf16), beta 0.
// FAST_ACCUM is left off: without it cuBLASLt periodically promotes the tensor cores' partial
// sums to f32 (cublasLt.h, CUBLASLT_MATMUL_DESC_FAST_ACCUM); Hopper's FP8 MMA alone keeps about
// 14 bits while accumulating (DeepSeek-V3 report, sec. 3.3.2, ~2% worst relative error at
// K = 4096), and our K is 6144 (gate/up) and 9216 (down). CPU twin: cpu::linear_fp8_activations;
// test: tests/gpu/fp8_gemm_cuda_test.cpp.
#include "kernels/cuda/fp8_gemm.h"

#include <cmath>
#include <string>
#include <vector>

#include "kernels/core/dtype.h"
#include "kernels/core/error.h"
#include "kernels/core/log.h"
#include "kernels/cuda/check.cuh"
#include "kernels/cuda/gemm_plan.cuh"
#include "kernels/cuda/storage.h"

namespace mvl::cuda {

namespace {

constexpr int kFp8PlanTag = 1;  // GemmKey's last field (the bf16 plans of linear.cu use 0)
// The alignment promised to the heuristic: at least what cuBLASLt's FP8 rules guarantee us
// (16-byte rows and pointers), and up to the 256 its default assumes where the call's code and
// output pointers have it (plan_align): at the released shapes every per-expert slice does, and
// a plan made for 16 may exclude the fastest kernels. Plans are cached per alignment.
constexpr uint32_t kMinAlign = 16, kMaxAlign = 256;
constexpr int8_t kFastAccum = 0;  // see the file comment

bool aligned16(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

// The largest power of two <= kMaxAlign dividing the three addresses (>= kMinAlign when they
// are 16-byte aligned).
uint32_t plan_align(const void* xq, const void* wq, const void* y) {
  const uintptr_t bits = reinterpret_cast<uintptr_t>(xq) | reinterpret_cast<uintptr_t>(wq) |
                         reinterpret_cast<uintptr_t>(y) | kMaxAlign;
  return static_cast<uint32_t>(bits & (~bits + 1));
}

// The descriptors for one shape, with the scale pointers of the first call set (the heuristic
// sees a complete descriptor). Null when cuBLASLt refuses an attribute or has no algorithm;
// `why` says which.
std::shared_ptr<Context::GemmPlan> make_fp8_plan(const Context& ctx, int64_t n, int64_t in,
                                                 int64_t out, const float* sx, const float* sw,
                                                 uint32_t align, std::string* why) {
  auto p = std::make_shared<Context::GemmPlan>();
  cublasStatus_t s = CUBLAS_STATUS_SUCCESS;
  auto ok = [&](cublasStatus_t r, const char* what) {
    if (r == CUBLAS_STATUS_SUCCESS) return true;
    s = r;
    *why = fmt::format("{} returned cuBLAS status {}", what, static_cast<int>(r));
    return false;
  };
  auto set = [&](cublasLtMatmulDescAttributes_t a, const auto& v, const char* what) {
    return ok(cublasLtMatmulDescSetAttribute(p->op, a, &v, sizeof(v)), what);
  };
  const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
  const int32_t mode = CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F;
  const void* a_scale = sw;
  const void* b_scale = sx;
  if (!ok(cublasLtMatmulDescCreate(&p->op, CUBLAS_COMPUTE_32F, CUDA_R_32F), "MatmulDescCreate") ||
      !set(CUBLASLT_MATMUL_DESC_TRANSA, ta, "TRANSA") ||
      !set(CUBLASLT_MATMUL_DESC_TRANSB, tb, "TRANSB") ||
      !set(CUBLASLT_MATMUL_DESC_FAST_ACCUM, kFastAccum, "FAST_ACCUM") ||
      !set(CUBLASLT_MATMUL_DESC_A_SCALE_MODE, mode, "A_SCALE_MODE = OUTER_VEC_32F") ||
      !set(CUBLASLT_MATMUL_DESC_B_SCALE_MODE, mode, "B_SCALE_MODE = OUTER_VEC_32F") ||
      !set(CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, a_scale, "A_SCALE_POINTER") ||
      !set(CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, b_scale, "B_SCALE_POINTER") ||
      !ok(cublasLtMatrixLayoutCreate(&p->a, CUDA_R_8F_E4M3, in, out, in), "layout A (e4m3)") ||
      !ok(cublasLtMatrixLayoutCreate(&p->b, CUDA_R_8F_E4M3, in, n, in), "layout B (e4m3)") ||
      !ok(cublasLtMatrixLayoutCreate(&p->d, CUDA_R_16BF, out, n, out), "layout D (bf16)"))
    return nullptr;
  bool found = false;
  s = pick_gemm_algo(ctx, *p, align, &found);
  if (s != CUBLAS_STATUS_SUCCESS || !found) {
    *why = fmt::format(
        "the heuristic offers no e4m3 x e4m3 -> bf16 algorithm with OUTER_VEC_32F scales for "
        "n={} in={} out={} (status {})",
        n, in, out, static_cast<int>(s));
    return nullptr;
  }
  return p;
}

// The cached plan for (n, in, out) at pointer alignment `align`, made on first use; null (also
// cached, and logged once) when there is none.
Context::GemmPlan* fp8_plan(const Context& ctx, int64_t n, int64_t in, int64_t out, const float* sx,
                            const float* sw, uint32_t align) {
  const Context::GemmKey key{n, in, out, static_cast<int>(align), 0, kFp8PlanTag};
  auto& cache = ctx.gemm_plans();
  auto it = cache.find(key);
  if (it == cache.end()) {
    std::string reason;
    it = cache.emplace(key, make_fp8_plan(ctx, n, in, out, sx, sw, align, &reason)).first;
    if (!it->second) MVL_LOG_WARN("cuda::fp8_gemm: {}; this shape takes the bf16 path", reason);
  }
  return it->second.get();
}

// Enqueues the GEMM with plan p. False when cuBLASLt refuses it at run time (an argument it
// supports in the heuristic but not here): the plan is dropped from use by the caller.
bool run_plan(const Context& ctx, Context::GemmPlan& p, const uint8_t* xq, const float* sx,
              const uint8_t* wq, const float* sw, void* y, std::string* why) {
  const void* a_scale = sw;
  const void* b_scale = sx;
  MVL_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER,
                                                  &a_scale, sizeof(a_scale)));
  MVL_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER,
                                                  &b_scale, sizeof(b_scale)));
  const float alpha = 1.0f, beta = 0.0f;
  const cublasStatus_t s = cublasLtMatmul(static_cast<cublasLtHandle_t>(ctx.cublaslt()), p.op,
                                          &alpha, wq, p.a, xq, p.b, &beta, y, p.d, y, p.d, &p.algo,
                                          ctx.workspace(), ctx.workspace_bytes(), ctx.stream());
  if (s == CUBLAS_STATUS_NOT_SUPPORTED || s == CUBLAS_STATUS_INVALID_VALUE) {
    *why = fmt::format("cublasLtMatmul refused the FP8 GEMM (status {})", static_cast<int>(s));
    return false;
  }
  MVL_CUBLAS_CHECK(s);
  return true;
}

// One small FP8 GEMM whose every output is exact in bf16, checked on the host. It catches a
// library that accepts the descriptors but ignores or misplaces a scale vector.
bool probe(const Context& ctx, std::string* why) {
  constexpr int64_t n = 3, in = 32, out = 16;  // n odd on purpose: token counts are arbitrary
  std::vector<uint8_t> xq(n * in), wq(out * in);
  std::vector<float> sx(n), sw(out);
  std::vector<double> want(n * out);
  for (int64_t t = 0; t < n; ++t) {
    sx[t] = std::ldexp(1.0f, static_cast<int>(t));  // 1, 2, 4
    for (int64_t k = 0; k < in; ++k) xq[t * in + k] = f32_to_f8e4m3(float((t + k) % 2 + 1));
  }
  for (int64_t o = 0; o < out; ++o) {
    sw[o] = std::ldexp(1.0f, -static_cast<int>(o % 4));  // 1, 1/2, 1/4, 1/8
    for (int64_t k = 0; k < in; ++k) wq[o * in + k] = f32_to_f8e4m3(float((o + 2 * k) % 3 + 1));
  }
  for (int64_t t = 0; t < n; ++t)
    for (int64_t o = 0; o < out; ++o) {
      double dot = 0;  // at most 32 * 2 * 3 = 192: an integer bf16 holds exactly
      for (int64_t k = 0; k < in; ++k)
        dot += double(f8e4m3_to_f32(xq[t * in + k])) * f8e4m3_to_f32(wq[o * in + k]);
      want[t * out + o] = dot * sx[t] * sw[o];
    }
  const Tensor dx = empty({n * in}, DType::u8, ctx), dw = empty({out * in}, DType::u8, ctx);
  const Tensor dsx = empty({n}, DType::f32, ctx), dsw = empty({out}, DType::f32, ctx);
  const Tensor dy = empty({n, out}, DType::bf16, ctx);
  const auto up = [&](const Tensor& d, const void* h, size_t bytes) {
    MVL_CUDA_CHECK(cudaMemcpyAsync(d.data(), h, bytes, cudaMemcpyHostToDevice, ctx.stream()));
  };
  up(dx, xq.data(), xq.size());
  up(dw, wq.data(), wq.size());
  up(dsx, sx.data(), sx.size() * sizeof(float));
  up(dsw, sw.data(), sw.size() * sizeof(float));
  const auto* xp = static_cast<const uint8_t*>(dx.data());
  const auto* wp = static_cast<const uint8_t*>(dw.data());
  // Not through the plan cache: this shape is never used again, and a device without FP8
  // GEMMs should say so once (fp8_gemm_available's line), not also per shape.
  const std::shared_ptr<Context::GemmPlan> p =
      make_fp8_plan(ctx, n, in, out, dsx.data<float>(), dsw.data<float>(), kMinAlign, why);
  if (!p || !run_plan(ctx, *p, xp, dsx.data<float>(), wp, dsw.data<float>(), dy.data(), why))
    return false;
  std::vector<uint16_t> got(n * out);
  MVL_CUDA_CHECK(
      cudaMemcpyAsync(got.data(), dy.data(), got.size() * 2, cudaMemcpyDeviceToHost, ctx.stream()));
  ctx.synchronize();
  for (int64_t i = 0; i < n * out; ++i)
    if (std::fabs(bf16_to_f32(got[i]) - want[i]) > 1e-3 * std::fabs(want[i])) {
      *why = fmt::format("the probe GEMM gave {} for token {} channel {}, want {}",
                         bf16_to_f32(got[i]), i / out, i % out, want[i]);
      return false;
    }
  return true;
}

}  // namespace

bool fp8_gemm_available(const Context& ctx) {
  int& state = ctx.fp8_gemm_state();
  if (state >= 0) return state == 1;
  std::string why;
  bool ok = false;
  try {
    ok = probe(ctx, &why);
  } catch (const Error& e) {
    why = e.what();
  }
  state = ok ? 1 : 0;
  if (ok)
    MVL_LOG_INFO(
        "cuda:{}: fp8 prefill GEMMs run on the FP8 tensor cores (cuBLASLt e4m3, activations "
        "scaled per token, weights per channel)",
        ctx.device());
  else
    MVL_LOG_INFO(
        "cuda:{}: no cuBLASLt FP8 GEMM with per-token scales here ({}); fp8 prefill "
        "dequantizes each expert to bf16 for a bf16 GEMM",
        ctx.device(), why);
  return ok;
}

bool fp8_gemm(const Context& ctx, const uint8_t* xq, const float* sx, const uint8_t* wq,
              const float* sw, void* y, int64_t n, int64_t in, int64_t out) {
  MVL_CHECK(n >= 0 && in > 0 && in % 16 == 0 && out > 0 && out % 8 == 0 && aligned16(xq) &&
                aligned16(wq) && aligned16(y) && sx && sw,
            unsupported,
            "cuda::fp8_gemm: n {} in {} out {}: needs in % 16 == 0, out % 8 == 0 and 16-byte "
            "aligned codes and output (cuBLASLt's FP8 rules)",
            n, in, out);
  if (n == 0) return true;
  const uint32_t align = plan_align(xq, wq, y);
  Context::GemmPlan* p = fp8_plan(ctx, n, in, out, sx, sw, align);
  if (!p) return false;
  std::string why;
  if (run_plan(ctx, *p, xq, sx, wq, sw, y, &why)) return true;
  MVL_LOG_WARN("cuda::fp8_gemm: n={} in={} out={}: {}; this shape takes the bf16 path", n, in, out,
               why);
  ctx.gemm_plans()[Context::GemmKey{n, in, out, static_cast<int>(align), 0, kFp8PlanTag}] =
      nullptr;
  return false;
}

Fp8Rows fp8_rows(const Context& ctx, int64_t rows, int64_t in) {
  return {empty({rows * in}, DType::u8, ctx), empty({rows}, DType::f32, ctx)};
}

bool fp8_linear(const Context& ctx, const Tensor& x, const QuantMatrix& w, int64_t row0,
                int64_t rows, const Tensor& y, const Fp8Rows& buf) {
  MVL_CHECK(w.format == WeightFormat::fp8_e4m3 && x.dtype() == DType::bf16 && x.ndim() == 2 &&
                x.is_contiguous() && x.dim(1) == w.in && y.dtype() == DType::bf16 &&
                y.is_contiguous() && y.numel() == x.dim(0) * rows && row0 >= 0 && rows > 0 &&
                row0 + rows <= w.rows,
            shape_mismatch, "cuda::fp8_linear: x {} y {} for rows [{}, {}) of a {} [{}, {}] weight",
            x.str(), y.str(), row0, row0 + rows, weight_format_name(w.format), w.rows, w.in);
  const int64_t n = x.dim(0);
  MVL_CHECK(buf.codes.numel() >= n * w.in && buf.scales.numel() >= n, invalid_argument,
            "cuda::fp8_linear: the e4m3 buffer holds {} codes and {} scales, {} rows of {} need "
            "more",
            buf.codes.numel(), buf.scales.numel(), n, w.in);
  if (n == 0) return true;
  auto* xq = static_cast<uint8_t*>(buf.codes.data());
  auto* sx = static_cast<float*>(buf.scales.data());
  const uint8_t* wq = w.codes + row0 * w.in;
  const float* sw = w.scales + row0;
  // Shapes outside cuBLASLt's FP8 rules take the caller's bf16 path; so does one without an
  // FP8 algorithm, asked before quantizing so that it costs nothing.
  if (w.in % 16 != 0 || rows % 8 != 0 || !aligned16(wq) || !aligned16(y.data())) return false;
  if (!fp8_plan(ctx, n, w.in, rows, sx, sw, plan_align(xq, wq, y.data()))) return false;
  quantize_rows(ctx, x, WeightFormat::fp8_e4m3, xq, sx, nullptr);
  return fp8_gemm(ctx, xq, sx, wq, sw, y.data(), n, w.in, rows);
}

}  // namespace mvl::cuda
