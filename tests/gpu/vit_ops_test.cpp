// The ops:: CUDA branches the CLIP ViT adds (layer_norm, patch_embed, linear with a bias, the
// fused linear_residual / linear_act, non-causal attention at head dims 16/64 over ViT-length
// sequences, strided tile views)
// against the same ops on the CPU, on awkward shapes. Inputs are identical on both sides
// (weights bf16), so only the f32 summation order differs: relative L2 error <= 1e-5.
// Skips without a GPU (fails under MVL_REQUIRE_GPU=1); compiles in CPU-only builds.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "kernels/core/error.h"
#include "kernels/ops/activation.h"
#include "kernels/ops/attention.h"
#include "kernels/ops/device.h"
#include "kernels/ops/layer_norm.h"
#include "kernels/ops/linear.h"
#include "kernels/ops/patch_embed.h"
#include "kernels/ops/tensor_ops.h"
#include "tests/gpu/ops_parity_util.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

using ops_parity::rand_f32;
using VisionOpsCuda = ops_parity::OpsCudaTest;

// Every result compared here must come from the GPU.
double rel_l2(const Tensor& gpu, const Tensor& cpu) {
  EXPECT_TRUE(gpu.device().is_cuda()) << gpu.str();
  return ops_parity::rel_l2(gpu, cpu);
}

constexpr double kTol = 1e-5;

TEST_F(VisionOpsCuda, LayerNormOddWidthsOffsetsAndStridedInput) {
  // Widths below, at and above the block size, a large mean (cancellation), f32 and bf16 params.
  for (int64_t d : {1, 7, 32, 255, 257, 1025}) {
    const Tensor x = rand_f32({13, d}, 10 + static_cast<uint32_t>(d), 29.0f, 31.0f);
    const Tensor w = ops::cast(rand_f32({d}, 3, 0.5f, 1.5f), DType::bf16);
    const Tensor b = rand_f32({d}, 4);
    const Tensor cpu = ops::layer_norm(x, w, b, 1e-5f);
    EXPECT_LE(rel_l2(ops::layer_norm(up(x), upw(w), up(b), 1e-5f), cpu), kTol) << "d=" << d;
  }
  // A strided view (every other row of a 3-D tensor) goes through a contiguous device copy.
  const Tensor big = rand_f32({6, 4, 33}, 7);
  const Tensor view = big.slice(1, 1, 3);  // [6, 2, 33], not contiguous
  const Tensor w = rand_f32({33}, 8), b = rand_f32({33}, 9);
  EXPECT_LE(rel_l2(ops::layer_norm(up(big).slice(1, 1, 3), up(w), up(b), 1e-6f), ops::layer_norm(view, w, b, 1e-6f)),
            kTol);
  // Mixed host/device inputs are refused with an error, not silently mixed.
  EXPECT_THROW(ops::layer_norm(up(big), w, b, 1e-5f), Error);
}

TEST_F(VisionOpsCuda, PatchEmbedAwkwardShapes) {
  struct S {
    int64_t T, C, size, k, D;
  };
  // Odd patch sizes, one channel, a single patch per tile, and the released 336/14 at D=32.
  for (const S s : {S{1, 3, 28, 14, 32}, S{3, 3, 35, 7, 17}, S{2, 1, 9, 9, 5}, S{2, 3, 336, 14, 32}, S{1, 2, 12, 3, 65}}) {
    const Tensor px = rand_f32({s.T, s.C, s.size, s.size}, 20 + static_cast<uint32_t>(s.size));
    const Tensor w = ops::cast(rand_f32({s.D, s.C, s.k, s.k}, 21), DType::bf16);
    const Tensor cpu = ops::patch_embed(px, w);
    const Tensor gpu = ops::patch_embed(up(px), upw(w));
    EXPECT_EQ(gpu.shape(), (Shape{s.T, (s.size / s.k) * (s.size / s.k), s.D}));
    EXPECT_LE(rel_l2(gpu, cpu), kTol) << "T=" << s.T << " C=" << s.C << " S=" << s.size << " k=" << s.k;
  }
  // One tile of a batch (the engine encodes tile by tile): a row slice of device pixels.
  const Tensor px = rand_f32({3, 3, 28, 28}, 30);
  const Tensor w = ops::cast(rand_f32({8, 3, 14, 14}, 31), DType::bf16);
  EXPECT_LE(rel_l2(ops::patch_embed(up(px).slice(0, 1, 2), upw(w)), ops::patch_embed(px.slice(0, 1, 2), w)), kTol);
}

