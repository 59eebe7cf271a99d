// cuda::copy_strided for every element width (1, 2, 4 and 8 bytes): a transposed device view
// copied into a contiguous tensor must equal the CPU's contiguous() of the same view, bit for
// bit. 1-byte codes (int8 / fp8 / packed int4 weights) were refused before, which broke the
// quantized MoE path on the GPU. Skips without a GPU, or fails under MVL_REQUIRE_GPU=1.
// Without the CUDA backend (CPU-only builds) the file reduces to one test that skips.
#include <gtest/gtest.h>

#include "tests/support/test_util.h"

#ifdef MVL_HAVE_CUDA

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/cuda/tensor_ops.h"
#include "tests/gpu/gpu_test_util.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

class CopyStridedCuda : public ::testing::TestWithParam<DType> {};

TEST_P(CopyStridedCuda, TransposedViewMatchesCpuContiguous) {
  MVL_REQUIRE_GPU_OR_SKIP();
  cuda::Context ctx(0);
  const DType dt = GetParam();
  Tensor h = Tensor::empty({7, 5, 3}, dt);
  auto* bytes = static_cast<uint8_t*>(h.data());
  const size_t nbytes = static_cast<size_t>(h.numel()) * dtype_size(dt);
  for (size_t i = 0; i < nbytes; ++i) bytes[i] = static_cast<uint8_t>((i * 37 + 11) & 0xff);
  const Tensor view_h = h.transpose(0, 2);  // [3, 5, 7], strided
  const Tensor want = contiguous(view_h);
  const Tensor d = cuda::to_device(h, ctx);
  const Tensor view_d = d.transpose(0, 2);
  Tensor out = cuda::empty(view_d.shape(), dt, ctx);
  cuda::copy_strided(ctx, out, view_d);
  const Tensor got = cuda::to_host(out, ctx);
  ASSERT_EQ(got.shape(), want.shape());
  EXPECT_EQ(0, std::memcmp(got.data(), want.data(), nbytes)) << dtype_name(dt);
}

INSTANTIATE_TEST_SUITE_P(Widths, CopyStridedCuda,
                         ::testing::Values(DType::u8, DType::i8, DType::f8_e4m3, DType::bf16,
                                           DType::f32, DType::i64),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

}  // namespace
}  // namespace mvl
#else
TEST(CopyStridedNoCuda, SkipsWithoutTheCudaBackend) {
  MVL_REQUIRE_GPU_OR_SKIP();
}
#endif
