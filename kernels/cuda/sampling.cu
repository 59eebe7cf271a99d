// Sampling kernels (sampling.h). Order of work, as in kernels/cpu/sampling.cpp:
//   prep     keys[i] = logit i as f32 (-0 -> +0, NaN -> -inf), vals[i] = i, for i < limit;
//            out[1] = 1 when any of them is NaN or +Inf (broken weights), in the same pass
//   penalty  one thread per distinct history id
//   greedy   the largest key, lowest index on ties (the two-pass argmax of argmax.cuh)
//   else     cub's stable radix sort (descending) of (key, index), then one block: p_j in
//            double, chunk sums of kChunk (one thread per chunk, left to right), and thread 0
//            walks the chunk sums for the top-p cut and the draw, adding in the CPU's order.
#include "kernels/cuda/sampling.h"

#include <cub/device/device_radix_sort.cuh>

#include <algorithm>
#include <cmath>

#include "kernels/cuda/argmax.cuh"
#include "kernels/cuda/check.cuh"
#include "kernels/cuda/common.cuh"

namespace mvl::cuda {

using namespace dev;

namespace {

constexpr int64_t kChunk = 256;  // = cpu::kSampleChunk
constexpr int kThreads = 1024;

// nonfinite: zeroed before the launch; set (by any thread that sees one) on NaN or +Inf.
template <typename T>
__global__ void prep_kernel(const T* __restrict__ logits, float* keys, int32_t* vals, int64_t n,
                            int32_t* nonfinite) {
  bool bad = false;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const float v = argmax_load(logits, i);
    bad |= !(v < INFINITY);
    keys[i] = v != v ? -INFINITY : v + 0.0f;
    vals[i] = static_cast<int32_t>(i);
  }
  if (bad) *nonfinite = 1;  // benign race: every writer stores 1
}

__global__ void penalty_kernel(float* keys, const int32_t* __restrict__ hist, int64_t h, int64_t n,
                               float penalty) {
  const int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (k >= h) return;
  const int32_t t = hist[k];
  if (t < 0 || t >= n) return;
  const float x = keys[t];
  keys[t] = x > 0.0f ? x / penalty : x * penalty;
}

// First j in [0, keep) whose running mass passes `want` (mode 0: mass >= want; mode 1:
// want < mass), or keep. Same additions as cpu::first_where.
__device__ int64_t first_where(const double* p, const double* chunk_sum, int64_t keep, double want,
                               int mode) {
  double acc = 0.0;
  const int64_t nc = (keep + kChunk - 1) / kChunk;
  for (int64_t b = 0; b < nc; ++b) {
    const int64_t lo = b * kChunk, hi = min(keep, lo + kChunk);
    double in = 0.0;
    for (int64_t i = lo; i < hi; ++i) {
      in += p[i];
      const double m = acc + in;
      if (mode == 0 ? m >= want : want < m) return i;
    }
    acc += chunk_sum[b];
  }
  return keep;
}

__device__ double running_mass(const double* p, const double* chunk_sum, int64_t j) {
  const int64_t c = j / kChunk;
  double acc = 0.0;
  for (int64_t b = 0; b < c; ++b) acc += chunk_sum[b];
  double in = 0.0;
  for (int64_t i = c * kChunk; i <= j; ++i) in += p[i];
  return acc + in;
}

__global__ void draw_kernel(const float* __restrict__ keys, const int32_t* __restrict__ vals,
                            int64_t keep, float temperature, float top_p, double u, double* p,
                            double* chunk_sum, int32_t* out) {
  const double mx = static_cast<double>(keys[0] / temperature);
  for (int64_t j = threadIdx.x; j < keep; j += blockDim.x)
    p[j] = exp(static_cast<double>(keys[j]) / temperature - mx);
  __syncthreads();
  const int64_t nc = (keep + kChunk - 1) / kChunk;
  for (int64_t b = threadIdx.x; b < nc; b += blockDim.x) {
    double s = 0.0;
    const int64_t hi = min(keep, (b + 1) * kChunk);
    for (int64_t i = b * kChunk; i < hi; ++i) s += p[i];
    chunk_sum[b] = s;
  }
  __syncthreads();
  if (threadIdx.x != 0) return;
  double total = 0.0;
  for (int64_t b = 0; b < nc; ++b) total += chunk_sum[b];
  if (top_p < 1.0f) {
    const int64_t cut = first_where(p, chunk_sum, keep, static_cast<double>(top_p) * total, 0);
    if (cut < keep) {
      keep = cut + 1;
      total = running_mass(p, chunk_sum, cut);
    }
  }
  const int64_t j = first_where(p, chunk_sum, keep, u * total, 1);
  out[0] = vals[j < keep ? j : keep - 1];
}

size_t align_up(size_t x) { return (x + 255) / 256 * 256; }

}  // namespace

