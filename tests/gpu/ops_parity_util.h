// Shared pieces of the ops::-level CPU-vs-CUDA parity tests (model_ops_test, vit_ops_test):
// seeded random f32 inputs, the relative L2 error of a device result against the CPU one,
// and a fixture that opens cuda:0 (skipping without a GPU, failing under MVL_REQUIRE_GPU=1).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "kernels/core/tensor.h"
#include "kernels/ops/device.h"
#include "kernels/ops/tensor_ops.h"
#include "tests/support/test_util.h"

namespace mvl::ops_parity {

inline Tensor rand_f32(const Shape& s, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(static_cast<size_t>(shape_numel(s)));
  for (auto& x : v) x = d(rng);
  return Tensor::from_f32(s, v);
}

// ||gpu - cpu|| / ||cpu||; a shape mismatch or a non-finite GPU value gives +inf.
inline double rel_l2(const Tensor& gpu, const Tensor& cpu) {
  const Tensor g = ops::to_device(gpu, Device::cpu());
  const Tensor c = contiguous(cpu);
  EXPECT_EQ(g.shape(), c.shape());
  if (g.shape() != c.shape()) return INFINITY;
  double num = 0, den = 0;
  for (int64_t i = 0; i < c.numel(); ++i) {
    const double a = g.data<float>()[i], b = c.data<float>()[i];
    if (!std::isfinite(a)) return INFINITY;
    num += (a - b) * (a - b);
    den += b * b;
  }
  return std::sqrt(num / std::max(den, 1e-30));
}

class OpsCudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MVL_REQUIRE_GPU_OR_SKIP();
    dev_ = ops::DeviceContext::open(Device::cuda(0));
  }
  Tensor up(const Tensor& t) { return ops::to_device(t, dev_); }
  Tensor upw(const Tensor& t) { return ops::to_device_weight(t, dev_); }
  ops::DeviceContext dev_;
};

}  // namespace mvl::ops_parity