TEST_F(VisionOpsCuda, LinearWithBiasAndViTAttention) {
  const Tensor x = rand_f32({577, 96}, 40);
  const Tensor w = ops::cast(rand_f32({200, 96}, 41), DType::bf16);
  const Tensor b = ops::cast(rand_f32({200}, 42), DType::bf16);
  const Tensor bf = rand_f32({200}, 43);
  const Tensor b_dev = upw(b);
  EXPECT_LE(rel_l2(ops::linear(up(x), upw(w), &b_dev), ops::linear(x, w, &b)), kTol);
  const Tensor bf_dev = up(bf);
  EXPECT_LE(rel_l2(ops::linear(up(x), upw(w), &bf_dev), ops::linear(x, w, &bf)), kTol);
  EXPECT_THROW(ops::linear(up(x), upw(w), &bf), Error);  // host bias with device input

  // Non-causal attention over one tile of a 2-tile [T*N, D] projection, head dims 16 and 64.
  for (int64_t hd : {16, 64}) {
    const int64_t N = 577, H = 3, D = H * hd;
    const Tensor q = rand_f32({2 * N, D}, 50), k = rand_f32({2 * N, D}, 51), v = rand_f32({2 * N, D}, 52);
    const Tensor qd = up(q), kd = up(k), vd = up(v);
    const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
    auto tile = [&](const Tensor& m) { return m.slice(0, N, 2 * N).view({N, H, hd}); };
    EXPECT_LE(rel_l2(ops::attention(tile(qd), tile(kd), tile(vd), scale, false),
                     ops::attention(tile(q), tile(k), tile(v), scale, false)),
              kTol)
        << "hd=" << hd;
  }
  // gelu / quick_gelu on the MLP's intermediate, and concat_rows of device parts.
  const Tensor m = rand_f32({9, 64}, 60, -4.f, 4.f);
  for (const char* a : {"gelu", "quick_gelu"})
    EXPECT_LE(rel_l2(ops::activation(up(m), a), ops::activation(m, a)), kTol) << a;
  const Tensor cls = rand_f32({1, 64}, 61);
  EXPECT_LE(rel_l2(ops::concat_rows({up(cls), up(m)}), ops::concat_rows({cls, m})), 0.0);
}

// ---- bf16 activations ----------------------------------------------------------------

// A host f32 tensor rounded to bf16 values (so CPU and GPU see identical inputs).
Tensor bf16_exact(const Tensor& t) { return ops::cast(ops::cast(t, DType::bf16), DType::f32); }

// err(cuda bf16) <= k * err(plain bf16) + atol against the CPU f32 result, where plain bf16 is
// the f32 result rounded once to bf16 (the best a bf16 output can do); prints both.
void expect_bf16_parity(const Tensor& gpu, const Tensor& cpu_f32, double k, const std::string& what) {
  ASSERT_TRUE(gpu.device().is_cuda()) << what;
  ASSERT_EQ(gpu.dtype(), DType::bf16) << what << ": the bf16 path must return bf16";
  const double e_cuda = ops_parity::rel_l2(ops::cast(gpu, DType::f32), cpu_f32);
  const double e_plain = ops_parity::rel_l2(bf16_exact(cpu_f32), cpu_f32);
  std::printf("  %-46s cuda bf16 %.3g  plain bf16 %.3g  ratio %.2f\n", what.c_str(), e_cuda, e_plain,
              e_cuda / std::max(e_plain, 1e-30));
  EXPECT_GT(e_plain, 0.0) << what << ": the check needs outputs that bf16 cannot hold exactly";
  EXPECT_LE(e_cuda, k * e_plain + 1e-7) << what;
}

// One rounding of an f32-computed value, as the plain bf16 reference does: k = 2 leaves room
// for outputs whose f32 value sits next to a rounding boundary (summation order differs).
constexpr double kOneRounding = 2.0;

