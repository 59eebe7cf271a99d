// cuda::argmax (the two-pass row argmax of kernels/cuda/argmax.cu) against its CPU twin
// cpu::argmax_checked, row by row: widths around the 2048-value chunk, the decode vocabulary,
// ties inside one chunk and across chunks (the lowest index wins), maxima on chunk edges,
// rows of -inf, rows of NaN (index 0), NaN and +Inf flags, f32 and bf16, one and many rows.
#include "tests/support/test_util.h"

#ifdef MVL_HAVE_CUDA
#include <cmath>
#include <limits>

#include "kernels/cpu/sampling.h"
#include "kernels/cuda/tensor_ops.h"
#include "tests/gpu/gpu_test_util.h"

namespace mvl {
namespace {

using namespace gpu_test;

constexpr float kInf = std::numeric_limits<float>::infinity();

struct Case {
  const char* what;
  int64_t rows, V;
  // Edits row r of the random values (already rounded to bf16).
  void (*edit)(std::vector<float>& row, int64_t r);
};

// Runs one case in f32 and bf16 and compares every row's id and flag with the CPU twin.
void check_case(const cuda::Context& ctx, const Case& c, uint32_t seed) {
  std::vector<float> x = rand_bf16(static_cast<size_t>(c.rows * c.V), seed, -4.f, 4.f);
  for (int64_t r = 0; r < c.rows; ++r) {
    std::vector<float> row(x.begin() + r * c.V, x.begin() + (r + 1) * c.V);
    if (c.edit) c.edit(row, r);
    std::copy(row.begin(), row.end(), x.begin() + r * c.V);
  }
  for (const bool bf16 : {false, true}) {
    const Tensor in = bf16 ? dev_bf16(ctx, {c.rows, c.V}, x) : dev_f32(ctx, {c.rows, c.V}, x);
    Tensor ids = cuda::empty({c.rows}, DType::i32, ctx);
    Tensor bad = cuda::empty({c.rows}, DType::i32, ctx);
    cuda::argmax(ctx, in, ids, bad);
    const Tensor hi = cuda::to_host(ids, ctx), hb = cuda::to_host(bad, ctx);
    for (int64_t r = 0; r < c.rows; ++r) {
      bool want_bad = false;
      const int32_t want = cpu::argmax_checked(x.data() + r * c.V, c.V, &want_bad);
      ASSERT_EQ(hi.data<int32_t>()[r], want)
          << c.what << ", " << (bf16 ? "bf16" : "f32") << ", row " << r << " of " << c.rows
          << ", V " << c.V;
      ASSERT_EQ(hb.data<int32_t>()[r], want_bad ? 1 : 0)
          << c.what << ", " << (bf16 ? "bf16" : "f32") << ", row " << r;
    }
    // Without the flag output the ids are the same.
    Tensor ids2 = cuda::empty({c.rows}, DType::i32, ctx);
    cuda::argmax(ctx, in, ids2);
    const Tensor h2 = cuda::to_host(ids2, ctx);
    for (int64_t r = 0; r < c.rows; ++r) ASSERT_EQ(h2.data<int32_t>()[r], hi.data<int32_t>()[r]);
  }
}

TEST(ArgmaxCuda, MatchesTheCpuTwinOnAwkwardRows) {
  MVL_REQUIRE_GPU_OR_SKIP();
  cuda::Context ctx(0);
  const Case cases[] = {
      {"one value", 1, 1, nullptr},
      {"one warp's worth", 2, 31, nullptr},
      {"chunk - 1", 3, 2047, nullptr},
      {"one chunk", 3, 2048, nullptr},
      {"chunk + 1, max in the spill", 3, 2049, [](std::vector<float>& v, int64_t) { v[2048] = 9.f; }},
      {"decode vocabulary", 1, 200064, nullptr},
      {"odd vocabulary, 64 rows", 64, 200063, nullptr},
      {"ties across chunks: the lowest index", 4, 10000,
       [](std::vector<float>& v, int64_t r) {
         v[9999 - r] = 9.f;
         v[4096 + r] = 9.f;
         v[2047 + r] = 9.f;
       }},
      {"ties in one thread's values", 2, 4096,
       [](std::vector<float>& v, int64_t) {
         v[256 * 5 + 7] = 9.f;
         v[256 * 2 + 7] = 9.f;
       }},
      {"max on chunk edges", 3, 8192,
       [](std::vector<float>& v, int64_t r) { v[r == 0 ? 0 : r == 1 ? 2047 : 8191] = 9.f; }},
      {"all -inf: index 0", 2, 5000,
       [](std::vector<float>& v, int64_t) { std::fill(v.begin(), v.end(), -kInf); }},
      {"all NaN: index 0, flagged", 2, 5000,
       [](std::vector<float>& v, int64_t) { std::fill(v.begin(), v.end(), NAN); }},
      {"NaN before the max: flagged, NaN never wins", 2, 70000,
       [](std::vector<float>& v, int64_t r) {
         v[3 + r] = NAN;
         v[60000] = 8.f;
       }},
      {"+Inf wins and is flagged", 2, 70000, [](std::vector<float>& v, int64_t r) { v[65536 + r] = kInf; }},
      {"-inf except one late chunk", 2, 30000,
       [](std::vector<float>& v, int64_t) {
         std::fill(v.begin(), v.end(), -kInf);
         v[29999] = -3.f;
       }},
      {"NaN chunks then -inf", 1, 9000,
       [](std::vector<float>& v, int64_t) {
         std::fill(v.begin(), v.begin() + 4096, NAN);
         std::fill(v.begin() + 4096, v.end(), -kInf);
       }},
  };
  uint32_t seed = 70;
  for (const Case& c : cases) check_case(ctx, c, seed++);
}

}  // namespace
}  // namespace mvl
#else
TEST(ArgmaxCudaNoCuda, SkipsWithoutTheCudaBackend) { MVL_REQUIRE_GPU_OR_SKIP(); }
#endif
