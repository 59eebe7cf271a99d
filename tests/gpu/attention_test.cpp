// Flash attention on CUDA vs an fp64 softmax reference: causal GQA prefill (lengths not a
// multiple of the 64 block, one token), decode over a cache with q_offset and per-sequence
// kv_lens (head-grouped CTAs), the ViT case (non-causal, d 64, batch of tiles), and the
// Hopper wgmma kernel (kernels/cuda/attention_sm90.cu) directly (every d = 64 tuning, every
// d = 128 causal schedule) and through the dispatch.
// Rule: <= 3x the error of a plain bf16 implementation (f32 softmax, bf16 output).
// Without the CUDA backend (CPU-only builds, e.g. CI) the file reduces to one test that
// skips, or fails under MVL_REQUIRE_GPU=1.
#include "tests/support/test_util.h"

#ifdef MVL_HAVE_CUDA
#include "kernels/cuda/attention.h"

#include <cmath>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "tests/gpu/gpu_test_util.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

using namespace gpu_test;

// q [nq, H, d], k/v [nk, Hkv, d] -> fp64 reference and a plain (f32, bf16-out) version.
void reference(const std::vector<float>& q, const std::vector<float>& k,
               const std::vector<float>& v, int64_t nq, int64_t nk, int H, int Hkv, int d,
               float scale, bool causal, int64_t q_off, std::vector<double>& ref,
               std::vector<float>& plain) {
  ref.assign(nq * H * d, 0);
  plain.assign(nq * H * d, 0);
  const int G = H / Hkv;
  std::vector<double> p(nk);
  for (int64_t i = 0; i < nq; ++i)
    for (int h = 0; h < H; ++h) {
      const int hk = h / G;
      double mx = -INFINITY;
      const int64_t lim = causal ? std::min<int64_t>(nk, q_off + i + 1) : nk;
      for (int64_t j = 0; j < lim; ++j) {
        double s = 0;
        for (int c = 0; c < d; ++c) s += double(q[(i * H + h) * d + c]) * k[(j * Hkv + hk) * d + c];
        p[j] = s * scale;
        mx = std::max(mx, p[j]);
      }
      double sum = 0;
      for (int64_t j = 0; j < lim; ++j) sum += (p[j] = std::exp(p[j] - mx));
      for (int c = 0; c < d; ++c) {
        double o = 0;
        for (int64_t j = 0; j < lim; ++j) o += p[j] * v[(j * Hkv + hk) * d + c];
        ref[(i * H + h) * d + c] = o / sum;
        plain[(i * H + h) * d + c] = round_bf16(static_cast<float>(o / sum));
      }
    }
}

struct Case {
  int64_t nq, nk;
  int H, Hkv, d;
  bool causal;
  int64_t q_off;
};

class FlashParity : public ::testing::TestWithParam<Case> {};

