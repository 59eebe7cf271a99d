// Bytes of each weight storage format, by hand: codes + f32 scale per output channel for
// int8/fp8, packed nibbles + f32 (scale, zero) per group of 128 inputs for int4, partial last
// groups and odd widths included; and the format names round-trip.
#include <gtest/gtest.h>

#include "kernels/core/quant_format.h"

namespace mvl {
namespace {

TEST(QuantFormat, Bytes) {
  EXPECT_EQ(quantized_bytes({4, 256}, 1, WeightFormat::plain), 4u * 256 * 2);
  EXPECT_EQ(quantized_bytes({4, 256}, 1, WeightFormat::int8), 4u * 256 + 4 * 4);
  EXPECT_EQ(quantized_bytes({4, 256}, 1, WeightFormat::fp8_e4m3), 4u * 256 + 4 * 4);
  EXPECT_EQ(quantized_bytes({4, 256}, 1, WeightFormat::int4), 4u * 128 + 4 * 2 * 8);
  EXPECT_EQ(quantized_bytes({3, 131}, 1, WeightFormat::int4), 3u * 66 + 3 * 2 * 8);
  // A stacked [E, out, in] tensor: E * out channels.
  EXPECT_EQ(quantized_bytes({2, 3, 128}, 2, WeightFormat::int8), 2u * 3 * 128 + 6 * 4);
  EXPECT_EQ(quant_channels({2, 3, 128}, 2), 6);
  EXPECT_EQ(int4_groups(129), 2);
  for (auto f :
       {WeightFormat::plain, WeightFormat::int8, WeightFormat::fp8_e4m3, WeightFormat::int4})
    EXPECT_EQ(weight_format_from_name(weight_format_name(f)), f);
  EXPECT_FALSE(weight_format_from_name("int2"));
}

}  // namespace
}  // namespace mvl
