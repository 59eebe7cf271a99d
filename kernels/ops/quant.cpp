// ops::quantize_weight / dequantize_weight: host-side wrappers of the cpu:: reference.
#include "kernels/ops/quant.h"

#include <algorithm>
#include <memory>

#include "kernels/core/error.h"

namespace mvl::ops {

namespace {
DType code_dtype(WeightFormat f) {
  return f == WeightFormat::int8       ? DType::i8
         : f == WeightFormat::fp8_e4m3 ? DType::f8_e4m3
                                       : DType::u8;
}
}  // namespace

Tensor quantize_weight(const Tensor& w, WeightFormat f) {
  if (f == WeightFormat::plain) return w;
  MVL_CHECK(!w.quant(), invalid_argument, "quantize_weight: {} is already quantized", w.str());
  MVL_CHECK(w.device().is_cpu(), unsupported,
            "quantize_weight: weights are quantized on the host, got {}", w.str());
  MVL_CHECK(w.ndim() >= 2, shape_mismatch, "quantize_weight: need a matrix, got {}", w.str());
  const Tensor c = contiguous(w);
  const int64_t in = c.dim(-1), rows = c.numel() / std::max<int64_t>(in, 1);
  const int64_t cb = cpu::quant_code_bytes_per_row(f, in), sr = cpu::quant_scales_per_row(f, in);
  auto storage = make_heap_storage(static_cast<size_t>(rows * cb));
  auto p = std::make_shared<QuantParams>();
  p->format = f;
  p->scales = Tensor::empty({rows, sr}, DType::f32);
  if (f == WeightFormat::int4) p->zeros = Tensor::empty({rows, sr}, DType::f32);
  cpu::quantize(f, c.data(), c.dtype(), rows, in, static_cast<uint8_t*>(storage->data()),
                p->scales.data<float>(), p->zeros.defined() ? p->zeros.data<float>() : nullptr);
  return Tensor(storage, 0, c.shape(), contiguous_strides(c.shape()), code_dtype(f)).with_quant(p);
}

Tensor dequantize_weight(const Tensor& q) {
  const QuantParams* p = q.quant();
  MVL_CHECK(p, invalid_argument, "dequantize_weight: {} is not quantized", q.str());
  MVL_CHECK(q.device().is_cpu(), unsupported, "dequantize_weight: {} is on a GPU", q.str());
  const int64_t in = q.dim(-1), rows = q.numel() / std::max<int64_t>(in, 1);
  Tensor out = Tensor::empty(q.shape(), DType::f32);
  cpu::dequantize(p->format, q.data<uint8_t>(), p->scales.data<float>(),
                  p->zeros.defined() ? p->zeros.data<float>() : nullptr, in, 0, rows,
                  out.data<float>());
  return out;
}

cpu::QuantView quant_view(const Tensor& w) {
  const QuantParams* p = w.quant();
  if (!p) return {};
  return {p->format, p->scales.data<float>(),
          p->zeros.defined() ? p->zeros.data<float>() : nullptr};
}

void check_quant_on_cpu(const Tensor& w, const Tensor& x, const char* op) {
  MVL_CHECK(!w.quant() || (w.device().is_cpu() && x.device().is_cpu()), unsupported,
            "{}: {} weights run on the CPU only (no CUDA kernels for quantized weights yet); drop "
            "--quant "
            "or use --backend cpu",
            op, weight_format_name(w.quant()->format));
}

}  // namespace mvl::ops
