// The int4 (g128, zero points) grouped decode kernels of the quantized MoE on the tensor cores
// (issue 17). Why not quant_moe_decode.cuh's CUDA-core kernels: int4 halves the bytes per weight
// but not the instructions per weight (LOP3 + FFMA to dequantize, FFMA to dot, the activation
// unpack: about 4 per weight), so at the bytes floor the SM issue ports would have to be ~80%
// busy; the sweep's best tiling stayed at 1.53x. Here a weight costs about 1.4 instructions:
//  - a 32-bit code word (8 nibbles) becomes 4 bf16x2 registers, {128 + q_s, 128 + q_(s+4)} by
//    one shift + one LOP3 (0x43004300 | nibble pair), then one bf16x2 subtract of 128 + z: q - z,
//    exact in bf16 (integers in [-15, 15]; z is an integer, as the quantizer writes it);
//  - those are the A fragment of one mma.sync m16n8k16 (bf16 in, f32 accumulation, products
//    exact); the B fragment is the activations of up to 8 tokens (one per column), permuted
//    with two PRMTs to the same k order as the nibble pairs. The sum over k is invariant under a
//    permutation of k applied to both sides, so no repack of the stored codes is needed: thread
//    (g, t) of the warp (g = lane / 4, t = lane % 4) takes, per 128-group, the 16-byte chunk t of
//    rows g and g + 8 (k in [32 t, 32 t + 32)), and slots 2t, 2t+1 / 2t+8, 2t+9 of the mma hold
//    k = 8w + {2p, 2p+4} / {2p+1, 2p+5} of its word w (mma 2w + p);
//  - one group (128 k of 16 rows) is 8 mmas into a zeroed f32 fragment, then acc += s_row * C,
//    so each group's scale multiplies exactly the f32 dot the CUDA-core kernels form per chunk.
// A CTA is KS warps on one 16-row tile, the 128-groups split among them (warp w takes w, w + KS,
// ...; U groups' codes, scales, zeros and activations loaded before their math), the KS partial
// fragments summed in warp order through shared memory. gate/up: the tile is gate rows j0..j0+7
// and up rows j0..j0+7, so the thread holding gate(j, token) also holds up(j, token); down: 16
// output rows, the active experts walked in ascending order into a shared f32 accumulator per
// (row, token), as quant_moe_decode.cuh's down_kernel (the reference's order, one rounding).
// Tokens: 8 per pass (mma columns); more take more passes (codes again, from L2).
// Needs in % 128 == 0 (D for gate/up, F for down); quant_moe.cu falls back to the CUDA-core
// kernels otherwise. CPU reference: cpu::moe_experts on the dequantized weights; test:
// tests/gpu/quant_cuda_test.cpp; sweep: kernels/bench/quant_moe_sweep_variants.cuh.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/moe.h"
#include "kernels/cuda/quant.cuh"
#include "kernels/cuda/quant_moe_decode.cuh"

