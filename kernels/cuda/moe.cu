// MoE kernels. Routing: one warp per token (E <= 32 lanes), f32 softmax, top-2 with the
// lower expert index winning ties, renormalised weights. Prefill: moe_prefill.cu (histogram
// sort, gather, per-expert cuBLASLt GEMMs, SwiGLU, ascending-order combine). Decode (n <= 64;
// design in moe.h): router GEMV, one-CTA route + sort, then gate/up and down GEMVs that
// stream each touched expert's weights once: split-K kernels without atomics for n <= 4
// (experts summed in the same ascending order), warp-per-row kernels with shared-memory
// token staging and f32 atomic sums for 5..64 tokens; or, for n >= MoeDecodeTuning::mma_min_tokens,
// the tensor-core kernels of moe_decode_mma.cu (same routing, same f32 buffer).
// CPU reference: kernels/cpu moe; test: tests/gpu/moe_test.cpp.
#include "kernels/cuda/moe.h"

#include <algorithm>
#include <vector>

#include "kernels/cuda/activation.h"
#include "kernels/cuda/check.cuh"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/moe_decode_mma.h"
#include "kernels/cuda/storage.h"

namespace mvl::cuda {

using namespace dev;

namespace {

constexpr int kTopK = 2;
static_assert(moe_mma::kVariants == kMoeMmaVariants, "moe.h and moe_decode_mma.h list the same tilings");

// The router of one token on one warp: lane e holds logit e (x = -inf for lanes >= E). f32
// softmax, then top-1 and top-2 (larger p wins, equal p -> lower index), renormalised over the
// two. Every lane returns the same choice.
struct Top2 {
  int i1, i2;
  float w1, w2;
};
__device__ __forceinline__ Top2 warp_top2(float x, int lane, int E) {
  const float mx = warp_max(x);
  const float e = lane < E ? expf(x - mx) : 0.f;
  const float p = e / warp_sum(e);
  struct Best {
    float p;
    int i;
  };
  auto argmax = [](Best b) {
    for (int o = 16; o > 0; o >>= 1) {
      const float op = __shfl_xor_sync(0xffffffffu, b.p, o);
      const int oi = __shfl_xor_sync(0xffffffffu, b.i, o);
      if (op > b.p || (op == b.p && oi < b.i)) b = {op, oi};
    }
    return b;
  };
  const Best b1 = argmax({lane < E ? p : -1.f, lane});
  const Best b2 = argmax({lane < E && lane != b1.i ? p : -1.f, lane});
  const float s = b1.p + b2.p;
  return {b1.i, b2.i, b1.p / s, b2.p / s};
}

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
  const Top2 r = warp_top2(x, lane, E);
  if (lane == 0) {
    idx[t * 2] = r.i1;
    idx[t * 2 + 1] = r.i2;
    wts[t * 2] = r.w1;
    wts[t * 2 + 1] = r.w2;
  }
}

constexpr int kDecTok = 4;    // tokens per pass (accumulators per lane)
constexpr int kDecWarps = 8;  // warps per CTA (batched decode kernels)
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

// Streamed expert weights are read once per call: Hint 0 = plain __ldg; 1 = bypass L1
// (the activations stay there) and ask L2 for 256-byte sectors; 2 = 1 plus an L2
// evict-first policy (the 0.7 GB stream should not push other data out of L2).
template <int Hint>
__device__ __forceinline__ int4 ld_stream(const int4* p, uint64_t pol) {
  int4 v;
  if constexpr (Hint == 0) {
    v = __ldg(p);
  } else if constexpr (Hint == 1) {
    asm volatile("ld.global.nc.L1::no_allocate.L2::256B.v4.s32 {%0,%1,%2,%3}, [%4];"
                 : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
                 : "l"(p));
  } else {
    asm volatile(
        "ld.global.nc.L1::no_allocate.L2::cache_hint.L2::256B.v4.s32 {%0,%1,%2,%3}, [%4], %5;"
        : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
        : "l"(p), "l"(pol));
  }
  return v;
}

template <int Hint>
__device__ __forceinline__ uint64_t stream_policy() {
  uint64_t pol = 0;
  if constexpr (Hint == 2)
    asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(pol));
  return pol;
}

