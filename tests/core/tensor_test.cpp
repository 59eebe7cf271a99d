// Tensor views: shapes, strides, slicing, transposes and contiguous copies.
#include "kernels/core/error.h"
#include "kernels/core/tensor.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

Tensor iota(const Shape& s) {
  std::vector<float> v(static_cast<size_t>(shape_numel(s)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  return Tensor::from_f32(s, v);
}

TEST(Tensor, EmptyIsZeroedAndContiguous) {
  Tensor t = Tensor::empty({2, 3, 4}, DType::bf16);
  EXPECT_EQ(t.numel(), 24);
  EXPECT_EQ(t.nbytes(), 48u);
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(t.strides(), (Shape{12, 4, 1}));
  for (int i = 0; i < 24; ++i) EXPECT_EQ(t.data<uint16_t>()[i], 0);
}

TEST(Tensor, SliceSelectTranspose) {
  Tensor t = iota({3, 4});
  Tensor s = t.slice(1, 1, 3);  // columns 1..2
  EXPECT_EQ(s.shape(), (Shape{3, 2}));
  EXPECT_FALSE(s.is_contiguous());
  Tensor c = contiguous(s);
  const float want[] = {1, 2, 5, 6, 9, 10};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(c.data<float>()[i], want[i]);
  Tensor row = t.select(0, 2);
  EXPECT_EQ(row.shape(), (Shape{4}));
  EXPECT_EQ(row.data<float>()[3], 11.0f);
  Tensor tr = contiguous(t.transpose(0, 1));
  EXPECT_EQ(tr.shape(), (Shape{4, 3}));
  EXPECT_EQ(tr.data<float>()[1], 4.0f);  // element [0, 1] = t[1, 0]
}

TEST(Tensor, ViewInfersAndRejects) {
  Tensor t = iota({2, 6});
  EXPECT_EQ(t.view({3, -1}).shape(), (Shape{3, 4}));
  EXPECT_THROW(t.view({5, -1}), Error);
  EXPECT_THROW(t.slice(1, 0, 3).view({6}), Error);
  EXPECT_THROW(t.slice(0, 1, 3), Error);
  EXPECT_THROW(t.select(2, 0), Error);
}

TEST(Tensor, UnsqueezeKeepsData) {
  Tensor t = iota({2, 3});
  Tensor u = t.unsqueeze(1);
  EXPECT_EQ(u.shape(), (Shape{2, 1, 3}));
  EXPECT_TRUE(u.is_contiguous());
  EXPECT_EQ(u.data<float>()[4], 4.0f);
}

TEST(DType, Bf16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  // 1 + 2^-8 is exactly halfway between two bf16 values: ties go to even (1.0).
  EXPECT_EQ(f32_to_bf16(1.00390625f), 0x3f80);
  // 1 + 3*2^-8 is halfway with an odd lower neighbour: rounds up.
  EXPECT_EQ(f32_to_bf16(1.01171875f), 0x3f82);
  EXPECT_EQ(round_bf16(3.14159f), bf16_to_f32(0x4049));
}

TEST(DType, F16AndFp8RoundTrip) {
  for (float v : {0.0f, 1.0f, -2.5f, 65504.0f, 6.1035156e-05f, 5.9604645e-08f}) {
    EXPECT_EQ(f16_to_f32(f32_to_f16(v)), v) << v;
  }
  for (float v : {0.0f, 1.0f, -2.0f, 448.0f, 0.015625f, -0.001953125f}) {
    EXPECT_EQ(f8e4m3_to_f32(f32_to_f8e4m3(v)), v) << v;
  }
}

TEST(Error, ContextChainReadsOutermostFirst) {
  try {
    in_context("loading model 'x'", [] {
      in_context("tensor 'w'", [] { MVL_CHECK(false, not_found, "missing {}", 3); });
    });
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "loading model 'x': tensor 'w': missing 3");
    EXPECT_EQ(e.category(), ErrorCategory::not_found);
  }
}

}  // namespace
}  // namespace mvl
