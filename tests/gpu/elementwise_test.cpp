// CPU-vs-CUDA parity for the bf16 row-wise and elementwise kernels (kernels/cuda rms_norm,
// layer_norm, activation, rope, embedding, tensor_ops): RMSNorm (plain, DeepNorm residual, gated),
// LayerNorm, activations, SwiGLU, partial RoPE,
// embedding, conversion and argmax (ties -> lowest index). Awkward widths on purpose.
// Without the CUDA backend (CPU-only builds, e.g. CI) the file reduces to one test that
// skips, or fails under MVL_REQUIRE_GPU=1.
#include "tests/support/test_util.h"

#ifdef MVL_HAVE_CUDA
#include "kernels/cuda/activation.h"
#include "kernels/cuda/embedding.h"
#include "kernels/cuda/layer_norm.h"
#include "kernels/cuda/rms_norm.h"
#include "kernels/cuda/rope.h"
#include "kernels/cuda/tensor_ops.h"

#include <cmath>
#include <string>

#include "tests/gpu/gpu_test_util.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

using namespace gpu_test;

std::vector<double> rms_ref(const std::vector<float>& x, const std::vector<float>& w, int64_t n,
                            int64_t D, double eps) {
  std::vector<double> y(n * D);
  for (int64_t i = 0; i < n; ++i) {
    double ss = 0;
    for (int64_t j = 0; j < D; ++j) ss += double(x[i * D + j]) * x[i * D + j];
    const double inv = 1.0 / std::sqrt(ss / D + eps);
    for (int64_t j = 0; j < D; ++j) y[i * D + j] = w[j] * x[i * D + j] * inv;
  }
  return y;
}

std::vector<float> plain_bf16(const std::vector<double>& r) {
  std::vector<float> o(r.size());
  for (size_t i = 0; i < r.size(); ++i) o[i] = round_bf16(static_cast<float>(r[i]));
  return o;
}

TEST(ElementwiseParity, RmsNormVariants) {
  MVL_REQUIRE_GPU_OR_SKIP();
  cuda::Context ctx(0);
  for (int64_t D : {8, 200, 6144}) {
    const int64_t n = 3;
    auto x = rand_bf16(n * D, 11, -2.f, 2.f), w = rand_bf16(D, 12, 0.5f, 1.5f),
         r = rand_bf16(n * D, 13);
    auto g = rand_bf16(n * D, 14, -3.f, 3.f);
    Tensor dx = dev_bf16(ctx, {n, D}, x), dw = dev_bf16(ctx, {D}, w), dr = dev_bf16(ctx, {n, D}, r);
    Tensor dg = dev_bf16(ctx, {n, D}, g), dy = cuda::empty({n, D}, DType::bf16, ctx);
    // plain: bf16 output rounding is the only error source of a plain implementation.
    cuda::rms_norm(ctx, dx, dw, 1e-5f, dy);
    auto ref = rms_ref(x, w, n, D, 1e-5);
    MVL_EXPECT_PARITY(download(ctx, dy), plain_bf16(ref), ref, 2.5, 1e-4);
    // residual: s = bf16(bf16(alpha r) + x)
    const float alpha = 3.5565588f;
    std::vector<float> s(n * D);
    for (int64_t i = 0; i < n * D; ++i) s[i] = round_bf16(round_bf16(alpha * r[i]) + x[i]);
    cuda::residual_rms_norm(ctx, dr, alpha, dx, dw, 1e-5f, dy);
    ref = rms_ref(s, w, n, D, 1e-5);
    MVL_EXPECT_PARITY(download(ctx, dy), plain_bf16(ref), ref, 2.5, 1e-4);
    // gated: sigmoid(g) * rms(x)
    cuda::gated_rms_norm(ctx, dx, dw, 1e-6f, dg, dy);
    ref = rms_ref(x, w, n, D, 1e-6);
    for (int64_t i = 0; i < n * D; ++i) ref[i] *= 1.0 / (1.0 + std::exp(-double(g[i])));
    MVL_EXPECT_PARITY(download(ctx, dy), plain_bf16(ref), ref, 3.0, 1e-4);
  }
}