// logits[t, e] = router[e] · x[t] (f32). Grid (E, ceil(n / 8)): a CTA reads one router row
// once for up to 8 tokens, D split over its 256 threads (one round trip per thread at D 6144).
__global__ void __launch_bounds__(256)
    decode_logits_kernel(const bf16* __restrict__ x, const bf16* __restrict__ router, float* logits,
                         int n, int D, int E) {
  __shared__ float red[8][8];  // [warp][token]
  const int e = blockIdx.x, t0 = blockIdx.y * 8, nt = min(8, n - t0);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int4* wr = reinterpret_cast<const int4*>(router + int64_t(e) * D);
  float a[8] = {};
  for (int c = threadIdx.x; c < D / 8; c += blockDim.x) {
    const int4 wv = __ldg(wr + c);
#pragma unroll
    for (int tt = 0; tt < 8; ++tt)
      if (tt < nt)
        dot8(wv, __ldg(reinterpret_cast<const int4*>(x + int64_t(t0 + tt) * D) + c), a[tt]);
  }
#pragma unroll
  for (int tt = 0; tt < 8; ++tt) {
    const float s = warp_sum(a[tt]);
    if (lane == 0) red[warp][tt] = s;
  }
  __syncthreads();
  if (threadIdx.x < nt) {
    float s = 0.f;
    for (int w = 0; w < int(blockDim.x >> 5); ++w) s += red[w][threadIdx.x];
    logits[int64_t(t0 + threadIdx.x) * E + e] = s;
  }
}

// One CTA: routes every token (warp per token, as route_kernel) and builds the per-expert
// lists: offsets [E + 1], perm [2n] (assignments t * 2 + k in token order per expert),
// active [E + 1] (experts with >= 1 token, ascending; active[E] = how many).
__global__ void __launch_bounds__(256)
    decode_route_sort_kernel(const float* __restrict__ logits, float* wts, int32_t* offsets,
                             int32_t* perm, int32_t* active, int n, int E) {
  __shared__ int32_t idx_s[2 * kMoeDecodeMaxTokens];
  __shared__ int32_t cnt_s[33];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  for (int t = warp; t < n; t += nw) {
    const float x = lane < E ? logits[int64_t(t) * E + lane] : -INFINITY;
    const Top2 r = warp_top2(x, lane, E);
    if (lane == 0) {
      idx_s[t * 2] = r.i1;
      idx_s[t * 2 + 1] = r.i2;
      wts[t * 2] = r.w1;
      wts[t * 2 + 1] = r.w2;
    }
  }
  __syncthreads();
  const int na = 2 * n;
  for (int e = warp; e < E; e += nw) {
    int c = 0;
    for (int a0 = 0; a0 < na; a0 += 32)
      c += __popc(__ballot_sync(0xffffffffu, a0 + lane < na && idx_s[a0 + lane] == e));
    if (lane == 0) cnt_s[e] = c;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    int s = 0, r = 0;
    for (int e = 0; e < E; ++e) {
      const int c = cnt_s[e];
      offsets[e] = s;
      cnt_s[e] = s;
      s += c;
      if (c > 0) active[r++] = e;
    }
    offsets[E] = s;
    active[E] = r;
  }
  __syncthreads();
  for (int e = warp; e < E; e += nw) {
    int base = cnt_s[e];
    for (int a0 = 0; a0 < na; a0 += 32) {
      const bool hit = a0 + lane < na && idx_s[a0 + lane] == e;
      const unsigned m = __ballot_sync(0xffffffffu, hit);
      if (hit) perm[base + __popc(m & ((1u << lane) - 1u))] = a0 + lane;
      base += __popc(m);
    }
  }
}

// Batches of n <= kDecTok tokens (each expert then has <= kDecTok of them): split-K GEMVs.
// A CTA owns R rows of one expert (gate/up) or R output rows (down); its 256 threads split
// each row, every thread issuing all of its 16-byte loads for the row at once (U = 3 at
// D 6144, 5 at F 9216: one round trip), then warp sums and one shared-memory reduction.
// CTAs are short-lived (one or two round trips), so the grid tail is short too.
constexpr int kSmallThreads = 256;
constexpr int kSmallWarps = kSmallThreads / 32;
constexpr int kUnrollGate = 3;  // covers D 6144 in one pass (768 16-byte chunks / 256)
constexpr int kUnrollDown = 5;  // covers F 9216 in one pass (1152 / 256)

