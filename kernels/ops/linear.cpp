// ops::linear: validation and dispatch.
#include "kernels/ops/linear.h"

#include "kernels/core/error.h"
#include "kernels/cpu/linear.h"
#include "kernels/ops/cuda_dispatch.h"
#include "kernels/ops/quant.h"
#include "kernels/ops/tensor_ops.h"
#ifdef MVL_HAVE_CUDA
#include "kernels/cuda/linear.h"
#include "kernels/cuda/quant.h"
#endif

namespace mvl::ops {

namespace {
#ifdef MVL_HAVE_CUDA
// A quantized w on a GPU (kernels/cuda/quant.h): the GEMV for <= 64 tokens, else dequantize
// to bf16 and the plain GEMM. f32 accumulation; the output in x's dtype, rounded once (a bias
// is added in f32 before that rounding).
Tensor linear_quantized_cuda(const Tensor& x, const Tensor& w, const Tensor* bias) {
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
    return cast(linear_quantized_cuda(cast(xc, DType::f32), w, bias), DType::bf16);
  }
  Tensor y = detail::dev_uninit(shape, x.dtype(), ctx);
  if (y.numel() == 0) return y;
  cuda::quant_linear(*ctx, xc, q, y);
  if (bias) cuda::add_bias_rows_f32(*ctx, y, detail::dev_contiguous(*bias, ctx));
  return y;
}
#endif

// A weight-only quantized w (ops/quant.h): the CPU reference, dequantize then the f32 op.
Tensor linear_quantized(const Tensor& x, const Tensor& w, const Tensor* bias) {
  check_quant_on_cpu(w, x, "linear");
  MVL_CHECK(w.ndim() == 2 && x.ndim() >= 1 && x.dim(-1) == w.dim(1), shape_mismatch,
            "linear: input {} does not match weight {} (in features)", x.str(), w.str());
#ifdef MVL_HAVE_CUDA
  if (detail::any_cuda({&x, &w, bias})) return linear_quantized_cuda(x, w, bias);
#endif
  MVL_CHECK(x.device().is_cpu(), unsupported, "linear: device tensors go through the CUDA backend");
  MVL_CHECK(x.dtype() == DType::f32 && x.is_contiguous(), unsupported,
            "linear: a quantized weight takes contiguous f32 input, got {}", x.str());
  const int64_t in = w.dim(1), out_f = w.dim(0), n = x.numel() / in;
  Shape out_shape = x.shape();
  out_shape.back() = out_f;
  Tensor y = Tensor::empty(out_shape, DType::f32);
  const Tensor b = bias ? contiguous(*bias) : Tensor();
  const cpu::QuantView q = quant_view(w);
  cpu::linear_quantized(x.data<float>(), q.format, w.data<uint8_t>(), q.scales, q.zeros,
                        bias ? b.data() : nullptr, bias ? b.dtype() : DType::f32, y.data<float>(), n,
                        in, out_f);
  return y;
}
}  // namespace

Tensor linear(const Tensor& x, const Tensor& w, const Tensor* bias) {
  if (w.quant()) return linear_quantized(x, w, bias);
  MVL_CHECK(w.ndim() == 2, shape_mismatch, "linear: weight must be 2-D [out, in], got {}", w.str());
  MVL_CHECK(x.ndim() >= 1 && x.dim(-1) == w.dim(1), shape_mismatch,
            "linear: input {} does not match weight {} (in features)", x.str(), w.str());
  MVL_CHECK(x.dtype() == DType::f32 || (x.dtype() == DType::bf16 && x.device().is_cuda()), unsupported,
            "linear: input must be f32 (or bf16 on a GPU: bf16 activations need the CUDA backend), got {}", x.str());
  MVL_CHECK(w.dtype() == DType::f32 || w.dtype() == DType::bf16, unsupported,
            "linear: weight must be f32 or bf16, got {}", w.str());
  MVL_CHECK(x.is_contiguous() && w.is_contiguous(), unsupported, "linear: inputs must be contiguous");
  if (bias) {
    MVL_CHECK(bias->ndim() == 1 && bias->dim(0) == w.dim(0), shape_mismatch,
              "linear: bias {} does not match weight {}", bias->str(), w.str());
  }
#ifdef MVL_HAVE_CUDA
  if (detail::any_cuda({&x, &w, bias})) {
    const detail::CtxPtr ctx = detail::cuda_ctx({&x, &w, bias}, "linear");
    Shape shape = x.shape();
    shape.back() = w.dim(0);
    if (x.dtype() == DType::bf16) {
      // bf16 activations: the tuned cuBLASLt GEMM, f32 accumulation, bias fused into the
      // epilogue, one bf16 rounding of the output (PyTorch's bf16 F.linear).
      if (w.dim(0) % 8 != 0 || w.dim(1) % 8 != 0) {
        // cuBLASLt wants 16-byte aligned rows: odd sizes take the f32 kernels, rounded once.
        const Tensor y32 = linear(cast(x, DType::f32), w, bias);
        return cast(y32, DType::bf16);
      }
      Tensor y = detail::dev_uninit(shape, DType::bf16, ctx);
      if (y.numel() == 0) return y;
      const Tensor wb = w.dtype() == DType::bf16 ? w : cast(w, DType::bf16);
      const Tensor bb = !bias ? Tensor() : bias->dtype() == DType::bf16 ? detail::dev_contiguous(*bias, ctx)
                                                                        : cast(*bias, DType::bf16);
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
#endif
  MVL_CHECK(x.device().is_cpu() && w.device().is_cpu(), unsupported,
            "linear: device tensors go through the CUDA backend (got {})", x.str());
  const int64_t in = w.dim(1), out_f = w.dim(0);
  const int64_t n = x.numel() / in;
  Shape out_shape = x.shape();
  out_shape.back() = out_f;
  Tensor y = Tensor::empty(out_shape, DType::f32);
  Tensor b_c = bias ? contiguous(*bias) : Tensor();
  cpu::linear(x.data<float>(), w.data(), w.dtype(), bias ? b_c.data() : nullptr,
              bias ? b_c.dtype() : DType::f32, y.data<float>(), n, in, out_f);
  return y;
}

}  // namespace mvl::ops