TEST_F(VisionOpsCuda, Bf16LayerNormMatchesOneRounding) {
  for (int64_t d : {7, 128, 257, 1024}) {
    const Tensor x = bf16_exact(rand_f32({37, d}, 70 + static_cast<uint32_t>(d), 2.0f, 4.0f));
    const Tensor w = ops::cast(rand_f32({d}, 71, 0.5f, 1.5f), DType::bf16);
    const Tensor b = ops::cast(rand_f32({d}, 72), DType::bf16);
    const Tensor cpu = ops::layer_norm(x, w, b, 1e-5f);
    expect_bf16_parity(ops::layer_norm(ops::cast(up(x), DType::bf16), upw(w), upw(b), 1e-5f), cpu, kOneRounding,
                       "layer_norm d=" + std::to_string(d));
  }
  // f32 parameters (bf16-exact) on the bf16 path are cast on the way in.
  const Tensor x = bf16_exact(rand_f32({5, 64}, 73));
  const Tensor w = bf16_exact(rand_f32({64}, 74, 0.5f, 1.5f)), b = bf16_exact(rand_f32({64}, 75));
  expect_bf16_parity(ops::layer_norm(ops::cast(up(x), DType::bf16), up(w), up(b), 1e-5f), ops::layer_norm(x, w, b, 1e-5f),
                     kOneRounding, "layer_norm f32 params");
  // bf16 activations are a GPU path: the CPU refuses them with an error.
  EXPECT_THROW(ops::layer_norm(ops::cast(x, DType::bf16), w, b, 1e-5f), Error);
}

TEST_F(VisionOpsCuda, Bf16PatchEmbedMatchesOneRounding) {
  struct S {
    int64_t T, C, size, k, D;
  };
  // K = C*k*k of 588 (released), 147 and 9 (padded to 592, 152, 16 for 16-byte GEMM rows), 1 patch per tile.
  for (const S s : {S{2, 3, 336, 14, 64}, S{3, 3, 35, 7, 24}, S{2, 1, 12, 3, 16}, S{1, 3, 14, 14, 32}}) {
    const Tensor px = bf16_exact(rand_f32({s.T, s.C, s.size, s.size}, 80 + static_cast<uint32_t>(s.size), -2.f, 2.f));
    const Tensor w = ops::cast(rand_f32({s.D, s.C, s.k, s.k}, 81, -0.1f, 0.1f), DType::bf16);
    const Tensor gpu = ops::patch_embed(ops::cast(up(px), DType::bf16), upw(w));
    EXPECT_EQ(gpu.shape(), (Shape{s.T, (s.size / s.k) * (s.size / s.k), s.D}));
    expect_bf16_parity(gpu, ops::patch_embed(px, w), kOneRounding,
                       fmt::format("patch_embed T={} C={} S={} k={} D={}", s.T, s.C, s.size, s.k, s.D));
  }
  EXPECT_THROW(ops::patch_embed(ops::cast(rand_f32({1, 3, 28, 28}, 82), DType::bf16),
                                ops::cast(rand_f32({8, 3, 14, 14}, 83), DType::bf16)),
               Error);  // bf16 pixels on the CPU
}

TEST_F(VisionOpsCuda, VitEmbeddingsF32ExactBf16OneRounding) {
  const int64_t T = 3, P = 576, D = 40;
  const Tensor patches = rand_f32({T, P, D}, 90), cls = rand_f32({1, D}, 91), pos = rand_f32({P + 1, D}, 92);
  // f32: one add per element on both sides, so bit-identical; also equal to the old
  // concat_rows + add formulation tile by tile.
  const Tensor cpu = ops::vit_embeddings(patches, cls, pos);
  EXPECT_EQ(rel_l2(ops::vit_embeddings(up(patches), up(cls), up(pos)), cpu), 0.0);
  for (int64_t t = 0; t < T; ++t)
    EXPECT_EQ(ops_parity::rel_l2(cpu.select(0, t), ops::add(ops::concat_rows({cls, patches.select(0, t)}), pos)), 0.0);
  // bf16: the same add rounded once, so equal to the rounded f32 result, with bf16 or f32 tables.
  const Tensor p16 = bf16_exact(patches), c16 = bf16_exact(cls), q16 = bf16_exact(pos);
  const Tensor want = bf16_exact(ops::vit_embeddings(p16, c16, q16));
  const Tensor got = ops::vit_embeddings(ops::cast(up(p16), DType::bf16), ops::cast(up(c16), DType::bf16),
                                         ops::cast(up(q16), DType::bf16));
  ASSERT_EQ(got.dtype(), DType::bf16);
  EXPECT_EQ(rel_l2(ops::cast(got, DType::f32), want), 0.0);
  const Tensor mixed = ops::vit_embeddings(ops::cast(up(p16), DType::bf16), up(c16), up(q16));
  ASSERT_EQ(mixed.dtype(), DType::bf16);
  EXPECT_EQ(rel_l2(ops::cast(mixed, DType::f32), want), 0.0);
  EXPECT_THROW(ops::vit_embeddings(patches, cls, pos.slice(0, 1, P + 1)), Error);  // one position short
}

