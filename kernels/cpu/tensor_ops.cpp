// Plain CPU loops behind ops/tensor_ops.h.
#include "kernels/cpu/tensor_ops.h"

#include <cstring>
#include <vector>

#include "kernels/core/error.h"

namespace mvl::cpu {

void copy_strided(const Tensor& dst, const Tensor& src) {
  const int nd = dst.ndim();
  const size_t es = dtype_size(dst.dtype());
  const int64_t n = dst.numel();
  if (n == 0) return;
  auto* d = static_cast<uint8_t*>(dst.data());
  const auto* s = static_cast<const uint8_t*>(src.data());
  if (nd == 0) {
    std::memcpy(d, s, es);
    return;
  }
  // Walk the outer dims with an index vector; copy the innermost dim as a run when
  // both sides are unit-stride there.
  const int64_t inner = dst.shape()[nd - 1];
  const bool run = dst.strides()[nd - 1] == 1 && src.strides()[nd - 1] == 1;
  std::vector<int64_t> idx(static_cast<size_t>(nd), 0);
  const int64_t outer = n / inner;
  for (int64_t o = 0; o < outer; ++o) {
    int64_t doff = 0, soff = 0;
    for (int i = 0; i < nd - 1; ++i) {
      doff += idx[i] * dst.strides()[i];
      soff += idx[i] * src.strides()[i];
    }
    if (run) {
      std::memcpy(d + doff * es, s + soff * es, static_cast<size_t>(inner) * es);
    } else {
      for (int64_t j = 0; j < inner; ++j)
        std::memcpy(d + (doff + j * dst.strides()[nd - 1]) * es, s + (soff + j * src.strides()[nd - 1]) * es, es);
    }
    for (int i = nd - 2; i >= 0; --i) {
      if (++idx[i] < dst.shape()[i]) break;
      idx[i] = 0;
    }
  }
}

void convert(const void* src, DType s, void* dst, DType d, int64_t n) {
  if (s == d) {
    std::memcpy(dst, src, static_cast<size_t>(n) * dtype_size(s));
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    const float v = load_as_f32(src, s, static_cast<size_t>(i));
    switch (d) {
      case DType::f32: static_cast<float*>(dst)[i] = v; break;
      case DType::bf16: static_cast<uint16_t*>(dst)[i] = f32_to_bf16(v); break;
      case DType::f16: static_cast<uint16_t*>(dst)[i] = f32_to_f16(v); break;
      default:
        throw Error(ErrorCategory::unsupported,
                    fmt::format("cast: converting to {} is not supported", dtype_name(d)));
    }
  }
}

void axpby(const float* a, float alpha, const float* b, float beta, float* out, int64_t n) {
  if (b == nullptr) {
    for (int64_t i = 0; i < n; ++i) out[i] = alpha * a[i];
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    const float x = alpha * a[i];
    const float y = beta * b[i];
    out[i] = x + y;
  }
}

void mul(const float* a, const float* b, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] * b[i];
}

}  // namespace mvl::cpu