namespace mvl::cuda::qmoe {

constexpr int kI4Tile = 16;  // rows per CTA (the mma's M)
constexpr int kI4Cols = 8;   // tokens per pass (the mma's N)
static_assert(kInt4GroupSize == 128, "the int4 mma kernels map one 128-group to 4 x 32 nibbles");

// One 128-group of one thread: rows ra / rb (tile rows g, g + 8), activations of its column.
struct I4Step {
  int4 ca, cb;  // 32 nibbles of each row: k in [32 t, 32 t + 32) of the group
  int4 x[4];    // the column's 32 activations at the same k (bf16)
  float sa, sb, za, zb;
};

__device__ __forceinline__ void i4_load(I4Step& st, const uint8_t* __restrict__ codes,
                                        int64_t cbytes, int64_t ra, int64_t rb,
                                        const float* __restrict__ scales,
                                        const float* __restrict__ zeros, int sr,
                                        const bf16* __restrict__ xr, int G, int t) {
  const int64_t off = int64_t(G) * (kInt4GroupSize / 2) + t * 16;
  st.ca = qdev::ld_stream(reinterpret_cast<const int4*>(codes + ra * cbytes + off));
  st.cb = qdev::ld_stream(reinterpret_cast<const int4*>(codes + rb * cbytes + off));
  const int4* xp = reinterpret_cast<const int4*>(xr + int64_t(G) * kInt4GroupSize + t * 32);
#pragma unroll
  for (int i = 0; i < 4; ++i) st.x[i] = __ldg(xp + i);
  st.sa = __ldg(scales + ra * sr + G);
  st.sb = __ldg(scales + rb * sr + G);
  st.za = __ldg(zeros + ra * sr + G);
  st.zb = __ldg(zeros + rb * sr + G);
}

// {128 + nibble s, 128 + nibble s + 4} of code word q as bf16x2, minus zz = {128 + z, 128 + z}.
__device__ __forceinline__ uint32_t i4_pair(uint32_t q, int s, __nv_bfloat162 zz) {
  const uint32_t v = ((q >> (4 * s)) & 0x000F000Fu) | 0x43004300u;
  __nv_bfloat162 b;
  __builtin_memcpy(&b, &v, 4);
  const __nv_bfloat162 d = __hsub2(b, zz);
  uint32_t r;
  __builtin_memcpy(&r, &d, 4);
  return r;
}

// acc (this thread's C fragment: rows g, g + 8, columns 2t, 2t + 1) += the group's scaled dots.
__device__ __forceinline__ void i4_math(const I4Step& st, float (&acc)[4]) {
  const __nv_bfloat162 za = __float2bfloat162_rn(128.f + st.za),
                       zb = __float2bfloat162_rn(128.f + st.zb);
  float c[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll
  for (int w = 0; w < 4; ++w) {
    const uint32_t qa = qdev::word_of(st.ca, w), qb = qdev::word_of(st.cb, w);
    const uint32_t X[4] = {static_cast<uint32_t>(st.x[w].x), static_cast<uint32_t>(st.x[w].y),
                           static_cast<uint32_t>(st.x[w].z), static_cast<uint32_t>(st.x[w].w)};
#pragma unroll
    for (int p = 0; p < 2; ++p) {
      const uint32_t a[4] = {i4_pair(qa, 2 * p, za), i4_pair(qb, 2 * p, zb),
                             i4_pair(qa, 2 * p + 1, za), i4_pair(qb, 2 * p + 1, zb)};
      // k = 8w + {2p, 2p + 4} (low halves of words p, p + 2) and 8w + {2p + 1, 2p + 5} (high).
      dev::mma_bf16(c, a, __byte_perm(X[p], X[p + 2], 0x5410), __byte_perm(X[p], X[p + 2], 0x7632));
    }
  }
  acc[0] = fmaf(st.sa, c[0], acc[0]);
  acc[1] = fmaf(st.sa, c[1], acc[1]);
  acc[2] = fmaf(st.sb, c[2], acc[2]);
  acc[3] = fmaf(st.sb, c[3], acc[3]);
}

// The tile's dots over all groups of rows ra / rb with the column's activations xr; after it,
// warp 0 holds the sum of the KS warps' fragments (in warp order) in acc. CTA-wide barriers:
// every warp of the CTA must call it.
template <int KS, int U>
__device__ __forceinline__ void i4_tile(const uint8_t* __restrict__ codes, int64_t cbytes,
                                        int64_t ra, int64_t rb, const float* __restrict__ scales,
                                        const float* __restrict__ zeros, int ng,
                                        const bf16* __restrict__ xr, float (*red)[4][32],
                                        float (&acc)[4]) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, t = lane & 3;
#pragma unroll
  for (int i = 0; i < 4; ++i) acc[i] = 0.f;
  for (int G0 = warp; G0 < ng; G0 += KS * U) {
    I4Step st[U];
#pragma unroll
    for (int u = 0; u < U; ++u)
      if (G0 + u * KS < ng) i4_load(st[u], codes, cbytes, ra, rb, scales, zeros, ng, xr, G0 + u * KS, t);
#pragma unroll
    for (int u = 0; u < U; ++u)
      if (G0 + u * KS < ng) i4_math(st[u], acc);
  }
  if constexpr (KS > 1) {
#pragma unroll
    for (int i = 0; i < 4; ++i) red[warp][i][lane] = acc[i];
    __syncthreads();
    if (warp == 0)
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        float v = red[0][i][lane];
        for (int w = 1; w < KS; ++w) v += red[w][i][lane];
        acc[i] = v;
      }
  }
}

// gate/up: h[a, j] = bf16(bf16(silu(bf16 g)) * bf16 u), as gate_up_kernel. Grid (F / 8,
// active-expert slots), KS warps a CTA.
template <int KS, int U>
__global__ void __launch_bounds__(KS * 32)
    gate_up_i4_kernel(const bf16* __restrict__ x, const uint8_t* __restrict__ codes,
                      const float* __restrict__ scales, const float* __restrict__ zeros,
                      const int32_t* __restrict__ offsets, const int32_t* __restrict__ perm,
                      const int32_t* __restrict__ active, bf16* __restrict__ h, int D, int Fd,
                      int E) {
  __shared__ float red[KS][4][32];
  if (static_cast<int>(blockIdx.y) >= active[E]) return;  // CTA-uniform
  const int e = active[blockIdx.y];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
  const int j = min(static_cast<int>(blockIdx.x) * 8 + g, Fd - 1);
  const int beg = offsets[e], cnt = offsets[e + 1] - beg;
  const int64_t ra = int64_t(e) * 2 * Fd + j, rb = ra + Fd;
  for (int t0 = 0; t0 < cnt; t0 += kI4Cols) {
    const int nt = min(kI4Cols, cnt - t0);
    const bf16* xr = x + int64_t(perm[beg + t0 + min(g, nt - 1)] / 2) * D;
    float acc[4];
    i4_tile<KS, U>(codes, D / 2, ra, rb, scales, zeros, D / kInt4GroupSize, xr, red, acc);
    if (warp == 0 && static_cast<int>(blockIdx.x) * 8 + g < Fd) {
#pragma unroll
      for (int c = 0; c < 2; ++c) {
        const int tok = 2 * t + c;
        if (tok < nt) {
          const float gb = dev::round_bf(acc[c]), ub = dev::round_bf(acc[2 + c]);
          h[int64_t(beg + t0 + tok) * Fd + j] =
              dev::to_bf(dev::round_bf(gb / (1.f + __expf(-gb))) * ub);
        }
      }
    }
    if constexpr (KS > 1) __syncthreads();  // red is reused by the next pass
  }
}