TEST_P(FlashParity, MatchesSoftmaxReference) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const Case c = GetParam();
  cuda::Context ctx(0);
  auto q = rand_bf16(c.nq * c.H * c.d, 1, -2.f, 2.f),
       k = rand_bf16(c.nk * c.Hkv * c.d, 2, -2.f, 2.f), v = rand_bf16(c.nk * c.Hkv * c.d, 3);
  const float scale = 1.f / std::sqrt(float(c.d));
  std::vector<double> ref;
  std::vector<float> plain;
  reference(q, k, v, c.nq, c.nk, c.H, c.Hkv, c.d, scale, c.causal, c.q_off, ref, plain);
  Tensor o = cuda::empty({c.nq, c.H, c.d}, DType::bf16, ctx);
  cuda::flash_attention(ctx, dev_bf16(ctx, {c.nq, c.H, c.d}, q),
                        dev_bf16(ctx, {c.nk, c.Hkv, c.d}, k), dev_bf16(ctx, {c.nk, c.Hkv, c.d}, v),
                        o, scale, c.causal, c.q_off);
  MVL_EXPECT_PARITY(download(ctx, o), plain, ref, 3.0, 1e-4);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, FlashParity,
    ::testing::Values(Case{1, 1, 8, 1, 128, true, 0},      // one token
                      Case{100, 100, 8, 2, 128, true, 0},  // causal GQA, not a multiple of 64
                      Case{257, 257, 4, 4, 128, true, 0},  // MHA causal
                      Case{3, 150, 16, 2, 128, true,
                           147},  // chunk continuation / multi-token decode
                      Case{1, 333, 64, 8, 128, true, 332},    // decode, released GQA shape
                      Case{1, 2000, 64, 8, 128, true, 1999},  // decode, split-K over the cache
                      Case{5, 2000, 16, 2, 128, true, 1995},  // multi-token decode, split-K, causal
                      Case{77, 77, 4, 4, 64, false, 0},       // ViT-like, d 64
                      Case{577, 577, 2, 2, 64, false, 0},     // one ViT tile (577 tokens)
                      // >= 128 query rows: the sm_90a wgmma kernel on Hopper.
                      Case{200, 200, 64, 8, 128, true, 0},     // released GQA shape, 2 row blocks
                      Case{1000, 1000, 8, 1, 128, true, 0},    // GQA 8, causal, ragged tail
                      Case{1000, 1000, 8, 8, 128, false, 0},   // MHA, not causal
                      Case{130, 1130, 8, 1, 128, true, 1000},  // chunk after 1000 cached keys
                      Case{4097, 4097, 1, 1, 128, true, 0},    // one past a 4096 multiple
                      Case{577, 577, 16, 16, 64, false, 0}));  // ViT heads, d 64

// The sm_90a kernel called directly (short lengths the dispatch keeps on the mma.sync kernel).
class Sm90Direct : public ::testing::TestWithParam<Case> {};

TEST_P(Sm90Direct, MatchesSoftmaxReference) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const Case c = GetParam();
  cuda::Context ctx(0);
  if (!cuda::flash_attention_sm90_available(ctx))
    GTEST_SKIP() << "needs a compute capability 9.x GPU";
  auto q = rand_bf16(c.nq * c.H * c.d, 11, -2.f, 2.f),
       k = rand_bf16(c.nk * c.Hkv * c.d, 12, -2.f, 2.f), v = rand_bf16(c.nk * c.Hkv * c.d, 13);
  const float scale = 1.f / std::sqrt(float(c.d));
  std::vector<double> ref;
  std::vector<float> plain;
  reference(q, k, v, c.nq, c.nk, c.H, c.Hkv, c.d, scale, c.causal, c.q_off, ref, plain);
  Tensor o = cuda::empty({c.nq, c.H, c.d}, DType::bf16, ctx);
  cuda::flash_attention_sm90(ctx, dev_bf16(ctx, {c.nq, c.H, c.d}, q),
                             dev_bf16(ctx, {c.nk, c.Hkv, c.d}, k),
                             dev_bf16(ctx, {c.nk, c.Hkv, c.d}, v), o, scale, c.causal, c.q_off);
  MVL_EXPECT_PARITY(download(ctx, o), plain, ref, 3.0, 1e-4);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, Sm90Direct,
    ::testing::Values(Case{1, 1, 8, 1, 128, true, 0},       // one token, one key
                      Case{63, 63, 8, 8, 128, true, 0},     // under one 64-row warpgroup
                      Case{64, 64, 8, 1, 128, true, 0},     // exactly one warpgroup, GQA 8
                      Case{65, 65, 8, 8, 128, false, 0},    // one row into the second
                      Case{200, 200, 16, 2, 128, true, 0},  // two CTAs, ragged keys
                      Case{1, 300, 8, 1, 128, true, 299},   // decode-shaped: q_offset
                      Case{65, 300, 8, 8, 128, true, 235},  // chunk continuation
                      Case{63, 129, 4, 4, 64, false, 0},    // d 64, keys one past a block
                      Case{200, 200, 8, 1, 64, true, 0}));  // d 64 causal GQA

