// Batched MoE decode on the tensor cores (issue 21 item 5), for the bf16 experts: at 8-64 tokens
// with top-2 of 32 experts almost every expert is touched by a handful of tokens, so the step is
// "stream all 10.9 GB of experts once, multiply each 16-row weight tile by <= 16 token columns".
// The CUDA-core kernels of moe.cu spend ~2 FMA + 2 converts per weight per token there (and
// re-read an expert's weights every 4 tokens); here one mma.sync m16n8k16 multiplies 16 rows x 16
// k of weights by 8 tokens.
//  - A (weights) straight from global into registers, no shared memory: thread (g, t) of a warp
//    (g = lane / 4, t = lane % 4) loads 16 bytes of rows g and g + 8 at k = 32 s + 8 t (4 threads
//    cover 64 contiguous bytes of a row per instruction). Its 4 bf16x2 words w0..w3 are the A
//    slots {2t, 2t+1} / {2t+8, 2t+9} of two mmas (w0/w1, then w2/w3); the B fragment is the same
//    16 bytes of the token's activations (column g), so both sides see the same permutation of
//    k inside the 32-k step and the dot is unchanged (quant_moe_int4.cuh does the same with
//    nibbles).
//  - gate/up: a 16-row tile is 8 gate rows (A rows 0-7) and the same 8 up rows (8-15), so the
//    thread holding gate(j, token) also holds up(j, token): SiLU * up in registers, h in bf16
//    (the reference's roundings: bf16 g, u, silu(g), product).
//  - down: 16 output rows per tile; each expert's bf16 output times its routing weight is added
//    into an f32 [n, D] buffer with atomicAdd. Every element gets exactly two addends (top-2) onto
//    zero, and 0 + a + b == 0 + b + a in IEEE arithmetic, so the result does not depend on the
//    order (same as moe.cu's batch_down_kernel).
//  - a CTA is KS warps on MT 16-row tiles of one expert; the warps split K (warp w takes k-steps
//    w, w + KS, ...), each issuing U steps' loads (U * MT KB per warp) before their math, and the
//    partial fragments are summed in warp order through shared memory, each warp finishing some of
//    the MT * NT fragments. Tokens go NT * 8 per pass; an expert with more tokens takes more passes
//    over its weights (from L2 if they are still there).
// Grid: (row tiles, active-expert slots); slots past active[E] exit at once.
// CPU reference: tests/gpu/moe_test.cpp's fp64 MoE; sweep: kernels/bench/ops_cuda_bench.cpp
// (--only moe_batch), tools/device/moeb_check.sh.
#include "kernels/cuda/moe_decode_mma.h"

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/common.cuh"

namespace mvl::cuda::moe_mma {

using namespace dev;

namespace {

// Streamed weights (read once per call): bypass L1, 256-byte L2 prefetch.
__device__ __forceinline__ int4 ld_w(const bf16* p) {
  int4 v;
  asm volatile("ld.global.nc.L1::no_allocate.L2::256B.v4.s32 {%0,%1,%2,%3}, [%4];"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
               : "l"(p));
  return v;
}

// acc[m][q] = A rows (ra[m]: tile rows 0-7, rb[m]: 8-15, this thread's g) . columns xr[q]
// (this thread's token g of column tile q) over k < K, the part of warp `warp` of KS.
template <int KS, int MT, int U, int NT>
__device__ __forceinline__ void tile_dots(const bf16* const (&ra)[MT], const bf16* const (&rb)[MT],
                                          const bf16* const (&xr)[NT], int ntiles, int K,
                                          float (&acc)[MT][NT][4]) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, t = lane & 3;
#pragma unroll
  for (int m = 0; m < MT; ++m)
#pragma unroll
    for (int q = 0; q < NT; ++q)
#pragma unroll
      for (int i = 0; i < 4; ++i) acc[m][q][i] = 0.f;
  const int nsteps = (K + 31) / 32;
  const int4 zero = make_int4(0, 0, 0, 0);
  for (int s0 = warp; s0 < nsteps; s0 += KS * U) {
    int4 wa[U][MT], wb[U][MT], xv[U][NT];
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int k = (s0 + u * KS) * 32 + 8 * t;
      const bool ok = s0 + u * KS < nsteps && k < K;  // K % 8 == 0: a chunk is all in or out
#pragma unroll
      for (int m = 0; m < MT; ++m) {
        wa[u][m] = ok ? ld_w(ra[m] + k) : zero;
        wb[u][m] = ok ? ld_w(rb[m] + k) : zero;
      }
#pragma unroll
      for (int q = 0; q < NT; ++q)
        xv[u][q] = ok && q < ntiles ? __ldg(reinterpret_cast<const int4*>(xr[q] + k)) : zero;
    }
#pragma unroll
    for (int u = 0; u < U; ++u)
#pragma unroll
      for (int m = 0; m < MT; ++m)
#pragma unroll
        for (int q = 0; q < NT; ++q) {
          if (q >= ntiles) continue;  // CTA-uniform
          const uint32_t a0[4] = {static_cast<uint32_t>(wa[u][m].x), static_cast<uint32_t>(wb[u][m].x),
                                  static_cast<uint32_t>(wa[u][m].y), static_cast<uint32_t>(wb[u][m].y)};
          mma_bf16(acc[m][q], a0, static_cast<uint32_t>(xv[u][q].x), static_cast<uint32_t>(xv[u][q].y));
          const uint32_t a1[4] = {static_cast<uint32_t>(wa[u][m].z), static_cast<uint32_t>(wb[u][m].z),
                                  static_cast<uint32_t>(wa[u][m].w), static_cast<uint32_t>(wb[u][m].w)};
          mma_bf16(acc[m][q], a1, static_cast<uint32_t>(xv[u][q].z), static_cast<uint32_t>(xv[u][q].w));
        }
  }
}

