// CPU-vs-CUDA parity of ops::fill_uniform_ (kernels/cuda/random.cu vs kernels/cpu/random.cpp):
// the fill is counter-based, so f32 and bf16 tensors must be bit-identical, including sizes
// that need the grid-stride loop and odd lengths. Without the CUDA backend the file reduces
// to one test that skips, or fails under MVL_REQUIRE_GPU=1.
#include "tests/support/test_util.h"

#ifdef MVL_HAVE_CUDA
#include <cstring>
#include <vector>

#include "kernels/ops/device.h"
#include "kernels/ops/random.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl {
namespace {

std::vector<uint8_t> bytes_of(const Tensor& t) {
  const Tensor h = t.device().is_cuda() ? ops::to_device(t, Device::cpu()) : ops::clone(t);
  const auto* p = static_cast<const uint8_t*>(h.data());
  return std::vector<uint8_t>(p, p + h.nbytes());
}

TEST(RandomCuda, FillUniformIsBitIdenticalToTheCpu) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(0));
  // 65535 * 256 + 3 elements: more than one grid-stride pass.
  for (int64_t n : {int64_t{1}, int64_t{1001}, int64_t{65535} * 256 + 3}) {
    for (DType dt : {DType::f32, DType::bf16}) {
      for (auto [lo, hi] : {std::pair{-0.0346f, 0.0346f}, std::pair{0.9f, 1.1f}}) {
        Tensor h = Tensor::empty({n}, dt);
        Tensor d = ops::empty({n}, dt, dev);
        ops::fill_uniform_(h, 12345, lo, hi);
        ops::fill_uniform_(d, 12345, lo, hi);
        ASSERT_EQ(bytes_of(d), bytes_of(h))
            << "n " << n << " " << dtype_name(dt) << " [" << lo << ", " << hi << ")";
      }
    }
  }
}

TEST(RandomCuda, SeedsDifferOnTheDevice) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const ops::DeviceContext dev = ops::DeviceContext::open(Device::cuda(0));
  Tensor a = ops::empty({4096}, DType::bf16, dev), b = ops::empty({4096}, DType::bf16, dev);
  ops::fill_uniform_(a, 1, -1.f, 1.f);
  ops::fill_uniform_(b, 2, -1.f, 1.f);
  EXPECT_NE(bytes_of(a), bytes_of(b));
}

}  // namespace
}  // namespace mvl
#else
TEST(RandomCudaNoCuda, SkipsWithoutTheCudaBackend) {
  MVL_REQUIRE_GPU_OR_SKIP();
}
#endif
