// Element types and the exact scalar conversions between them (bf16/f16/fp8 <-> f32).
// Conversions round to nearest even, as PyTorch's .to(dtype) does; tests and the CPU
// reference rely on that to reproduce the reference's rounding points bit for bit.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace mvl {

enum class DType : uint8_t { f32, bf16, f16, i8, u8, i32, i64, f8_e4m3 };

size_t dtype_size(DType t);
const char* dtype_name(DType t);              // "f32", "bf16", ...
const char* dtype_safetensors_name(DType t);  // "F32", "BF16", ...
// Parses a safetensors dtype string; returns false for unknown names.
bool dtype_from_safetensors(std::string_view s, DType* out);
bool dtype_is_float(DType t);

inline float bf16_to_f32(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Round to nearest even; NaN stays NaN (quiet).
inline uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

// Rounds an f32 to the nearest bf16 value and returns it as f32 (the `bf16(x)` of the spec).
inline float round_bf16(float f) { return bf16_to_f32(f32_to_bf16(f)); }

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);
float f8e4m3_to_f32(uint8_t v);
uint8_t f32_to_f8e4m3(float f);

// Reads element i of a buffer of dtype t as f32 (integers convert exactly where they can).
float load_as_f32(const void* data, DType t, size_t i);

}  // namespace mvl
