// The FP8 prefill GEMM (kernels/cuda/fp8_gemm.h: bf16 activations quantized per row to e4m3,
// cuBLASLt FP8 GEMM with per-token and per-channel f32 scales, bf16 out) against its CPU twin
// cpu::linear_fp8_activations (the same per-row quantization, then the f32 op on the
// dequantized operands):
//  - the GPU's e4m3 activation codes and scales equal cpu::quantize's bit for bit;
//  - the output, at awkward token counts (1, 17, 300: not multiples of 16) and at the released
//    expert shapes (D 6144, F 9216) with 64 tokens, is within 2x the error of the twin's own
//    result rounded once to bf16, + 5e-4. Why: the GPU multiplies the same e4m3 operands
//    (products of two e4m3 values are exact in f32) and rounds once to bf16, so its error
//    against the twin is its bf16 rounding (what the plain rounding measures) plus the
//    difference of two f32 accumulation orders (~sqrt(K) * 2^-24, 1e-5 relative here) and of
//    the tensor cores' partial sums before cuBLASLt promotes them to f32 (FAST_ACCUM off;
//    ~2^-14 relative per partial sum), which the 5e-4 floor covers with room.
// Each case also prints the activation quantization's own error: the twin against the
// weight-only result (unquantized activations, the same dequantized weights), relative RMS.
#include "tests/support/test_util.h"

#ifdef MVL_HAVE_CUDA
#include <fmt/format.h>

#include <cmath>
#include <string>

#include "kernels/cpu/linear.h"
#include "kernels/cpu/quant.h"
#include "kernels/cuda/device_info.h"
#include "kernels/cuda/fp8_gemm.h"
#include "kernels/cuda/quant.h"
#include "kernels/cuda/storage.h"
#include "tests/gpu/gpu_test_util.h"

namespace mvl {
namespace {

using namespace gpu_test;

template <typename T>
std::vector<T> host_bytes(const cuda::Context& ctx, const Tensor& t) {
  const Tensor h = cuda::to_host(t, ctx);
  const auto* p = static_cast<const T*>(h.data());
  return std::vector<T>(p, p + h.numel());
}

TEST(Fp8Gemm, AvailableOnHopper) {
  MVL_REQUIRE_GPU_OR_SKIP();
  cuda::Context ctx(0);
  const std::string name = cuda::device_name(0);
  const bool available = cuda::fp8_gemm_available(ctx);
  std::printf("  %s: fp8 GEMM with OUTER_VEC_32F scales %s\n", name.c_str(),
              available ? "available" : "NOT available (fp8 prefill takes the bf16 path)");
  if (name.find("H100") != std::string::npos || name.find("H200") != std::string::npos) {
    EXPECT_TRUE(available) << "cuBLAS 12.9+ documents outer-vector FP8 scaling on Hopper";
  }
  EXPECT_EQ(cuda::fp8_gemm_available(ctx), available) << "the answer is cached per context";
}

struct Shape3 {
  int64_t n, in, out;
};

class Fp8Gemm : public ::testing::TestWithParam<Shape3> {};

TEST_P(Fp8Gemm, MatchesCpuTwin) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const auto [n, in, out] = GetParam();
  cuda::Context ctx(0);
  if (!cuda::fp8_gemm_available(ctx)) GTEST_SKIP() << "no cuBLASLt FP8 GEMM on this device";
  // The weight has 16 rows more than the GEMM uses: the GEMM takes rows [16, 16 + out), so
  // the codes and the per-channel scales are read at an offset as the MoE experts are.
  const int64_t skip = 16, rows = out + skip;
  const Tensor w = dev_bf16(ctx, {rows, in}, rand_bf16(rows * in, 11, -0.1f, 0.1f));
  const Tensor wc = cuda::empty({rows * in}, DType::u8, ctx);
  const Tensor ws = cuda::empty({rows}, DType::f32, ctx);
  cuda::quantize_rows(ctx, w, WeightFormat::fp8_e4m3, static_cast<uint8_t*>(wc.data()),
                      ws.data<float>(), nullptr);
  // Activations with rows of very different sizes (2^-4 .. 2^4), so a scale applied per
  // tensor, or to the wrong axis, cannot pass.
  std::vector<float> x = rand_bf16(n * in, 12);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t k = 0; k < in; ++k) x[t * in + k] *= std::ldexp(1.0f, int(t % 9) - 4);
  const Tensor dx = dev_bf16(ctx, {n, in}, x);
  const cuda::Fp8Rows buf = cuda::fp8_rows(ctx, n, in);
  const Tensor y = cuda::empty({n, out}, DType::bf16, ctx);
  const cuda::QuantMatrix qm{WeightFormat::fp8_e4m3,
                             static_cast<const uint8_t*>(wc.data()),
                             ws.data<float>(),
                             nullptr,
                             rows,
                             in};
  ASSERT_TRUE(cuda::fp8_linear(ctx, dx, qm, skip, out, y, buf))
      << "cuBLASLt has no FP8 algorithm for n " << n << " in " << in << " out " << out;
  const std::vector<float> got = download(ctx, y);

