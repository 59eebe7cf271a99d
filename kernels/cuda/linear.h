// Linear layers on CUDA, y[n, out] = x[n, in] · w[out, in]ᵀ (+ bias) (+ y), the PyTorch
// Linear convention: bf16 GEMMs through cuBLASLt (bf16 operands, f32 accumulation, f32 or
// bf16 output), and the f32 generic form with a separate bias add. CPU twin:
// kernels/cpu/linear.h; dispatch: kernels/ops/linear.h. All enqueue on ctx.stream().
#pragma once

#include <cstdint>
#include <string>

#include "kernels/core/tensor.h"
#include "kernels/cuda/context.h"

namespace mvl::cuda {

struct GemmOptions {
  const Tensor* bias = nullptr;  // bf16 [out] (fused cuBLASLt BIAS epilogue)
  bool accumulate = false;       // y += x·wᵀ (beta = 1): fuses a residual add into the GEMM
  float alpha = 1.0f;            // scales x·wᵀ
  // y = x·wᵀ (+ bias) + residual (cuBLASLt's C operand, beta = 1, C != D): a residual add
  // fused into the GEMM without first copying the residual into y. Same dtype, shape and
  // contiguity as y; not with accumulate.
  const Tensor* residual = nullptr;
};

// x: bf16 [n, in] (row stride == in); w: bf16 [out, in] contiguous;
// y: f32|bf16 [n, out] contiguous device tensor (written, or accumulated into).
void gemm(const Context& ctx, const Tensor& x, const Tensor& w, const Tensor& y,
          const GemmOptions& opt = {});

// Raw-pointer form used by MoE (per-expert slices of one buffer). Same layouts.
void gemm_raw(const Context& ctx, const void* x, const void* w, void* y, bool y_bf16, int64_t n,
              int64_t in, int64_t out, const GemmOptions& opt = {});

// y = act(x·wᵀ + bias), bf16 [n, out] (the ViT's fc1 + quick_gelu): the GEMM with the bias in
// its epilogue (one bf16 rounding), then the activation in place on y (one more rounding, as
// PyTorch's bf16 F.linear then the activation), no copy between. chunk_rows > 0: blocks of that
// many rows, each activated right after its GEMM while it is still in L2; 0 = one GEMM.
// act: silu, gelu, quick_gelu, sigmoid (activation.h). bias optional.
void gemm_bias_act(const Context& ctx, const Tensor& x, const Tensor& w, const Tensor* bias,
                   const std::string& act, const Tensor& y, int64_t chunk_rows = 0);
// gemm_bias_act's chunk_rows when the caller has no preference (the ViT's fc1).
// tools/device/vit_check.sh times the choices and prints the line to put here when another wins.
inline constexpr int64_t kGemmActChunkRows = 0;

// y[n, out] = x[n, in] · w[out, in]ᵀ; x, y f32 contiguous; w f32|bf16 contiguous.
void linear_f32(const Context& ctx, const Tensor& x, const Tensor& w, const Tensor& y);
// y[r, o] += bias[o]; y f32 [n, out] contiguous, bias f32|bf16 [out] contiguous.
void add_bias_rows_f32(const Context& ctx, const Tensor& y, const Tensor& bias);

}  // namespace mvl::cuda
