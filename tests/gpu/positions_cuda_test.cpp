// CPU-vs-CUDA parity of the position primitives (kernels/cuda/positions.cu vs
// kernels/cpu/positions.cpp, both through ops::): positions_from and add_scalar_ across
// the i32 limits, write_rows_at for 2- and 4-byte dtypes with positions that put rows
// outside the capacity (skipped on both sides), and host/device mixes refused. The ops are
// integer/bit copies, so parity is exact. Without the CUDA backend the file reduces to one
// test that skips, or fails under MVL_REQUIRE_GPU=1.
#include "tests/support/test_util.h"

#ifdef MVL_HAVE_CUDA
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "kernels/core/error.h"
#include "kernels/ops/device.h"
#include "kernels/ops/positions.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl {
namespace {

Tensor i32_tensor(const std::vector<int32_t>& v) {
  Tensor t = Tensor::empty({static_cast<int64_t>(v.size())}, DType::i32);
  std::memcpy(t.data(), v.data(), v.size() * sizeof(int32_t));
  return t;
}

// The raw bytes of a tensor (host or device), for exact comparisons of any dtype.
std::vector<uint8_t> bytes_of(const Tensor& t) {
  const Tensor h = t.device().is_cuda() ? ops::to_device(t, Device::cpu()) : ops::clone(t);
  const auto* p = static_cast<const uint8_t*>(h.data());
  return std::vector<uint8_t>(p, p + h.nbytes());
}

Tensor random_tensor(const Shape& s, DType dt, uint32_t seed) {
  Tensor t = Tensor::empty(s, dt);
  std::mt19937 rng(seed);
  auto* p = static_cast<uint8_t*>(t.data());
  for (size_t i = 0; i < t.nbytes(); ++i) p[i] = static_cast<uint8_t>(rng());
  return t;
}

class PositionsCuda : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::gpu_available()) return;
    dev_ = ops::DeviceContext::open(Device::cuda(0));
  }
  ops::DeviceContext dev_;
};

TEST_F(PositionsCuda, PositionsFromAndAddScalarMatchTheCpu) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const int32_t kMax = std::numeric_limits<int32_t>::max(),
                kMin = std::numeric_limits<int32_t>::min();
  for (int32_t p0 : {0, 17, -5, kMax - 3, kMin}) {
    for (int64_t n :
         {int64_t{0}, int64_t{1}, int64_t{7}, int64_t{300000}}) {  // 300000: grid-stride loop
      const Tensor host_pos = i32_tensor({p0});
      const Tensor d = ops::positions_from(ops::to_device(host_pos, dev_), n);
      ASSERT_TRUE(d.device().is_cuda() || n == 0);
      EXPECT_EQ(d.shape(), (Shape{n}));
      EXPECT_EQ(bytes_of(d), bytes_of(ops::positions_from(host_pos, n)))
          << "p0 " << p0 << " n " << n;
    }
  }
  std::vector<int32_t> v(1000);
  std::mt19937 rng(3);
  for (auto& x : v) x = static_cast<int32_t>(rng());
  v[0] = kMax;
  v[1] = kMin;
  for (int32_t add : {1, -1, 123456789, kMin}) {
    Tensor h = i32_tensor(v), d = ops::to_device(h, dev_);
    ops::add_scalar_(h, add);
    ops::add_scalar_(d, add);
    EXPECT_EQ(bytes_of(d), bytes_of(h)) << "add " << add;
  }
}

TEST_F(PositionsCuda, WriteRowsAtMatchesTheCpu) {
  MVL_REQUIRE_GPU_OR_SKIP();
  struct Case {
    DType dt;
    Shape dst, src;
  };
  // A bf16 KV-cache-like [cap, heads, d], f32 rows, i32 rows, f16 single-element rows.
  const std::vector<Case> cases = {{DType::bf16, {37, 3, 16}, {5, 3, 16}},
                                   {DType::f32, {9, 33}, {9, 33}},
                                   {DType::i32, {64, 8}, {1, 8}},
                                   {DType::f16, {10, 1}, {3, 1}}};
  uint32_t seed = 1;
  for (const Case& c : cases) {
    const int64_t cap = c.dst[0], n = c.src[0];
    // In range at both ends, partly past the end, wholly past it, partly and wholly negative.
    for (int32_t pos : {int32_t{0}, static_cast<int32_t>(cap - n), static_cast<int32_t>(cap - 1),
                        static_cast<int32_t>(cap), int32_t{-1}, static_cast<int32_t>(-n)}) {
      const Tensor dst = random_tensor(c.dst, c.dt, seed++),
                   src = random_tensor(c.src, c.dt, seed++);
      const Tensor p = i32_tensor({pos});
      Tensor dd = ops::to_device(dst, dev_);
      ops::write_rows_at(dd, ops::to_device(src, dev_), ops::to_device(p, dev_));
      Tensor hd = ops::clone(dst);
      ops::write_rows_at(hd, src, p);
      EXPECT_EQ(bytes_of(dd), bytes_of(hd)) << dtype_name(c.dt) << " pos " << pos;
      if (pos == 0) {
        EXPECT_NE(bytes_of(hd), bytes_of(dst)) << "the case must change something";
      }
    }
  }
  // A strided device source is made contiguous first.
  const Tensor src_t = random_tensor({4, 2}, DType::f32, 99);
  const Tensor dst = random_tensor({6, 4}, DType::f32, 100);
  Tensor dd = ops::to_device(dst, dev_), hd = ops::clone(dst);
  const Tensor p = i32_tensor({1});
  ops::write_rows_at(dd, ops::to_device(src_t, dev_).transpose(0, 1), ops::to_device(p, dev_));
  ops::write_rows_at(hd, src_t.transpose(0, 1), p);
  EXPECT_EQ(bytes_of(dd), bytes_of(hd));
}

TEST_F(PositionsCuda, HostAndDeviceTensorsDoNotMix) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const Tensor hp = i32_tensor({0});
  const Tensor dst = ops::empty({4, 2}, DType::f32, dev_),
               src = ops::empty({1, 2}, DType::f32, dev_);
  EXPECT_THROW(ops::write_rows_at(dst, src, hp), Error);  // pos on the host, rows on the GPU
  EXPECT_THROW(ops::write_rows_at(dst, Tensor::empty({1, 2}, DType::f32), ops::to_device(hp, dev_)),
               Error);
  EXPECT_THROW(
      ops::write_rows_at(dst, ops::empty({5, 2}, DType::f32, dev_), ops::to_device(hp, dev_)),
      Error);  // n > cap is checked on the host
}

}  // namespace
}  // namespace mvl
#else
TEST(PositionsCudaNoCuda, SkipsWithoutTheCudaBackend) {
  MVL_REQUIRE_GPU_OR_SKIP();
}
#endif