// Batched, strided views (the ViT's fused qkv [B, n, 3, H, d] split by select): the TMA maps
// token / head / batch strides, zero-filled ragged tails per batch.
TEST(Sm90Direct, BatchedFusedQkvViews) {
  MVL_REQUIRE_GPU_OR_SKIP();
  cuda::Context ctx(0);
  if (!cuda::flash_attention_sm90_available(ctx))
    GTEST_SKIP() << "needs a compute capability 9.x GPU";
  for (const int d : {64, 128}) {
    const int64_t B = 2, n = 300, H = 4;
    auto qkv = rand_bf16(B * n * 3 * H * d, 21 + d, -2.f, 2.f);
    const float scale = 1.f / std::sqrt(float(d));
    Tensor dq = dev_bf16(ctx, {B, n, 3, H, d}, qkv);
    Tensor o = cuda::empty({B, n, H, d}, DType::bf16, ctx);
    cuda::flash_attention_sm90(ctx, dq.select(2, 0), dq.select(2, 1), dq.select(2, 2), o, scale,
                               d == 128);
    const auto got = download(ctx, o);
    for (int64_t b = 0; b < B; ++b) {
      std::vector<float> part[3];
      for (int i = 0; i < 3; ++i)
        for (int64_t t = 0; t < n; ++t) {
          const auto* row = qkv.data() + ((b * n + t) * 3 + i) * H * d;
          part[i].insert(part[i].end(), row, row + H * d);
        }
      std::vector<double> ref;
      std::vector<float> plain;
      reference(part[0], part[1], part[2], n, n, int(H), int(H), d, scale, d == 128, 0, ref, plain);
      std::vector<float> gb(got.begin() + b * n * H * d, got.begin() + (b + 1) * n * H * d);
      MVL_EXPECT_PARITY(gb, plain, ref, 3.0, 1e-4);
    }
  }
}

// Every d = 64 tuning of the sm_90a kernel (attention.h Sm90Tuning) on the ViT shape and on
// awkward ones: 577 keys (= 9 x 64 + 1 = 4 x 128 + 65), batches of 1..37 tiles, several query
// tiles per CTA (more than a sequence has, too), flat and persistent pipelines (with more CTAs
// than items in the small cases), odd key counts, n_q != n_k, causal (one tile per CTA
// whatever the tuning). The fp64 reference is computed once per shape.
struct D64Case {
  int64_t B, nq, nk;
  int H;
  bool causal;
  int64_t q_off;
};

class Sm90D64Tunings : public ::testing::TestWithParam<D64Case> {};

