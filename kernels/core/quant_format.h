// Weight storage formats for weight-only quantization, and the exact bytes each takes
// (issue 17). A quantized matrix keeps its logical shape (outermost first; the input axis
// `in_axis` is the one a GEMM reduces over, every other axis indexes output channels):
//   int8       int8 codes, one f32 scale per output channel (symmetric: w = s * q, q in
//              [-127, 127], s = max|w| / 127; the quanto / vLLM experts_int8 semantics)
//   fp8_e4m3   e4m3 codes, one f32 scale per output channel (w = s * e4m3(q), s = max|w| / 448)
//   int4       two 4-bit codes per byte along the input axis (low nibble first), per group of
//              128 inputs of one output channel an f32 scale and an f32 zero point
//              (w = s * (q - z), q in [0, 15]); a partial last group is allowed
// Knows nothing about MiniMax; which tensors get which format is llm/weights/quant_rule.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "kernels/core/tensor.h"

namespace mvl {

enum class WeightFormat : uint8_t { plain, int8, fp8_e4m3, int4 };

constexpr int64_t kInt4GroupSize = 128;

const char* weight_format_name(WeightFormat f);  // "plain", "int8", "fp8_e4m3", "int4"
std::optional<WeightFormat> weight_format_from_name(std::string_view s);

// Output channels of a matrix: the product of every axis but in_axis.
int64_t quant_channels(const Shape& shape, int in_axis);
// Groups per output channel for int4 (ceil(in / 128)).
int64_t int4_groups(int64_t in);

// What a quantized Tensor carries besides its codes (Tensor::quant()).
struct QuantParams {
  WeightFormat format = WeightFormat::plain;
  Tensor scales;  // f32 [out, 1] (int8, fp8) or [out, int4_groups(in)] (int4)
  Tensor zeros;   // f32 like scales for int4; undefined otherwise
};

// Bytes of one quantized matrix of `shape` in format f (codes + scales + zero points).
// `plain_elem` is the bytes per element of the unquantized dtype (used when f == plain).
uint64_t quantized_bytes(const Shape& shape, int in_axis, WeightFormat f, uint64_t plain_elem = 2);

}  // namespace mvl
