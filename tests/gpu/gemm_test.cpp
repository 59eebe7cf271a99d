// CPU-vs-CUDA parity for cuda::gemm (cuBLASLt bf16, f32 accumulate): awkward sizes
// (1 row, rows not a multiple of any tile), f32 and bf16 outputs, fused bias, accumulate, a
// residual as cuBLASLt's C (C != D), and gemm_bias_act (the ViT's fc1 + quick_gelu, whole and
// in row blocks).
// Without the CUDA backend (CPU-only builds, e.g. CI) the file reduces to one test that
// skips, or fails under MVL_REQUIRE_GPU=1.
#include "tests/support/test_util.h"

#ifdef MVL_HAVE_CUDA
#include "kernels/cuda/linear.h"

#include <cmath>
#include <string>

#include "tests/gpu/gpu_test_util.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

using namespace gpu_test;

struct Case {
  int64_t n, in, out;
  bool bias, bf16_out, accumulate;
};

class GemmParity : public ::testing::TestWithParam<Case> {};

TEST_P(GemmParity, MatchesFp64Reference) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const Case c = GetParam();
  cuda::Context ctx(0);
  auto x = rand_bf16(c.n * c.in, 1), w = rand_bf16(c.out * c.in, 2), b = rand_bf16(c.out, 3);
  auto y0 = rand_bf16(c.n * c.out, 4);
  std::vector<double> ref(c.n * c.out);
  std::vector<float> plain(c.n * c.out);
  for (int64_t i = 0; i < c.n; ++i)
    for (int64_t j = 0; j < c.out; ++j) {
      double s = 0;
      float sf = 0;
      for (int64_t k = 0; k < c.in; ++k) {
        s += double(x[i * c.in + k]) * w[j * c.in + k];
        sf += x[i * c.in + k] * w[j * c.in + k];
      }
      if (c.bias) s += b[j], sf += b[j];
      if (c.accumulate) s += y0[i * c.out + j], sf += y0[i * c.out + j];
      ref[i * c.out + j] = s;
      plain[i * c.out + j] = c.bf16_out ? round_bf16(sf) : sf;
    }
  Tensor dx = dev_bf16(ctx, {c.n, c.in}, x), dw = dev_bf16(ctx, {c.out, c.in}, w),
         db = dev_bf16(ctx, {c.out}, b);
  Tensor dy = c.bf16_out ? dev_bf16(ctx, {c.n, c.out}, y0) : dev_f32(ctx, {c.n, c.out}, y0);
  cuda::GemmOptions opt;
  opt.bias = c.bias ? &db : nullptr;
  opt.accumulate = c.accumulate;
  cuda::gemm(ctx, dx, dw, dy, opt);
  auto got = download(ctx, dy);
  // f32 output: within 4x of fp32 summation error + 1e-5; bf16 output: 2x the bf16 rounding.
  if (c.bf16_out) {
    MVL_EXPECT_PARITY(got, plain, ref, 2.0, 1e-4);
  } else {
    MVL_EXPECT_PARITY(got, plain, ref, 4.0, 1e-5);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, GemmParity,
                         ::testing::Values(Case{1, 64, 96, false, false, false},
                                           Case{37, 136, 72, true, false, false},
                                           Case{300, 200, 264, false, true, false},
                                           Case{5, 512, 1000, true, true, false},
                                           Case{129, 96, 136, false, false, true},
                                           Case{2, 6144, 256, false, true, true}));

