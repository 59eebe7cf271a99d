// Plain CPU linear with f32 accumulation.
#include "kernels/cpu/linear.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/parallel.h"

namespace mvl::cpu {

namespace {
// The f32 dot product (dot_f32, below: 8 independent partial sums in a fixed order) with b read
// as bf16 in place: the same products and additions in the same order
// (bf16 -> f32 is exact), so the same result, without widening the row into a buffer first.
// For one input row (a decode step) the widening pass cost as much as the dot itself.
inline float dot_bf16(const float* a, const uint16_t* b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t k = 0;
  for (; k + 8 <= n; k += 8)
    for (int j = 0; j < 8; ++j) acc[j] += a[k + j] * bf16_to_f32(b[k + j]);
  float tail = 0.0f;
  for (; k < n; ++k) tail += a[k] * bf16_to_f32(b[k]);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail;
}

// dot_f32 of R input rows with one weight row: each row's products and additions are dot_f32's,
// in the same order, so every result is bit-identical to dot_f32 (a test holds it to that). The
// weight is read once for the R rows and R x 8 sums are in flight instead of 8: dot_f32 alone
// waits on its own additions (each partial sum depends on the last), so several rows (a batched
// decode step, a prefill chunk) run about R times as many additions per cycle.
// Four floats as one value (GCC/Clang vector extension): the compiler keeps the 2 x R partial
// sums below in registers, where a float[R][8] array was kept on the stack.
typedef float f32x4 __attribute__((vector_size(16)));
inline f32x4 load4(const float* p) {
  f32x4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <int R>
inline void dot_rows_f32(const float* a, int64_t lda, const float* b, int64_t n, float* out,
                         int64_t ldo) {
  f32x4 lo[R] = {}, hi[R] = {};  // lanes j = 0..3 and 4..7 of dot_f32's acc[8]
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    const f32x4 b0 = load4(b + k), b1 = load4(b + k + 4);
    for (int r = 0; r < R; ++r) {
      lo[r] += load4(a + r * lda + k) * b0;
      hi[r] += load4(a + r * lda + k + 4) * b1;
    }
  }
  for (int r = 0; r < R; ++r) {
    float tail = 0.0f;
    for (int64_t t = k; t < n; ++t) tail += a[r * lda + t] * b[t];
    const f32x4 l = lo[r], h = hi[r];
    out[r * ldo] = ((l[0] + l[1]) + (l[2] + l[3])) + ((h[0] + h[1]) + (h[2] + h[3])) + tail;
  }
}

// f32 dot product with 8 independent partial sums (a fixed order, so results are deterministic,
// and, if anything, more accurate than one running sum): one row of dot_rows_f32.
inline float dot_f32(const float* a, const float* b, int64_t n) {
  float out = 0.0f;
  dot_rows_f32<1>(a, n, b, n, &out, 1);
  return out;
}

constexpr int kRowBlock = 4;

#if defined(__x86_64__) && defined(__GNUC__)
// The same dot products on AVX2 (8 lanes: dot_f32's acc[8] in one register), kRowBlock input
// rows x kOutBlock weight rows at once: 12 sums in flight, each weight and input vector loaded
// once for 3 or 4 of them (the SSE path above loads a weight vector per 4 products and an input
// vector per product). Each sum's products and additions are dot_f32's, in the same order
// (target "avx2" has no FMA, so nothing is fused), so every result is bit-identical to the
// portable path (tests/ops/cpu_linear_rows_test.cpp holds the row blocks to one row at a time).
// Chosen at run time: the build stays x86-64 baseline.
constexpr int kOutBlock = 3;
typedef float f32x8 __attribute__((vector_size(32)));

__attribute__((target("avx2"))) inline f32x8 load8(const float* p) {
  f32x8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// out[r * ldo + o] = dot(a row r, b row o) for r < kRowBlock, o < kOutBlock (b rows ldb apart).
__attribute__((target("avx2"))) void dot_block_avx2(const float* a, int64_t lda, const float* b, int64_t ldb,
                                                    int64_t n, float* out, int64_t ldo) {
  f32x8 acc[kRowBlock][kOutBlock] = {};
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    f32x8 bv[kOutBlock];
    for (int o = 0; o < kOutBlock; ++o) bv[o] = load8(b + o * ldb + k);
    for (int r = 0; r < kRowBlock; ++r) {
      const f32x8 av = load8(a + r * lda + k);
      for (int o = 0; o < kOutBlock; ++o) acc[r][o] += av * bv[o];
    }
  }
  for (int r = 0; r < kRowBlock; ++r) {
    for (int o = 0; o < kOutBlock; ++o) {
      float tail = 0.0f;
      for (int64_t t = k; t < n; ++t) tail += a[r * lda + t] * b[o * ldb + t];
      const f32x8 v = acc[r][o];
      out[r * ldo + o] = ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7])) + tail;
    }
  }
}

