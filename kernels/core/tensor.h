// Tensor: a typed, strided view into a Storage. Shapes are outermost-first (PyTorch
// order), strides are in elements, the offset in bytes. A Tensor does no math: copies,
// conversions and arithmetic live in kernels/ops. Views share the storage.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/core/device.h"
#include "kernels/core/dtype.h"
#include "kernels/core/storage.h"

namespace mvl {

struct QuantParams;  // kernels/core/quant_format.h

using Shape = std::vector<int64_t>;

std::string shape_str(const Shape& s);  // "[2, 3]"
int64_t shape_numel(const Shape& s);
Shape contiguous_strides(const Shape& s);

class Tensor {
 public:
  Tensor() = default;
  Tensor(std::shared_ptr<Storage> storage, size_t offset_bytes, Shape shape, Shape strides,
         DType dtype);

  // A new zero-filled, contiguous host tensor.
  static Tensor empty(const Shape& shape, DType dtype);
  // A host tensor holding a copy of `values` (f32) with the given shape.
  static Tensor from_f32(const Shape& shape, const std::vector<float>& values);

  bool defined() const { return storage_ != nullptr; }
  DType dtype() const { return dtype_; }
  Device device() const;
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const;  // negative i counts from the end
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  bool is_contiguous() const;
  size_t offset_bytes() const { return offset_; }
  const std::shared_ptr<Storage>& storage() const { return storage_; }

  void* data() const;
  template <typename T>
  T* data() const { return static_cast<T*>(data()); }

  // Views (share storage). Each throws Error{shape_mismatch} with both shapes on misuse.
  Tensor view(const Shape& shape) const;                      // contiguous only; one -1 allowed
  Tensor slice(int dim, int64_t start, int64_t end) const;    // [start, end) along dim
  Tensor select(int dim, int64_t index) const;                // drops dim
  Tensor transpose(int d0, int d1) const;
  Tensor unsqueeze(int dim) const;

  std::string str() const;  // "bf16[2, 3] cpu"

  // A weight-only quantized matrix (kernels/core/quant_format.h): the shape is the logical
  // [out, in], the storage holds the codes (i8, f8_e4m3, or u8 nibble pairs for int4; nbytes()
  // is then not the storage size), quant() the format, scales and zero points. Only
  // ops::linear and ops::moe_experts read it; views drop quant() (and then refuse the codes).
  const QuantParams* quant() const { return quant_.get(); }
  Tensor with_quant(std::shared_ptr<const QuantParams> q) const {
    Tensor t = *this;
    t.quant_ = std::move(q);
    return t;
  }

 private:
  int norm_dim(int d) const;
  std::shared_ptr<Storage> storage_;
  size_t offset_ = 0;
  Shape shape_;
  Shape strides_;
  DType dtype_ = DType::f32;
  std::shared_ptr<const QuantParams> quant_;
};

// Throws Error{shape_mismatch} naming `what` unless t has exactly this shape.
void check_shape(const Tensor& t, const Shape& expected, const std::string& what);
void check_dtype(const Tensor& t, DType expected, const std::string& what);

}  // namespace mvl

namespace mvl {
// Copies the elements of a host tensor, in logical (row-major) order, to `dst`
// (nbytes() bytes). Works for any strides. Throws for device tensors.
void copy_to_contiguous(const Tensor& src, void* dst);
// A contiguous host copy of `src` (or src itself if it already is contiguous).
Tensor contiguous(const Tensor& src);
}  // namespace mvl
