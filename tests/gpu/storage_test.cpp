// cuda::Context, CudaStorage and host<->device copies: round trips for every dtype the
// backend moves (incl. strided host views), zero-fill, the scratch arena's bounds, and the
// errors for misuse (bad device index, to_host of a host tensor, mismatched copies); the
// stream-ordered pool (no growth over 1000 alloc/free cycles, tensors outliving their
// Context, the out-of-memory message, stream-ordered scratch growth and reserve_scratch).
// Without the CUDA backend (CPU-only builds, e.g. CI) the file reduces to one test that
// skips, or fails under MVL_REQUIRE_GPU=1.
#include "tests/support/test_util.h"

#ifdef MVL_HAVE_CUDA
#include "kernels/cuda/storage.h"

#include <string>

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

TEST(CudaStorage, PoolReusesMemoryWithoutGrowing) {
  MVL_REQUIRE_GPU_OR_SKIP();
  auto ctx = std::make_shared<cuda::Context>(0);
  // One "decode step" worth of temporaries of odd sizes, through both allocation paths.
  auto cycle = [&] {
    Tensor a = cuda::empty({1000}, DType::f32, *ctx);
    Tensor b = cuda::zeros({(1 << 20) + 7}, DType::bf16, *ctx);
    Tensor c = cuda::empty_with({3, 1 << 18}, DType::f32, ctx);
    a = Tensor();  // freed out of allocation order
    Tensor d = cuda::empty({333}, DType::i32, *ctx);
  };
  cycle();
  ctx->synchronize();
  const cuda::PoolStats s0 = ctx->pool_stats();
  const uint64_t step_bytes = 1000 * 4 + ((1 << 20) + 7) * 2 + 3 * (1 << 18) * 4 + 333 * 4;
  EXPECT_GE(s0.used_high, step_bytes - 1000 * 4) << "the temporaries did not come from the pool";
  EXPECT_GE(s0.reserved, s0.used_high);
  EXPECT_EQ(s0.used, 0u) << "everything was freed";
  for (int i = 0; i < 1000; ++i) cycle();
  ctx->synchronize();
  const cuda::PoolStats s1 = ctx->pool_stats();
  EXPECT_EQ(s1.reserved, s0.reserved) << "the pool grew (or gave memory back) in steady state";
  EXPECT_EQ(s1.reserved_high, s0.reserved_high);
  EXPECT_EQ(s1.used, 0u);
  std::printf("  pool: %.1f MiB reserved for %.1f MiB of temporaries per step\n",
              s1.reserved / 1048576.0, step_bytes / 1048576.0);
}

TEST(CudaStorage, TensorsOutliveTheirContext) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const std::vector<float> v = rand_bf16(4096, 9);
  Tensor kept, plain_kept;
  {
    auto ctx = std::make_shared<cuda::Context>(0);
    kept = cuda::empty_with({4096}, DType::f32, ctx);  // holds ctx: its storage frees after it
    cuda::copy(dev_f32(*ctx, {4096}, v), kept, *ctx);
    cuda::Context plain(0);
    plain_kept = dev_f32(plain, {4096}, v);  // plain form: holds only the stream + pool
    plain.synchronize();
  }  // `plain` is destroyed here; its stream must live on for plain_kept's free
  cuda::Context other(0);
  EXPECT_EQ(download(other, plain_kept), v);
  plain_kept = Tensor();  // frees into the dead context's stream (still alive through the storage)
  kept = Tensor();        // the last reference to a Context: it goes first, then the memory
  other.synchronize();
  Tensor t = cuda::zeros({16}, DType::f32, other);
  for (float x : download(other, t)) ASSERT_EQ(x, 0.f);
}

TEST(CudaStorage, OutOfMemoryNamesTheByteCount) {
  MVL_REQUIRE_GPU_OR_SKIP();
  cuda::Context ctx(0);
  const int64_t n = static_cast<int64_t>(ctx.total_memory()) * 2;  // twice the GPU's memory
  ASSERT_GT(n, 0);
  try {
    cuda::empty({n}, DType::u8, ctx);
    FAIL() << "allocating twice the device memory succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::out_of_memory) << e.what();
    EXPECT_NE(std::string(e.what()).find(std::to_string(n) + " bytes"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("cuda:0"), std::string::npos) << e.what();
  }
  // The failure is not sticky: the context keeps working.
  Tensor t = dev_i32(ctx, {1, 2, 3});
  EXPECT_EQ(cuda::to_host(t, ctx).data<int32_t>()[2], 3);
}

TEST(CudaStorage, ScratchGrowsStreamOrderedAndCanBeReserved) {
  MVL_REQUIRE_GPU_OR_SKIP();
  cuda::Context ctx(0);
  EXPECT_EQ(ctx.scratch_bytes(), 0u);
  ctx.reserve_scratch(1 << 20);
  EXPECT_EQ(ctx.scratch_bytes(), size_t{1} << 20);
  void* p = ctx.scratch(1000);
  EXPECT_EQ(ctx.scratch(1 << 20), p) << "within the reservation the arena does not move";
  ctx.reserve_scratch(100);  // never shrinks
  EXPECT_EQ(ctx.scratch_bytes(), size_t{1} << 20);
  // Growing keeps earlier queued work valid (the old buffer is freed stream-ordered).
  Tensor x = dev_f32(ctx, {256}, rand_bf16(256, 4));
  cuda::copy(x, cuda::Scratch(ctx, {256 * 4}).take({256}, DType::f32), ctx);
  ctx.scratch(3 << 20);
  EXPECT_GE(ctx.scratch_bytes(), size_t{3} << 20);
  EXPECT_GT(ctx.pool_stats().used, 0u) << "the arena comes from the context's pool";
  ctx.synchronize();
}

}  // namespace
}  // namespace mvl
#else
TEST(CudaStorageNoCuda, SkipsWithoutTheCudaBackend) {
  MVL_REQUIRE_GPU_OR_SKIP();
}
#endif
