// ops tensor utilities: validation and dispatch to cpu:: (cuda:: when added).
#include "kernels/ops/tensor_ops.h"

#include "kernels/core/error.h"
#include "kernels/cpu/tensor_ops.h"

namespace mvl::ops {

namespace {
void require_cpu(const Tensor& t, const char* op) {
  MVL_CHECK(t.device().is_cpu(), unsupported, "{}: device tensors go through the CUDA backend ({})", op,
            t.str());
}
void require_f32_same(const Tensor& a, const Tensor& b, const char* op) {
  MVL_CHECK(a.dtype() == DType::f32 && b.dtype() == DType::f32, unsupported, "{}: expected f32, got {} and {}",
            op, a.str(), b.str());
  MVL_CHECK(a.shape() == b.shape(), shape_mismatch, "{}: shapes differ: {} vs {}", op, a.str(), b.str());
  require_cpu(a, op);
  require_cpu(b, op);
}
}  // namespace

Tensor empty(const Shape& shape, DType dtype, Device device) {
  MVL_CHECK(device.is_cpu(), unsupported, "empty: {} tensors need the CUDA backend", device.str());
  return Tensor::empty(shape, dtype);
}

Tensor to_device(const Tensor& t, Device device) {
  require_cpu(t, "to_device");
  MVL_CHECK(device.is_cpu(), unsupported, "to_device: {} needs the CUDA backend", device.str());
  return clone(t);
}

Tensor cast(const Tensor& t, DType dtype) {
  require_cpu(t, "cast");
  Tensor src = contiguous(t);
  Tensor out = Tensor::empty(t.shape(), dtype);
  cpu::convert(src.data(), src.dtype(), out.data(), dtype, t.numel());
  return out;
}

Tensor clone(const Tensor& t) {
  require_cpu(t, "clone");
  Tensor out = Tensor::empty(t.shape(), t.dtype());
  cpu::copy_strided(out, t);
  return out;
}

void copy_into(const Tensor& dst, const Tensor& src) {
  MVL_CHECK(dst.shape() == src.shape(), shape_mismatch, "copy_into: destination {} vs source {}", dst.str(),
            src.str());
  MVL_CHECK(dst.dtype() == src.dtype(), shape_mismatch, "copy_into: dtypes differ: {} vs {}", dst.str(),
            src.str());
  require_cpu(dst, "copy_into");
  require_cpu(src, "copy_into");
  MVL_CHECK(dst.storage()->writable(), invalid_argument, "copy_into: destination {} is read-only", dst.str());
  cpu::copy_strided(dst, src);
}

Tensor add(const Tensor& a, const Tensor& b) { return axpby(a, 1.0f, b, 1.0f); }

Tensor mul(const Tensor& a, const Tensor& b) {
  require_f32_same(a, b, "mul");
  Tensor ac = contiguous(a), bc = contiguous(b);
  Tensor out = Tensor::empty(a.shape(), DType::f32);
  cpu::mul(ac.data<float>(), bc.data<float>(), out.data<float>(), a.numel());
  return out;
}

Tensor scale(const Tensor& a, float s) {
  MVL_CHECK(a.dtype() == DType::f32, unsupported, "scale: expected f32, got {}", a.str());
  require_cpu(a, "scale");
  Tensor ac = contiguous(a);
  Tensor out = Tensor::empty(a.shape(), DType::f32);
  cpu::axpby(ac.data<float>(), s, nullptr, 0.0f, out.data<float>(), a.numel());
  return out;
}

Tensor axpby(const Tensor& a, float alpha, const Tensor& b, float beta) {
  require_f32_same(a, b, "axpby");
  Tensor ac = contiguous(a), bc = contiguous(b);
  Tensor out = Tensor::empty(a.shape(), DType::f32);
  cpu::axpby(ac.data<float>(), alpha, bc.data<float>(), beta, out.data<float>(), a.numel());
  return out;
}

Tensor concat_rows(const std::vector<Tensor>& parts) {
  MVL_CHECK(!parts.empty(), invalid_argument, "concat_rows: nothing to concatenate");
  Shape shape = parts[0].shape();
  MVL_CHECK(!shape.empty(), shape_mismatch, "concat_rows: scalars cannot be concatenated");
  int64_t rows = 0;
  for (const Tensor& p : parts) {
    MVL_CHECK(p.ndim() == parts[0].ndim() && p.dtype() == parts[0].dtype(), shape_mismatch,
              "concat_rows: {} does not match {}", p.str(), parts[0].str());
    for (int i = 1; i < p.ndim(); ++i)
      MVL_CHECK(p.shape()[i] == shape[i], shape_mismatch, "concat_rows: {} does not match {}", p.str(),
                parts[0].str());
    require_cpu(p, "concat_rows");
    rows += p.dim(0);
  }
  shape[0] = rows;
  Tensor out = Tensor::empty(shape, parts[0].dtype());
  int64_t at = 0;
  for (const Tensor& p : parts) {
    if (p.dim(0) > 0) cpu::copy_strided(out.slice(0, at, at + p.dim(0)), p);
    at += p.dim(0);
  }
  return out;
}

}  // namespace mvl::ops
