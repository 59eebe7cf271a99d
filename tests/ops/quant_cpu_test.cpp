// The CPU reference of weight-only quantization (kernels/cpu/quant.h): round trips stay
// within each format's bound (int8 half a step, fp8 e4m3 half an ulp, int4 one step), the
// dequant math is exactly s*q / s*e4m3(q) / s*(q-z) with the documented nibble order and
// half-to-even rounding, and the quantized linear equals cpu::linear on the dequantized
// weights bit for bit (so GPU kernels can be held to it) while staying close to the bf16 op.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "kernels/cpu/linear.h"
#include "kernels/cpu/quant.h"

namespace mvl::cpu {
namespace {

struct Quantized {
  std::vector<uint8_t> codes;
  std::vector<float> scales, zeros;
};

Quantized quant(WeightFormat f, const std::vector<float>& w, int64_t rows, int64_t in) {
  Quantized q;
  q.codes.resize(static_cast<size_t>(rows * quant_code_bytes_per_row(f, in)));
  q.scales.resize(static_cast<size_t>(rows * quant_scales_per_row(f, in)));
  q.zeros.resize(q.scales.size());
  quantize(f, w.data(), DType::f32, rows, in, q.codes.data(), q.scales.data(), q.zeros.data());
  return q;
}

std::vector<float> dequant(WeightFormat f, const Quantized& q, int64_t rows, int64_t in) {
  std::vector<float> o(static_cast<size_t>(rows * in));
  dequantize(f, q.codes.data(), q.scales.data(), q.zeros.data(), in, 0, rows, o.data());
  return o;
}

std::vector<float> random_weights(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 0.02f);
  std::vector<float> w(static_cast<size_t>(n));
  for (auto& v : w) v = d(rng);
  w[3] = 0.2f;  // an outlier, as real weights have
  return w;
}

TEST(QuantCpu, RoundTripWithinTheFormatBound) {
  const int64_t rows = 37, in = 300;  // int4: two full groups and a partial one
  const auto w = random_weights(rows * in, 1);
  for (auto f : {WeightFormat::int8, WeightFormat::fp8_e4m3, WeightFormat::int4}) {
    const Quantized q = quant(f, w, rows, in);
    const auto d = dequant(f, q, rows, in);
    double se = 0, sw = 0, worst = 0;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t k = 0; k < in; ++k) {
        const size_t i = static_cast<size_t>(r * in + k);
        const double err = std::fabs(double(w[i]) - d[i]);
        double bound = 0;
        if (f == WeightFormat::int8) bound = q.scales[r] / 2;
        if (f == WeightFormat::fp8_e4m3)
          bound = std::max(std::fabs(w[i]) / 16.0, q.scales[r] / 1024.0);
        if (f == WeightFormat::int4) bound = q.scales[static_cast<size_t>(r * 3 + k / 128)];
        EXPECT_LE(err, bound * (1 + 1e-5) + 1e-12) << weight_format_name(f) << " " << r << "," << k;
        se += err * err;
        sw += double(w[i]) * w[i];
        worst = std::max(worst, err);
      }
    std::printf("%-8s relative RMS error %.3e, worst %.3e\n", weight_format_name(f),
                std::sqrt(se / sw), worst);
  }
}

TEST(QuantCpu, ExactDequantMathAndRounding) {
  // int8: s = max|w| / 127 = 1; -63.5 and 0.5 round half to even.
  {
    const Quantized q = quant(WeightFormat::int8, {127.0f, -63.5f, 0.5f, 0.0f}, 1, 4);
    EXPECT_EQ(q.scales[0], 1.0f);
    EXPECT_EQ(std::vector<int>(q.codes.begin(), q.codes.end()),
              (std::vector<int>{127, uint8_t(int8_t(-64)), 0, 0}));
    Quantized h{{uint8_t(int8_t(-127)), 0, 5, 127}, {0.5f}, {}};
    EXPECT_EQ(dequant(WeightFormat::int8, h, 1, 4), (std::vector<float>{-63.5f, 0, 2.5f, 63.5f}));
  }
  // fp8: code 0x38 is 1.0, 0x7e is 448, 0x01 the smallest subnormal 2^-9.
  {
    Quantized h{{0x38, 0x7e, 0x01, 0xb8}, {3.0f}, {}};
    EXPECT_EQ(dequant(WeightFormat::fp8_e4m3, h, 1, 4),
              (std::vector<float>{3.0f, 1344.0f, 3.0f / 512, -3.0f}));
    const Quantized q = quant(WeightFormat::fp8_e4m3, {448.0f, -1.0f, 0.0f, 1.0625f}, 1, 4);
    EXPECT_EQ(q.scales[0], 1.0f);
    // 1.0625 is halfway between 1.0 (0x38, even) and 1.125 (0x39): ties to even.
    EXPECT_EQ(std::vector<int>(q.codes.begin(), q.codes.end()),
              (std::vector<int>{0x7e, 0xb8, 0, 0x38}));
  }
  // int4: lo -1.5, hi 6 -> s 0.5, z 3; codes 0, 3, 9, 15 packed low nibble first.
  {
    const Quantized q = quant(WeightFormat::int4, {-1.5f, 0.0f, 3.0f, 6.0f}, 1, 4);
    EXPECT_EQ(q.scales[0], 0.5f);
    EXPECT_EQ(q.zeros[0], 3.0f);
    EXPECT_EQ(std::vector<int>(q.codes.begin(), q.codes.end()), (std::vector<int>{0x30, 0xF9}));
    Quantized h{{0x3A, 0x0F}, {0.25f}, {8.0f}};  // odd width: the last byte's high nibble unused
    EXPECT_EQ(dequant(WeightFormat::int4, h, 1, 3), (std::vector<float>{0.5f, -1.25f, 1.75f}));
  }
  // An all-zero row: scale 0, codes 0, exact zeros back.
  for (auto f : {WeightFormat::int8, WeightFormat::fp8_e4m3, WeightFormat::int4}) {
    const Quantized q = quant(f, std::vector<float>(5, 0.0f), 1, 5);
    EXPECT_EQ(q.scales[0], 0.0f);
    EXPECT_EQ(dequant(f, q, 1, 5), std::vector<float>(5, 0.0f));
  }
}

