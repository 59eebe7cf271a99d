// The position primitives' CPU twins (ops::positions_from, add_scalar_, write_rows_at on
// host tensors) against hand-written loops: wrap-around at the i32 limits, rows that fall
// outside the capacity (skipped), 2- and 4-byte dtypes, and the argument errors. Also the
// CPU side of ops::CudaGraph (refused with Error{unsupported}; an empty graph cannot launch).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <vector>

#include "kernels/core/error.h"
#include "kernels/ops/device.h"
#include "kernels/ops/graph.h"
#include "kernels/ops/positions.h"

namespace mvl {
namespace {

Tensor i32_tensor(const std::vector<int32_t>& v) {
  Tensor t = Tensor::empty({static_cast<int64_t>(v.size())}, DType::i32);
  std::memcpy(t.data(), v.data(), v.size() * sizeof(int32_t));
  return t;
}

std::vector<int32_t> i32_values(const Tensor& t) {
  return std::vector<int32_t>(t.data<int32_t>(), t.data<int32_t>() + t.numel());
}

ErrorCategory category_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.category();
  }
  ADD_FAILURE() << "expected an Error";
  return ErrorCategory::internal;
}

TEST(Positions, PositionsFromCountsUpFromThePosition) {
  for (int32_t p0 : {0, 5, -3, 1000}) {
    const Tensor out = ops::positions_from(i32_tensor({p0}), 6);
    ASSERT_EQ(out.shape(), (Shape{6}));
    ASSERT_EQ(out.dtype(), DType::i32);
    for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(out.data<int32_t>()[i], p0 + i) << "p0 " << p0;
  }
  EXPECT_EQ(ops::positions_from(i32_tensor({9}), 0).numel(), 0);
  // i32 wraps like the GPU kernel (two's complement), it does not saturate or trap.
  const int32_t big = std::numeric_limits<int32_t>::max();
  const Tensor w = ops::positions_from(i32_tensor({big}), 2);
  EXPECT_EQ(w.data<int32_t>()[0], big);
  EXPECT_EQ(w.data<int32_t>()[1], std::numeric_limits<int32_t>::min());
}

TEST(Positions, AddScalarUpdatesInPlace) {
  std::vector<int32_t> v = {0, -7, 41, std::numeric_limits<int32_t>::max()};
  Tensor t = i32_tensor(v);
  ops::add_scalar_(t, 3);
  for (size_t i = 0; i + 1 < v.size(); ++i) EXPECT_EQ(t.data<int32_t>()[i], v[i] + 3);
  EXPECT_EQ(t.data<int32_t>()[3], std::numeric_limits<int32_t>::min() + 2);
  ops::add_scalar_(t, -3);
  EXPECT_EQ(i32_values(t), v);
  // A slice is a view: only its elements move.
  Tensor base = i32_tensor({1, 2, 3, 4});
  ops::add_scalar_(base.slice(0, 1, 3), 10);
  EXPECT_EQ(i32_values(base), (std::vector<int32_t>{1, 12, 13, 4}));
}

// Rows of `src` land at pos + i in a copy of `dst`, skipping destinations outside [0, cap).
template <typename T>
std::vector<T> expected_rows(std::vector<T> dst, int64_t cap, const std::vector<T>& src, int64_t n,
                             int64_t row, int64_t pos) {
  for (int64_t i = 0; i < n; ++i)
    if (pos + i >= 0 && pos + i < cap)
      for (int64_t j = 0; j < row; ++j) dst[(pos + i) * row + j] = src[i * row + j];
  return dst;
}

