// Tensor views and shape bookkeeping.
#include "kernels/core/tensor.h"

#include <cstring>

#include "kernels/core/error.h"

namespace mvl {

std::string shape_str(const Shape& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) r += ", ";
    r += std::to_string(s[i]);
  }
  return r + "]";
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

Shape contiguous_strides(const Shape& s) {
  Shape st(s.size());
  int64_t acc = 1;
  for (int i = static_cast<int>(s.size()) - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

Tensor::Tensor(std::shared_ptr<Storage> storage, size_t offset_bytes, Shape shape, Shape strides,
               DType dtype)
    : storage_(std::move(storage)),
      offset_(offset_bytes),
      shape_(std::move(shape)),
      strides_(std::move(strides)),
      dtype_(dtype) {
  MVL_ASSERT(shape_.size() == strides_.size());
  for (auto d : shape_) MVL_CHECK(d >= 0, shape_mismatch, "negative dimension in {}", shape_str(shape_));
}

Tensor Tensor::empty(const Shape& shape, DType dtype) {
  for (auto d : shape) MVL_CHECK(d >= 0, shape_mismatch, "negative dimension in {}", shape_str(shape));
  const size_t bytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
  return Tensor(make_heap_storage(bytes), 0, shape, contiguous_strides(shape), dtype);
}

Tensor Tensor::from_f32(const Shape& shape, const std::vector<float>& values) {
  MVL_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape), shape_mismatch,
            "{} values do not fill shape {}", values.size(), shape_str(shape));
  Tensor t = empty(shape, DType::f32);
  if (!values.empty()) std::memcpy(t.data(), values.data(), values.size() * 4);
  return t;
}

Device Tensor::device() const { return storage_ ? storage_->device() : Device::cpu(); }

int Tensor::norm_dim(int d) const {
  const int n = ndim();
  const int r = d < 0 ? d + n : d;
  MVL_CHECK(r >= 0 && r < n, invalid_argument, "dimension {} out of range for tensor {}", d, str());
  return r;
}

int64_t Tensor::dim(int i) const { return shape_[norm_dim(i)]; }

bool Tensor::is_contiguous() const {
  int64_t acc = 1;
  for (int i = ndim() - 1; i >= 0; --i) {
    if (shape_[i] != 1 && strides_[i] != acc) return false;
    acc *= shape_[i];
  }
  return true;
}

void* Tensor::data() const {
  if (!storage_) return nullptr;
  return static_cast<char*>(storage_->data()) + offset_;
}

Tensor Tensor::view(const Shape& shape) const {
  MVL_CHECK(is_contiguous(), shape_mismatch, "view of non-contiguous tensor {}", str());
  Shape s = shape;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      MVL_CHECK(infer < 0, shape_mismatch, "view {} has more than one -1", shape_str(shape));
      infer = static_cast<int>(i);
    } else {
      known *= s[i];
    }
  }
  if (infer >= 0) {
    MVL_CHECK(known > 0 && numel() % known == 0, shape_mismatch, "cannot view {} as {}", str(),
              shape_str(shape));
    s[infer] = numel() / known;
  }
  MVL_CHECK(shape_numel(s) == numel(), shape_mismatch, "cannot view {} as {}", str(),
            shape_str(shape));
  return Tensor(storage_, offset_, s, contiguous_strides(s), dtype_);
}

Tensor Tensor::slice(int d, int64_t start, int64_t end) const {
  const int k = norm_dim(d);
  MVL_CHECK(0 <= start && start <= end && end <= shape_[k], invalid_argument,
            "slice [{}, {}) out of range for dim {} of {}", start, end, k, str());
  Shape s = shape_;
  s[k] = end - start;
  const size_t off = offset_ + static_cast<size_t>(start * strides_[k]) * dtype_size(dtype_);
  return Tensor(storage_, off, s, strides_, dtype_);
}

Tensor Tensor::select(int d, int64_t index) const {
  const int k = norm_dim(d);
  MVL_CHECK(0 <= index && index < shape_[k], invalid_argument,
            "index {} out of range for dim {} of {}", index, k, str());
  Shape s = shape_, st = strides_;
  const size_t off = offset_ + static_cast<size_t>(index * strides_[k]) * dtype_size(dtype_);
  s.erase(s.begin() + k);
  st.erase(st.begin() + k);
  return Tensor(storage_, off, s, st, dtype_);
}

Tensor Tensor::transpose(int d0, int d1) const {
  const int a = norm_dim(d0), b = norm_dim(d1);
  Shape s = shape_, st = strides_;
  std::swap(s[a], s[b]);
  std::swap(st[a], st[b]);
  return Tensor(storage_, offset_, s, st, dtype_);
}

Tensor Tensor::unsqueeze(int d) const {
  const int n = ndim();
  const int k = d < 0 ? d + n + 1 : d;
  MVL_CHECK(k >= 0 && k <= n, invalid_argument, "unsqueeze dim {} out of range for {}", d, str());
  Shape s = shape_, st = strides_;
  const int64_t stride = k < n ? shape_[k] * strides_[k] : 1;
  s.insert(s.begin() + k, 1);
  st.insert(st.begin() + k, stride);
  return Tensor(storage_, offset_, s, st, dtype_);
}

std::string Tensor::str() const {
  return std::string(dtype_name(dtype_)) + shape_str(shape_) + " " + device().str();
}

void check_shape(const Tensor& t, const Shape& expected, const std::string& what) {
  MVL_CHECK(t.shape() == expected, shape_mismatch, "{}: expected shape {}, got {}", what,
            shape_str(expected), shape_str(t.shape()));
}

void check_dtype(const Tensor& t, DType expected, const std::string& what) {
  MVL_CHECK(t.dtype() == expected, shape_mismatch, "{}: expected dtype {}, got {}", what,
            dtype_name(expected), dtype_name(t.dtype()));
}

}  // namespace mvl

namespace mvl {

void copy_to_contiguous(const Tensor& src, void* dst) {
  MVL_CHECK(src.device().is_cpu(), unsupported, "copy_to_contiguous needs a host tensor, got {}",
            src.str());
  const size_t es = dtype_size(src.dtype());
  const int64_t n = src.numel();
  if (n == 0) return;
  if (src.is_contiguous()) {
    std::memcpy(dst, src.data(), static_cast<size_t>(n) * es);
    return;
  }
  const int nd = src.ndim();
  std::vector<int64_t> idx(nd, 0);
  const char* base = static_cast<const char*>(src.data());
  char* out = static_cast<char*>(dst);
  for (int64_t i = 0; i < n; ++i) {
    int64_t off = 0;
    for (int d = 0; d < nd; ++d) off += idx[d] * src.strides()[d];
    std::memcpy(out + i * es, base + off * static_cast<int64_t>(es), es);
    for (int d = nd - 1; d >= 0; --d) {
      if (++idx[d] < src.shape()[d]) break;
      idx[d] = 0;
    }
  }
}

Tensor contiguous(const Tensor& src) {
  if (src.is_contiguous()) return src;
  Tensor t = Tensor::empty(src.shape(), src.dtype());
  copy_to_contiguous(src, t.data());
  return t;
}

}  // namespace mvl
