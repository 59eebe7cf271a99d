// Every lightning prefill variant (kernels/cuda/lightning.h: the mma.sync kernels of
// lightning.cu and the sm_90a wgmma kernels of lightning_sm90.cu) against the CPU twin
// (kernels/cpu lightning_recurrent, f32): lengths around and between the 64-token chunks
// (1 .. 1023, odd, not multiples of 64) with and without a carried-in state, several packed
// sequences (one empty) with their own states read through strided views of a fused qkv
// buffer, and a prefill split between two variants (the state handed over in f32).
// Rule (design.md): err(cuda) <= 4 x err(plain bf16: f32 recurrence, o = q·bf16(S), bf16 out)
// + 1e-4 against the twin; final states within 3e-3 relative. Test names end in the variant's
// name (ws, dv32, dv64, sm90s2..4, sm90r2..4, sm90w2..4), so one variant runs alone with
// --gtest_filter='*/NAME_*:*/NAME' (tools/device/lin_check.sh: a kernel fault then
// costs only that variant). Variants a GPU cannot run (sm90 off Hopper) skip.
// Without the CUDA backend the file is one skipping test.
#include "tests/support/test_util.h"

#ifdef MVL_HAVE_CUDA
#include <cmath>
#include <cstdio>

#include "kernels/cpu/lightning.h"
#include "kernels/cuda/lightning.h"
#include "tests/gpu/gpu_test_util.h"