template <typename T>
std::vector<T> values(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

TEST(Positions, WriteRowsAtWritesRowsAndSkipsOutOfRange) {
  const int64_t cap = 7, rows = 3, h = 2, d = 5, row = h * d;
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> base(cap * row), src(rows * row);
  for (auto& x : base) x = u(rng);
  for (auto& x : src) x = u(rng);
  // pos 0 and 4: all rows in range; 5: the last row falls off; 7: all off; -2: the first two.
  for (int32_t pos : {0, 4, 5, 7, -2}) {
    Tensor dst = Tensor::from_f32({cap, h, d}, base);
    ops::write_rows_at(dst, Tensor::from_f32({rows, h, d}, src), i32_tensor({pos}));
    EXPECT_EQ(values<float>(dst), expected_rows(base, cap, src, rows, row, pos)) << "pos " << pos;
  }
  // 2-byte rows (bf16 bit patterns) and a strided source (made contiguous first).
  std::vector<uint16_t> b16(cap * 4), s16(2 * 4);
  for (size_t i = 0; i < b16.size(); ++i) b16[i] = static_cast<uint16_t>(rng());
  for (size_t i = 0; i < s16.size(); ++i) s16[i] = static_cast<uint16_t>(rng());
  Tensor dst16 = Tensor::empty({cap, 4}, DType::bf16);
  std::memcpy(dst16.data(), b16.data(), b16.size() * 2);
  Tensor src16t = Tensor::empty({4, 2}, DType::bf16);  // transposed storage of the [2, 4] source
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 4; ++j) src16t.data<uint16_t>()[j * 2 + i] = s16[i * 4 + j];
  ops::write_rows_at(dst16, src16t.transpose(0, 1), i32_tensor({3}));
  EXPECT_EQ(values<uint16_t>(dst16), expected_rows(b16, cap, s16, 2, 4, 3));
}

TEST(Positions, ArgumentErrors) {
  const Tensor pos = i32_tensor({0});
  const Tensor dst = Tensor::empty({4, 3}, DType::f32);
  EXPECT_EQ(category_of([&] { ops::positions_from(Tensor::empty({1}, DType::i64), 2); }),
            ErrorCategory::shape_mismatch);
  EXPECT_EQ(category_of([&] {
              ops::positions_from(i32_tensor({1, 2}), 2);
            }),
            ErrorCategory::shape_mismatch);
  EXPECT_EQ(category_of([&] { ops::positions_from(pos, -1); }), ErrorCategory::invalid_argument);
  EXPECT_EQ(category_of([&] { ops::add_scalar_(Tensor::empty({2}, DType::f32), 1); }),
            ErrorCategory::shape_mismatch);
  // More rows than the capacity is a host-side error, whatever the position.
  EXPECT_EQ(category_of([&] {
              ops::write_rows_at(dst, Tensor::empty({5, 3}, DType::f32), pos);
            }),
            ErrorCategory::invalid_argument);
  EXPECT_EQ(category_of([&] {
              ops::write_rows_at(dst, Tensor::empty({1, 4}, DType::f32), pos);
            }),
            ErrorCategory::shape_mismatch);
  EXPECT_EQ(category_of([&] {
              ops::write_rows_at(dst, Tensor::empty({1, 3}, DType::bf16), pos);
            }),
            ErrorCategory::shape_mismatch);
  EXPECT_EQ(category_of([&] {
              ops::write_rows_at(Tensor::empty({4, 3}, DType::i64),
                                 Tensor::empty({1, 3}, DType::i64), pos);
            }),
            ErrorCategory::unsupported);
  EXPECT_EQ(category_of([&] {
              ops::write_rows_at(dst.transpose(0, 1), Tensor::empty({1, 4}, DType::f32), pos);
            }),
            ErrorCategory::unsupported);
  EXPECT_EQ(category_of([&] {
              ops::write_rows_at(dst, Tensor::empty({1, 3}, DType::f32), Tensor());
            }),
            ErrorCategory::shape_mismatch);
}

TEST(CudaGraphCpu, CaptureOnTheCpuIsUnsupported) {
  bool ran = false;
  EXPECT_EQ(
      category_of([&] { ops::CudaGraph::capture(ops::DeviceContext(), [&] { ran = true; }); }),
      ErrorCategory::unsupported);
  EXPECT_FALSE(ran);  // refused before the body runs
  ops::CudaGraph empty;
  EXPECT_FALSE(empty.valid());
  EXPECT_EQ(empty.node_count(), 0u);
  EXPECT_EQ(category_of([&] { empty.launch(); }), ErrorCategory::invalid_argument);
}

}  // namespace
}  // namespace mvl
