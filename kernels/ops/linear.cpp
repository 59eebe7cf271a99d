// ops::linear: validation and dispatch.
#include "kernels/ops/linear.h"

#include "kernels/core/error.h"
#include "kernels/ops/activation.h"
#include "kernels/cpu/linear.h"
#include "kernels/ops/backend/cuda_backend.h"
#include "kernels/ops/cuda_dispatch.h"
#include "kernels/ops/quant.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl::ops {

namespace {

// A weight-only quantized w (ops/quant.h): the CPU reference, dequantize then the f32 op.
Tensor linear_quantized(const Tensor& x, const Tensor& w, const Tensor* bias) {
  check_quant_on_cpu(w, x, "linear");
  MVL_CHECK(w.ndim() == 2 && x.ndim() >= 1 && x.dim(-1) == w.dim(1), shape_mismatch,
            "linear: input {} does not match weight {} (in features)", x.str(), w.str());
  if (detail::any_cuda({&x, &w, bias})) return cuda_backend::linear_quantized(x, w, bias);
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
  if (detail::any_cuda({&x, &w, bias})) return cuda_backend::linear(x, w, bias);
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

Tensor linear_residual(const Tensor& x, const Tensor& w, const Tensor* bias, const Tensor& residual) {
  if (x.dtype() == DType::bf16 && !w.quant() && detail::any_cuda({&x, &w, bias, &residual})) {
    MVL_CHECK(w.ndim() == 2 && x.ndim() >= 1 && x.dim(-1) == w.dim(1) && residual.dim(-1) == w.dim(0) &&
                  residual.numel() == x.numel() / w.dim(1) * w.dim(0),
              shape_mismatch, "linear_residual: input {} weight {} residual {} do not fit together", x.str(),
              w.str(), residual.str());
    return cuda_backend::linear_residual(x, w, bias, residual);
  }
  return add(residual, linear(x, w, bias));
}

Tensor linear_act(const Tensor& x, const Tensor& w, const Tensor* bias, const std::string& act) {
  if (x.dtype() == DType::bf16 && !w.quant() && detail::any_cuda({&x, &w, bias}))
    return cuda_backend::linear_act(x, w, bias, act == "swish" ? "silu" : act);
  return activation(linear(x, w, bias), act);
}

}  // namespace mvl::ops
