// MoE kernels. Routing: one warp per token (E <= 32 lanes), f32 softmax, top-2 with the
// lower expert index winning ties, renormalised weights. Sorting: histogram, then one CTA
// per expert compacts its assignments in token order (stable, deterministic). Prefill:
// gather rows by expert, cuBLASLt GEMM per expert for [w1;w3] and w2, SwiGLU between, and
// a combine kernel that sums each token's two expert rows in ascending expert order (f32,
// one rounding). Decode (n <= 64): gate/up and down kernels stream each touched expert's
// weights once with 16-byte loads, up to 4 tokens per pass staged in shared memory; the
// down kernel adds w·y into an f32 buffer (two atomic adds per element: order-independent).
// CPU reference: kernels/cpu moe; test: tests/gpu/moe_test.cpp.
#include "kernels/cuda/moe.h"

#include <algorithm>
#include <vector>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/storage.h"

namespace mvl::cuda {

using namespace dev;

namespace {

constexpr int kTopK = 2;

template <typename T>
__global__ void route_kernel(const T* __restrict__ logits, int32_t* idx, float* wts, int64_t n,
                             int E) {
  const int64_t t = blockIdx.x * int64_t(blockDim.x >> 5) + (threadIdx.x >> 5);
  const int lane = threadIdx.x & 31;
  if (t >= n) return;
  float x = -INFINITY;
  if (lane < E) {
    if constexpr (sizeof(T) == 2)
      x = to_f(logits[t * E + lane]);
    else
      x = logits[t * E + lane];
  }
  const float mx = warp_max(x);
  const float e = lane < E ? expf(x - mx) : 0.f;
  const float p = e / warp_sum(e);
  // top-1 then top-2: larger p wins, equal p -> lower index.
  float bp = lane < E ? p : -1.f;
  int bi = lane;
  for (int o = 16; o > 0; o >>= 1) {
    const float op = __shfl_xor_sync(0xffffffffu, bp, o);
    const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
    if (op > bp || (op == bp && oi < bi)) {
      bp = op;
      bi = oi;
    }
  }
  const int i1 = bi;
  const float p1 = bp;
  bp = (lane < E && lane != i1) ? p : -1.f;
  bi = lane;
  for (int o = 16; o > 0; o >>= 1) {
    const float op = __shfl_xor_sync(0xffffffffu, bp, o);
    const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
    if (op > bp || (op == bp && oi < bi)) {
      bp = op;
      bi = oi;
    }
  }
  if (lane == 0) {
    idx[t * 2] = i1;
    idx[t * 2 + 1] = bi;
    const float s = p1 + bp;
    wts[t * 2] = p1 / s;
    wts[t * 2 + 1] = bp / s;
  }
}

// offsets[e] = first sorted position of expert e (offsets[E] = 2n); perm[pos] = assignment
// a = token*2 + k; inv[a] = pos. One CTA per expert, assignments visited in order.
// active (optional, decode path): active[r] = r-th expert (ascending) with >= 1 token, and
// active[E] = how many there are, so the decode kernels launch only min(E, 2n) expert rows.
__global__ void sort_kernel(const int32_t* __restrict__ idx, int64_t na, int E, int32_t* offsets,
                            int32_t* perm, int32_t* inv, int32_t* active) {
  __shared__ int warp_counts[32];
  __shared__ int base_s;
  __shared__ int hist[32];
  const int e = blockIdx.x, tid = threadIdx.x, lane = tid & 31, wid = tid >> 5,
            nw = blockDim.x >> 5;
  if (active) {
    if (tid < 32) hist[tid] = 0;
    __syncthreads();
    for (int64_t a = tid; a < na; a += blockDim.x) atomicAdd(&hist[idx[a]], 1);
    __syncthreads();
    if (tid == 0) {
      int rank = 0, total = 0;
      for (int i = 0; i < E; ++i) {
        rank += (i < e && hist[i] > 0);
        total += hist[i] > 0;
      }
      if (hist[e] > 0) active[rank] = e;
      if (e == 0) active[E] = total;
    }
  }
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

constexpr int kDecTok = 4;    // tokens staged per pass
constexpr int kDecWarps = 8;  // warps per CTA
constexpr int kDecRowsPerWarp = 4;
constexpr int kUnroll = 4;  // weight loads in flight per lane (x2 for gate/up)

__device__ __forceinline__ void dot8(const int4& wv, const int4& xv, float& acc) {
  const __nv_bfloat162* a = reinterpret_cast<const __nv_bfloat162*>(&wv);
  const __nv_bfloat162* b = reinterpret_cast<const __nv_bfloat162*>(&xv);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 fa = __bfloat1622float2(a[i]), fb = __bfloat1622float2(b[i]);
    acc = fmaf(fa.x, fb.x, acc);
    acc = fmaf(fa.y, fb.y, acc);
  }
}

// h[pos, j] = bf16(silu(w1_e[j]·x_t)) * (w3_e[j]·x_t) for every assignment pos of expert e.
__global__ void __launch_bounds__(kDecWarps * 32)
    decode_gate_up_kernel(const bf16* __restrict__ x, const bf16* __restrict__ w13,
                          const int32_t* __restrict__ offsets, const int32_t* __restrict__ perm,
                          const int32_t* __restrict__ active, bf16* h, int D, int F, int E,
                          int tpp) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16* xs = reinterpret_cast<bf16*>(smem_raw);  // [kDecTok][D]
  if (static_cast<int>(blockIdx.y) >= active[E]) return;
  const int e = active[blockIdx.y];
  const int beg = offsets[e], cnt = offsets[e + 1] - beg;
  if (cnt == 0) return;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const bf16* we = w13 + int64_t(e) * 2 * F * D;
  // tpp (<= kDecTok) tokens per pass: shared memory is sized for min(n, kDecTok) tokens so
  // small batches fit more CTAs per SM (one wave instead of 1.1 at n = 1).
  for (int t0 = 0; t0 < cnt; t0 += tpp) {
    const int nt = cnt - t0 < tpp ? cnt - t0 : tpp;
    __syncthreads();
    for (int i = threadIdx.x; i < nt * D / 8; i += blockDim.x) {
      const int tt = i / (D / 8), c = i % (D / 8);
      const int64_t tok = perm[beg + t0 + tt] / kTopK;
      reinterpret_cast<int4*>(xs + tt * D)[c] = reinterpret_cast<const int4*>(x + tok * D)[c];
    }
    __syncthreads();
    for (int rr = 0; rr < kDecRowsPerWarp; ++rr) {
      const int j = (blockIdx.x * kDecWarps + warp) * kDecRowsPerWarp + rr;
      if (j >= F) break;
      const int4* wg = reinterpret_cast<const int4*>(we + int64_t(j) * D);
      const int4* wu = reinterpret_cast<const int4*>(we + int64_t(F + j) * D);
      float ag[kDecTok] = {}, au[kDecTok] = {};
      // 4 x 2 independent 16-byte weight loads in flight per lane before any math.
      for (int c0 = lane; c0 < D / 8; c0 += 32 * kUnroll) {
        int4 g4[kUnroll], u4[kUnroll];
#pragma unroll
        for (int i = 0; i < kUnroll; ++i) {
          const int c = c0 + 32 * i;
          if (c < D / 8) {
            g4[i] = __ldg(wg + c);
            u4[i] = __ldg(wu + c);
          }
        }
#pragma unroll
        for (int i = 0; i < kUnroll; ++i) {
          const int c = c0 + 32 * i;
          if (c < D / 8) {
#pragma unroll
            for (int tt = 0; tt < kDecTok; ++tt) {
              if (tt < nt) {
                const int4 xv = reinterpret_cast<const int4*>(xs + tt * D)[c];
                dot8(g4[i], xv, ag[tt]);
                dot8(u4[i], xv, au[tt]);
              }
            }
          }
        }
      }
#pragma unroll
      for (int tt = 0; tt < kDecTok; ++tt) {
        if (tt < nt) {
          const float g = warp_sum(ag[tt]), u = warp_sum(au[tt]);
          if (lane == 0) {
            const float gb = round_bf(g), ub = round_bf(u);
            h[int64_t(beg + t0 + tt) * F + j] = to_bf(round_bf(gb / (1.f + __expf(-gb))) * ub);
          }
        }
      }
    }
  }
}

// acc[t, i] += w_(t,k) · (w2_e[i] · h[pos]) for every assignment pos = (t, k) of expert e.
__global__ void __launch_bounds__(kDecWarps * 32)
    decode_down_kernel(const bf16* __restrict__ h, const bf16* __restrict__ w2,
                       const int32_t* __restrict__ offsets, const int32_t* __restrict__ perm,
                       const float* __restrict__ wts, const int32_t* __restrict__ active,
                       float* acc_out, int D, int F, int E, int tpp) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16* hs = reinterpret_cast<bf16*>(smem_raw);  // [kDecTok][F]
  if (static_cast<int>(blockIdx.y) >= active[E]) return;
  const int e = active[blockIdx.y];
  const int beg = offsets[e], cnt = offsets[e + 1] - beg;
  if (cnt == 0) return;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const bf16* we = w2 + int64_t(e) * D * F;
  // tpp (<= kDecTok) tokens per pass: shared memory is sized for min(n, kDecTok) tokens so
  // small batches fit more CTAs per SM (one wave instead of 1.1 at n = 1).
  for (int t0 = 0; t0 < cnt; t0 += tpp) {
    const int nt = cnt - t0 < tpp ? cnt - t0 : tpp;
    __syncthreads();
    for (int i = threadIdx.x; i < nt * F / 8; i += blockDim.x) {
      const int tt = i / (F / 8), c = i % (F / 8);
      reinterpret_cast<int4*>(hs + tt * F)[c] =
          reinterpret_cast<const int4*>(h + int64_t(beg + t0 + tt) * F)[c];
    }
    __syncthreads();
    for (int rr = 0; rr < kDecRowsPerWarp; ++rr) {
      const int i = (blockIdx.x * kDecWarps + warp) * kDecRowsPerWarp + rr;
      if (i >= D) break;
      const int4* wr = reinterpret_cast<const int4*>(we + int64_t(i) * F);
      float a[kDecTok] = {};
      for (int c0 = lane; c0 < F / 8; c0 += 32 * kUnroll) {
        int4 w4[kUnroll];
#pragma unroll
        for (int i = 0; i < kUnroll; ++i)
          if (c0 + 32 * i < F / 8) w4[i] = __ldg(wr + c0 + 32 * i);
#pragma unroll
        for (int i = 0; i < kUnroll; ++i) {
          const int c = c0 + 32 * i;
          if (c < F / 8) {
#pragma unroll
            for (int tt = 0; tt < kDecTok; ++tt)
              if (tt < nt) dot8(w4[i], reinterpret_cast<const int4*>(hs + tt * F)[c], a[tt]);
          }
        }
      }
#pragma unroll
      for (int tt = 0; tt < kDecTok; ++tt) {
        if (tt < nt) {
          const float y = round_bf(warp_sum(a[tt]));  // expert output is bf16 in the reference
          if (lane == 0) {
            const int asg = perm[beg + t0 + tt];
            atomicAdd(acc_out + int64_t(asg / kTopK) * D + i, wts[asg] * y);
          }
        }
      }
    }
  }
}

