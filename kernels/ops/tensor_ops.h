// Tensor utilities every model half needs: allocation on a device, device/dtype moves,
// copies into views, and the few elementwise ops the text model uses (axpby for the
// postnorm residual, mul for the lightning gate). Validate here, compute in cpu::/cuda::.
#pragma once

#include <vector>

#include "kernels/core/device.h"
#include "kernels/core/tensor.h"
#include "kernels/ops/device.h"

namespace mvl::ops {

// A new zero-filled contiguous tensor on `device` (CUDA devices need the DeviceContext form).
Tensor empty(const Shape& shape, DType dtype, Device device = Device::cpu());
// A new zero-filled contiguous tensor on dev's device (carrying dev's context).
Tensor empty(const Shape& shape, DType dtype, const DeviceContext& dev);
// A contiguous copy of `t` on `device` (same dtype); returns a copy even if already there.
// Device::cpu() brings a device tensor back to the host (waits for its stream); host ->
// CUDA needs the DeviceContext form.
Tensor to_device(const Tensor& t, Device device);
Tensor to_device(const Tensor& t, const DeviceContext& dev);
// Weights for dev: f32/f16 floating tensors become bf16 on a CUDA device (uploaded once;
// bf16 stays bf16); other dtypes, and everything on the CPU, are returned as they are.
Tensor to_device_weight(const Tensor& t, const DeviceContext& dev);
// A contiguous copy converted to `dtype` (f32 <-> bf16/f16 round to nearest even).
Tensor cast(const Tensor& t, DType dtype);
// A contiguous deep copy of t (same device, same dtype).
Tensor clone(const Tensor& t);
// Copies src into dst elementwise. Same shape and dtype; dst may be a strided view
// (e.g. a row range of a KV cache). Overlapping src/dst are not allowed.
void copy_into(const Tensor& dst, const Tensor& src);

// f32 elementwise, same shapes, returns a new contiguous tensor. bf16 tensors on a CUDA
// device (the bf16 activation path) give bf16 with PyTorch's rounding: one rounding per
// op, axpby = bf16(bf16(alpha*a) + bf16(beta*b)) (a coefficient of 1 rounds nothing).
Tensor add(const Tensor& a, const Tensor& b);                                    // a + b
Tensor mul(const Tensor& a, const Tensor& b);                                    // a * b
Tensor scale(const Tensor& a, float s);                                          // s * a
// alpha * a + beta * b, each product rounded to f32 then summed (the postnorm residual).
Tensor axpby(const Tensor& a, float alpha, const Tensor& b, float beta);
// Concatenates tensors of one dtype (f32, bf16, i32, ...) along dim 0 (all other dims equal).
Tensor concat_rows(const std::vector<Tensor>& parts);

}  // namespace mvl::ops
