// Flash-decoding (kernels/cuda/attention_decode.cu, reached through cuda::flash_attention for
// one query token) against the CPU twin cpu::attention and an fp64 reference: B = 1, 3, 16;
// lengths 1, 17, 1000, 32768 and lengths that are no multiple of the 16-key chunk, the 64-key
// split unit or the split size; ragged lengths within a batch; a cache much longer than the
// length; GQA groups 8, 4 and 1; forced split counts (1: no merge; more splits than a short
// sequence fills: splits that exit at once); and replays of a captured CUDA graph after kv_lens changed on the device. Cache rows past
// each sequence's length hold NaN, so a kernel that reads them fails.
// Rule (as tests/gpu/attention_test.cpp): err(cuda) <= 3 x err(plain bf16) + 1e-4 against the
// fp64 reference, where plain bf16 = cpu::attention (f32 scores and softmax) rounded to bf16.
// Without the CUDA backend the file reduces to one test that skips, or fails under
// MVL_REQUIRE_GPU=1.
#include "tests/support/test_util.h"

#ifdef MVL_HAVE_CUDA
#include <cmath>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include "kernels/cpu/attention.h"
#include "kernels/cuda/attention.h"
#include "kernels/cuda/graph.h"
#include "tests/gpu/gpu_test_util.h"

namespace mvl {
namespace {

using namespace gpu_test;

constexpr int kD = 128;

// A batch of decode problems: q [B, 1, H, d], caches [B, cap, Hkv, d] whose rows past
// lens[b] are NaN.
struct Problem {
  int B, H, Hkv, cap;
  std::vector<int32_t> lens;
  std::vector<float> q, k, v;

  Problem(int B_, int H_, int Hkv_, int cap_, std::vector<int32_t> lens_, uint32_t seed)
      : B(B_), H(H_), Hkv(Hkv_), cap(cap_), lens(std::move(lens_)) {
    q = rand_bf16(size_t(B) * H * kD, seed, -2.f, 2.f);
    k = rand_bf16(size_t(B) * cap * Hkv * kD, seed + 1, -2.f, 2.f);
    v = rand_bf16(size_t(B) * cap * Hkv * kD, seed + 2);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (int b = 0; b < B; ++b)
      for (size_t i = (size_t(b) * cap + lens[b]) * Hkv * kD; i < size_t(b + 1) * cap * Hkv * kD;
           ++i)
        k[i] = v[i] = nan;
  }

  // Sequence b's fp64 reference and plain bf16 result (cpu::attention rounded to bf16).
  void expected(int b, std::vector<double>& ref, std::vector<float>& plain) const {
    const int len = lens[b], G = H / Hkv;
    const float scale = 1.f / std::sqrt(float(kD));
    const float* qb = q.data() + size_t(b) * H * kD;
    const float* kb = k.data() + size_t(b) * cap * Hkv * kD;
    const float* vb = v.data() + size_t(b) * cap * Hkv * kD;
    ref.assign(size_t(H) * kD, 0.0);
    std::vector<double> p(std::max(len, 1));
    for (int h = 0; h < H && len > 0; ++h) {
      const int hk = h / G;
      double mx = -INFINITY;
      for (int j = 0; j < len; ++j) {
        double s = 0;
        for (int c = 0; c < kD; ++c)
          s += double(qb[h * kD + c]) * kb[(size_t(j) * Hkv + hk) * kD + c];
        mx = std::max(mx, p[j] = s * scale);
      }
      double sum = 0;
      for (int j = 0; j < len; ++j) sum += (p[j] = std::exp(p[j] - mx));
      for (int j = 0; j < len; ++j) {
        const double pj = p[j] / sum;
        for (int c = 0; c < kD; ++c) ref[h * kD + c] += pj * vb[(size_t(j) * Hkv + hk) * kD + c];
      }
    }
    plain.assign(size_t(H) * kD, 0.f);
    cpu::AttentionArgs a{qb,
                         int64_t(H) * kD,
                         kD,
                         kb,
                         int64_t(Hkv) * kD,
                         kD,
                         vb,
                         int64_t(Hkv) * kD,
                         kD,
                         plain.data(),
                         1,
                         len,
                         H,
                         Hkv,
                         kD,
                         scale,
                         true,
                         len - 1};
    cpu::attention(a);
    for (float& x : plain) x = round_bf16(x);
  }