// h[pos, j] = bf16(silu(w1_e[j]·x_t)) * (w3_e[j]·x_t) for the <= kDecTok assignments of e.
// Grid (ceil(F / R), active experts).
template <int R, int Hint>
__global__ void __launch_bounds__(kSmallThreads)
    small_gate_up_kernel(const bf16* __restrict__ x, const bf16* __restrict__ w13,
                         const int32_t* __restrict__ offsets, const int32_t* __restrict__ perm,
                         const int32_t* __restrict__ active, bf16* h, int D, int F, int E) {
  __shared__ float red[kSmallWarps][R][2][kDecTok];
  if (static_cast<int>(blockIdx.y) >= active[E]) return;
  const int e = active[blockIdx.y];
  const int j0 = blockIdx.x * R, tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const uint64_t pol = stream_policy<Hint>();
  const bf16* we = w13 + int64_t(e) * 2 * F * D;
  const int4* wg[R];
  const int4* wu[R];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    const int j = min(j0 + r, F - 1);  // rows past F recompute row F-1, never stored
    wg[r] = reinterpret_cast<const int4*>(we + int64_t(j) * D);
    wu[r] = reinterpret_cast<const int4*>(we + int64_t(F + j) * D);
  }
  const int beg = offsets[e], cnt = offsets[e + 1] - beg;  // 1..kDecTok
  const int4* xr[kDecTok];
#pragma unroll
  for (int tt = 0; tt < kDecTok; ++tt)
    xr[tt] = reinterpret_cast<const int4*>(x + int64_t(perm[beg + min(tt, cnt - 1)] / kTopK) * D);
  float ag[R][kDecTok] = {}, au[R][kDecTok] = {};
  for (int c0 = tid; c0 < D / 8; c0 += kSmallThreads * kUnrollGate) {
    int4 g4[kUnrollGate][R], u4[kUnrollGate][R];
#pragma unroll
    for (int u = 0; u < kUnrollGate; ++u) {
      const int c = c0 + kSmallThreads * u;
      if (c < D / 8) {
#pragma unroll
        for (int r = 0; r < R; ++r) {
          g4[u][r] = ld_stream<Hint>(wg[r] + c, pol);
          u4[u][r] = ld_stream<Hint>(wu[r] + c, pol);
        }
      }
    }
#pragma unroll
    for (int u = 0; u < kUnrollGate; ++u) {
      const int c = c0 + kSmallThreads * u;
      if (c < D / 8) {
#pragma unroll
        for (int tt = 0; tt < kDecTok; ++tt) {
          if (tt < cnt) {
            const int4 xv = __ldg(xr[tt] + c);
#pragma unroll
            for (int r = 0; r < R; ++r) {
              dot8(g4[u][r], xv, ag[r][tt]);
              dot8(u4[u][r], xv, au[r][tt]);
            }
          }
        }
      }
    }
  }
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int tt = 0; tt < kDecTok; ++tt)
      if (tt < cnt) {
        const float g = warp_sum(ag[r][tt]), u = warp_sum(au[r][tt]);
        if (lane == 0) {
          red[warp][r][0][tt] = g;
          red[warp][r][1][tt] = u;
        }
      }
  __syncthreads();
  if (tid < R * cnt) {
    const int r = tid / cnt, tt = tid % cnt;
    if (j0 + r < F) {
      float g = 0.f, u = 0.f;
#pragma unroll
      for (int w = 0; w < kSmallWarps; ++w) {
        g += red[w][r][0][tt];
        u += red[w][r][1][tt];
      }
      const float gb = round_bf(g), ub = round_bf(u);
      h[int64_t(beg + tt) * F + j0 + r] = to_bf(round_bf(gb / (1.f + __expf(-gb))) * ub);
    }
  }
}