// Sums the KS warps' fragments (warp order) and calls fin(m, q, c) once per fragment with
// q < ntiles, on the lanes of one warp. Ends with a CTA barrier (red is free again).
template <int KS, int MT, int NT, typename Fin>
__device__ __forceinline__ void reduce_finish(const float (&acc)[MT][NT][4], float (*red)[4][32],
                                              int ntiles, Fin fin) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if constexpr (KS == 1) {
#pragma unroll
    for (int m = 0; m < MT; ++m)
#pragma unroll
      for (int q = 0; q < NT; ++q)
        if (q < ntiles) fin(m, q, acc[m][q]);
  } else {
    // red: [KS][MT * NT][4][32] flattened as [(warp * MT * NT + f)][4][32].
#pragma unroll
    for (int m = 0; m < MT; ++m)
#pragma unroll
      for (int q = 0; q < NT; ++q)
        if (q < ntiles)
#pragma unroll
          for (int i = 0; i < 4; ++i) red[warp * MT * NT + m * NT + q][i][lane] = acc[m][q][i];
    __syncthreads();
    for (int f = warp; f < MT * NT; f += KS) {
      const int m = f / NT, q = f % NT;
      if (q >= ntiles) continue;
      float c[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        float v = red[f][i][lane];
        for (int w = 1; w < KS; ++w) v += red[w * MT * NT + f][i][lane];
        c[i] = v;
      }
      fin(m, q, c);
    }
    __syncthreads();
  }
}

template <int KS, int MT, int NT>
struct Red {
  float v[KS > 1 ? KS * MT * NT : 1][4][32];
};

// h[a, j] = bf16(bf16(silu(bf16 g)) * bf16 u) for the assignments a of expert active[slot].
// Grid (ceil(F / (8 MT)), slots).
template <int KS, int MT, int U, int NT>
__global__ void __launch_bounds__(KS * 32) gate_up_mma_kernel(const Args a) {
  __shared__ Red<KS, MT, NT> red;
  if (static_cast<int>(blockIdx.y) >= a.active[a.E]) return;  // CTA-uniform
  const int e = a.active[blockIdx.y];
  const int beg = a.offsets[e], cnt = a.offsets[e + 1] - beg;
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int F = a.F, D = a.D;
  const int j0 = static_cast<int>(blockIdx.x) * 8 * MT;
  const bf16* ra[MT];
  const bf16* rb[MT];
#pragma unroll
  for (int m = 0; m < MT; ++m) {
    const int j = min(j0 + 8 * m + g, F - 1);  // rows past F recompute row F - 1, never stored
    ra[m] = a.w13 + (int64_t(e) * 2 * F + j) * D;
    rb[m] = ra[m] + int64_t(F) * D;
  }
  for (int t0 = 0; t0 < cnt; t0 += 8 * NT) {
    const int nt = min(8 * NT, cnt - t0), ntiles = (nt + 7) / 8;
    const bf16* xr[NT];
#pragma unroll
    for (int q = 0; q < NT; ++q)
      xr[q] = a.x + int64_t(a.perm[beg + t0 + min(8 * q + g, nt - 1)] / 2) * D;
    float acc[MT][NT][4];
    tile_dots<KS, MT, U, NT>(ra, rb, xr, ntiles, D, acc);
    reduce_finish<KS, MT, NT>(acc, red.v, ntiles, [&](int m, int q, const float (&c)[4]) {
      const int j = j0 + 8 * m + g;
      if (j >= F) return;
#pragma unroll
      for (int cc = 0; cc < 2; ++cc) {
        const int tok = 8 * q + 2 * t + cc;
        if (tok < nt) {
          const float gb = round_bf(c[cc]), ub = round_bf(c[2 + cc]);
          a.h[int64_t(beg + t0 + tok) * F + j] = to_bf(round_bf(gb / (1.f + __expf(-gb))) * ub);
        }
      }
    });
  }
}