  void check(const std::vector<float>& got, const std::string& what) const {
    for (int b = 0; b < B; ++b) {
      SCOPED_TRACE(what + ", sequence " + std::to_string(b) + " of length " +
                   std::to_string(lens[b]));
      std::vector<double> ref;
      std::vector<float> plain;
      expected(b, ref, plain);
      const std::vector<float> gb(got.begin() + size_t(b) * H * kD,
                                  got.begin() + size_t(b + 1) * H * kD);
      MVL_EXPECT_PARITY(gb, plain, ref, 3.0, 1e-4);
    }
  }
};

struct DevProblem {
  Tensor q, k, v, lens, o;
  DevProblem(const cuda::Context& ctx, const Problem& p)
      : q(dev_bf16(ctx, {p.B, 1, p.H, kD}, p.q)),
        k(dev_bf16(ctx, {p.B, p.cap, p.Hkv, kD}, p.k)),
        v(dev_bf16(ctx, {p.B, p.cap, p.Hkv, kD}, p.v)),
        lens(dev_i32(ctx, p.lens)),
        o(cuda::empty({p.B, 1, p.H, kD}, DType::bf16, ctx)) {}
};

struct Case {
  const char* name;
  int B, H, Hkv, cap;
  std::vector<int32_t> lens;
  bool kv_lens;  // false: every length equals cap, passed as causal q_offset = cap - 1
  int splits;    // 0: flash_attention's dispatch (automatic splits); > 0: flash_decode forced
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

class FlashDecodeParity : public ::testing::TestWithParam<Case> {};

TEST_P(FlashDecodeParity, MatchesCpuReference) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const Case c = GetParam();
  cuda::Context ctx(0);
  ASSERT_TRUE(cuda::flash_decode_supported(1, c.H, c.Hkv, kD));
  const Problem p(c.B, c.H, c.Hkv, c.cap, c.lens, 101);
  DevProblem d(ctx, p);
  const float scale = 1.f / std::sqrt(float(kD));
  const Tensor lens = c.kv_lens ? d.lens : Tensor();
  const int64_t q_off = c.kv_lens ? 0 : c.cap - 1;
  if (c.splits == 0)
    cuda::flash_attention(ctx, d.q, d.k, d.v, d.o, scale, true, q_off, lens);
  else
    cuda::flash_decode(ctx, d.q, d.k, d.v, d.o, scale, true, q_off, lens, c.splits);
  std::printf("  %s: automatic splits %d\n", c.name,
              cuda::flash_decode_splits(ctx, c.B, c.Hkv, c.cap));
  const auto got = download(ctx, d.o);
  p.check(got, c.name);
  // Deterministic: a second run gives the same bits.
  if (c.splits == 0)
    cuda::flash_attention(ctx, d.q, d.k, d.v, d.o, scale, true, q_off, lens);
  else
    cuda::flash_decode(ctx, d.q, d.k, d.v, d.o, scale, true, q_off, lens, c.splits);
  EXPECT_EQ(download(ctx, d.o), got);
}

std::vector<int32_t> ragged16() {
  return {1, 17, 64, 65, 1000, 1023, 1025, 4096, 4095, 2048, 3001, 15, 16, 333, 777, 4000};
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, FlashDecodeParity,
    ::testing::Values(
        Case{"one key", 1, 64, 8, 1, {1}, false, 0}, Case{"17 keys", 1, 64, 8, 17, {17}, false, 0},
        Case{"1000 keys", 1, 64, 8, 1000, {1000}, false, 0},
        Case{"32K keys (the bench shape)", 1, 64, 8, 32768, {32768}, false, 0},
        Case{"32K cache, kv_lens one short", 1, 64, 8, 32768, {32767}, true, 0},
        Case{"4000 keys of a 40000-key cache", 1, 64, 8, 40000, {4000}, true, 0},
        Case{"B=3 ragged over a 32K+ cache", 3, 64, 8, 32800, {32768, 17, 1000}, true, 0},
        Case{"B=3 ragged, short", 3, 64, 8, 1100, {1, 1025, 999}, true, 0},
        Case{"B=16 ragged", 16, 64, 8, 4096, ragged16(), true, 0},
        Case{"B=16 full", 16, 64, 8, 1000, std::vector<int32_t>(16, 1000), false, 0},
        Case{"GQA 4", 2, 16, 4, 700, {700, 1}, true, 0}, Case{"MHA", 1, 4, 4, 333, {333}, false, 0},
        Case{"one split (no merge)", 2, 64, 8, 2000, {1999, 3}, true, 1},
        Case{"7 splits", 1, 64, 8, 5000, {4321}, true, 7},
        Case{"splits past the length", 2, 64, 8, 20000, {100, 19999}, true, 200},
        Case{"empty sequence", 2, 64, 8, 300, {0, 300}, true, 0},
        Case{"empty sequence, one split", 2, 64, 8, 300, {300, 0}, true, 1}),
    [](const ::testing::TestParamInfo<Case>& i) { return "case" + std::to_string(i.index); });

// The product's decode graph: captured once, replayed after kv_lens changed on the device.
TEST(FlashDecode, GraphReplayFollowsKvLens) {
  MVL_REQUIRE_GPU_OR_SKIP();
  cuda::Context ctx(0);
  const float scale = 1.f / std::sqrt(float(kD));
  const int cap = 4500;
  const std::vector<std::vector<int32_t>> steps = {{100, 4500}, {4433, 1}, {2049, 2050}};
  // One Problem per step (same data, NaN past that step's lengths); the device copy holds the
  // first step's data with finite values everywhere the later steps read.
  Problem all(2, 64, 8, cap, {cap, cap}, 7);
  DevProblem d(ctx, all);
  const Tensor lens = dev_i32(ctx, steps[0]);
  cuda::flash_attention(ctx, d.q, d.k, d.v, d.o, scale, true, 0, lens);  // eager: sizes the scratch
  const auto eager0 = download(ctx, d.o);
  cuda::Graph graph = cuda::Graph::capture(
      ctx, [&] { cuda::flash_attention(ctx, d.q, d.k, d.v, d.o, scale, true, 0, lens); });
  for (size_t s = 0; s < steps.size(); ++s) {
    cuda::copy(dev_i32(ctx, steps[s]), lens, ctx);
    graph.launch();
    const auto got = download(ctx, d.o);
    Problem p = all;
    p.lens = steps[s];
    p.check(got, "graph replay " + std::to_string(s));
    if (s == 0) {
      EXPECT_EQ(got, eager0);
    }
  }
  // B = 1 with the product's 3-D shapes: q [1, H, d], caches [cap, Hkv, d].
  const Tensor q1 = d.q.select(0, 0), k1 = d.k.select(0, 1), v1 = d.v.select(0, 1);
  const Tensor o1 = cuda::empty({1, 64, kD}, DType::bf16, ctx), len1 = dev_i32(ctx, {cap});
  cuda::flash_attention(ctx, q1, k1, v1, o1, scale, true, 0, len1);
  cuda::Graph g1 = cuda::Graph::capture(
      ctx, [&] { cuda::flash_attention(ctx, q1, k1, v1, o1, scale, true, 0, len1); });
  for (int32_t len : {cap, 1, 777}) {
    cuda::copy(dev_i32(ctx, {len}), len1, ctx);
    g1.launch();
    const auto got = download(ctx, o1);
    Problem p(1, 64, 8, cap, {len}, 0);
    p.q.assign(all.q.begin(), all.q.begin() + 64 * kD);
    p.k.assign(all.k.begin() + size_t(cap) * 8 * kD, all.k.end());
    p.v.assign(all.v.begin() + size_t(cap) * 8 * kD, all.v.end());
    p.check(got, "3-D graph replay, length " + std::to_string(len));
  }
}

}  // namespace
}  // namespace mvl
#else
TEST(FlashDecodeNoCuda, SkipsWithoutTheCudaBackend) {
  MVL_REQUIRE_GPU_OR_SKIP();
}
#endif