// out[t, i] = bf16(sum over t's two experts, ascending: w_(t,k) · bf16(w2_e[i] · h[pos])),
// for the R output rows of this CTA (grid ceil(D / R)). The CTA walks the active experts in
// ascending order and sums in f32 in shared memory: no atomics, no zero fill, no conversion
// pass, and the same order as the prefill combine.
template <int R, int Hint>
__global__ void __launch_bounds__(kSmallThreads)
    small_down_kernel(const bf16* __restrict__ h, const bf16* __restrict__ w2,
                      const int32_t* __restrict__ offsets, const int32_t* __restrict__ perm,
                      const float* __restrict__ wts, const int32_t* __restrict__ active, bf16* out,
                      int n, int D, int F, int E) {
  __shared__ float red[kSmallWarps][R][kDecTok];
  __shared__ float acc_s[R][kDecTok];  // [row][token]
  const int i0 = blockIdx.x * R, tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const uint64_t pol = stream_policy<Hint>();
  if (tid < R * kDecTok) (&acc_s[0][0])[tid] = 0.f;
  const int n_act = active[E];
  for (int ra = 0; ra < n_act; ++ra) {
    const int e = active[ra];
    const int4* wr[R];
#pragma unroll
    for (int r = 0; r < R; ++r)
      wr[r] = reinterpret_cast<const int4*>(w2 + (int64_t(e) * D + min(i0 + r, D - 1)) * F);
    const int beg = offsets[e], cnt = offsets[e + 1] - beg;  // 1..kDecTok
    float a[R][kDecTok] = {};
    for (int c0 = tid; c0 < F / 8; c0 += kSmallThreads * kUnrollDown) {
      int4 w4[kUnrollDown][R];
#pragma unroll
      for (int u = 0; u < kUnrollDown; ++u) {
        const int c = c0 + kSmallThreads * u;
        if (c < F / 8) {
#pragma unroll
          for (int r = 0; r < R; ++r) w4[u][r] = ld_stream<Hint>(wr[r] + c, pol);
        }
      }
#pragma unroll
      for (int u = 0; u < kUnrollDown; ++u) {
        const int c = c0 + kSmallThreads * u;
        if (c < F / 8) {
#pragma unroll
          for (int tt = 0; tt < kDecTok; ++tt) {
            if (tt < cnt) {
              const int4 hv = __ldg(reinterpret_cast<const int4*>(h + int64_t(beg + tt) * F) + c);
#pragma unroll
              for (int r = 0; r < R; ++r) dot8(w4[u][r], hv, a[r][tt]);
            }
          }
        }
      }
    }
#pragma unroll
    for (int r = 0; r < R; ++r)
#pragma unroll
      for (int tt = 0; tt < kDecTok; ++tt)
        if (tt < cnt) {
          const float s = warp_sum(a[r][tt]);
          if (lane == 0) red[warp][r][tt] = s;
        }
    __syncthreads();
    if (tid < R * cnt) {  // distinct (row, token) per thread: a token meets e at most once
      const int r = tid / cnt, tt = tid % cnt;
      float s = 0.f;
#pragma unroll
      for (int w = 0; w < kSmallWarps; ++w) s += red[w][r][tt];
      const int asg = perm[beg + tt];
      acc_s[r][asg / kTopK] += wts[asg] * round_bf(s);  // expert output is bf16 in the reference
    }
    __syncthreads();
  }
  if (tid < R * n) {
    const int r = tid / n, t = tid % n;
    if (i0 + r < D) out[int64_t(t) * D + i0 + r] = to_bf(acc_s[r][t]);
  }
}