TEST_P(Sm90D64Tunings, EveryTuningMatchesTheReference) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const D64Case c = GetParam();
  const int d = 64;
  cuda::Context ctx(0);
  if (!cuda::flash_attention_sm90_available(ctx))
    GTEST_SKIP() << "needs a compute capability 9.x GPU";
  const int64_t qn = c.nq * c.H * d, kn = c.nk * c.H * d;
  auto q = rand_bf16(c.B * qn, 31, -2.f, 2.f), k = rand_bf16(c.B * kn, 32, -2.f, 2.f),
       v = rand_bf16(c.B * kn, 33);
  const float scale = 0.125f;
  std::vector<double> ref;
  std::vector<float> plain;
  for (int64_t b = 0; b < c.B; ++b) {
    std::vector<float> qb(q.begin() + b * qn, q.begin() + (b + 1) * qn),
        kb(k.begin() + b * kn, k.begin() + (b + 1) * kn),
        vb(v.begin() + b * kn, v.begin() + (b + 1) * kn);
    std::vector<double> r;
    std::vector<float> pl;
    reference(qb, kb, vb, c.nq, c.nk, c.H, c.H, d, scale, c.causal, c.q_off, r, pl);
    ref.insert(ref.end(), r.begin(), r.end());
    plain.insert(plain.end(), pl.begin(), pl.end());
  }
  const Tensor dq = dev_bf16(ctx, {c.B, c.nq, c.H, d}, q),
               dk = dev_bf16(ctx, {c.B, c.nk, c.H, d}, k),
               dv = dev_bf16(ctx, {c.B, c.nk, c.H, d}, v);
  const cuda::Sm90Tuning tunings[] = {
      {cuda::Sm90Tiling::k128, 1},         {cuda::Sm90Tiling::k128, 5},
      {cuda::Sm90Tiling::k64x1, 1},        {cuda::Sm90Tiling::k64x1, 2},
      {cuda::Sm90Tiling::k64x1, 5},        {cuda::Sm90Tiling::k64x1, 8},
      {cuda::Sm90Tiling::k64x2, 1},        {cuda::Sm90Tiling::k64x2, 5},
      {cuda::Sm90Tiling::k128f, 1},        {cuda::Sm90Tiling::k128f, 2},
      {cuda::Sm90Tiling::k128f, 5},        {cuda::Sm90Tiling::k64x1f, 1},
      {cuda::Sm90Tiling::k64x1f, 3},       {cuda::Sm90Tiling::k64x1f, 5},
      {cuda::Sm90Tiling::k64x1f, 8},       {cuda::Sm90Tiling::k128f, 1, true},
      {cuda::Sm90Tiling::k64x1f, 1, true}, {}};
  for (const cuda::Sm90Tuning& t : tunings) {
    SCOPED_TRACE(std::string(cuda::sm90_tiling_name(t.tiling)) + " tiles_per_cta " +
                 std::to_string(t.tiles_per_cta) + (t.persistent ? " persistent" : ""));
    // Stale values must not survive in any row.
    Tensor o = dev_bf16(ctx, {c.B, c.nq, c.H, d}, std::vector<float>(c.B * qn, 7.f));
    cuda::flash_attention_sm90(ctx, dq, dk, dv, o, scale, c.causal, c.q_off, t);
    const auto got = download(ctx, o);
    MVL_EXPECT_PARITY(got, plain, ref, 3.0, 1e-4);
    // The last token of the last sequence (the 577th row: alone in its 64-row block) by itself.
    const int64_t last = (c.B * c.nq - 1) * c.H * d;
    const std::vector<float> g_last(got.begin() + last, got.end()),
        p_last(plain.begin() + last, plain.end());
    const std::vector<double> r_last(ref.begin() + last, ref.end());
    MVL_EXPECT_PARITY(g_last, p_last, r_last, 3.0, 1e-3);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, Sm90D64Tunings,
    ::testing::Values(D64Case{1, 577, 577, 16, false, 0},    // one ViT tile, all 16 heads
                      D64Case{3, 577, 577, 4, false, 0},     // a few tiles
                      D64Case{37, 577, 577, 1, false, 0},    // the 37-tile batch (one head)
                      D64Case{2, 129, 129, 3, false, 0},     // one row / key past a block
                      D64Case{2, 200, 65, 2, false, 0},      // fewer keys than one 128 block
                      D64Case{1, 300, 1, 2, false, 0},       // one key
                      D64Case{1, 1000, 1000, 2, false, 0},   // 8 query tiles, 1000 = 15 x 64 + 40
                      D64Case{1, 300, 577, 2, false, 0},     // n_q != n_k
                      D64Case{2, 577, 577, 2, true, 0},      // causal: one tile per CTA
                      D64Case{1, 130, 707, 2, true, 577}));  // causal chunk after 577 cached keys

// Every d = 128 schedule of the sm_90a kernel (attention.h Sm90Tuning: k128 / k128f, one tile
// per CTA or persistent, with and without the LPT order) on causal GQA prefill: lengths around
// the 64-row warpgroup and 128-row tile edges, several sequences, more (batch, head, tile) items
// than SMs (8192 tokens: the persistent walks take several rounds), a chunk after cached keys,
// and non-causal shapes. Each tuning is its own test (tools/device/sfx_check.sh runs each in a
// process of its own). The fp64 reference covers a sample of rows of the long shapes (every
// 7th, 31st past 4096 rows, the first and last 130 of each sequence); the rule holds per (sequence,
// 128-row tile, head) group, so one wrong tile cannot hide in the total.
struct D128Case {
  int64_t B, nq, nk;
  int H, Hkv;
  bool causal;
  int64_t q_off;
};
struct NamedTuning {
  const char* name;
  cuda::Sm90Tuning tuning;
};
const NamedTuning kD128Tunings[] = {
    {"k128", {cuda::Sm90Tiling::k128, 1, false, false}},
    {"k128_lpt", {cuda::Sm90Tiling::k128, 1, false, true}},
    {"k128f", {cuda::Sm90Tiling::k128f, 1, false, false}},
    {"k128f_lpt", {cuda::Sm90Tiling::k128f, 1, false, true}},
    {"k128f_persistent", {cuda::Sm90Tiling::k128f, 1, true, false}},
    {"k128f_persistent_lpt", {cuda::Sm90Tiling::k128f, 1, true, true}},
    {"default", {}}};

