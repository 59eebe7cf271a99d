// Helpers for the CPU-vs-CUDA parity tests: seeded random bf16-exact data, uploads, and
// the tolerance rule of design.md: the CUDA result's error against an fp64 reference must
// be at most k x the error of a plain bf16 CPU implementation (+ a small absolute floor).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/core/dtype.h"
#include "kernels/core/error.h"
#include "kernels/core/tensor.h"
#include "kernels/cuda/context.h"
#include "kernels/cuda/storage.h"

namespace mvl::gpu_test {

// Uniform values in [lo, hi), rounded to bf16 so CPU and GPU see identical inputs.
inline std::vector<float> rand_bf16(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = round_bf16(d(rng));
  return v;
}

inline Tensor host_bf16(const Shape& s, const std::vector<float>& v) {
  Tensor t = Tensor::empty(s, DType::bf16);
  for (size_t i = 0; i < v.size(); ++i) t.data<uint16_t>()[i] = f32_to_bf16(v[i]);
  return t;
}
inline Tensor dev_bf16(const cuda::Context& ctx, const Shape& s, const std::vector<float>& v) {
  return cuda::to_device(host_bf16(s, v), ctx);
}
inline Tensor dev_f32(const cuda::Context& ctx, const Shape& s, const std::vector<float>& v) {
  return cuda::to_device(Tensor::from_f32(s, v), ctx);
}
inline Tensor dev_i32(const cuda::Context& ctx, const std::vector<int32_t>& v) {
  Tensor t = Tensor::empty({static_cast<int64_t>(v.size())}, DType::i32);
  for (size_t i = 0; i < v.size(); ++i) t.data<int32_t>()[i] = v[i];
  return cuda::to_device(t, ctx);
}
inline std::vector<float> download(const cuda::Context& ctx, const Tensor& t) {
  Tensor h = cuda::to_host_f32(t, ctx);
  return std::vector<float>(h.data<float>(), h.data<float>() + h.numel());
}

// ||a - ref|| / ||ref|| (L2); NaN anywhere in a gives +inf.
template <typename A, typename R>
double rel_err(const std::vector<A>& a, const std::vector<R>& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double x = a[i], r = ref[i];
    if (std::isnan(x)) return INFINITY;
    num += (x - r) * (x - r);
    den += r * r;
  }
  return std::sqrt(num / (den > 0 ? den : 1e-300));
}

// The rule, written beside each case: err(cuda) <= k * err(bf16 plain) + atol.
#define MVL_EXPECT_PARITY(cuda_vec, bf16_vec, ref_vec, k, atol)              \
  do {                                                                       \
    const double e_cuda_ = ::mvl::gpu_test::rel_err(cuda_vec, ref_vec);      \
    const double e_bf16_ = ::mvl::gpu_test::rel_err(bf16_vec, ref_vec);      \
    EXPECT_LE(e_cuda_, (k)*e_bf16_ + (atol))                                 \
        << "cuda rel err " << e_cuda_ << " vs plain bf16 " << e_bf16_;       \
    std::printf("  parity: cuda %.3g  bf16-plain %.3g\n", e_cuda_, e_bf16_); \
  } while (0)

}  // namespace mvl::gpu_test
