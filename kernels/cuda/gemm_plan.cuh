// The cached cuBLASLt plan of one GEMM shape (Context::gemm_plans): descriptors + the
// heuristic's algorithm. Shared by the bf16 GEMMs (linear.cu) and the FP8 GEMMs
// (fp8_gemm.cu); include only from kernels/cuda.
#pragma once

#include <cublasLt.h>

#include <cstdint>

#include "kernels/cuda/context.h"

namespace mvl::cuda {

struct Context::GemmPlan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
  cublasLtMatmulAlgo_t algo{};
  ~GemmPlan() {
    if (op) cublasLtMatmulDescDestroy(op);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (d) cublasLtMatrixLayoutDestroy(d);
  }
};

// Sets p.algo to the heuristic's first choice for p's descriptors (C = D) within ctx's
// workspace; min_align > 0 also restricts it to algorithms that take buffers aligned to only
// that many bytes (cuBLASLt's default assumes 256). Returns the cuBLASLt status; found tells
// whether an algorithm came back.
inline cublasStatus_t pick_gemm_algo(const Context& ctx, Context::GemmPlan& p, uint32_t min_align,
                                     bool* found) {
  cublasLtMatmulPreference_t pref = nullptr;
  cublasStatus_t s = cublasLtMatmulPreferenceCreate(&pref);
  *found = false;
  if (s != CUBLAS_STATUS_SUCCESS) return s;
  const size_t ws = ctx.workspace_bytes();
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws,
                                       sizeof(ws));
  if (min_align > 0)
    for (const auto attr :
         {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
          CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES})
      cublasLtMatmulPreferenceSetAttribute(pref, attr, &min_align, sizeof(min_align));
  cublasLtMatmulHeuristicResult_t res{};
  int n = 0;
  s = cublasLtMatmulAlgoGetHeuristic(static_cast<cublasLtHandle_t>(ctx.cublaslt()), p.op, p.a, p.b,
                                     p.d, p.d, pref, 1, &res, &n);
  cublasLtMatmulPreferenceDestroy(pref);
  if (s == CUBLAS_STATUS_SUCCESS && n > 0) {
    p.algo = res.algo;
    *found = true;
  }
  return s;
}

}  // namespace mvl::cuda
