// ops::quantize_weight / dequantize_weight: host-side wrappers of the cpu:: reference.
#include "kernels/ops/quant.h"

#include <algorithm>
#include <memory>

#include "kernels/core/error.h"
#include "kernels/ops/backend/cuda_backend.h"
#include "kernels/ops/tensor_ops.h"

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
  MVL_CHECK(w.ndim() >= 2, shape_mismatch, "quantize_weight: need a matrix, got {}", w.str());
  if (w.device().is_cuda()) return cuda_backend::quantize_weight(w, f, code_dtype(f));
  MVL_CHECK(w.device().is_cpu(), unsupported, "quantize_weight: {} needs the CUDA backend",
            w.str());
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

int64_t quant_code_bytes(const Tensor& q) {
  const QuantParams* p = q.quant();
  MVL_CHECK(p, invalid_argument, "quant_code_bytes: {} is not quantized", q.str());
  const int64_t in = q.dim(-1);
  return q.numel() / std::max<int64_t>(in, 1) * cpu::quant_code_bytes_per_row(p->format, in);
}

Tensor quant_rows(const Tensor& q, int64_t row0, int64_t row1, const Shape& shape) {
  const QuantParams* p = q.quant();
  MVL_CHECK(p && q.is_contiguous(), invalid_argument, "quant_rows: {} is not a quantized matrix",
            q.str());
  const int64_t in = q.dim(-1);
  MVL_CHECK(row0 >= 0 && row1 >= row0 && row1 * in <= q.numel() && !shape.empty() &&
                shape.back() == in && shape_numel(shape) == (row1 - row0) * in,
            shape_mismatch, "quant_rows: rows [{}, {}) of {} do not make {}", row0, row1, q.str(),
            shape_str(shape));
  const int64_t cb = cpu::quant_code_bytes_per_row(p->format, in);
  auto np = std::make_shared<QuantParams>();
  np->format = p->format;
  np->scales = p->scales.slice(0, row0, row1);
  if (p->zeros.defined()) np->zeros = p->zeros.slice(0, row0, row1);
  return Tensor(q.storage(), q.offset_bytes() + static_cast<size_t>(row0 * cb), shape,
                contiguous_strides(shape), q.dtype())
      .with_quant(np);
}

Tensor quant_to_device(const Tensor& q, const DeviceContext& dev) {
  const QuantParams* p = q.quant();
  MVL_CHECK(p, invalid_argument, "quant_to_device: {} is not quantized", q.str());
  if (!dev.is_cuda() || q.device().is_cuda()) return q;
  MVL_CHECK(q.is_contiguous(), invalid_argument, "quant_to_device: {} is a strided view", q.str());
  // The codes as their real bytes (a flat u8 view), then the logical shape again on the device.
  const Tensor flat(q.storage(), q.offset_bytes(), {quant_code_bytes(q)}, {1}, DType::u8);
  const Tensor codes = to_device(flat, dev);
  auto np = std::make_shared<QuantParams>();
  np->format = p->format;
  np->scales = to_device(p->scales, dev);
  if (p->zeros.defined()) np->zeros = to_device(p->zeros, dev);
  return Tensor(codes.storage(), codes.offset_bytes(), q.shape(), contiguous_strides(q.shape()),
                q.dtype())
      .with_quant(np);
}

Tensor dequantize_to_bf16(const Tensor& q, DType dtype) {
  MVL_CHECK(q.quant() && q.device().is_cuda() && (dtype == DType::bf16 || dtype == DType::f32),
            invalid_argument, "dequantize_to_bf16: {} is not a quantized device tensor", q.str());
  return cuda_backend::dequantize(q, dtype);
}

cpu::QuantView quant_view(const Tensor& w) {
  const QuantParams* p = w.quant();
  if (!p) return {};
  return {p->format, p->scales.data<float>(),
          p->zeros.defined() ? p->zeros.data<float>() : nullptr};
}

void check_quant_on_cpu(const Tensor& w, const Tensor& x, const char* op) {
  MVL_CHECK(!w.quant() || w.device() == x.device(), unsupported,
            "{}: {} weights on {} but the input on {}", op, weight_format_name(w.quant()->format),
            w.device().str(), x.device().str());
}

}  // namespace mvl::ops