class Sm90D128Schedules : public ::testing::TestWithParam<NamedTuning> {};

TEST_P(Sm90D128Schedules, EveryShapeMatchesTheReference) {
  MVL_REQUIRE_GPU_OR_SKIP();
  cuda::Context ctx(0);
  if (!cuda::flash_attention_sm90_available(ctx))
    GTEST_SKIP() << "needs a compute capability 9.x GPU";
  const int d = 128;
  const float scale = 1.f / std::sqrt(float(d));
  const D128Case cases[] = {{1, 1, 1, 8, 1, true, 0},         {2, 63, 63, 8, 2, true, 0},
                            {1, 64, 64, 8, 1, true, 0},       {3, 65, 65, 8, 2, true, 0},
                            {2, 127, 127, 16, 2, true, 0},    {2, 129, 129, 8, 8, true, 0},
                            {3, 1000, 1000, 16, 2, true, 0},  {1, 8192, 8192, 8, 1, true, 0},
                            {2, 130, 1130, 8, 1, true, 1000}, {2, 300, 300, 8, 2, false, 0},
                            {1, 200, 500, 4, 4, false, 0}};
  for (const D128Case& c : cases) {
    SCOPED_TRACE(fmt::format("B {} n_q {} n_k {} H {} Hkv {} causal {} q_offset {}", c.B, c.nq,
                             c.nk, c.H, c.Hkv, c.causal, c.q_off));
    const int64_t qn = c.nq * c.H * d, kn = c.nk * c.Hkv * d;
    auto q = rand_bf16(c.B * qn, 41, -2.f, 2.f), k = rand_bf16(c.B * kn, 42, -2.f, 2.f),
         v = rand_bf16(c.B * kn, 43);
    Tensor o = dev_bf16(ctx, {c.B, c.nq, c.H, d}, std::vector<float>(c.B * qn, 7.f));
    cuda::flash_attention_sm90(
        ctx, dev_bf16(ctx, {c.B, c.nq, c.H, d}, q), dev_bf16(ctx, {c.B, c.nk, c.Hkv, d}, k),
        dev_bf16(ctx, {c.B, c.nk, c.Hkv, d}, v), o, scale, c.causal, c.q_off, GetParam().tuning);
    const auto got = download(ctx, o);
    const int G = c.H / c.Hkv;
    // Per (b, tile, h) group: the kernel's, the plain bf16 and the fp64 rows checked.
    std::map<std::tuple<int64_t, int64_t, int>,
             std::tuple<std::vector<float>, std::vector<float>, std::vector<double>>>
        groups;
    std::vector<double> sc(c.nk), acc(d);
    for (int64_t b = 0; b < c.B; ++b)
      for (int64_t i = 0; i < c.nq; ++i) {
        const int64_t stride = c.nq > 4096 ? 31 : 7;
        if (c.nq > 512 && i % stride != 0 && i >= 130 && i < c.nq - 130) continue;
        const int64_t lim = c.causal ? std::min<int64_t>(c.nk, c.q_off + i + 1) : c.nk;
        for (int h = 0; h < c.H; ++h) {
          const float* qr = q.data() + b * qn + (i * c.H + h) * d;
          const int64_t hk = h / G;
          double mx = -INFINITY;
          for (int64_t j = 0; j < lim; ++j) {
            const float* kr = k.data() + b * kn + (j * c.Hkv + hk) * d;
            double dot = 0;
            for (int e = 0; e < d; ++e) dot += double(qr[e]) * kr[e];
            sc[j] = dot * scale;
            mx = std::max(mx, sc[j]);
          }
          double sum = 0;
          for (int64_t j = 0; j < lim; ++j) sum += (sc[j] = std::exp(sc[j] - mx));
          std::fill(acc.begin(), acc.end(), 0.0);
          for (int64_t j = 0; j < lim; ++j) {
            const float* vr = v.data() + b * kn + (j * c.Hkv + hk) * d;
            for (int e = 0; e < d; ++e) acc[e] += sc[j] * vr[e];
          }
          auto& [gv, pv, rv] = groups[{b, i / 128, h}];
          for (int e = 0; e < d; ++e) {
            rv.push_back(acc[e] / sum);
            pv.push_back(round_bf16(static_cast<float>(acc[e] / sum)));
            gv.push_back(got[b * qn + (i * c.H + h) * d + e]);
          }
        }
      }
    double worst = 0, worst_plain = 0;
    for (const auto& [key, val] : groups) {
      const auto& [gv, pv, rv] = val;
      const double e_cuda = rel_err(gv, rv), e_plain = rel_err(pv, rv);
      EXPECT_LE(e_cuda, 3.0 * e_plain + 1e-3)
          << "sequence " << std::get<0>(key) << " tile " << std::get<1>(key) << " head "
          << std::get<2>(key) << ": cuda rel err " << e_cuda << " vs plain bf16 " << e_plain;
      if (e_cuda > worst) worst = e_cuda, worst_plain = e_plain;
    }
    std::printf("  %s B %lld n_q %lld H %d/%d: %zu groups, worst cuda %.3g (plain %.3g)\n",
                GetParam().name, static_cast<long long>(c.B), static_cast<long long>(c.nq), c.H,
                c.Hkv, groups.size(), worst, worst_plain);
  }
}

