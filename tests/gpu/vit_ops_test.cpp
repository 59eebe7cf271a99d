// The ops:: CUDA branches the CLIP ViT adds (layer_norm, patch_embed, linear with a bias,
// non-causal attention at head dims 16/64 over ViT-length sequences, strided tile views)
// against the same ops on the CPU, on awkward shapes. Inputs are identical on both sides
// (weights bf16), so only the f32 summation order differs: relative L2 error <= 1e-5.
// Skips without a GPU (fails under MVL_REQUIRE_GPU=1); compiles in CPU-only builds.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
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

}  // namespace
}  // namespace mvl
