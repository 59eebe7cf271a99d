// The CUDA branch of ops::linear (linear.h) and of the quantized weights (quant.h): the cuBLASLt
// bf16 GEMM, the generic f32 kernel, the quantized GEMV/GEMM, and quantize/dequantize on the GPU.
#include <algorithm>
#include <cstdint>
#include <memory>

#include "kernels/core/error.h"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/quant.h"
#include "kernels/ops/activation.h"
#include "kernels/ops/backend/cuda_backend.h"
#include "kernels/ops/backend/cuda_context.h"
#include "kernels/ops/linear.h"
#include "kernels/ops/quant.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl::ops::cuda_backend {

Tensor linear(const Tensor& x, const Tensor& w, const Tensor* bias) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&x, &w, bias}, "linear");
  Shape shape = x.shape();
  shape.back() = w.dim(0);
  if (x.dtype() == DType::bf16) {
    // bf16 activations: the tuned cuBLASLt GEMM, f32 accumulation, bias fused into the
    // epilogue, one bf16 rounding of the output (PyTorch's bf16 F.linear).
    if (w.dim(0) % 8 != 0 || w.dim(1) % 8 != 0) {
      // cuBLASLt wants 16-byte aligned rows: odd sizes take the f32 kernels, rounded once.
      const Tensor y32 = ops::linear(ops::cast(x, DType::f32), w, bias);
      return ops::cast(y32, DType::bf16);
    }
    Tensor y = detail::dev_uninit(shape, DType::bf16, ctx);
    if (y.numel() == 0) return y;
    const Tensor wb = w.dtype() == DType::bf16 ? w : ops::cast(w, DType::bf16);
    const Tensor bb = !bias                          ? Tensor()
                      : bias->dtype() == DType::bf16 ? detail::dev_contiguous(*bias, ctx)
                                                     : ops::cast(*bias, DType::bf16);
    cuda::GemmOptions opt;
    if (bias) opt.bias = &bb;
    cuda::gemm(*ctx, x, wb, y, opt);
    return y;
  }
  Tensor y = detail::dev_empty(shape, DType::f32, ctx);
  cuda::linear_f32(*ctx, x, w, y);
  // Bias after the dot product, as the CPU reference adds it (one f32 add per output).
  if (bias) cuda::add_bias_rows_f32(*ctx, y, detail::dev_contiguous(*bias, ctx));
  return y;
}

namespace {
// The bf16 GEMM's operands: w and bias as bf16 on ctx's device (casts only for f32 weights).
struct Bf16Operands {
  Tensor w, bias;
};
Bf16Operands bf16_operands(const Tensor& w, const Tensor* bias, const detail::CtxPtr& ctx) {
  Bf16Operands o;
  o.w = w.dtype() == DType::bf16 ? w : ops::cast(w, DType::bf16);
  if (bias)
    o.bias = bias->dtype() == DType::bf16 ? detail::dev_contiguous(*bias, ctx)
                                          : ops::cast(*bias, DType::bf16);
  return o;
}
}  // namespace

Tensor linear_residual(const Tensor& x, const Tensor& w, const Tensor* bias,
                       const Tensor& residual) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&x, &w, bias, &residual}, "linear_residual");
  // cuBLASLt wants 16-byte aligned rows, a bf16 residual, and (the plan's algorithm assumes it)
  // 256-byte aligned operands: otherwise linear, then add.
  if (w.dim(0) % 8 != 0 || w.dim(1) % 8 != 0 || residual.dtype() != DType::bf16 ||
      reinterpret_cast<uintptr_t>(residual.data()) % 256 != 0)
    return ops::add(residual, linear(x, w, bias));
  Shape shape = x.shape();
  shape.back() = w.dim(0);
  Tensor y = detail::dev_uninit(shape, DType::bf16, ctx);
  if (y.numel() == 0) return y;
  const Tensor r = detail::dev_contiguous(residual, ctx);
  const Bf16Operands o = bf16_operands(w, bias, ctx);
  cuda::GemmOptions opt;
  if (bias) opt.bias = &o.bias;
  opt.residual = &r;
  cuda::gemm(*ctx, x, o.w, y, opt);
  return y;
}