namespace mvl {
namespace {

using namespace gpu_test;
constexpr int kD = 128;

// Every variant with the name the bench and tools/device/lin_check.sh use (test names start
// with it after the '/', so `--gtest_filter='*/sm90r3_*:*/sm90r3'` runs one variant alone).
struct Variant {
  int id;
  const char* name;
};
const Variant kVariants[] = {
    {cuda::kLightningPrefillWs, "ws"},         {cuda::kLightningPrefillDv32, "dv32"},
    {cuda::kLightningPrefillDv64, "dv64"},     {cuda::kLightningPrefillSm90S2, "sm90s2"},
    {cuda::kLightningPrefillSm90S3, "sm90s3"}, {cuda::kLightningPrefillSm90S4, "sm90s4"},
    {cuda::kLightningPrefillSm90R2, "sm90r2"}, {cuda::kLightningPrefillSm90R3, "sm90r3"},
    {cuda::kLightningPrefillSm90R4, "sm90r4"}, {cuda::kLightningPrefillSm90W2, "sm90w2"},
    {cuda::kLightningPrefillSm90W3, "sm90w3"}, {cuda::kLightningPrefillSm90W4, "sm90w4"}};
void PrintTo(const Variant& v, std::ostream* os) {
  *os << v.name;
}

// Slopes of layer 40, heads 0, 31, 63 (spec §6.4.2): strong, medium, weak decay.
const std::vector<float> kSlopes = {4.52707e-01f, 3.08551e-02f, 1.92844e-03f};

struct Ref {
  std::vector<float> o, state, o_plain;  // twin o [n, H, d], twin state [H, d, d], plain bf16 o
};

// q, k, v [n, H, d] (bf16-exact), state0 [H, d, d] or empty.
Ref reference(const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v,
              int64_t n, int H, const std::vector<float>& state0) {
  Ref r;
  r.o.assign(size_t(n) * H * kD, 0.f);
  r.state = state0.empty() ? std::vector<float>(size_t(H) * kD * kD, 0.f) : state0;
  cpu::LightningArgs a{};
  a.q = q.data();
  a.q_s0 = H * kD;
  a.q_s1 = kD;
  a.k = k.data();
  a.k_s0 = H * kD;
  a.k_s1 = kD;
  a.v = v.data();
  a.v_s0 = H * kD;
  a.v_s1 = kD;
  a.slopes = kSlopes.data();
  a.state = r.state.data();
  a.out = r.o.data();
  a.n = n;
  a.heads = H;
  a.d = kD;
  cpu::lightning_recurrent(a);
  // The plain bf16 implementation the rule compares with.
  r.o_plain.assign(r.o.size(), 0.f);
  for (int h = 0; h < H; ++h) {
    std::vector<float> S(kD * kD, 0.f);
    if (!state0.empty()) std::copy_n(&state0[size_t(h) * kD * kD], kD * kD, S.begin());
    const float lam = std::exp(-kSlopes[h]);
    for (int64_t t = 0; t < n; ++t) {
      const float* qt = &q[(t * H + h) * kD];
      const float* kt = &k[(t * H + h) * kD];
      const float* vt = &v[(t * H + h) * kD];
      for (int i = 0; i < kD; ++i)
        for (int j = 0; j < kD; ++j) S[i * kD + j] = lam * S[i * kD + j] + kt[i] * vt[j];
      for (int j = 0; j < kD; ++j) {
        float s = 0.f;
        for (int i = 0; i < kD; ++i) s += qt[i] * round_bf16(S[i * kD + j]);
        r.o_plain[(t * H + h) * kD + j] = round_bf16(s);
      }
    }
  }
  return r;
}

std::vector<float> slice(const std::vector<float>& a, size_t from, size_t count) {
  return std::vector<float>(a.begin() + from, a.begin() + from + count);
}

bool runs(const cuda::Context& ctx, int variant) {
  if (cuda::lightning_prefill_variant_available(ctx, variant)) return true;
  std::printf("  variant %d: not available on this GPU, skipped\n", variant);
  return false;
}

class LightningPrefillVariants : public ::testing::TestWithParam<std::tuple<Variant, int64_t>> {};

TEST_P(LightningPrefillVariants, MatchCpuTwinWithAndWithoutState) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const auto [variant, n] = GetParam();
  const int H = static_cast<int>(kSlopes.size());
  cuda::Context ctx(0);
  if (!runs(ctx, variant.id)) GTEST_SKIP() << variant.name << " needs another GPU";
  const auto q = rand_bf16(n * H * kD, 11 + n, -0.3f, 1.f);
  const auto k = rand_bf16(n * H * kD, 12 + n, -0.3f, 1.f);
  const auto v = rand_bf16(n * H * kD, 13 + n, -0.3f, 1.f);
  Tensor dq = dev_bf16(ctx, {n, H, kD}, q), dk = dev_bf16(ctx, {n, H, kD}, k),
         dv = dev_bf16(ctx, {n, H, kD}, v), slopes = dev_f32(ctx, {H}, kSlopes);
  for (bool with_state : {false, true}) {
    SCOPED_TRACE(testing::Message()
                 << "n " << n << " variant " << variant.id << " with_state " << with_state);
    const std::vector<float> st0 =
        with_state ? rand_bf16(size_t(H) * kD * kD, 5, -0.5f, 0.5f) : std::vector<float>{};
    const Ref ref = reference(q, k, v, n, H, st0);
    Tensor o = cuda::empty({n, H, kD}, DType::bf16, ctx);
    Tensor st = with_state ? dev_f32(ctx, {1, H, kD, kD}, st0)
                           : cuda::zeros({1, H, kD, kD}, DType::f32, ctx);
    cuda::lightning_prefill(ctx, dq, dk, dv, slopes, st, o, Tensor(), variant.id);
    MVL_EXPECT_PARITY(download(ctx, o), ref.o_plain, ref.o, 4.0, 1e-4);
    EXPECT_LE(rel_err(download(ctx, st), ref.state), 3e-3);
  }
}

INSTANTIATE_TEST_SUITE_P(Lengths, LightningPrefillVariants,
                         ::testing::Combine(::testing::ValuesIn(kVariants),
                                            ::testing::Values(1, 2, 31, 63, 64, 65, 127, 129, 191,
                                                              333, 1023)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param).name) + "_n" +
                                  std::to_string(std::get<1>(info.param));
                         });

class LightningPrefillVariantsPacked : public ::testing::TestWithParam<Variant> {};

