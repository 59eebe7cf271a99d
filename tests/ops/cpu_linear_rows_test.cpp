// cpu::linear on several input rows (the register-blocked path of kernels/cpu/linear.cpp) gives,
// bit for bit, what it gives one row at a time: batching a decode step or chunking a prefill
// never changes a logit. And one row against bf16 weights (the decode GEMV, which converts in
// place) gives what the plain f32 dot gives on the widened weights. Row counts around the block of
// 4, widths around the 8-wide partial sums, 37 outputs, f32 and bf16 weights, with and without a
// bias.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "kernels/core/dtype.h"
#include "kernels/cpu/linear.h"

namespace mvl::cpu {
namespace {

uint16_t to_bf16_bits(float f) {
  uint32_t u = 0;
  std::memcpy(&u, &f, 4);
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

TEST(CpuLinearRows, SeveralRowsEqualOneRowAtATimeBitForBit) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  for (const int64_t in : {1, 7, 8, 9, 64, 257}) {
    const int64_t out_f = 37;
    std::vector<float> w32(static_cast<size_t>(out_f * in)), bias(static_cast<size_t>(out_f));
    for (float& v : w32) v = d(rng);
    for (float& v : bias) v = d(rng);
    std::vector<uint16_t> w16(w32.size());
    for (size_t i = 0; i < w32.size(); ++i) w16[i] = to_bf16_bits(w32[i]);
    std::vector<float> widened(w32.size());  // the bf16 weights as f32, exactly
    for (size_t i = 0; i < w16.size(); ++i) {
      const uint32_t u = uint32_t{w16[i]} << 16;
      std::memcpy(&widened[i], &u, 4);
    }
    {
      std::vector<float> x(static_cast<size_t>(in)), a(static_cast<size_t>(out_f)), b(a.size());
      for (float& v : x) v = d(rng);
      const float* biases[2] = {nullptr, bias.data()};
      for (const float* bb : biases) {
        linear(x.data(), w16.data(), DType::bf16, bb, DType::f32, a.data(), 1, in, out_f);
        linear(x.data(), widened.data(), DType::f32, bb, DType::f32, b.data(), 1, in, out_f);
        ASSERT_EQ(std::memcmp(a.data(), b.data(), sizeof(float) * out_f), 0)
            << "one row, bf16 vs widened f32 weights, in " << in << (bb ? ", bias" : "");
      }
    }
    for (const int64_t n : {2, 3, 4, 5, 8, 11}) {
      std::vector<float> x(static_cast<size_t>(n * in));
      for (float& v : x) v = d(rng);
      for (const bool bf16 : {false, true}) {
        for (const bool with_bias : {false, true}) {
          const void* w = bf16 ? static_cast<const void*>(w16.data()) : w32.data();
          const DType wd = bf16 ? DType::bf16 : DType::f32;
          const void* b = with_bias ? bias.data() : nullptr;
          std::vector<float> all(static_cast<size_t>(n * out_f));
          linear(x.data(), w, wd, b, DType::f32, all.data(), n, in, out_f);
          for (int64_t i = 0; i < n; ++i) {
            std::vector<float> one(static_cast<size_t>(out_f));
            linear(x.data() + i * in, w, wd, b, DType::f32, one.data(), 1, in, out_f);
            ASSERT_EQ(std::memcmp(one.data(), all.data() + i * out_f, sizeof(float) * out_f), 0)
                << "in " << in << ", n " << n << ", row " << i << (bf16 ? ", bf16" : ", f32")
                << (with_bias ? ", bias" : "");
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace mvl::cpu