// h[pos, j] = bf16(silu(w1_e[j]·x_t)) * (w3_e[j]·x_t) for every assignment pos of expert e.
__global__ void __launch_bounds__(kDecWarps * 32)
    batch_gate_up_kernel(const bf16* __restrict__ x, const bf16* __restrict__ w13,
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
  // tpp (<= kDecTok) tokens per pass, staged in shared memory.
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
    batch_down_kernel(const bf16* __restrict__ h, const bf16* __restrict__ w2,
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
  // tpp (<= kDecTok) tokens per pass, staged in shared memory.
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

// The product's decode choice (moe_forward without a tuning: the engine's path): the CUDA-core
// kernels at every n until the GPU sweep (tools/device/moeb_check.sh) shows the tensor-core
// kernels ahead; then set the smallest n they win from and their tiling here.
constexpr int kProductMmaMinTokens = 8;
constexpr int kProductMmaVariant = 2;

void moe_forward(const Context& ctx, const Tensor& x, const MoeWeights& w, const Tensor& out) {
  MoeDecodeTuning t;
  t.mma_min_tokens = kProductMmaMinTokens;
  t.mma_variant = kProductMmaVariant;
  moe_forward(ctx, x, w, out, t);
}

namespace {

template <int RG, int RD, int Hint>
void launch_small(const Context& ctx, const bf16* x, const MoeWeights& w, const int32_t* off,
                  const int32_t* perm, const float* wts, const int32_t* act, bf16* h, bf16* out,
                  int64_t n, int64_t D, int64_t F, int64_t E) {
  const unsigned expert_rows = static_cast<unsigned>(std::min<int64_t>(E, 2 * n));
  small_gate_up_kernel<RG, Hint>
      <<<dim3(static_cast<unsigned>((F + RG - 1) / RG), expert_rows), kSmallThreads, 0,
         ctx.stream()>>>(x, static_cast<const bf16*>(w.w13.data()), off, perm, act, h,
                         static_cast<int>(D), static_cast<int>(F), static_cast<int>(E));
  MVL_CUDA_CHECK_LAUNCH();
  small_down_kernel<RD, Hint>
      <<<static_cast<unsigned>((D + RD - 1) / RD), kSmallThreads, 0, ctx.stream()>>>(
          h, static_cast<const bf16*>(w.w2.data()), off, perm, wts, act, out, static_cast<int>(n),
          static_cast<int>(D), static_cast<int>(F), static_cast<int>(E));
  MVL_CUDA_CHECK_LAUNCH();
}

using SmallLaunch = void (*)(const Context&, const bf16*, const MoeWeights&, const int32_t*,
                             const int32_t*, const float*, const int32_t*, bf16*, bf16*, int64_t,
                             int64_t, int64_t, int64_t);

template <int Hint>
SmallLaunch pick_small(int rg, int rd) {
  if (rg == 1) return rd == 1 ? launch_small<1, 1, Hint> : launch_small<1, 2, Hint>;
  return rd == 1 ? launch_small<2, 1, Hint> : launch_small<2, 2, Hint>;
}

}  // namespace

void moe_forward(const Context& ctx, const Tensor& x, const MoeWeights& w, const Tensor& out,
                 const MoeDecodeTuning& tu) {
  MVL_CHECK(x.dtype() == DType::bf16 && x.ndim() == 2 && x.is_contiguous() &&
                out.shape() == x.shape() && out.dtype() == DType::bf16,
            shape_mismatch, "cuda::moe_forward: x {} out {}", x.str(), out.str());
  const int64_t n = x.dim(0), D = x.dim(1), E = w.router.dim(0), F = w.w13.dim(1) / 2;
  MVL_CHECK(w.router.dim(1) == D && w.w13.ndim() == 3 && w.w13.dim(0) == E && w.w13.dim(2) == D &&
                w.w2.ndim() == 3 && w.w2.dim(0) == E && w.w2.dim(1) == D && w.w2.dim(2) == F &&
                D % 8 == 0 && F % 8 == 0,
            shape_mismatch, "cuda::moe_forward: router {} w13 {} w2 {} for x {}", w.router.str(),
            w.w13.str(), w.w2.str(), x.str());
  MVL_CHECK((tu.gate_rows == 1 || tu.gate_rows == 2) && (tu.down_rows == 1 || tu.down_rows == 2) &&
                tu.load_hint >= 0 && tu.load_hint <= 2 && tu.mma_min_tokens >= 1 &&
                tu.mma_variant >= 0 && tu.mma_variant < kMoeMmaVariants,
            invalid_argument, "cuda::moe_forward: bad decode tuning {} {} {} {} {}", tu.gate_rows,
            tu.down_rows, tu.load_hint, tu.mma_min_tokens, tu.mma_variant);
  if (n == 0) return;
  const int64_t na = n * kTopK;
  if (n <= kMoeDecodeMaxTokens) {
    MVL_CHECK(E >= 2 && E <= 32, unsupported, "cuda::moe_forward: {} experts (2..32)", E);
    // No host sync, all temporaries from the context's scratch arena (no cudaMalloc once
    // it has grown): graph-capturable.
    const bool mma = n >= tu.mma_min_tokens;
    const bool small = !mma && n <= kDecTok;
    Scratch scratch(ctx, {{n * E * 4},
                          {na * 4},
                          {(E + 1) * 4},
                          {na * 4},
                          {(E + 1) * 4},
                          {na * F * 2},
                          {small ? 0 : n * D * 4}});
    Tensor logits = scratch.take({n, E}, DType::f32);
    Tensor wts = scratch.take({n, kTopK}, DType::f32);
    Tensor offsets = scratch.take({E + 1}, DType::i32);
    Tensor perm = scratch.take({na}, DType::i32);
    Tensor active = scratch.take({E + 1}, DType::i32);
    Tensor h = scratch.take({na, F}, DType::bf16);
    decode_logits_kernel<<<dim3(static_cast<unsigned>(E), static_cast<unsigned>((n + 7) / 8)), 256,
                           0, ctx.stream()>>>(
        static_cast<const bf16*>(x.data()), static_cast<const bf16*>(w.router.data()),
        static_cast<float*>(logits.data()), static_cast<int>(n), static_cast<int>(D),
        static_cast<int>(E));
    MVL_CUDA_CHECK_LAUNCH();
    decode_route_sort_kernel<<<1, 256, 0, ctx.stream()>>>(
        static_cast<const float*>(logits.data()), static_cast<float*>(wts.data()),
        static_cast<int32_t*>(offsets.data()), static_cast<int32_t*>(perm.data()),
        static_cast<int32_t*>(active.data()), static_cast<int>(n), static_cast<int>(E));
    MVL_CUDA_CHECK_LAUNCH();
    const auto* off_p = static_cast<const int32_t*>(offsets.data());
    const auto* perm_p = static_cast<const int32_t*>(perm.data());
    const auto* act_p = static_cast<const int32_t*>(active.data());
    const auto* wts_p = static_cast<const float*>(wts.data());
    if (small) {
      const SmallLaunch launch = tu.load_hint == 0   ? pick_small<0>(tu.gate_rows, tu.down_rows)
                                 : tu.load_hint == 1 ? pick_small<1>(tu.gate_rows, tu.down_rows)
                                                     : pick_small<2>(tu.gate_rows, tu.down_rows);
      launch(ctx, static_cast<const bf16*>(x.data()), w, off_p, perm_p, wts_p, act_p,
             static_cast<bf16*>(h.data()), static_cast<bf16*>(out.data()), n, D, F, E);
      return;
    }
    // 5..64 tokens: experts shared by several tokens; each pass stages up to kDecTok of an
    // expert's tokens in shared memory and the down kernel adds into an f32 buffer.
    Tensor acc = scratch.take({n, D}, DType::f32);
    MVL_CUDA_CHECK(cudaMemsetAsync(acc.data(), 0, acc.nbytes(), ctx.stream()));
    if (mma) {  // the tensor-core kernels (moe_decode_mma.cu), same f32 buffer and conversion
      const moe_mma::Args a{static_cast<const bf16*>(x.data()),
                            static_cast<const bf16*>(w.w13.data()),
                            static_cast<const bf16*>(w.w2.data()),
                            off_p,
                            perm_p,
                            act_p,
                            wts_p,
                            static_cast<bf16*>(h.data()),
                            static_cast<float*>(acc.data()),
                            static_cast<int>(n),
                            static_cast<int>(D),
                            static_cast<int>(F),
                            static_cast<int>(E)};
      moe_mma::launch(a, tu.mma_variant, ctx.stream());
      f32_to_bf16_rows<<<static_cast<unsigned>((n * D + 255) / 256), 256, 0, ctx.stream()>>>(
          static_cast<const float*>(acc.data()), static_cast<bf16*>(out.data()), n * D);
      MVL_CUDA_CHECK_LAUNCH();
      return;
    }
    const int tpp = kDecTok;
    const size_t smem1 = sizeof(bf16) * tpp * D, smem2 = sizeof(bf16) * tpp * F;
    MVL_CHECK(smem1 <= ctx.max_smem_optin() && smem2 <= ctx.max_smem_optin(), unsupported,
              "cuda::moe_forward: D={} F={} too large for the decode kernels' shared memory", D, F);
    MVL_CUDA_CHECK(cudaFuncSetAttribute(batch_gate_up_kernel,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem1)));
    MVL_CUDA_CHECK(cudaFuncSetAttribute(batch_down_kernel,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem2)));
    constexpr int rows_per_cta = kDecWarps * kDecRowsPerWarp;
    const unsigned expert_rows = static_cast<unsigned>(std::min<int64_t>(E, na));
    batch_gate_up_kernel<<<dim3(static_cast<unsigned>((F + rows_per_cta - 1) / rows_per_cta),
                                expert_rows),
                           kDecWarps * 32, smem1, ctx.stream()>>>(
        static_cast<const bf16*>(x.data()), static_cast<const bf16*>(w.w13.data()), off_p, perm_p,
        act_p, static_cast<bf16*>(h.data()), static_cast<int>(D), static_cast<int>(F),
        static_cast<int>(E), tpp);
    MVL_CUDA_CHECK_LAUNCH();
    batch_down_kernel<<<dim3(static_cast<unsigned>((D + rows_per_cta - 1) / rows_per_cta),
                             expert_rows),
                        kDecWarps * 32, smem2, ctx.stream()>>>(
        static_cast<const bf16*>(h.data()), static_cast<const bf16*>(w.w2.data()), off_p, perm_p,
        wts_p, act_p, static_cast<float*>(acc.data()), static_cast<int>(D), static_cast<int>(F),
        static_cast<int>(E), tpp);
    MVL_CUDA_CHECK_LAUNCH();
    f32_to_bf16_rows<<<static_cast<unsigned>((n * D + 255) / 256), 256, 0, ctx.stream()>>>(
        static_cast<const float*>(acc.data()), static_cast<bf16*>(out.data()), n * D);
    MVL_CUDA_CHECK_LAUNCH();
    return;
  }

  const auto* w13_p = static_cast<const bf16*>(w.w13.data());
  const auto* w2_p = static_cast<const bf16*>(w.w2.data());
  moe_prefill(
      ctx, x, w.router, F, [&](int64_t e) -> const void* { return w13_p + e * 2 * F * D; },
      [&](int64_t e) -> const void* { return w2_p + e * D * F; }, out);
}