TEST(ElementwiseParity, LayerNormActivationsSwiglu) {
  MVL_REQUIRE_GPU_OR_SKIP();
  cuda::Context ctx(0);
  // Scalar path (1000), vectorised block rows (D % 8 == 0), warp rows (D = 256 k, k = 1, 2, 4,
  // 8; 768 falls back to block rows); 13 rows: a partial 8-row block for the warp form.
  for (const int64_t Dl : {1000, 1024, 256, 512, 768, 2048})
    for (const cuda::LayerNormRows rows : {cuda::LayerNormRows::block, cuda::LayerNormRows::warp}) {
      SCOPED_TRACE("D " + std::to_string(Dl) +
                   (rows == cuda::LayerNormRows::warp ? " warp" : " block"));
      const int64_t n = 13, D = Dl;
      auto x = rand_bf16(n * D, 21, -3.f, 3.f), w = rand_bf16(D, 22), b = rand_bf16(D, 23);
      Tensor dx = dev_bf16(ctx, {n, D}, x),
             dy = dev_bf16(ctx, {n, D}, std::vector<float>(n * D, 5.f));
      cuda::layer_norm(ctx, dx, dev_bf16(ctx, {D}, w), dev_bf16(ctx, {D}, b), 1e-5f, dy, rows);
      std::vector<double> ref(n * D);
      for (int64_t i = 0; i < n; ++i) {
        double m = 0, v = 0;
        for (int64_t j = 0; j < D; ++j) m += x[i * D + j];
        m /= D;
        for (int64_t j = 0; j < D; ++j) v += (x[i * D + j] - m) * (x[i * D + j] - m);
        v /= D;
        for (int64_t j = 0; j < D; ++j)
          ref[i * D + j] = (x[i * D + j] - m) / std::sqrt(v + 1e-5) * w[j] + b[j];
      }
      MVL_EXPECT_PARITY(download(ctx, dy), plain_bf16(ref), ref, 2.5, 1e-4);
    }
  const int64_t n = 5, D = 1000;
  auto x =
      rand_bf16(n * D + 5, 21, -3.f, 3.f);  // n*D + 5 elements: a 16-byte tail for the vector loop
  Tensor dx = dev_bf16(ctx, {n, D}, std::vector<float>(x.begin(), x.begin() + n * D));

  for (const char* name : {"silu", "gelu", "quick_gelu", "sigmoid"}) {
    Tensor t = dev_bf16(ctx, {n * D + 5}, x);
    cuda::activation_inplace(ctx, t, name);
    std::vector<double> r(n * D + 5);
    for (int64_t i = 0; i < n * D + 5; ++i) {
      const double v = x[i];
      const std::string s = name;
      r[i] = s == "silu"         ? v / (1 + std::exp(-v))
             : s == "gelu"       ? 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)))
             : s == "quick_gelu" ? v / (1 + std::exp(-1.702 * v))
                                 : 1 / (1 + std::exp(-v));
    }
    MVL_EXPECT_PARITY(download(ctx, t), plain_bf16(r), r, 2.5, 1e-4);
  }
  EXPECT_THROW(cuda::activation_inplace(ctx, dx, "relu6"), Error);

  for (int64_t F : {72, 36}) {  // vectorised (F % 8 == 0) and scalar paths
    auto gu = rand_bf16(n * 2 * F, 24, -4.f, 4.f);
    Tensor dgu = dev_bf16(ctx, {n, 2 * F}, gu), dh = cuda::empty({n, F}, DType::bf16, ctx);
    cuda::swiglu(ctx, dgu, dh);
    std::vector<double> r(n * F);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < F; ++j) {
        const double g = gu[i * 2 * F + j], u = gu[i * 2 * F + F + j];
        r[i * F + j] = g / (1 + std::exp(-g)) * u;
      }
    std::vector<float> pl(n * F);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < F; ++j) {
        const float g = gu[i * 2 * F + j], u = gu[i * 2 * F + F + j];
        pl[i * F + j] = round_bf16(round_bf16(g / (1.f + std::exp(-g))) * u);
      }
    MVL_EXPECT_PARITY(download(ctx, dh), pl, r, 2.5, 1e-4);
  }
}