void sample(const Context& ctx, const Tensor& logits, const Tensor& history, const SampleArgs& a,
            const Tensor& out) {
  MVL_CHECK(logits.ndim() == 1 && logits.is_contiguous() &&
                (logits.dtype() == DType::f32 || logits.dtype() == DType::bf16),
            shape_mismatch, "cuda::sample: logits {}", logits.str());
  MVL_CHECK(out.dtype() == DType::i32 && out.numel() == 2 && out.is_contiguous(), shape_mismatch,
            "cuda::sample: out {}", out.str());
  const int64_t V = logits.dim(0);
  const int64_t n = a.limit > 0 && a.limit < V ? a.limit : V;
  const bool greedy = a.temperature <= 0.0f;
  const int64_t keep = a.top_k > 0 && a.top_k < n ? a.top_k : n;
  const int64_t nc = (keep + kChunk - 1) / kChunk;
  // Scratch layout: keys_in (f32 [n]), vals_in (i32 [n]), then greedy: the argmax partials;
  // else keys_out (f32 [n]), vals_out (i32 [n]), p (f64 [keep]), chunk sums (f64 [nc]), cub's
  // temporary storage.
  size_t cub_bytes = 0;
  if (!greedy)
    MVL_CUDA_CHECK(cub::DeviceRadixSort::SortPairsDescending(
        nullptr, cub_bytes, static_cast<const float*>(nullptr), static_cast<float*>(nullptr),
        static_cast<const int32_t*>(nullptr), static_cast<int32_t*>(nullptr), static_cast<int>(n),
        0, 32, ctx.stream()));
  const size_t b_keys = align_up(n * sizeof(float)), b_vals = align_up(n * sizeof(int32_t));
  const size_t b_p = align_up(keep * sizeof(double)), b_c = align_up(nc * sizeof(double));
  const size_t b_part = align_up(argmax_partials(1, n) * sizeof(ArgmaxPartial));
  const size_t total = greedy ? b_keys + b_vals + b_part
                              : 2 * b_keys + 2 * b_vals + b_p + b_c + align_up(cub_bytes);
  char* base = static_cast<char*>(ctx.scratch(total));
  float* keys_in = reinterpret_cast<float*>(base);
  int32_t* vals_in = reinterpret_cast<int32_t*>(base + b_keys);
  const int blocks = static_cast<int>(std::min<int64_t>((n + 255) / 256, 1024));
  int32_t* o = static_cast<int32_t*>(out.data());
  MVL_CUDA_CHECK(cudaMemsetAsync(o + 1, 0, sizeof(int32_t), ctx.stream()));
  if (logits.dtype() == DType::f32)
    prep_kernel<float><<<blocks, 256, 0, ctx.stream()>>>(static_cast<const float*>(logits.data()),
                                                         keys_in, vals_in, n, o + 1);
  else
    prep_kernel<bf16><<<blocks, 256, 0, ctx.stream()>>>(static_cast<const bf16*>(logits.data()),
                                                        keys_in, vals_in, n, o + 1);
  MVL_CUDA_CHECK_LAUNCH();
  if (a.repetition_penalty != 1.0f && history.defined() && history.numel() > 0) {
    MVL_CHECK(history.dtype() == DType::i32 && history.is_contiguous(), shape_mismatch,
              "cuda::sample: history {}", history.str());
    const int64_t h = history.numel();
    penalty_kernel<<<static_cast<int>((h + 255) / 256), 256, 0, ctx.stream()>>>(
        keys_in, static_cast<const int32_t*>(history.data()), h, n, a.repetition_penalty);
    MVL_CUDA_CHECK_LAUNCH();
  }
  if (greedy) {
    launch_argmax_rows(ctx, keys_in, DType::f32, 1, n, o, nullptr,
                       reinterpret_cast<ArgmaxPartial*>(base + b_keys + b_vals));
    return;
  }
  float* keys_out = reinterpret_cast<float*>(base + b_keys + b_vals);
  int32_t* vals_out = reinterpret_cast<int32_t*>(base + 2 * b_keys + b_vals);
  double* p = reinterpret_cast<double*>(base + 2 * b_keys + 2 * b_vals);
  double* chunk_sum = reinterpret_cast<double*>(base + 2 * b_keys + 2 * b_vals + b_p);
  void* cub_tmp = base + 2 * b_keys + 2 * b_vals + b_p + b_c;
  MVL_CUDA_CHECK(cub::DeviceRadixSort::SortPairsDescending(cub_tmp, cub_bytes, keys_in, keys_out,
                                                           vals_in, vals_out, static_cast<int>(n),
                                                           0, 32, ctx.stream()));
  draw_kernel<<<1, kThreads, 0, ctx.stream()>>>(keys_out, vals_out, keep, a.temperature, a.top_p,
                                                a.u, p, chunk_sum, o);
  MVL_CUDA_CHECK_LAUNCH();
}

}  // namespace mvl::cuda