std::string moe_mma_variant_name(int variant) {
  const moe_mma::Variant v = moe_mma::variant(variant);
  return fmt::format("ks{} mt{} u{} nt{}", v.ks, v.mt, v.u, v.nt);
}

void moe_decode_route(const Context& ctx, const Tensor& x, const Tensor& router, float* logits,
                      float* wts, int32_t* offsets, int32_t* perm, int32_t* active) {
  const int64_t n = x.dim(0), D = x.dim(1), E = router.dim(0);
  MVL_CHECK(x.dtype() == DType::bf16 && router.dtype() == DType::bf16 && router.dim(1) == D &&
                n >= 1 && n <= kMoeDecodeMaxTokens && E >= 2 && E <= 32 && D % 8 == 0,
            unsupported, "cuda::moe_decode_route: x {} router {}", x.str(), router.str());
  decode_logits_kernel<<<dim3(static_cast<unsigned>(E), static_cast<unsigned>((n + 7) / 8)), 256,
                         0, ctx.stream()>>>(static_cast<const bf16*>(x.data()),
                                            static_cast<const bf16*>(router.data()), logits,
                                            static_cast<int>(n), static_cast<int>(D),
                                            static_cast<int>(E));
  MVL_CUDA_CHECK_LAUNCH();
  decode_route_sort_kernel<<<1, 256, 0, ctx.stream()>>>(logits, wts, offsets, perm, active,
                                                        static_cast<int>(n), static_cast<int>(E));
  MVL_CUDA_CHECK_LAUNCH();
}

}  // namespace mvl::cuda
