// Elementwise activations: CPU reference loops; CUDA f32 (generic) and bf16 (tuned) kernels.
#include "kernels/ops/activation.h"

#include <cmath>

#include "kernels/core/error.h"

#include "kernels/ops/backend/cuda_backend.h"
#include "kernels/ops/cuda_dispatch.h"

namespace mvl::ops {

namespace {
template <typename F>
Tensor map_f32(const Tensor& x, const char* name, F f) {
  if (x.dtype() == DType::bf16 && detail::any_cuda({&x})) return cuda_backend::activation_bf16(x, name);
  MVL_CHECK(x.dtype() == DType::f32, unsupported, "{}: expected f32 (bf16 only on a GPU), got {}", name, x.str());
  if (detail::any_cuda({&x})) return cuda_backend::activation_f32(x, name);
  MVL_CHECK(x.device().is_cpu(), unsupported, "{}: device tensors go through the CUDA backend", name);
  Tensor in = contiguous(x);
  Tensor y = Tensor::empty(x.shape(), DType::f32);
  const float* s = in.data<float>();
  float* d = y.data<float>();
  const int64_t n = x.numel();
  for (int64_t i = 0; i < n; ++i) d[i] = f(s[i]);
  return y;
}
}  // namespace

Tensor gelu(const Tensor& x) {
  return map_f32(x, "gelu", [](float v) { return 0.5f * v * (1.0f + std::erf(v * 0.70710678118654752f)); });
}
Tensor quick_gelu(const Tensor& x) {
  return map_f32(x, "quick_gelu", [](float v) { return v / (1.0f + std::exp(-1.702f * v)); });
}
Tensor silu(const Tensor& x) {
  return map_f32(x, "silu", [](float v) { return v / (1.0f + std::exp(-v)); });
}
Tensor sigmoid(const Tensor& x) {
  return map_f32(x, "sigmoid", [](float v) { return 1.0f / (1.0f + std::exp(-v)); });
}

Tensor activation(const Tensor& x, const std::string& name) {
  if (name == "gelu") return gelu(x);
  if (name == "quick_gelu") return quick_gelu(x);
  if (name == "silu" || name == "swish") return silu(x);
  throw Error(ErrorCategory::unsupported, fmt::format("activation '{}' is not supported (gelu, quick_gelu, silu)", name));
}

}  // namespace mvl::ops