TEST_P(LightningPrefillVariantsPacked, SequencesWithOwnStatesThroughFusedViews) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const Variant variant = GetParam();
  const int H = static_cast<int>(kSlopes.size());
  const std::vector<int64_t> lens = {1, 0, 64, 77, 130, 200};
  std::vector<int32_t> cu = {0};
  for (int64_t l : lens) cu.push_back(cu.back() + static_cast<int32_t>(l));
  const int64_t T = cu.back(), S = static_cast<int64_t>(lens.size());
  cuda::Context ctx(0);
  if (!runs(ctx, variant.id)) GTEST_SKIP() << variant.name << " needs another GPU";
  const auto q = rand_bf16(T * H * kD, 31, -0.3f, 1.f), k = rand_bf16(T * H * kD, 32, -0.3f, 1.f),
             v = rand_bf16(T * H * kD, 33, -0.3f, 1.f);
  const auto st0 = rand_bf16(size_t(S) * H * kD * kD, 34, -0.5f, 0.5f);
  // Per token, per head [q | k | v], as the fused qkv projection writes it.
  std::vector<float> fused(size_t(T) * H * 3 * kD);
  for (int64_t t = 0; t < T; ++t)
    for (int h = 0; h < H; ++h)
      for (int j = 0; j < kD; ++j) {
        const size_t b = (size_t(t) * H + h) * 3 * kD, i = (size_t(t) * H + h) * kD + j;
        fused[b + j] = q[i];
        fused[b + kD + j] = k[i];
        fused[b + 2 * kD + j] = v[i];
      }
  Tensor f = dev_bf16(ctx, {T, H, 3 * kD}, fused);
  Tensor slopes = dev_f32(ctx, {H}, kSlopes), cu_dev = dev_i32(ctx, cu);
  std::vector<Ref> refs;
  const size_t per_state = size_t(H) * kD * kD;
  for (int64_t s = 0; s < S; ++s) {
    const size_t off = size_t(cu[s]) * H * kD, cnt = size_t(lens[s]) * H * kD;
    refs.push_back(reference(slice(q, off, cnt), slice(k, off, cnt), slice(v, off, cnt), lens[s], H,
                             slice(st0, s * per_state, per_state)));
  }
  {
    SCOPED_TRACE(testing::Message() << "variant " << variant.id);
    Tensor o = cuda::empty({T, H, kD}, DType::bf16, ctx);
    Tensor st = dev_f32(ctx, {S, H, kD, kD}, st0);
    cuda::lightning_prefill(ctx, f.slice(2, 0, kD), f.slice(2, kD, 2 * kD),
                            f.slice(2, 2 * kD, 3 * kD), slopes, st, o, cu_dev, variant.id);
    const auto got_o = download(ctx, o), got_s = download(ctx, st);
    for (int64_t s = 0; s < S; ++s) {
      SCOPED_TRACE(testing::Message() << "sequence " << s << " of length " << lens[s]);
      const auto gs = slice(got_s, s * per_state, per_state);
      if (lens[s] == 0) {
        EXPECT_TRUE(gs == slice(st0, s * per_state, per_state))
            << "an empty sequence keeps its state";
        continue;
      }
      const auto go = slice(got_o, size_t(cu[s]) * H * kD, size_t(lens[s]) * H * kD);
      MVL_EXPECT_PARITY(go, refs[s].o_plain, refs[s].o, 4.0, 1e-4);
      EXPECT_LE(rel_err(gs, refs[s].state), 3e-3);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Packed, LightningPrefillVariantsPacked, ::testing::ValuesIn(kVariants),
                         [](const auto& info) { return std::string(info.param.name); });

// The prefix with one variant, the rest (from the f32 state it left) with another.
class LightningPrefillVariantsHandOver
    : public ::testing::TestWithParam<std::tuple<Variant, Variant>> {};

TEST_P(LightningPrefillVariantsHandOver, PrefixWithOneVariantRestWithAnother) {
  MVL_REQUIRE_GPU_OR_SKIP();
  const auto [first, second] = GetParam();
  const int H = static_cast<int>(kSlopes.size());
  const int64_t na = 300, n = 700;  // the split is not on a chunk boundary
  cuda::Context ctx(0);
  if (!runs(ctx, first.id) || !runs(ctx, second.id)) GTEST_SKIP() << "needs another GPU";
  SCOPED_TRACE(testing::Message() << "variants " << first.id << " then " << second.id);
  const auto q = rand_bf16(n * H * kD, 41, -0.3f, 1.f), k = rand_bf16(n * H * kD, 42, -0.3f, 1.f),
             v = rand_bf16(n * H * kD, 43, -0.3f, 1.f);
  const Ref ref = reference(q, k, v, n, H, {});
  Tensor dq = dev_bf16(ctx, {n, H, kD}, q), dk = dev_bf16(ctx, {n, H, kD}, k),
         dv = dev_bf16(ctx, {n, H, kD}, v), slopes = dev_f32(ctx, {H}, kSlopes);
  Tensor o = cuda::empty({n, H, kD}, DType::bf16, ctx);
  Tensor st = cuda::zeros({1, H, kD, kD}, DType::f32, ctx);
  cuda::lightning_prefill(ctx, dq.slice(0, 0, na), dk.slice(0, 0, na), dv.slice(0, 0, na), slopes,
                          st, o.slice(0, 0, na), Tensor(), first.id);
  cuda::lightning_prefill(ctx, dq.slice(0, na, n), dk.slice(0, na, n), dv.slice(0, na, n), slopes,
                          st, o.slice(0, na, n), Tensor(), second.id);
  MVL_EXPECT_PARITY(download(ctx, o), ref.o_plain, ref.o, 4.0, 1e-4);
  EXPECT_LE(rel_err(download(ctx, st), ref.state), 3e-3);
}

// Named after the variant under test (the second one when it is new, else the first):
// "sm90s3_first_ws" = sm90s3 then ws, "sm90r4_second_sm90s2" = sm90s2 then sm90r4, so the
// per-variant filter blames a failure on that variant and never on ws.
std::string handover_name(const testing::TestParamInfo<std::tuple<Variant, Variant>>& info) {
  const Variant first = std::get<0>(info.param), second = std::get<1>(info.param);
  if (second.id > cuda::kLightningPrefillDv64)
    return std::string(second.name) + "_second_" + first.name;
  return std::string(first.name) + "_first_" + second.name;
}

// Each sm90 variant after and before the old default (ws), and one family after the other.
INSTANTIATE_TEST_SUITE_P(HandOver, LightningPrefillVariantsHandOver,
                         ::testing::Values(std::tuple{kVariants[0], kVariants[4]},
                                           std::tuple{kVariants[4], kVariants[0]},
                                           std::tuple{kVariants[0], kVariants[7]},
                                           std::tuple{kVariants[7], kVariants[0]},
                                           std::tuple{kVariants[3], kVariants[8]},
                                           std::tuple{kVariants[0], kVariants[10]},
                                           std::tuple{kVariants[10], kVariants[0]}),
                         handover_name);

TEST(LightningPrefillVariantsArgs, UnknownVariantIsRejected) {
  MVL_REQUIRE_GPU_OR_SKIP();
  cuda::Context ctx(0);
  const int H = 1;
  Tensor x = cuda::zeros({4, H, kD}, DType::bf16, ctx),
         o = cuda::empty({4, H, kD}, DType::bf16, ctx);
  Tensor st = cuda::zeros({1, H, kD, kD}, DType::f32, ctx), slopes = dev_f32(ctx, {H}, {0.1f});
  EXPECT_FALSE(cuda::lightning_prefill_variant_available(ctx, 7));
  EXPECT_THROW(cuda::lightning_prefill(ctx, x, x, x, slopes, st, o, Tensor(), 7), Error);
}

}  // namespace
}  // namespace mvl
#else
TEST(LightningPrefillVariantsNoCuda, SkipsWithoutTheCudaBackend) {
  MVL_REQUIRE_GPU_OR_SKIP();
}
#endif
