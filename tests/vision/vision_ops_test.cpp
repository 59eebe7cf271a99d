// The vision-only ops: LayerNorm, the stride-k patch embedding and the [CLS; patches] +
// positions step, against direct formulas (double precision) on awkward shapes, plus their
// input validation (bf16 activations are a GPU path: the CPU refuses them).
#include <cmath>
#include <random>

#include "kernels/core/error.h"
#include "kernels/ops/layer_norm.h"
#include "kernels/ops/patch_embed.h"
#include "kernels/ops/tensor_ops.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

Tensor randn(const Shape& s, uint32_t seed, float scale = 1.0f, float shift = 0.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  std::vector<float> v(static_cast<size_t>(shape_numel(s)));
  for (auto& x : v) x = shift + scale * nd(rng);
  return Tensor::from_f32(s, v);
}

TEST(LayerNorm, MatchesDoubleFormula) {
  for (int64_t d : {1, 7, 64, 1024}) {
    const Tensor x = randn({5, d}, 1, 3.0f, 10.0f);  // a large mean stresses the variance
    const Tensor w = randn({d}, 2), b = randn({d}, 3);
    const Tensor y = ops::layer_norm(x, w, b, 1e-5f);
    for (int64_t r = 0; r < 5; ++r) {
      double mean = 0, var = 0;
      for (int64_t i = 0; i < d; ++i) mean += x.data<float>()[r * d + i];
      mean /= d;
      for (int64_t i = 0; i < d; ++i) var += std::pow(x.data<float>()[r * d + i] - mean, 2);
      var /= d;
      for (int64_t i = 0; i < d; ++i) {
        const double want = (x.data<float>()[r * d + i] - mean) / std::sqrt(var + 1e-5) * w.data<float>()[i] +
                            b.data<float>()[i];
        ASSERT_NEAR(y.data<float>()[r * d + i], want, 2e-5 * (1 + std::fabs(want))) << d << " " << r << " " << i;
      }
    }
  }
}

TEST(LayerNorm, Bf16ParametersAndStridedInput) {
  const Tensor x = randn({4, 6}, 4);
  const Tensor w = randn({6}, 5), b = randn({6}, 6);
  const Tensor y32 = ops::layer_norm(x.slice(1, 0, 6), ops::cast(ops::cast(w, DType::bf16), DType::f32),
                                     ops::cast(ops::cast(b, DType::bf16), DType::f32), 1e-5f);
  const Tensor y16 = ops::layer_norm(x, ops::cast(w, DType::bf16), ops::cast(b, DType::bf16), 1e-5f);
  for (int64_t i = 0; i < 24; ++i) EXPECT_EQ(y32.data<float>()[i], y16.data<float>()[i]);
  const Tensor xt = randn({6, 4}, 7).transpose(0, 1);  // non-contiguous rows
  const Tensor yt = ops::layer_norm(xt, w, b, 1e-5f);
  const Tensor yc = ops::layer_norm(contiguous(xt), w, b, 1e-5f);
  for (int64_t i = 0; i < 24; ++i) EXPECT_EQ(yt.data<float>()[i], yc.data<float>()[i]);
}

TEST(LayerNorm, RejectsBadInputs) {
  const Tensor x = randn({2, 4}, 1);
  EXPECT_THROW(ops::layer_norm(x, randn({3}, 1), randn({4}, 1), 1e-5f), Error);
  EXPECT_THROW(ops::layer_norm(x, randn({4}, 1), randn({4}, 1), 0.0f), Error);
  EXPECT_THROW(ops::layer_norm(ops::cast(x, DType::bf16), randn({4}, 1), randn({4}, 1), 1e-5f), Error);
}

TEST(PatchEmbed, MatchesDirectConvolution) {
  const int64_t T = 2, C = 3, S = 28, k = 14, D = 5, g = S / k;
  const Tensor px = randn({T, C, S, S}, 8), w = randn({D, C, k, k}, 9);
  const Tensor y = ops::patch_embed(px, w);
  ASSERT_EQ(y.shape(), (Shape{T, g * g, D}));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t py = 0; py < g; ++py)
      for (int64_t pxi = 0; pxi < g; ++pxi)
        for (int64_t d = 0; d < D; ++d) {
          double acc = 0;
          for (int64_t c = 0; c < C; ++c)
            for (int64_t ky = 0; ky < k; ++ky)
              for (int64_t kx = 0; kx < k; ++kx)
                acc += double(px.data<float>()[((t * C + c) * S + py * k + ky) * S + pxi * k + kx]) *
                       w.data<float>()[((d * C + c) * k + ky) * k + kx];
          ASSERT_NEAR(y.data<float>()[(t * g * g + py * g + pxi) * D + d], acc, 1e-4 * (1 + std::fabs(acc)));
        }
}

TEST(PatchEmbed, RejectsMismatchedShapes) {
  EXPECT_THROW(ops::patch_embed(randn({1, 3, 30, 30}, 1), randn({4, 3, 14, 14}, 1)), Error);  // 30 % 14
  EXPECT_THROW(ops::patch_embed(randn({1, 3, 28, 28}, 1), randn({4, 1, 14, 14}, 1)), Error);  // channels
  EXPECT_THROW(ops::patch_embed(randn({3, 28, 28}, 1), randn({4, 3, 14, 14}, 1)), Error);     // rank
}

TEST(VitEmbeddings, ClassRowThenPatchesPlusPositions) {
  const int64_t T = 2, P = 5, D = 3;
  const Tensor patches = randn({T, P, D}, 4), pos = randn({P + 1, D}, 5);
  const Tensor cls = ops::cast(randn({D}, 6), DType::bf16);  // bf16 tables are widened
  const Tensor y = ops::vit_embeddings(patches, cls, pos);
  ASSERT_EQ(y.shape(), (Shape{T, P + 1, D}));
  ASSERT_EQ(y.dtype(), DType::f32);
  const Tensor c = ops::cast(cls, DType::f32);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t j = 0; j <= P; ++j)
      for (int64_t d = 0; d < D; ++d) {
        const float a = j == 0 ? c.data<float>()[d] : patches.data<float>()[(t * P + j - 1) * D + d];
        EXPECT_EQ(y.data<float>()[(t * (P + 1) + j) * D + d], a + pos.data<float>()[j * D + d]);
      }
}

TEST(VitEmbeddings, RejectsMismatchesAndBf16OnTheCpu) {
  const Tensor patches = randn({2, 4, 3}, 1), cls = randn({1, 3}, 2), pos = randn({5, 3}, 3);
  EXPECT_THROW(ops::vit_embeddings(patches, randn({4}, 2), pos), Error);           // class width
  EXPECT_THROW(ops::vit_embeddings(patches, cls, randn({4, 3}, 3)), Error);        // positions
  EXPECT_THROW(ops::vit_embeddings(randn({8, 3}, 1), cls, pos), Error);            // rank
  EXPECT_THROW(ops::vit_embeddings(ops::cast(patches, DType::bf16), cls, pos), Error);
  EXPECT_THROW(ops::layer_norm(ops::cast(patches, DType::bf16), randn({3}, 1), randn({3}, 2), 1e-5f), Error);
  EXPECT_THROW(ops::patch_embed(ops::cast(randn({1, 3, 28, 28}, 1), DType::bf16), randn({4, 3, 14, 14}, 1)), Error);
}

}  // namespace
}  // namespace mvl