  // The activation codes: bit for bit the CPU's per-row quantization.
  std::vector<uint8_t> xq(n * in);
  std::vector<float> sx(n);
  cpu::quantize(WeightFormat::fp8_e4m3, x.data(), DType::f32, n, in, xq.data(), sx.data(), nullptr);
  const std::vector<uint8_t> gq = host_bytes<uint8_t>(ctx, buf.codes);
  const std::vector<float> gs = host_bytes<float>(ctx, buf.scales);
  int64_t bad_codes = 0, bad_scales = 0;
  for (int64_t i = 0; i < n * in; ++i) bad_codes += gq[i] != xq[i];
  for (int64_t t = 0; t < n; ++t) bad_scales += gs[t] != sx[t];
  EXPECT_EQ(bad_codes, 0) << "e4m3 activation codes differ from cpu::quantize";
  EXPECT_EQ(bad_scales, 0) << "activation scales differ from cpu::quantize";

  // The twin, its result rounded once to bf16 (the plain implementation), and the
  // weight-only result for the quantization error.
  const std::vector<uint8_t> codes = host_bytes<uint8_t>(ctx, wc);
  const std::vector<float> scales = host_bytes<float>(ctx, ws);
  std::vector<float> twin(n * out), plain(n * out), wonly(n * out), wd(out * in);
  cpu::linear_fp8_activations(x.data(), codes.data() + skip * in, scales.data() + skip, twin.data(),
                              n, in, out);
  for (int64_t i = 0; i < n * out; ++i) plain[i] = round_bf16(twin[i]);
  const std::vector<double> ref(twin.begin(), twin.end());
  MVL_EXPECT_PARITY(got, plain, ref, 2.0, 5e-4);
  cpu::dequantize(WeightFormat::fp8_e4m3, codes.data(), scales.data(), nullptr, in, skip, rows,
                  wd.data());
  cpu::linear(x.data(), wd.data(), DType::f32, nullptr, DType::f32, wonly.data(), n, in, out);
  std::printf("  n %lld in %lld out %lld: activation quantization rel RMS %.4g vs weight-only\n",
              static_cast<long long>(n), static_cast<long long>(in), static_cast<long long>(out),
              rel_err(twin, wonly));
}

INSTANTIATE_TEST_SUITE_P(Shapes, Fp8Gemm,
                         ::testing::Values(Shape3{1, 64, 32}, Shape3{17, 96, 40},
                                           Shape3{300, 320, 136},
                                           Shape3{64, 6144, 18432},  // released gate/up [2F, D]
                                           Shape3{64, 9216, 6144}),  // released down [D, F]
                         [](const ::testing::TestParamInfo<Shape3>& i) {
                           return fmt::format("n{}_in{}_out{}", i.param.n, i.param.in, i.param.out);
                         });

}  // namespace
}  // namespace mvl
#else
TEST(Fp8GemmNoCuda, SkipsWithoutTheCudaBackend) {
  MVL_REQUIRE_GPU_OR_SKIP();
}
#endif