TEST(QuantCpu, LinearIsTheDequantizedF32Linear) {
  const int64_t n = 3, in = 300, out = 130;  // two row blocks and a partial one
  const auto w = random_weights(out * in, 2);
  std::vector<float> x(static_cast<size_t>(n * in)), bias(static_cast<size_t>(out));
  std::mt19937 rng(3);
  std::normal_distribution<float> d(0.0f, 1.0f);
  for (auto& v : x) v = d(rng);
  for (auto& v : bias) v = d(rng);
  std::vector<float> ref(static_cast<size_t>(n * out));
  linear(x.data(), w.data(), DType::f32, bias.data(), DType::f32, ref.data(), n, in, out);
  for (auto f : {WeightFormat::int8, WeightFormat::fp8_e4m3, WeightFormat::int4}) {
    const Quantized q = quant(f, w, out, in);
    const auto wd = dequant(f, q, out, in);
    std::vector<float> want(ref.size()), got(ref.size());
    linear(x.data(), wd.data(), DType::f32, bias.data(), DType::f32, want.data(), n, in, out);
    linear_quantized(x.data(), f, q.codes.data(), q.scales.data(), q.zeros.data(), bias.data(),
                     DType::f32, got.data(), n, in, out);
    EXPECT_EQ(got, want) << weight_format_name(f);
    double se = 0, sr = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
      se += (got[i] - ref[i]) * double(got[i] - ref[i]);
      sr += double(ref[i] - bias[i % out]) * (ref[i] - bias[i % out]);
    }
    const double rel = std::sqrt(se / sr);
    std::printf("%-8s linear: relative RMS error vs f32 weights %.3e\n", weight_format_name(f),
                rel);
    EXPECT_LT(rel, f == WeightFormat::int4 ? 0.2 : 0.05) << weight_format_name(f);
  }
}

// The FP8 prefill GEMM's twin: each activation row gets its own scale amax / 448 (its largest
// element maps to +-448), its values round to nearest even in e4m3, and the product is the f32
// linear on the dequantized operands.
TEST(QuantCpu, Fp8ActivationsRoundPerRowThenMultiply) {
  const int64_t in = 4, out = 4, n = 3;
  // Diagonal weights of 448: scale 1, code 448, all exact, so out = 448 * x'.
  std::vector<float> w(out * in, 0.0f);
  for (int64_t o = 0; o < out; ++o) w[o * in + o] = 448.0f;
  const Quantized q = quant(WeightFormat::fp8_e4m3, w, out, in);
  const std::vector<float> x = {
      448,  17, -9.5f, 0.5f,   // s = 1: 17 ties 16/18 -> 16, -9.5 ties -9/-10 -> -10 (even codes)
      3.5f, -7, 1,     0.25f,  // s = 7 / 448 = 2^-6: x / s exact in e4m3 (224, -448, 64, 16)
      0,    0,  0,     0};     // an all-zero row: s = 0, codes 0
  const std::vector<float> xq = {448, 16, -10, 0.5f, 3.5f, -7, 1, 0.25f, 0, 0, 0, 0};
  std::vector<float> want(n * out), got(n * out);
  for (size_t i = 0; i < want.size(); ++i) want[i] = 448.0f * xq[i];
  linear_fp8_activations(x.data(), q.codes.data(), q.scales.data(), got.data(), n, in, out);
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace mvl::cpu
