// The MoE's f32 generic kernels (f32 activations, f32|bf16 weights; the bf16 fast path is
// moe.cu): routing with one thread per token (softmax, top-k by repeated selection, lowest
// index on ties, renormalised), then per expert a warp per (token, row) for gate/up + SiLU and
// for down + the routing-weighted accumulation, skipping tokens not routed to the expert.
// CPU twin: kernels/cpu/moe.cpp; tests: the ops parity tests (tests/gpu).
#include "kernels/cuda/check.cuh"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/moe.h"

namespace mvl::cuda {

using namespace dev;
using namespace host;

namespace {

// One thread per token; E <= 256.
__global__ void moe_route_kernel(const float* logits, int64_t n, int64_t E, int64_t k,
                                 int32_t* experts, float* weights) {
  const int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (t >= n) return;
  const float* l = logits + t * E;
  float mx = l[0];
  for (int64_t e = 1; e < E; ++e) mx = fmaxf(mx, l[e]);
  float sum = 0.0f;
  for (int64_t e = 0; e < E; ++e) sum += expf(l[e] - mx);
  // Selection: repeatedly the largest p not yet taken, lowest index on ties (= stable sort).
  uint32_t taken[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  float top = 0.0f;
  for (int64_t j = 0; j < k; ++j) {
    int64_t best = -1;
    float bp = 0.0f;
    for (int64_t e = 0; e < E; ++e) {
      if (taken[e >> 5] & (1u << (e & 31))) continue;
      const float p = expf(l[e] - mx) / sum;
      if (best < 0 || p > bp) {
        best = e;
        bp = p;
      }
    }
    taken[best >> 5] |= 1u << (best & 31);
    experts[t * k + j] = static_cast<int32_t>(best);
    weights[t * k + j] = bp;
    top += bp;
  }
  for (int64_t j = 0; j < k; ++j) weights[t * k + j] /= top;
}

__device__ __forceinline__ float routed_weight(const int32_t* experts, const float* weights,
                                               int64_t t, int64_t k, int32_t e) {
  for (int64_t j = 0; j < k; ++j)
    if (experts[t * k + j] == e) return weights[t * k + j];
  return -1.0f;
}
// Warp per (t, i): h[t, i] = silu(w1[i]·x_t) * (w3[i]·x_t) for routed tokens.
__global__ void moe_up_kernel(const float* x, const int32_t* experts, const float* weights,
                              int64_t k, int32_t e, const void* w1, const void* w3, bool wbf,
                              float* h, int64_t n, int64_t H, int64_t I) {
  const int64_t warp = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (warp >= n * I) return;
  const int64_t t = warp / I, i = warp % I;
  if (routed_weight(experts, weights, t, k, e) < 0.0f) return;
  float g = 0.0f, u = 0.0f;
  for (int64_t j = lane; j < H; j += 32) {
    const float xv = x[t * H + j];
    g += xv * ldw(w1, wbf, i * H + j);
    u += xv * ldw(w3, wbf, i * H + j);
  }
  g = warp_sum(g);
  u = warp_sum(u);
  if (lane == 0) h[t * I + i] = (g / (1.0f + expf(-g))) * u;
}
// Warp per (t, c): out[t, c] += wt * (w2[c]·h_t) for routed tokens.
__global__ void moe_down_kernel(const float* h, const int32_t* experts, const float* weights,
                                int64_t k, int32_t e, const void* w2, bool wbf, float* out,
                                int64_t n, int64_t H, int64_t I) {
  const int64_t warp = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (warp >= n * H) return;
  const int64_t t = warp / H, c = warp % H;
  const float wt = routed_weight(experts, weights, t, k, e);
  if (wt < 0.0f) return;
  float acc = 0.0f;
  for (int64_t j = lane; j < I; j += 32) acc += h[t * I + j] * ldw(w2, wbf, c * I + j);
  acc = warp_sum(acc);
  if (lane == 0) out[t * H + c] += acc * wt;
}

}  // namespace

void moe_route_f32(const Context& ctx, const Tensor& logits, int64_t k, const Tensor& experts,
                   const Tensor& weights) {
  const int64_t n = logits.dim(0), E = logits.dim(1);
  MVL_CHECK(E <= 256 && k <= E, unsupported, "moe_route on CUDA: {} experts (max 256), top {}", E,
            k);
  if (n == 0) return;
  moe_route_kernel<<<blocks_for(n, 128), 128, 0, ctx.stream()>>>(
      logits.data<float>(), n, E, k, experts.data<int32_t>(), weights.data<float>());
  MVL_CUDA_CHECK(cudaGetLastError());
}

void moe_expert_accumulate_f32(const Context& ctx, const Tensor& x, const Tensor& experts,
                               const Tensor& weights, int32_t e, const Tensor& w1, const Tensor& w3,
                               const Tensor& w2, const Tensor& h, const Tensor& out) {
  const int64_t n = x.dim(0), H = x.dim(1), I = w1.dim(0), k = experts.dim(1);
  if (n == 0) return;
  moe_up_kernel<<<blocks_for(n * I * 32, 256), 256, 0, ctx.stream()>>>(
      x.data<float>(), experts.data<int32_t>(), weights.data<float>(), k, e, w1.data(), w3.data(),
      is_bf16(w1), h.data<float>(), n, H, I);
  MVL_CUDA_CHECK(cudaGetLastError());
  moe_down_kernel<<<blocks_for(n * H * 32, 256), 256, 0, ctx.stream()>>>(
      h.data<float>(), experts.data<int32_t>(), weights.data<float>(), k, e, w2.data(), is_bf16(w2),
      out.data<float>(), n, H, I);
  MVL_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mvl::cuda
