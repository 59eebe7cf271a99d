// CUDA-event timing, L2 flushing, ceiling measurements and random fills for benchmarks.
#include "kernels/bench/timing.h"

#include <algorithm>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/linear.h"

namespace mvl::cuda {

namespace {

__global__ void fill_kernel(void* data, int64_t n, bool bf16, float lo, float hi, uint64_t seed) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    uint64_t z = seed + 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(i + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    const float u = static_cast<float>(z >> 40) * (1.0f / 16777216.0f);
    const float v = lo + (hi - lo) * u;
    if (bf16)
      static_cast<dev::bf16*>(data)[i] = dev::to_bf(v);
    else
      static_cast<float*>(data)[i] = v;
  }
}

struct Events {
  cudaEvent_t a = nullptr, b = nullptr;
  Events() {
    MVL_CUDA_CHECK(cudaEventCreate(&a));
    MVL_CUDA_CHECK(cudaEventCreate(&b));
  }
  ~Events() {
    cudaEventDestroy(a);
    cudaEventDestroy(b);
  }
};

}  // namespace

void fill_uniform(const Context& ctx, void* data, int64_t n, bool bf16, float lo, float hi,
                  uint64_t seed) {
  if (n == 0) return;
  fill_kernel<<<4096, 256, 0, ctx.stream()>>>(data, n, bf16, lo, hi, seed);
  MVL_CUDA_CHECK_LAUNCH();
}

std::vector<double> time_reps(const Context& ctx, const std::function<void()>& fn, int warmup,
                              int reps, bool flush_l2) {
  void* flush = nullptr;
  const size_t flush_bytes = size_t{256} << 20;
  if (flush_l2) MVL_CUDA_CHECK(cudaMalloc(&flush, flush_bytes));
  for (int i = 0; i < warmup; ++i) fn();
  Events ev;
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    if (flush) MVL_CUDA_CHECK(cudaMemsetAsync(flush, i & 0xff, flush_bytes, ctx.stream()));
    MVL_CUDA_CHECK(cudaEventRecord(ev.a, ctx.stream()));
    fn();
    MVL_CUDA_CHECK(cudaEventRecord(ev.b, ctx.stream()));
    MVL_CUDA_CHECK(cudaEventSynchronize(ev.b));
    float t = 0;
    MVL_CUDA_CHECK(cudaEventElapsedTime(&t, ev.a, ev.b));
    ms.push_back(t);
  }
  if (flush) cudaFree(flush);
  return ms;
}

std::vector<double> time_graph(const Context& ctx, const std::function<void()>& fn, int reps) {
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  MVL_CUDA_CHECK(cudaStreamBeginCapture(ctx.stream(), cudaStreamCaptureModeThreadLocal));
  try {
    fn();
  } catch (...) {
    cudaStreamEndCapture(ctx.stream(), &graph);
    if (graph) cudaGraphDestroy(graph);
    throw;
  }
  MVL_CUDA_CHECK(cudaStreamEndCapture(ctx.stream(), &graph));
  MVL_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  std::vector<double> ms;
  try {
    ms = time_reps(
        ctx, [&] { MVL_CUDA_CHECK(cudaGraphLaunch(exec, ctx.stream())); }, 3, reps);
  } catch (...) {
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
    throw;
  }
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  return ms;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

double measure_copy_bandwidth(const Context& ctx) {
  const size_t bytes = size_t{2} << 30;
  void *a = nullptr, *b = nullptr;
  MVL_CUDA_CHECK(cudaMalloc(&a, bytes));
  MVL_CUDA_CHECK(cudaMalloc(&b, bytes));
  MVL_CUDA_CHECK(cudaMemsetAsync(a, 1, bytes, ctx.stream()));
  const double ms = median(time_reps(
      ctx,
      [&] { MVL_CUDA_CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, ctx.stream())); },
      2, 10));
  cudaFree(a);
  cudaFree(b);
  return 2.0 * bytes / (ms * 1e-3);
}

double measure_gemm_flops(const Context& ctx) {
  const int64_t n = 8192;
  void *x = nullptr, *w = nullptr, *y = nullptr;
  MVL_CUDA_CHECK(cudaMalloc(&x, n * n * 2));
  MVL_CUDA_CHECK(cudaMalloc(&w, n * n * 2));
  MVL_CUDA_CHECK(cudaMalloc(&y, n * n * 2));
  fill_uniform(ctx, x, n * n, true, -1, 1, 1);
  fill_uniform(ctx, w, n * n, true, -1, 1, 2);
  const double ms = median(time_reps(
      ctx, [&] { gemm_raw(ctx, x, w, y, true, n, n, n); }, 3, 10));
  cudaFree(x);
  cudaFree(w);
  cudaFree(y);
  return 2.0 * n * n * n / (ms * 1e-3);
}

}  // namespace mvl::cuda