bool have_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}
#else
constexpr int kOutBlock = 1;
bool have_avx2() { return false; }
void dot_block_avx2(const float*, int64_t, const float*, int64_t, int64_t, float*, int64_t) {}
#endif

// One weight row as f32: in place for f32, widened into `buf` otherwise.
const float* weight_row(const void* w, DType w_dtype, int64_t o, int64_t in, float* buf) {
  if (w_dtype == DType::f32) return static_cast<const float*>(w) + o * in;
  if (w_dtype == DType::bf16) {
    const uint16_t* src = static_cast<const uint16_t*>(w) + o * in;
    for (int64_t k = 0; k < in; ++k) buf[k] = bf16_to_f32(src[k]);
  } else {
    for (int64_t k = 0; k < in; ++k) buf[k] = load_as_f32(w, w_dtype, static_cast<size_t>(o * in + k));
  }
  return buf;
}

}  // namespace

void linear(const float* x, const void* w, DType w_dtype, const void* bias, DType b_dtype,
            float* out, int64_t n, int64_t in, int64_t out_features) {
  const bool blocks = n >= kRowBlock && kOutBlock > 1 && have_avx2();
  parallel_for(out_features, std::max<int64_t>(16, grain_for(n * in)), [&](int64_t o0, int64_t o1) {
    const bool gemv_bf16 = n == 1 && w_dtype == DType::bf16;
    std::vector<float> rows(gemv_bf16 ? 0 : static_cast<size_t>(in * (blocks ? kOutBlock : 1)));
    int64_t o = o0;
    if (blocks) {
      // kOutBlock weight rows (widened side by side in `rows` unless f32) against every block
      // of kRowBlock input rows; the rows left over below kRowBlock go one at a time.
      for (; o + kOutBlock <= o1; o += kOutBlock) {
        const float* wr = w_dtype == DType::f32 ? static_cast<const float*>(w) + o * in : rows.data();
        if (w_dtype != DType::f32)
          for (int j = 0; j < kOutBlock; ++j) weight_row(w, w_dtype, o + j, in, rows.data() + j * in);
        float b[kOutBlock];  // + 0 without a bias, as below (-0 becomes +0)
        for (int j = 0; j < kOutBlock; ++j) b[j] = bias ? load_as_f32(bias, b_dtype, static_cast<size_t>(o + j)) : 0.0f;
        int64_t i = 0;
        for (; i + kRowBlock <= n; i += kRowBlock) {
          float* y = out + i * out_features + o;
          dot_block_avx2(x + i * in, in, wr, in, in, y, out_features);
          for (int r = 0; r < kRowBlock; ++r)  // while the block's outputs are in cache
            for (int j = 0; j < kOutBlock; ++j) y[r * out_features + j] += b[j];
        }
        for (; i < n; ++i)
          for (int j = 0; j < kOutBlock; ++j) out[i * out_features + o + j] = dot_f32(x + i * in, wr + j * in, in) + b[j];
      }
    }
    for (; o < o1; ++o) {
      if (gemv_bf16) {
        const uint16_t* src = static_cast<const uint16_t*>(w) + o * in;
        const float b = bias ? load_as_f32(bias, b_dtype, static_cast<size_t>(o)) : 0.0f;
        out[o] = dot_bf16(x, src, in) + b;
        continue;
      }
      // Widen one weight row to f32 once, then dot it with every input row (f32 rows are
      // used in place; bf16, the checkpoint dtype, has an inlined conversion).
      const float* wr = weight_row(w, w_dtype, o, in, rows.data());
      const float b = bias ? load_as_f32(bias, b_dtype, static_cast<size_t>(o)) : 0.0f;
      int64_t i = 0;
      for (; i + kRowBlock <= n; i += kRowBlock) {
        float* y = out + i * out_features + o;
        dot_rows_f32<kRowBlock>(x + i * in, in, wr, in, y, out_features);
        for (int r = 0; r < kRowBlock; ++r) y[r * out_features] += b;
      }
      for (; i < n; ++i) out[i * out_features + o] = dot_f32(x + i * in, wr, in) + b;
    }
  });
}

}  // namespace mvl::cpu