TEST_F(VisionOpsCuda, Bf16FusedEpiloguesMatchTheCpuOps) {
  // The ViT block's fused ops against their CPU twins (linear + add, linear + activation, f32):
  // linear_residual rounds once (k = 2); linear_act rounds the GEMM output, then the activation
  // (PyTorch's order: k = 3). 3 tiles of 577 rows; widths the GEMM takes (multiples of 8) and
  // ones it does not (the f32 detour).
  const int64_t n = 3 * 577;
  for (const int64_t in : {256, 100})
    for (const int64_t out : {512, 60}) {
      const std::string shape = fmt::format(" in={} out={}", in, out);
      const Tensor x = bf16_exact(rand_f32({n, in}, 110, -2.f, 2.f));
      const Tensor w = ops::cast(rand_f32({out, in}, 111, -0.2f, 0.2f), DType::bf16);
      const Tensor b = ops::cast(rand_f32({out}, 112), DType::bf16);
      const Tensor r = bf16_exact(rand_f32({n, out}, 113, -4.f, 4.f));
      const Tensor xd = ops::cast(up(x), DType::bf16), rd = ops::cast(up(r), DType::bf16), wd = upw(w), bd = upw(b);
      expect_bf16_parity(ops::linear_residual(xd, wd, &bd, rd), ops::add(r, ops::linear(x, w, &b)), kOneRounding,
                         "linear_residual" + shape);
      for (const char* a : {"quick_gelu", "gelu"})
        expect_bf16_parity(ops::linear_act(xd, wd, &bd, a), ops::activation(ops::linear(x, w, &b), a), 3.0,
                           std::string("linear_act ") + a + shape);
      // f32 activations on the GPU: the op-by-op f32 path, the CPU's numbers.
      EXPECT_LE(rel_l2(ops::linear_residual(up(x), wd, &bd, up(r)), ops::add(r, ops::linear(x, w, &b))), kTol);
      EXPECT_LE(rel_l2(ops::linear_act(up(x), wd, &bd, "quick_gelu"),
                       ops::activation(ops::linear(x, w, &b), "quick_gelu")),
                kTol);
    }
}

TEST_F(VisionOpsCuda, Bf16BatchedTileAttentionOnFusedQkvViews) {
  // The ViT's attention: one [T*N, 3D] projection viewed as [T, N, 3, H, hd], q/k/v selected
  // (strided), all tiles in one batched call; against the CPU f32 op tile by tile on the same
  // bf16-exact values. Flash attention (hd 64) keeps P in bf16 for the PV product, so k = 3;
  // hd 16 takes the f32 detour (one rounding).
  const int64_t T = 3, N = 577, H = 2;
  for (int64_t hd : {64, 16}) {
    const int64_t D = H * hd;
    const Tensor qkv = bf16_exact(rand_f32({T * N, 3 * D}, 100 + static_cast<uint32_t>(hd), -2.f, 2.f));
    const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
    auto split = [&](const Tensor& m, int i) { return m.view({T, N, 3, H, hd}).select(2, i); };
    const Tensor dev = ops::cast(up(qkv), DType::bf16);
    const Tensor gpu = ops::attention(split(dev, 0), split(dev, 1), split(dev, 2), scale, false);
    EXPECT_EQ(gpu.shape(), (Shape{T, N, H, hd}));
    std::vector<Tensor> per_tile;
    for (int64_t t = 0; t < T; ++t) {
      auto tile = [&](int i) { return split(qkv, i).select(0, t); };
      per_tile.push_back(ops::attention(tile(0), tile(1), tile(2), scale, false).unsqueeze(0));
    }
    expect_bf16_parity(gpu, ops::concat_rows(per_tile), hd == 64 ? 3.0 : kOneRounding,
                       "attention 3 tiles x 577, hd=" + std::to_string(hd));
    // The f32 path takes the same batched views.
    const Tensor g32 = ops::attention(split(up(qkv), 0), split(up(qkv), 1), split(up(qkv), 2), scale, false);
    EXPECT_LE(rel_l2(g32, ops::concat_rows(per_tile)), kTol) << "f32 batched, hd=" << hd;
  }
}

}  // namespace
}  // namespace mvl
