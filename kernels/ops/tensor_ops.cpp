// ops tensor utilities: validation and dispatch to cpu:: or the CUDA backend
// (backend/cuda_tensor_ops.cpp: f32 generic kernels, or the bf16 ones for bf16 activations).
#include "kernels/ops/tensor_ops.h"

#include "kernels/core/error.h"
#include "kernels/cpu/tensor_ops.h"
#include "kernels/ops/backend/cuda_backend.h"
#include "kernels/ops/cuda_dispatch.h"

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

Tensor empty(const Shape& shape, DType dtype, const DeviceContext& dev) {
  if (!dev.is_cuda()) return Tensor::empty(shape, dtype);
  return cuda_backend::empty(shape, dtype, dev);
}

Tensor to_device(const Tensor& t, const DeviceContext& dev) {
  if (!dev.is_cuda()) return to_device(t, Device::cpu());
  return cuda_backend::to_device(t, dev);
}

Tensor to_device_weight(const Tensor& t, const DeviceContext& dev) {
  if (!dev.is_cuda()) return t;
  const bool floating = t.dtype() == DType::f32 || t.dtype() == DType::f16;
  return to_device(floating ? cast(t, DType::bf16) : t, dev);
}

Tensor to_device(const Tensor& t, Device device) {
  if (t.device().is_cuda()) {
    MVL_CHECK(device.is_cpu(), unsupported, "to_device: host -> {} needs a DeviceContext", device.str());
    return cuda_backend::to_host(t);
  }
  require_cpu(t, "to_device");
  MVL_CHECK(device.is_cpu(), unsupported, "to_device: {} needs the CUDA backend", device.str());
  return clone(t);
}

Tensor cast(const Tensor& t, DType dtype) {
  if (detail::any_cuda({&t})) return cuda_backend::cast(t, dtype);
  require_cpu(t, "cast");
  Tensor src = contiguous(t);
  Tensor out = Tensor::empty(t.shape(), dtype);
  cpu::convert(src.data(), src.dtype(), out.data(), dtype, t.numel());
  return out;
}

Tensor clone(const Tensor& t) {
  if (detail::any_cuda({&t})) return cuda_backend::clone(t);
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
  if (detail::any_cuda({&dst, &src})) return cuda_backend::copy_into(dst, src);
  require_cpu(dst, "copy_into");
  require_cpu(src, "copy_into");
  MVL_CHECK(dst.storage()->writable(), invalid_argument, "copy_into: destination {} is read-only", dst.str());
  cpu::copy_strided(dst, src);
}

namespace {
// The bf16 activation path: both inputs bf16 on one device, same shape.
bool bf16_pair(const Tensor& a, const Tensor& b, const char* op) {
  if (!detail::bf16_dev(a) && !detail::bf16_dev(b)) return false;
  MVL_CHECK(a.dtype() == DType::bf16 && b.dtype() == DType::bf16 && a.shape() == b.shape(), shape_mismatch,
            "{}: expected bf16 of one shape, got {} and {}", op, a.str(), b.str());
  return true;
}
}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  if (bf16_pair(a, b, "add")) return cuda_backend::add_bf16(a, b);
  return axpby(a, 1.0f, b, 1.0f);
}

Tensor mul(const Tensor& a, const Tensor& b) {
  if (bf16_pair(a, b, "mul")) return cuda_backend::mul_bf16(a, b);
  if (detail::any_cuda({&a, &b})) return cuda_backend::mul_f32(a, b);
  require_f32_same(a, b, "mul");
  Tensor ac = contiguous(a), bc = contiguous(b);
  Tensor out = Tensor::empty(a.shape(), DType::f32);
  cpu::mul(ac.data<float>(), bc.data<float>(), out.data<float>(), a.numel());
  return out;
}

Tensor scale(const Tensor& a, float s) {
  if (detail::bf16_dev(a)) return cuda_backend::scale_bf16(a, s);
  MVL_CHECK(a.dtype() == DType::f32, unsupported, "scale: expected f32, got {}", a.str());
  if (detail::any_cuda({&a})) return cuda_backend::scale_f32(a, s);
  require_cpu(a, "scale");
  Tensor ac = contiguous(a);
  Tensor out = Tensor::empty(a.shape(), DType::f32);
  cpu::axpby(ac.data<float>(), s, nullptr, 0.0f, out.data<float>(), a.numel());
  return out;
}

Tensor axpby(const Tensor& a, float alpha, const Tensor& b, float beta) {
  if (bf16_pair(a, b, "axpby")) return cuda_backend::axpby_bf16(a, alpha, b, beta);
  if (detail::any_cuda({&a, &b})) return cuda_backend::axpby_f32(a, alpha, b, beta);
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
    rows += p.dim(0);
  }
  shape[0] = rows;
  if (parts[0].device().is_cuda()) return cuda_backend::concat_rows(parts, shape);
  for (const Tensor& p : parts) require_cpu(p, "concat_rows");
  Tensor out = Tensor::empty(shape, parts[0].dtype());
  int64_t at = 0;
  for (const Tensor& p : parts) {
    if (p.dim(0) > 0) cpu::copy_strided(out.slice(0, at, at + p.dim(0)), p);
    at += p.dim(0);
  }
  return out;
}

}  // namespace mvl::ops