// down: out[t, i] = bf16(sum over t's experts, ascending, of w_(t,k) * bf16(w2_e[i] . h_(t,k))),
// as down_kernel. Grid ceil(D / 16), KS warps a CTA; 4 KB + KS * 512 B of shared memory.
template <int KS, int U>
__global__ void __launch_bounds__(KS * 32)
    down_i4_kernel(const bf16* __restrict__ h, const uint8_t* __restrict__ codes,
                   const float* __restrict__ scales, const float* __restrict__ zeros,
                   const int32_t* __restrict__ offsets, const int32_t* __restrict__ perm,
                   const float* __restrict__ wts, const int32_t* __restrict__ active,
                   bf16* __restrict__ out, int n, int D, int Fd, int E) {
  __shared__ float red[KS][4][32];
  __shared__ float acc_s[kI4Tile][kMoeDecodeMaxTokens];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
  const int i0 = static_cast<int>(blockIdx.x) * kI4Tile;
  for (int k = threadIdx.x; k < kI4Tile * n; k += KS * 32) acc_s[k % kI4Tile][k / kI4Tile] = 0.f;
  __syncthreads();
  const int ia = min(i0 + g, D - 1), ib = min(i0 + g + 8, D - 1);  // past D: never stored
  const int n_act = active[E];
  for (int r = 0; r < n_act; ++r) {
    const int e = active[r];
    const int beg = offsets[e], cnt = offsets[e + 1] - beg;
    const int64_t ra = int64_t(e) * D + ia, rb = int64_t(e) * D + ib;
    for (int t0 = 0; t0 < cnt; t0 += kI4Cols) {
      const int nt = min(kI4Cols, cnt - t0);
      const bf16* xr = h + int64_t(beg + t0 + min(g, nt - 1)) * Fd;
      float acc[4];
      i4_tile<KS, U>(codes, Fd / 2, ra, rb, scales, zeros, Fd / kInt4GroupSize, xr, red, acc);
      if (warp == 0) {
#pragma unroll
        for (int c = 0; c < 2; ++c) {
          const int tok = 2 * t + c;
          if (tok < nt) {
            const int asg = perm[beg + t0 + tok];
            const float wt = wts[asg];
            acc_s[g][asg / 2] += wt * dev::round_bf(acc[c]);  // expert output is bf16
            acc_s[g + 8][asg / 2] += wt * dev::round_bf(acc[2 + c]);
          }
        }
      }
      __syncthreads();  // red and acc_s before the next pass
    }
  }
  for (int k = threadIdx.x; k < kI4Tile * n; k += KS * 32) {
    const int row = k % kI4Tile, tok = k / kI4Tile;
    if (i0 + row < D) out[int64_t(tok) * D + i0 + row] = dev::to_bf(acc_s[row][tok]);
  }
}

// True when the int4 mma kernels take these shapes (whole 128-groups along both inputs).
inline bool i4_mma_fits(int D, int Fd) {
  return D % kInt4GroupSize == 0 && Fd % kInt4GroupSize == 0;
}

template <int KS, int U>
void launch_gate_up_i4(const DecodeArgs& a, cudaStream_t s) {
  const auto slots = static_cast<unsigned>(a.E < 2 * a.n ? a.E : 2 * a.n);
  gate_up_i4_kernel<KS, U><<<dim3(static_cast<unsigned>(a.F + 7) / 8, slots), KS * 32, 0, s>>>(
      a.x, a.c13, a.s13, a.z13, a.offsets, a.perm, a.active, a.h, a.D, a.F, a.E);
}

template <int KS, int U>
void launch_down_i4(const DecodeArgs& a, cudaStream_t s) {
  down_i4_kernel<KS, U><<<(static_cast<unsigned>(a.D) + kI4Tile - 1) / kI4Tile, KS * 32, 0, s>>>(
      a.h, a.c2, a.s2, a.z2, a.offsets, a.perm, a.wts, a.active, a.out, a.n, a.D, a.F, a.E);
}

}  // namespace mvl::cuda::qmoe