TEST(ElementwiseParity, PartialRopeEmbeddingArgmax) {
  MVL_REQUIRE_GPU_OR_SKIP();
  cuda::Context ctx(0);
  const int64_t n = 7, H = 3, d = 128;
  auto x = rand_bf16(n * H * d, 31);
  std::vector<int32_t> pos = {0, 1, 5, 100, 4095, 8191, 70000};
  Tensor dx = dev_bf16(ctx, {n, H, d}, x);
  cuda::rope_partial(ctx, dx, dev_i32(ctx, pos), 64, 1e7f);
  std::vector<double> ref(x.begin(), x.end());
  for (int64_t t = 0; t < n; ++t)
    for (int64_t h = 0; h < H; ++h)
      for (int i = 0; i < 32; ++i) {
        const double ang = pos[t] * std::pow(1e7, -2.0 * i / 64.0);
        const size_t o = (t * H + h) * d;
        const double a = x[o + i], b = x[o + i + 32];
        ref[o + i] = a * std::cos(ang) - b * std::sin(ang);
        ref[o + i + 32] = b * std::cos(ang) + a * std::sin(ang);
      }
  // f32 angles at position 70000 lose ~1e-3 rad: allow 4x plain bf16 plus 2e-3.
  MVL_EXPECT_PARITY(download(ctx, dx), plain_bf16(ref), ref, 4.0, 2e-3);

  const int64_t V = 50, D = 24;
  auto table = rand_bf16(V * D, 32);
  std::vector<int32_t> ids = {0, 49, 7, 7};
  Tensor out = cuda::empty({4, D}, DType::bf16, ctx);
  cuda::embedding(ctx, dev_bf16(ctx, {V, D}, table), dev_i32(ctx, ids), out);
  auto got = download(ctx, out);
  for (size_t i = 0; i < ids.size(); ++i)
    for (int64_t j = 0; j < D; ++j) ASSERT_EQ(got[i * D + j], table[ids[i] * D + j]);

  // argmax: ties resolve to the lowest index; NaN never wins; odd vocabulary size.
  const int64_t rows = 3, Vv = 200063;
  std::vector<float> logits = rand_bf16(rows * Vv, 33, -5.f, 5.f);
  logits[0 * Vv + 17] = 9.f;
  logits[0 * Vv + 99999] = 9.f;
  logits[1 * Vv + Vv - 1] = 7.f;
  logits[2 * Vv + 3] = NAN;
  logits[2 * Vv + 5] = 8.f;
  Tensor ids_out = cuda::empty({rows}, DType::i32, ctx);
  cuda::argmax(ctx, dev_f32(ctx, {rows, Vv}, logits), ids_out);
  Tensor h = cuda::to_host(ids_out, ctx);
  EXPECT_EQ(h.data<int32_t>()[0], 17);
  EXPECT_EQ(h.data<int32_t>()[1], Vv - 1);
  EXPECT_EQ(h.data<int32_t>()[2], 5);
  cuda::argmax(ctx, dev_bf16(ctx, {rows, Vv}, logits), ids_out);
  h = cuda::to_host(ids_out, ctx);
  EXPECT_EQ(h.data<int32_t>()[0], 17);
  EXPECT_EQ(h.data<int32_t>()[2], 5);

  // f32 <-> bf16 conversion round-trips bf16-exact values and rounds to nearest even.
  std::vector<float> f = {1.0f, 1.00390625f, 1.01171875f, -3.5f, 65504.f};
  Tensor fb = cuda::empty({5}, DType::bf16, ctx);
  cuda::convert(ctx, dev_f32(ctx, {5}, f), fb);
  auto fr = download(ctx, fb);
  for (size_t i = 0; i < f.size(); ++i) EXPECT_EQ(fr[i], round_bf16(f[i]));
}

}  // namespace
}  // namespace mvl
#else
TEST(ElementwiseParityNoCuda, SkipsWithoutTheCudaBackend) {
  MVL_REQUIRE_GPU_OR_SKIP();
}
#endif
