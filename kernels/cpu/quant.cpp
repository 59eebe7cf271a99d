// Weight-only quantization on the CPU: the reference formats of quant.h, and the twin of the
// FP8 prefill GEMM (activations quantized per row with the same fp8 rule, then the f32 op).
#include "kernels/cpu/quant.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/core/error.h"
#include "kernels/cpu/linear.h"
#include "kernels/cpu/parallel.h"

namespace mvl::cpu {

namespace {
constexpr int64_t kRowBlock = 64;  // rows dequantized at once by linear_quantized

float rint_f(float v) {
  return std::nearbyint(v);
}  // default rounding mode: half to even

void check_format(WeightFormat f) {
  MVL_CHECK(f != WeightFormat::plain, invalid_argument, "quantize: format 'plain' has no codes");
}
}  // namespace

int64_t quant_code_bytes_per_row(WeightFormat f, int64_t in) {
  check_format(f);
  return f == WeightFormat::int4 ? (in + 1) / 2 : in;
}

int64_t quant_scales_per_row(WeightFormat f, int64_t in) {
  check_format(f);
  return f == WeightFormat::int4 ? int4_groups(in) : 1;
}

void quantize(WeightFormat f, const void* w, DType w_dtype, int64_t rows, int64_t in,
              uint8_t* codes, float* scales, float* zeros) {
  check_format(f);
  MVL_CHECK(w_dtype == DType::f32 || w_dtype == DType::bf16 || w_dtype == DType::f16,
            invalid_argument, "quantize: weights must be f32, bf16 or f16, got {}",
            dtype_name(w_dtype));
  MVL_CHECK(f != WeightFormat::int4 || zeros, invalid_argument, "quantize: int4 needs zeros");
  const int64_t cb = quant_code_bytes_per_row(f, in), sr = quant_scales_per_row(f, in);
  parallel_for(rows, std::max<int64_t>(1, grain_for(in, 1 << 16)), [&](int64_t r0, int64_t r1) {
    std::vector<float> row(static_cast<size_t>(in));
    for (int64_t r = r0; r < r1; ++r) {
      for (int64_t k = 0; k < in; ++k)
        row[static_cast<size_t>(k)] = load_as_f32(w, w_dtype, static_cast<size_t>(r * in + k));
      uint8_t* q = codes + r * cb;
      if (f == WeightFormat::int4) {
        std::fill(q, q + cb, uint8_t{0});
        for (int64_t g = 0; g < sr; ++g) {
          const int64_t k0 = g * kInt4GroupSize, k1 = std::min(in, k0 + kInt4GroupSize);
          float lo = 0.0f, hi = 0.0f;
          for (int64_t k = k0; k < k1; ++k) {
            lo = std::min(lo, row[static_cast<size_t>(k)]);
            hi = std::max(hi, row[static_cast<size_t>(k)]);
          }
          const float s = (hi - lo) / 15.0f;
          const float z = s > 0 ? std::clamp(rint_f(-lo / s), 0.0f, 15.0f) : 0.0f;
          scales[r * sr + g] = s;
          zeros[r * sr + g] = z;
          for (int64_t k = k0; k < k1; ++k) {
            const float v =
                s > 0 ? std::clamp(rint_f(row[static_cast<size_t>(k)] / s) + z, 0.0f, 15.0f) : 0.0f;
            q[k / 2] |= static_cast<uint8_t>(static_cast<uint8_t>(v) << (k % 2 ? 4 : 0));
          }
        }
        continue;
      }
      float amax = 0.0f;
      for (float v : row) amax = std::max(amax, std::fabs(v));
      const float s = amax / (f == WeightFormat::int8 ? 127.0f : 448.0f);
      scales[r] = s;
      for (int64_t k = 0; k < in; ++k) {
        const float v = s > 0 ? row[static_cast<size_t>(k)] / s : 0.0f;
        q[k] =
            f == WeightFormat::int8
                ? static_cast<uint8_t>(static_cast<int8_t>(std::clamp(rint_f(v), -127.0f, 127.0f)))
                : f32_to_f8e4m3(v);
      }
    }
  });
}

void dequantize(WeightFormat f, const uint8_t* codes, const float* scales, const float* zeros,
                int64_t in, int64_t row0, int64_t row1, float* out) {
  const int64_t cb = quant_code_bytes_per_row(f, in), sr = quant_scales_per_row(f, in);
  for (int64_t r = row0; r < row1; ++r) {
    const uint8_t* q = codes + r * cb;
    float* o = out + (r - row0) * in;
    switch (f) {
      case WeightFormat::int8:
        for (int64_t k = 0; k < in; ++k)
          o[k] = scales[r] * static_cast<float>(static_cast<int8_t>(q[k]));
        break;
      case WeightFormat::fp8_e4m3:
        for (int64_t k = 0; k < in; ++k) o[k] = scales[r] * f8e4m3_to_f32(q[k]);
        break;
      case WeightFormat::int4:
        for (int64_t k = 0; k < in; ++k) {
          const int64_t g = r * sr + k / kInt4GroupSize;
          const int v = (q[k / 2] >> (k % 2 ? 4 : 0)) & 0xF;
          o[k] = scales[g] * (static_cast<float>(v) - zeros[g]);
        }
        break;
      case WeightFormat::plain:
        break;
    }
  }
}

void linear_quantized(const float* x, WeightFormat f, const uint8_t* codes, const float* scales,
                      const float* zeros, const void* bias, DType b_dtype, float* out, int64_t n,
                      int64_t in, int64_t out_features) {
  check_format(f);
  std::vector<float> w(static_cast<size_t>(std::min(kRowBlock, out_features) * in));
  std::vector<float> part;
  for (int64_t o0 = 0; o0 < out_features; o0 += kRowBlock) {
    const int64_t o1 = std::min(out_features, o0 + kRowBlock), m = o1 - o0;
    dequantize(f, codes, scales, zeros, in, o0, o1, w.data());
    part.resize(static_cast<size_t>(n * m));
    const void* b = bias ? static_cast<const uint8_t*>(bias) + o0 * dtype_size(b_dtype) : nullptr;
    linear(x, w.data(), DType::f32, b, b_dtype, part.data(), n, in, m);
    for (int64_t i = 0; i < n; ++i)
      std::copy(part.begin() + i * m, part.begin() + (i + 1) * m, out + i * out_features + o0);
  }
}

void linear_fp8_activations(const float* x, const uint8_t* codes, const float* scales, float* out,
                            int64_t n, int64_t in, int64_t out_features) {
  std::vector<uint8_t> xq(static_cast<size_t>(n * in));
  std::vector<float> sx(static_cast<size_t>(n)), xd(static_cast<size_t>(n * in));
  quantize(WeightFormat::fp8_e4m3, x, DType::f32, n, in, xq.data(), sx.data(), nullptr);
  dequantize(WeightFormat::fp8_e4m3, xq.data(), sx.data(), nullptr, in, 0, n, xd.data());
  linear_quantized(xd.data(), WeightFormat::fp8_e4m3, codes, scales, nullptr, nullptr, DType::f32,
                   out, n, in, out_features);
}

}  // namespace mvl::cpu
