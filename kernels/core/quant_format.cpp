// Names and byte counts of the weight storage formats (quant_format.h).
#include "kernels/core/quant_format.h"

#include "kernels/core/error.h"

namespace mvl {

const char* weight_format_name(WeightFormat f) {
  switch (f) {
    case WeightFormat::plain:
      return "plain";
    case WeightFormat::int8:
      return "int8";
    case WeightFormat::fp8_e4m3:
      return "fp8_e4m3";
    case WeightFormat::int4:
      return "int4";
  }
  return "?";
}

std::optional<WeightFormat> weight_format_from_name(std::string_view s) {
  for (auto f :
       {WeightFormat::plain, WeightFormat::int8, WeightFormat::fp8_e4m3, WeightFormat::int4})
    if (s == weight_format_name(f)) return f;
  return std::nullopt;
}

int64_t quant_channels(const Shape& shape, int in_axis) {
  MVL_ASSERT(in_axis >= 0 && in_axis < static_cast<int>(shape.size()));
  int64_t n = 1;
  for (int d = 0; d < static_cast<int>(shape.size()); ++d)
    if (d != in_axis) n *= shape[static_cast<size_t>(d)];
  return n;
}

int64_t int4_groups(int64_t in) {
  return (in + kInt4GroupSize - 1) / kInt4GroupSize;
}

uint64_t quantized_bytes(const Shape& shape, int in_axis, WeightFormat f, uint64_t plain_elem) {
  const auto numel = static_cast<uint64_t>(shape_numel(shape));
  if (f == WeightFormat::plain) return numel * plain_elem;
  const auto ch = static_cast<uint64_t>(quant_channels(shape, in_axis));
  const int64_t in = shape[static_cast<size_t>(in_axis)];
  switch (f) {
    case WeightFormat::int8:
    case WeightFormat::fp8_e4m3:
      return numel + ch * 4;  // 1-byte codes + an f32 scale per channel
    case WeightFormat::int4:  // packed codes (a channel's odd last code pads a byte) + f32 s, z
      return ch * static_cast<uint64_t>((in + 1) / 2) +
             ch * static_cast<uint64_t>(int4_groups(in)) * 8;
    case WeightFormat::plain:
      break;
  }
  return 0;
}

}  // namespace mvl