__global__ void f32_to_bf16_rows(const float* a, bf16* o, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    o[i] = to_bf(a[i]);
}

}  // namespace

void moe_route(const Context& ctx, const Tensor& logits, const Tensor& idx, const Tensor& weights) {
  MVL_CHECK(
      logits.ndim() == 2 && logits.dim(1) <= 32 && logits.dim(1) >= 2 && logits.is_contiguous(),
      unsupported, "cuda::moe_route: logits must be [n, E] with 2 <= E <= 32, got {}",
      logits.str());
  const int64_t n = logits.dim(0);
  MVL_CHECK(idx.dtype() == DType::i32 && idx.numel() == n * 2 && weights.dtype() == DType::f32 &&
                weights.numel() == n * 2,
            shape_mismatch, "cuda::moe_route: idx {} weights {}", idx.str(), weights.str());
  if (n == 0) return;
  const int E = static_cast<int>(logits.dim(1));
  const unsigned blocks = static_cast<unsigned>((n + 7) / 8);
  if (logits.dtype() == DType::f32)
    route_kernel<float><<<blocks, 256, 0, ctx.stream()>>>(
        static_cast<const float*>(logits.data()), static_cast<int32_t*>(idx.data()),
        static_cast<float*>(weights.data()), n, E);
  else
    route_kernel<bf16><<<blocks, 256, 0, ctx.stream()>>>(static_cast<const bf16*>(logits.data()),
                                                         static_cast<int32_t*>(idx.data()),
                                                         static_cast<float*>(weights.data()), n, E);
  MVL_CUDA_CHECK_LAUNCH();
}