// acc[t, i] += w_(t,k) * bf16(w2_e[i] . h_(t,k)) for the assignments of expert active[slot].
// Grid (ceil(D / (16 MT)), slots).
template <int KS, int MT, int U, int NT>
__global__ void __launch_bounds__(KS * 32) down_mma_kernel(const Args a) {
  __shared__ Red<KS, MT, NT> red;
  if (static_cast<int>(blockIdx.y) >= a.active[a.E]) return;  // CTA-uniform
  const int e = a.active[blockIdx.y];
  const int beg = a.offsets[e], cnt = a.offsets[e + 1] - beg;
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int F = a.F, D = a.D;
  const int i0 = static_cast<int>(blockIdx.x) * 16 * MT;
  const bf16* ra[MT];
  const bf16* rb[MT];
#pragma unroll
  for (int m = 0; m < MT; ++m) {  // rows past D recompute row D - 1, never stored
    ra[m] = a.w2 + (int64_t(e) * D + min(i0 + 16 * m + g, D - 1)) * F;
    rb[m] = a.w2 + (int64_t(e) * D + min(i0 + 16 * m + g + 8, D - 1)) * F;
  }
  for (int t0 = 0; t0 < cnt; t0 += 8 * NT) {
    const int nt = min(8 * NT, cnt - t0), ntiles = (nt + 7) / 8;
    const bf16* xr[NT];
#pragma unroll
    for (int q = 0; q < NT; ++q) xr[q] = a.h + int64_t(beg + t0 + min(8 * q + g, nt - 1)) * F;
    float acc[MT][NT][4];
    tile_dots<KS, MT, U, NT>(ra, rb, xr, ntiles, F, acc);
    reduce_finish<KS, MT, NT>(acc, red.v, ntiles, [&](int m, int q, const float (&c)[4]) {
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int row = i0 + 16 * m + g + 8 * half;
        if (row >= D) continue;
#pragma unroll
        for (int cc = 0; cc < 2; ++cc) {
          const int tok = 8 * q + 2 * t + cc;
          if (tok < nt) {
            const int asg = a.perm[beg + t0 + tok];
            // expert output is bf16 in the reference, then weighted and summed in f32
            atomicAdd(a.acc + int64_t(asg / 2) * D + row, a.wts[asg] * round_bf(c[2 * half + cc]));
          }
        }
      }
    });
  }
}

template <int KS, int MT, int U, int NT>
void launch_v(const Args& a, cudaStream_t s) {
  const auto slots = static_cast<unsigned>(a.E < 2 * a.n ? a.E : 2 * a.n);
  gate_up_mma_kernel<KS, MT, U, NT>
      <<<dim3(static_cast<unsigned>((a.F + 8 * MT - 1) / (8 * MT)), slots), KS * 32, 0, s>>>(a);
  MVL_CUDA_CHECK_LAUNCH();
  down_mma_kernel<KS, MT, U, NT>
      <<<dim3(static_cast<unsigned>((a.D + 16 * MT - 1) / (16 * MT)), slots), KS * 32, 0, s>>>(a);
  MVL_CUDA_CHECK_LAUNCH();
}

// The instantiated tilings (KS, MT, U, NT); variant() and launch() below must agree.
#define MVL_MOE_MMA_VARIANTS(X) \
  X(0, 4, 2, 2, 2)              \
  X(1, 4, 4, 1, 2)              \
  X(2, 8, 2, 2, 2)              \
  X(3, 2, 4, 2, 2)              \
  X(4, 4, 2, 4, 1)              \
  X(5, 8, 4, 1, 2)              \
  X(6, 4, 1, 4, 2)              \
  X(7, 4, 2, 2, 4)

#define MVL_X(...) +1
static_assert(0 MVL_MOE_MMA_VARIANTS(MVL_X) == kVariants, "moe_decode_mma.h counts every variant");
#undef MVL_X

}  // namespace

Variant variant(int i) {
#define MVL_X(id, ks, mt, u, nt) \
  if (i == id) return Variant{ks, mt, u, nt};
  MVL_MOE_MMA_VARIANTS(MVL_X)
#undef MVL_X
  ::mvl::throw_error(ErrorCategory::invalid_argument,
                    fmt::format("moe_mma: no variant {} (0..{})", i, kVariants - 1));
}

void launch(const Args& a, int v, cudaStream_t s) {
#define MVL_X(id, ks, mt, u, nt) \
  if (v == id) return launch_v<ks, mt, u, nt>(a, s);
  MVL_MOE_MMA_VARIANTS(MVL_X)
#undef MVL_X
  ::mvl::throw_error(ErrorCategory::invalid_argument,
                    fmt::format("moe_mma: no variant {} (0..{})", v, kVariants - 1));
}

}  // namespace mvl::cuda::moe_mma
