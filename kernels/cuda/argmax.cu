// The two-pass row argmax (argmax.cuh says why two passes) and cuda::argmax (tensor_ops.h).
#include "kernels/cuda/argmax.cuh"

#include "kernels/core/error.h"
#include "kernels/cuda/check.cuh"
#include "kernels/cuda/storage.h"
#include "kernels/cuda/tensor_ops.h"

namespace mvl::cuda {

using namespace dev;

namespace {

constexpr int kThreads = 256;
constexpr int kPerThread = 8;
constexpr int64_t kChunk = int64_t(kThreads) * kPerThread;  // values per pass-1 block
constexpr int kMergeThreads = 32;                          // pass 2: one warp per row

template <typename T>
__global__ void __launch_bounds__(kThreads)
    argmax_chunks_kernel(const T* __restrict__ x, int64_t V, ArgmaxPartial* __restrict__ part) {
  __shared__ float sv[kThreads / 32];
  __shared__ int32_t si[kThreads / 32];
  const int64_t row = blockIdx.y;
  const int64_t begin = int64_t(blockIdx.x) * kChunk;
  const T* xr = x + row * V;
  float v[kPerThread];
#pragma unroll
  for (int k = 0; k < kPerThread; ++k) {  // every load issued before the first compare
    const int64_t j = begin + threadIdx.x + int64_t(k) * kThreads;
    v[k] = j < V ? argmax_load(xr, j) : __int_as_float(0x7fc00000);  // NaN: never wins
  }
  float best = -INFINITY;
  int32_t bi = kArgmaxNone;
  bool bad = false;
#pragma unroll
  for (int k = 0; k < kPerThread; ++k) {  // this thread's indices ascend with k
    const int64_t j = begin + threadIdx.x + int64_t(k) * kThreads;
    if (j < V) bad |= !(v[k] < INFINITY);  // NaN or +Inf
    if (v[k] > best || (bi == kArgmaxNone && v[k] == v[k])) {
      best = v[k];
      bi = static_cast<int32_t>(j);
    }
  }
  warp_argmax(best, bi);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) {
    sv[warp] = best;
    si[warp] = bi;
  }
  const int any_bad = __syncthreads_or(bad);
  if (warp == 0) {
    best = lane < kThreads / 32 ? sv[lane] : -INFINITY;
    bi = lane < kThreads / 32 ? si[lane] : kArgmaxNone;
    warp_argmax(best, bi);
    if (lane == 0) part[row * gridDim.x + blockIdx.x] = ArgmaxPartial{best, bi, any_bad ? 1 : 0, 0};
  }
}

__global__ void argmax_merge_kernel(const ArgmaxPartial* __restrict__ part, int chunks,
                                    int32_t* out, int32_t* nonfinite) {
  const int64_t row = blockIdx.x;
  const ArgmaxPartial* p = part + row * chunks;
  float best = -INFINITY;
  int32_t bi = kArgmaxNone;
  int bad = 0;
  for (int c = threadIdx.x; c < chunks; c += kMergeThreads) {
    const ArgmaxPartial q = p[c];
    bad |= q.bad;
    if (argmax_better(q.value, q.index, best, bi)) {
      best = q.value;
      bi = q.index;
    }
  }
  warp_argmax(best, bi);
  bad = __any_sync(0xffffffffu, bad);
  if (threadIdx.x == 0) {
    out[row] = bi == kArgmaxNone ? 0 : bi;
    if (nonfinite) nonfinite[row] = bad ? 1 : 0;
  }
}

int64_t chunks_of(int64_t V) { return (V + kChunk - 1) / kChunk; }

}  // namespace

int64_t argmax_partials(int64_t rows, int64_t V) { return rows * chunks_of(V); }

void launch_argmax_rows(const Context& ctx, const void* x, DType dtype, int64_t rows, int64_t V,
                        int32_t* out, int32_t* nonfinite, ArgmaxPartial* partials) {
  MVL_CHECK(V > 0 && V < kArgmaxNone && rows <= 65535, shape_mismatch,
            "cuda::argmax: {} rows of {} values (at most 65535 rows of < 2^31 - 1)", rows, V);
  MVL_CHECK(dtype == DType::f32 || dtype == DType::bf16, shape_mismatch,
            "cuda::argmax: f32 or bf16 values, got {}", dtype_name(dtype));
  if (rows == 0) return;
  const int64_t chunks = chunks_of(V);
  const dim3 grid(static_cast<unsigned>(chunks), static_cast<unsigned>(rows));
  if (dtype == DType::f32)
    argmax_chunks_kernel<float>
        <<<grid, kThreads, 0, ctx.stream()>>>(static_cast<const float*>(x), V, partials);
  else
    argmax_chunks_kernel<bf16>
        <<<grid, kThreads, 0, ctx.stream()>>>(static_cast<const bf16*>(x), V, partials);
  MVL_CUDA_CHECK_LAUNCH();
  argmax_merge_kernel<<<static_cast<unsigned>(rows), kMergeThreads, 0, ctx.stream()>>>(
      partials, static_cast<int>(chunks), out, nonfinite);
  MVL_CUDA_CHECK_LAUNCH();
}

void argmax(const Context& ctx, const Tensor& logits, const Tensor& out, const Tensor& nonfinite) {
  MVL_CHECK(logits.ndim() == 2 && logits.is_contiguous(), shape_mismatch, "cuda::argmax: logits {}",
            logits.str());
  MVL_CHECK(out.dtype() == DType::i32 && out.numel() == logits.dim(0), shape_mismatch,
            "cuda::argmax: out {}", out.str());
  MVL_CHECK(!nonfinite.defined() ||
                (nonfinite.dtype() == DType::i32 && nonfinite.numel() == logits.dim(0)),
            shape_mismatch, "cuda::argmax: nonfinite {}", nonfinite.str());
  const int64_t n = logits.dim(0), V = logits.dim(1);
  if (n == 0) return;
  // Stream-ordered pool memory (16 B a chunk: 1.6 KB for one 200K row), freed behind the kernels.
  const int64_t np = argmax_partials(n, V);
  const Tensor part = empty({np * int64_t(sizeof(ArgmaxPartial) / sizeof(int32_t))}, DType::i32, ctx);
  launch_argmax_rows(ctx, logits.data(), logits.dtype(), n, V, static_cast<int32_t*>(out.data()),
                     nonfinite.defined() ? static_cast<int32_t*>(nonfinite.data()) : nullptr,
                     static_cast<ArgmaxPartial*>(part.data()));
}

}  // namespace mvl::cuda