void moe_forward(const Context& ctx, const Tensor& x, const MoeWeights& w, const Tensor& out) {
  MVL_CHECK(x.dtype() == DType::bf16 && x.ndim() == 2 && x.is_contiguous() &&
                out.shape() == x.shape() && out.dtype() == DType::bf16,
            shape_mismatch, "cuda::moe_forward: x {} out {}", x.str(), out.str());
  const int64_t n = x.dim(0), D = x.dim(1), E = w.router.dim(0), F = w.w13.dim(1) / 2;
  MVL_CHECK(w.router.dim(1) == D && w.w13.ndim() == 3 && w.w13.dim(0) == E && w.w13.dim(2) == D &&
                w.w2.ndim() == 3 && w.w2.dim(0) == E && w.w2.dim(1) == D && w.w2.dim(2) == F &&
                D % 8 == 0 && F % 8 == 0,
            shape_mismatch, "cuda::moe_forward: router {} w13 {} w2 {} for x {}", w.router.str(),
            w.w13.str(), w.w2.str(), x.str());
  if (n == 0) return;
  const int64_t na = n * kTopK;
  const bool decode = n <= kMoeDecodeMaxTokens;
  // All temporaries come from the context's scratch arena: no cudaMalloc per call, so the
  // decode path can be captured in a CUDA graph once the arena has grown (first call).
  Scratch scratch(ctx, {{n * E * 4},
                        {na * 4},
                        {na * 4},
                        {(E + 1) * 4},
                        {na * 4},
                        {na * 4},
                        {(E + 1) * 4},
                        {decode ? na * F * 2 : 0},
                        {decode ? n * D * 4 : 0},
                        {decode ? 0 : na * D * 2},
                        {decode ? 0 : na * 2 * F * 2},
                        {decode ? 0 : na * F * 2},
                        {decode ? 0 : na * D * 2}});
  Tensor logits = scratch.take({n, E}, DType::f32);
  gemm(ctx, x, w.router, logits);
  Tensor idx = scratch.take({n, kTopK}, DType::i32);
  Tensor wts = scratch.take({n, kTopK}, DType::f32);
  moe_route(ctx, logits, idx, wts);
  Tensor offsets = scratch.take({E + 1}, DType::i32);
  Tensor perm = scratch.take({na}, DType::i32);
  Tensor inv = scratch.take({na}, DType::i32);
  Tensor active = scratch.take({E + 1}, DType::i32);
  sort_kernel<<<static_cast<unsigned>(E), 256, 0, ctx.stream()>>>(
      static_cast<const int32_t*>(idx.data()), na, static_cast<int>(E),
      static_cast<int32_t*>(offsets.data()), static_cast<int32_t*>(perm.data()),
      static_cast<int32_t*>(inv.data()), decode ? static_cast<int32_t*>(active.data()) : nullptr);
  MVL_CUDA_CHECK_LAUNCH();
  const auto* off_p = static_cast<const int32_t*>(offsets.data());
  const auto* perm_p = static_cast<const int32_t*>(perm.data());
  const auto* act_p = static_cast<const int32_t*>(active.data());
  const unsigned expert_rows = static_cast<unsigned>(std::min<int64_t>(E, na));

  if (decode) {
    Tensor h = scratch.take({na, F}, DType::bf16);
    Tensor acc = scratch.take({n, D}, DType::f32);
    MVL_CUDA_CHECK(cudaMemsetAsync(acc.data(), 0, acc.nbytes(), ctx.stream()));
    const int tpp = static_cast<int>(std::min<int64_t>(n, kDecTok));
    const size_t smem1 = sizeof(bf16) * tpp * D, smem2 = sizeof(bf16) * tpp * F;
    MVL_CHECK(smem1 <= ctx.max_smem_optin() && smem2 <= ctx.max_smem_optin(), unsupported,
              "cuda::moe_forward: D={} F={} too large for the decode kernels' shared memory", D, F);
    MVL_CUDA_CHECK(cudaFuncSetAttribute(decode_gate_up_kernel,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem1)));
    MVL_CUDA_CHECK(cudaFuncSetAttribute(decode_down_kernel,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem2)));
    constexpr int rows_per_cta = kDecWarps * kDecRowsPerWarp;
    decode_gate_up_kernel<<<dim3(static_cast<unsigned>((F + rows_per_cta - 1) / rows_per_cta),
                                 expert_rows),
                            kDecWarps * 32, smem1, ctx.stream()>>>(
        static_cast<const bf16*>(x.data()), static_cast<const bf16*>(w.w13.data()), off_p, perm_p,
        act_p, static_cast<bf16*>(h.data()), static_cast<int>(D), static_cast<int>(F),
        static_cast<int>(E), tpp);
    MVL_CUDA_CHECK_LAUNCH();
    decode_down_kernel<<<dim3(static_cast<unsigned>((D + rows_per_cta - 1) / rows_per_cta),
                              expert_rows),
                         kDecWarps * 32, smem2, ctx.stream()>>>(
        static_cast<const bf16*>(h.data()), static_cast<const bf16*>(w.w2.data()), off_p, perm_p,
        static_cast<const float*>(wts.data()), act_p, static_cast<float*>(acc.data()),
        static_cast<int>(D), static_cast<int>(F), static_cast<int>(E), tpp);
    MVL_CUDA_CHECK_LAUNCH();
    f32_to_bf16_rows<<<static_cast<unsigned>((n * D + 255) / 256), 256, 0, ctx.stream()>>>(
        static_cast<const float*>(acc.data()), static_cast<bf16*>(out.data()), n * D);
    MVL_CUDA_CHECK_LAUNCH();
    return;
  }

  scratch.take({0}, DType::bf16);  // the decode-only slots
  scratch.take({0}, DType::f32);
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
  auto* xs_p = static_cast<bf16*>(xs.data());
  auto* gu_p = static_cast<bf16*>(gu.data());
  auto* h_p = static_cast<bf16*>(h.data());
  auto* ys_p = static_cast<bf16*>(ys.data());
  for (int64_t e = 0; e < E; ++e) {
    const int64_t b = off[e], c = off[e + 1] - off[e];
    if (c == 0) continue;
    gemm_raw(ctx, xs_p + b * D, static_cast<const bf16*>(w.w13.data()) + e * 2 * F * D,
             gu_p + b * 2 * F, true, c, D, 2 * F);
  }
  swiglu(ctx, gu, h);
  for (int64_t e = 0; e < E; ++e) {
    const int64_t b = off[e], c = off[e + 1] - off[e];
    if (c == 0) continue;
    gemm_raw(ctx, h_p + b * F, static_cast<const bf16*>(w.w2.data()) + e * D * F, ys_p + b * D,
             true, c, F, D);
  }
  combine_kernel<<<static_cast<unsigned>(n), 256, 0, ctx.stream()>>>(
      ys_p, static_cast<const int32_t*>(idx.data()), static_cast<const float*>(wts.data()),
      static_cast<const int32_t*>(inv.data()), static_cast<bf16*>(out.data()), static_cast<int>(D));
  MVL_CUDA_CHECK_LAUNCH();
}

}  // namespace mvl::cuda