Tensor linear_act(const Tensor& x, const Tensor& w, const Tensor* bias, const std::string& act) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&x, &w, bias}, "linear_act");
  if (w.dim(0) % 8 != 0 || w.dim(1) % 8 != 0) return ops::activation(linear(x, w, bias), act);
  Shape shape = x.shape();
  shape.back() = w.dim(0);
  Tensor y = detail::dev_uninit(shape, DType::bf16, ctx);
  if (y.numel() == 0) return y;
  const Bf16Operands o = bf16_operands(w, bias, ctx);
  cuda::gemm_bias_act(*ctx, x, o.w, bias ? &o.bias : nullptr, act, y, cuda::kGemmActChunkRows);
  return y;
}

// A quantized w on a GPU (kernels/cuda/quant.h): the GEMV for <= 64 tokens, else dequantize
// to bf16 and the plain GEMM. f32 accumulation; the output in x's dtype, rounded once (a bias
// is added in f32 before that rounding).
Tensor linear_quantized(const Tensor& x, const Tensor& w, const Tensor* bias) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&x, &w, bias}, "linear");
  MVL_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::bf16, unsupported,
            "linear: a quantized weight takes f32 or bf16 input, got {}", x.str());
  const cuda::QuantMatrix q = cuda::quant_matrix(w);
  const int64_t n = x.numel() / q.in;
  Shape shape = x.shape();
  shape.back() = q.rows;
  const Tensor xc = detail::dev_contiguous(x, ctx);
  const bool gemv = n <= cuda::kQuantGemvMaxTokens && cuda::quant_gemv_supported(q);
  if (x.dtype() == DType::bf16 && (bias || (!gemv && (q.in % 8 != 0 || q.rows % 8 != 0)))) {
    // Odd sizes outside the GEMV, or a bias: through f32, one rounding at the end.
    return ops::cast(linear_quantized(ops::cast(xc, DType::f32), w, bias), DType::bf16);
  }
  Tensor y = detail::dev_uninit(shape, x.dtype(), ctx);
  if (y.numel() == 0) return y;
  cuda::quant_linear(*ctx, xc, q, y);
  if (bias) cuda::add_bias_rows_f32(*ctx, y, detail::dev_contiguous(*bias, ctx));
  return y;
}

Tensor quantize_weight(const Tensor& w, WeightFormat f, DType code_dtype) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&w}, "quantize_weight");
  const Tensor c = detail::dev_contiguous(w, ctx);
  const int64_t in = c.dim(-1), rows = c.numel() / std::max<int64_t>(in, 1);
  const int64_t cb = cpu::quant_code_bytes_per_row(f, in), sr = cpu::quant_scales_per_row(f, in);
  const Tensor codes = detail::dev_uninit({rows * cb}, DType::u8, ctx);
  auto p = std::make_shared<QuantParams>();
  p->format = f;
  p->scales = detail::dev_uninit({rows, sr}, DType::f32, ctx);
  if (f == WeightFormat::int4) p->zeros = detail::dev_uninit({rows, sr}, DType::f32, ctx);
  cuda::quantize_rows(*ctx, c, f, codes.data<uint8_t>(), p->scales.data<float>(),
                      p->zeros.defined() ? p->zeros.data<float>() : nullptr);
  return Tensor(codes.storage(), codes.offset_bytes(), c.shape(), contiguous_strides(c.shape()),
                code_dtype)
      .with_quant(p);
}

Tensor dequantize(const Tensor& q, DType dtype) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&q}, "dequantize_to_bf16");
  const cuda::QuantMatrix m = cuda::quant_matrix(q);
  Tensor out = detail::dev_uninit(q.shape(), dtype, ctx);
  if (dtype == DType::bf16)
    cuda::dequantize_bf16(*ctx, m, 0, m.rows, out.data());
  else
    cuda::dequantize_f32(*ctx, m, 0, m.rows, out.data<float>());
  return out;
}

}  // namespace mvl::ops::cuda_backend