INSTANTIATE_TEST_SUITE_P(Tunings, Sm90D128Schedules, ::testing::ValuesIn(kD128Tunings),
                         [](const ::testing::TestParamInfo<NamedTuning>& i) {
                           return std::string(i.param.name);
                         });

TEST(FlashParity, BatchedDecodeWithPerSequenceLengths) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const int B = 3, H = 16, Hkv = 2, d = 128;
  const int64_t cap = 200;
  const std::vector<int32_t> lens = {1, 64, 199};
  cuda::Context ctx(0);
  auto q = rand_bf16(B * H * d, 5, -2.f, 2.f), k = rand_bf16(B * cap * Hkv * d, 6, -2.f, 2.f),
       v = rand_bf16(B * cap * Hkv * d, 7);
  const float scale = 1.f / std::sqrt(float(d));
  Tensor o = cuda::empty({B, 1, H, d}, DType::bf16, ctx);
  cuda::flash_attention(ctx, dev_bf16(ctx, {B, 1, H, d}, q), dev_bf16(ctx, {B, cap, Hkv, d}, k),
                        dev_bf16(ctx, {B, cap, Hkv, d}, v), o, scale, true, 0, dev_i32(ctx, lens));
  auto got = download(ctx, o);
  for (int b = 0; b < B; ++b) {
    std::vector<float> qb(q.begin() + b * H * d, q.begin() + (b + 1) * H * d);
    std::vector<float> kb(k.begin() + b * cap * Hkv * d, k.begin() + (b * cap + lens[b]) * Hkv * d);
    std::vector<float> vb(v.begin() + b * cap * Hkv * d, v.begin() + (b * cap + lens[b]) * Hkv * d);
    std::vector<double> ref;
    std::vector<float> plain;
    reference(qb, kb, vb, 1, lens[b], H, Hkv, d, scale, true, lens[b] - 1, ref, plain);
    std::vector<float> gb(got.begin() + b * H * d, got.begin() + (b + 1) * H * d);
    MVL_EXPECT_PARITY(gb, plain, ref, 3.0, 1e-4);
  }
}

}  // namespace
}  // namespace mvl
#else
TEST(FlashParityNoCuda, SkipsWithoutTheCudaBackend) {
  MVL_REQUIRE_GPU_OR_SKIP();
}
#endif
