// cuda::Context, CudaStorage and host<->device copies: round trips for every dtype the
// backend moves (incl. strided host views), zero-fill, the scratch arena's bounds, and the
// errors for misuse (bad device index, to_host of a host tensor, mismatched copies).
// Without the CUDA backend (CPU-only builds, e.g. CI) the file reduces to one test that
// skips, or fails under MVL_REQUIRE_GPU=1.
#include "tests/support/test_util.h"

#ifdef MVL_HAVE_CUDA
#include "kernels/cuda/storage.h"

#include "tests/gpu/gpu_test_util.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

using namespace gpu_test;

TEST(CudaStorage, RoundTripsDtypesAndStridedViews) {
  MVL_REQUIRE_GPU_OR_SKIP();
  cuda::Context ctx(0);
  std::vector<float> v = rand_bf16(6 * 5, 3);
  Tensor h = Tensor::from_f32({6, 5}, v);
  Tensor d = cuda::to_device(h, ctx);
  EXPECT_TRUE(d.device().is_cuda());
  Tensor back = cuda::to_host(d, ctx);
  for (size_t i = 0; i < v.size(); ++i) ASSERT_EQ(back.data<float>()[i], v[i]);
  // A transposed (strided) host view arrives contiguous, in logical order.
  Tensor t = cuda::to_host(cuda::to_device(h.transpose(0, 1), ctx), ctx);
  ASSERT_EQ(t.shape(), (Shape{5, 6}));
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 6; ++j) ASSERT_EQ(t.data<float>()[i * 6 + j], v[j * 5 + i]);
  // bf16 upload from f32 rounds to nearest even; download converts back exactly.
  Tensor b = cuda::to_device_bf16(Tensor::from_f32({3}, {1.00390625f, 1.01171875f, -2.5f}), ctx);
  auto bf = download(ctx, b);
  EXPECT_EQ(bf[0], 1.0f);
  EXPECT_EQ(bf[1], 1.015625f);
  EXPECT_EQ(bf[2], -2.5f);
  Tensor ids = cuda::to_host(dev_i32(ctx, {7, -1, 1 << 30}), ctx);
  EXPECT_EQ(ids.data<int32_t>()[2], 1 << 30);
  Tensor z = cuda::zeros({1000}, DType::f32, ctx);
  for (float x : download(ctx, z)) ASSERT_EQ(x, 0.f);
  Tensor c = cuda::empty({6, 5}, DType::f32, ctx);
  cuda::copy(d, c, ctx);
  EXPECT_EQ(download(ctx, c), v);
}

TEST(CudaStorage, ScratchArenaAndErrors) {
  MVL_REQUIRE_GPU_OR_SKIP();
  cuda::Context ctx(0);
  cuda::Scratch s(ctx, {100 * 4, 8});
  Tensor a = s.take({100}, DType::f32), b = s.take({2}, DType::f32);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.data()) % 256, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % 256, 0u);
  EXPECT_THROW(s.take({1000}, DType::f32), Error);  // beyond the declared slots
  EXPECT_THROW(cuda::Context bad(1000), Error);     // no such device
  EXPECT_THROW(cuda::to_host(Tensor::from_f32({2}, {1, 2}), ctx), Error);
  EXPECT_THROW(cuda::to_device(cuda::zeros({2}, DType::f32, ctx), ctx), Error);
  EXPECT_THROW(
      cuda::copy(cuda::zeros({2}, DType::f32, ctx), cuda::zeros({3}, DType::f32, ctx), ctx), Error);
}

}  // namespace
}  // namespace mvl
#else
TEST(CudaStorageNoCuda, SkipsWithoutTheCudaBackend) {
  MVL_REQUIRE_GPU_OR_SKIP();
}
#endif