// y = x·wᵀ + b + r with r read as cuBLASLt's C (the ViT's o_proj / fc2 residual): r untouched,
// y one bf16 rounding of the f32 sum.
TEST(GemmEpilogues, ResidualAsTheCOperand) {
  MVL_REQUIRE_GPU_OR_SKIP();
  cuda::Context ctx(0);
  for (const int64_t n : {1, 577, 1731}) {
    const int64_t in = 256, out = 264;
    auto x = rand_bf16(n * in, 11), w = rand_bf16(out * in, 12, -0.2f, 0.2f),
         b = rand_bf16(out, 13), r = rand_bf16(n * out, 14, -4.f, 4.f);
    std::vector<double> ref(n * out);
    std::vector<float> plain(n * out);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < out; ++j) {
        double sd = b[j] + double(r[i * out + j]);
        for (int64_t k = 0; k < in; ++k) sd += double(x[i * in + k]) * w[j * in + k];
        ref[i * out + j] = sd;
        plain[i * out + j] = round_bf16(static_cast<float>(sd));
      }
    const Tensor dx = dev_bf16(ctx, {n, in}, x), dw = dev_bf16(ctx, {out, in}, w),
                 db = dev_bf16(ctx, {out}, b), dr = dev_bf16(ctx, {n, out}, r);
    Tensor dy = cuda::empty({n, out}, DType::bf16, ctx);
    cuda::GemmOptions opt;
    opt.bias = &db;
    opt.residual = &dr;
    cuda::gemm(ctx, dx, dw, dy, opt);
    MVL_EXPECT_PARITY(download(ctx, dy), plain, ref, 2.0, 1e-4);
    EXPECT_EQ(download(ctx, dr), r) << "the residual is read, never written";
    opt.accumulate = true;  // residual and accumulate name two different C operands
    EXPECT_THROW(cuda::gemm(ctx, dx, dw, dy, opt), Error);
  }
}

// act(x·wᵀ + b) in bf16 as PyTorch rounds it (the GEMM's output rounded, then the activation
// rounded), whole and in row blocks that do not divide the rows; the reference rounds the same
// way in f64 / f32, so only summation order differs.
TEST(GemmEpilogues, BiasThenActivationWholeAndInRowBlocks) {
  MVL_REQUIRE_GPU_OR_SKIP();
  cuda::Context ctx(0);
  const int64_t n = 1731, in = 192, out = 512;  // 3 ViT tiles of 577 rows
  auto x = rand_bf16(n * in, 21), w = rand_bf16(out * in, 22, -0.3f, 0.3f), b = rand_bf16(out, 23);
  for (const char* act : {"quick_gelu", "gelu"}) {
    auto f = [&](double v) {
      return std::string(act) == "gelu" ? 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)))
                                        : v / (1.0 + std::exp(-1.702 * v));
    };
    std::vector<double> ref(n * out);
    std::vector<float> plain(n * out);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < out; ++j) {
        double sd = b[j];
        for (int64_t k = 0; k < in; ++k) sd += double(x[i * in + k]) * w[j * in + k];
        ref[i * out + j] = f(sd);
        plain[i * out + j] = round_bf16(static_cast<float>(f(round_bf16(static_cast<float>(sd)))));
      }
    const Tensor dx = dev_bf16(ctx, {n, in}, x), dw = dev_bf16(ctx, {out, in}, w),
                 db = dev_bf16(ctx, {out}, b);
    for (const int64_t chunk : {int64_t(0), int64_t(500), int64_t(1024), int64_t(4096)}) {
      SCOPED_TRACE(std::string(act) + " chunk_rows " + std::to_string(chunk));
      Tensor dy = dev_bf16(ctx, {n, out}, std::vector<float>(n * out, 9.f));  // stale values
      cuda::gemm_bias_act(ctx, dx, dw, &db, act, dy, chunk);
      MVL_EXPECT_PARITY(download(ctx, dy), plain, ref, 2.0, 1e-4);
    }
  }
  Tensor y32 = cuda::empty({n, out}, DType::f32, ctx);
  EXPECT_THROW(cuda::gemm_bias_act(ctx, dev_bf16(ctx, {n, in}, x), dev_bf16(ctx, {out, in}, w),
                                   nullptr, "quick_gelu", y32),
               Error);  // bf16 output only
}

TEST(GemmErrors, RejectsMismatchedShapes) {
  MVL_REQUIRE_GPU_OR_SKIP();
  cuda::Context ctx(0);
  Tensor x = dev_bf16(ctx, {4, 16}, rand_bf16(64, 1));
  Tensor w = dev_bf16(ctx, {8, 32}, rand_bf16(256, 2));
  Tensor y = cuda::empty({4, 8}, DType::f32, ctx);
  EXPECT_THROW(cuda::gemm(ctx, x, w, y), Error);
}

}  // namespace
}  // namespace mvl
#else
TEST(GemmParityNoCuda, SkipsWithoutTheCudaBackend) {
  MVL_REQUIRE_GPU_OR_SKIP();
}
#endif
