// The MoE prefill path (n > kMoeDecodeMaxTokens; moe.h moe_prefill, also behind
// moe_forward's prefill): router GEMM + moe_route (moe.cu), a histogram sort (one CTA per
// expert compacts its assignments in token order), gather of the rows by expert, per-expert
// GEMMs for [w1; w3] and w2 from a callback (cuBLASLt bf16 on each expert's bf16 weights, which
// the quantized experts of quant_moe.cu dequantize just in time, or quant_moe.cu's FP8
// tensor-core GEMMs), SwiGLU between, and a combine kernel that sums each token's two expert
// rows in ascending expert order (f32, one rounding). One host sync (the per-expert counts).
// CPU reference: kernels/cpu moe; tests: tests/gpu/moe_test.cpp (bf16),
// tests/gpu/quant_cuda_test.cpp (quantized).
#include <vector>

#include "kernels/cuda/activation.h"
#include "kernels/cuda/check.cuh"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/moe.h"
#include "kernels/cuda/storage.h"

namespace mvl::cuda {

using namespace dev;

namespace {

constexpr int kTopK = 2;

// offsets[e] = first sorted position of expert e (offsets[E] = 2n); perm[pos] = assignment
// a = token*2 + k; inv[a] = pos. One CTA per expert, assignments visited in order.
__global__ void sort_kernel(const int32_t* __restrict__ idx, int64_t na, int E, int32_t* offsets,
                            int32_t* perm, int32_t* inv) {
  __shared__ int warp_counts[32];
  __shared__ int base_s;
  const int e = blockIdx.x, tid = threadIdx.x, lane = tid & 31, wid = tid >> 5,
            nw = blockDim.x >> 5;
  // Offset of this expert = number of assignments to lower experts.
  int before = 0;
  for (int64_t a = tid; a < na; a += blockDim.x) before += idx[a] < e;
  __shared__ int red[32];
  before = __reduce_add_sync(0xffffffffu, before);
  if (lane == 0) red[wid] = before;
  __syncthreads();
  if (tid == 0) {
    int s = 0;
    for (int i = 0; i < nw; ++i) s += red[i];
    base_s = s;
    offsets[e] = s;
    if (e == E - 1) offsets[E] = static_cast<int>(na);
  }
  __syncthreads();
  int base = base_s;
  for (int64_t a0 = 0; a0 < na; a0 += blockDim.x) {
    const int64_t a = a0 + tid;
    const bool hit = a < na && idx[a] == e;
    const unsigned mask = __ballot_sync(0xffffffffu, hit);
    if (lane == 0) warp_counts[wid] = __popc(mask);
    __syncthreads();
    int wbase = base;
    for (int i = 0; i < wid; ++i) wbase += warp_counts[i];
    if (hit) {
      const int pos = wbase + __popc(mask & ((1u << lane) - 1u));
      perm[pos] = static_cast<int32_t>(a);
      inv[a] = pos;
    }
    int total = 0;
    for (int i = 0; i < nw; ++i) total += warp_counts[i];
    __syncthreads();
    base += total;
  }
}

__global__ void gather_kernel(const bf16* __restrict__ x, const int32_t* __restrict__ perm,
                              bf16* xs, int64_t rows, int D) {
  const int64_t r = blockIdx.x;
  if (r >= rows) return;
  const int64_t t = perm[r] / kTopK;
  const int4* src = reinterpret_cast<const int4*>(x + t * D);
  int4* dst = reinterpret_cast<int4*>(xs + r * D);
  for (int i = threadIdx.x; i < D / 8; i += blockDim.x) dst[i] = src[i];
}

__global__ void combine_kernel(const bf16* __restrict__ ys, const int32_t* __restrict__ idx,
                               const float* __restrict__ wts, const int32_t* __restrict__ inv,
                               bf16* out, int D) {
  const int64_t t = blockIdx.x;
  const int e0 = idx[t * 2], e1 = idx[t * 2 + 1];
  // Ascending expert order, as the reference's index-add over experts.
  const int k0 = e0 < e1 ? 0 : 1, k1 = 1 - k0;
  const float w0 = wts[t * 2 + k0], w1 = wts[t * 2 + k1];
  const bf16* y0 = ys + int64_t(inv[t * 2 + k0]) * D;
  const bf16* y1 = ys + int64_t(inv[t * 2 + k1]) * D;
  for (int i = threadIdx.x; i < D; i += blockDim.x)
    out[t * D + i] = to_bf(w0 * to_f(y0[i]) + w1 * to_f(y1[i]));
}

}  // namespace

void moe_prefill(const Context& ctx, const Tensor& x, const Tensor& router, int64_t F,
                 const ExpertWeightFn& w13_of, const ExpertWeightFn& w2_of, const Tensor& out) {
  moe_prefill(
      ctx, x, router, F,
      [&](int64_t e, const Tensor& xe, const Tensor& ye) {
        gemm_raw(ctx, xe.data(), w13_of(e), ye.data(), true, xe.dim(0), xe.dim(1), 2 * F);
      },
      [&](int64_t e, const Tensor& he, const Tensor& ye) {
        gemm_raw(ctx, he.data(), w2_of(e), ye.data(), true, he.dim(0), F, ye.dim(1));
      },
      out);
}

void moe_prefill(const Context& ctx, const Tensor& x, const Tensor& router, int64_t F,
                 const ExpertGemmFn& gate_up, const ExpertGemmFn& down, const Tensor& out,
                 const ExpertRowsFn& rows_hook) {
  const int64_t n = x.dim(0), D = x.dim(1), E = router.dim(0);
  const int64_t na = n * kTopK;
  if (n == 0) return;
  // Prefill: all temporaries from the scratch arena as well.
  Scratch scratch(ctx, {{n * E * 4},
                        {na * 4},
                        {na * 4},
                        {(E + 1) * 4},
                        {na * 4},
                        {na * 4},
                        {na * D * 2},
                        {na * 2 * F * 2},
                        {na * F * 2},
                        {na * D * 2}});
  Tensor logits = scratch.take({n, E}, DType::f32);
  gemm(ctx, x, router, logits);
  Tensor idx = scratch.take({n, kTopK}, DType::i32);
  Tensor wts = scratch.take({n, kTopK}, DType::f32);
  moe_route(ctx, logits, idx, wts);
  Tensor offsets = scratch.take({E + 1}, DType::i32);
  Tensor perm = scratch.take({na}, DType::i32);
  Tensor inv = scratch.take({na}, DType::i32);
  sort_kernel<<<static_cast<unsigned>(E), 256, 0, ctx.stream()>>>(
      static_cast<const int32_t*>(idx.data()), na, static_cast<int>(E),
      static_cast<int32_t*>(offsets.data()), static_cast<int32_t*>(perm.data()),
      static_cast<int32_t*>(inv.data()));
  MVL_CUDA_CHECK_LAUNCH();
  const auto* off_p = static_cast<const int32_t*>(offsets.data());
  const auto* perm_p = static_cast<const int32_t*>(perm.data());
  Tensor xs = scratch.take({na, D}, DType::bf16);
  gather_kernel<<<static_cast<unsigned>(na), 128, 0, ctx.stream()>>>(
      static_cast<const bf16*>(x.data()), perm_p, static_cast<bf16*>(xs.data()), na,
      static_cast<int>(D));
  MVL_CUDA_CHECK_LAUNCH();
  // The per-expert GEMM sizes are needed on the host: the one sync of the prefill path.
  std::vector<int32_t> off(static_cast<size_t>(E + 1));
  MVL_CUDA_CHECK(cudaMemcpyAsync(off.data(), off_p, sizeof(int32_t) * (E + 1),
                                 cudaMemcpyDeviceToHost, ctx.stream()));
  ctx.synchronize();
  Tensor gu = scratch.take({na, 2 * F}, DType::bf16);
  Tensor h = scratch.take({na, F}, DType::bf16);
  Tensor ys = scratch.take({na, D}, DType::bf16);
  if (rows_hook) rows_hook(xs, off_p);
  for (int64_t e = 0; e < E; ++e) {
    const int64_t b = off[e], c = off[e + 1] - off[e];
    if (c > 0) gate_up(e, xs.slice(0, b, b + c), gu.slice(0, b, b + c));
  }
  swiglu(ctx, gu, h);
  if (rows_hook) rows_hook(h, off_p);
  for (int64_t e = 0; e < E; ++e) {
    const int64_t b = off[e], c = off[e + 1] - off[e];
    if (c > 0) down(e, h.slice(0, b, b + c), ys.slice(0, b, b + c));
  }
  combine_kernel<<<static_cast<unsigned>(n), 256, 0, ctx.stream()>>>(
      static_cast<const bf16*>(ys.data()), static_cast<const int32_t*>(idx.data()),
      static_cast<const float*>(wts.data()), static_cast<const int32_t*>(inv.data()),
      static_cast<bf16*>(out.data()), static_cast<int>(D));
  MVL_CUDA_CHECK_LAUNCH();
}

}  // namespace mvl::cuda
