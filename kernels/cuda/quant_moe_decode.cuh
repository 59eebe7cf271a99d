// The grouped decode kernels of the quantized MoE (quant_moe.cu), as templates over their tiling
// so that kernels/bench/quant_moe_sweep.cu times every configuration of the same code the product
// runs; the product instantiates one configuration per format (QmoeTuned in quant_moe.cu).
// Algorithm (unchanged from the first version, so results are bit-identical to it): a warp per
// weight row, lane l takes the 16-byte code chunks l, l + 32, ...; per chunk an f32 partial dot
// from 0 in element order, added to the lane's accumulator (int4: times the group scale); warp
// sum; int8/fp8 times the row scale. What is new is how each chunk is turned into f32 weights
// and how many rows/tokens share one activation load:
//  - codes -> f32 by qdev::dequant8 (quant.cuh): int8 one PRMT + one FADD (no quarter-rate I2F),
//    fp8 the paired e4m3x2 cvt, int4 one LOP3 + one FFMA per weight (no per-nibble shift);
//  - the activation chunk is loaded and unpacked once per 8 weights for all NR rows of a warp
//    (gate/up: the gate and up rows of ROWS outputs), not once per row, and (small TOK) all of
//    a chunk's activation loads are issued before its math;
//  - PIPE = 1 loads the next UNROLL chunks of each row before the current ones' math;
//  - TOK (tokens per pass) is a template parameter: decode at n = 1 runs TOK = 1, which keeps a
//    handful of accumulators live instead of 16 (int4 gate/up: 163 registers -> 80 at n = 1).
// Registers/spills per instance: `nvcc -Xptxas -v` (numbers in the commit that tuned them).
// int4 at shapes of whole 128-groups runs quant_moe_int4.cuh's tensor-core kernels instead (these
// are issue-bound for int4: ~4 instructions a weight at half int8's bytes).
// CPU reference: cpu::moe_experts on the dequantized weights; test: tests/gpu/quant_cuda_test.cpp;
// sweep: kernels/bench/quant_moe_sweep.cu.
#pragma once

#include <cuda_runtime.h>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/moe.h"
#include "kernels/cuda/quant.cuh"

namespace mvl::cuda::qmoe {

using dev::bf16;
using qdev::chunk_elems;
using qdev::kF8;
using qdev::kI4;
using qdev::kI8;

// acc[r][t] += (scale) * (row r's chunk . token t's activations) over every chunk of the lane,
// for NR rows (their codes at codes + row[r] * cb) sharing the activations x + xo[t] (bf16).
// Tokens t >= nt are skipped (warp-uniform). int4 scales/zeros at row[r] * sr + group.
template <int F, int NR, int TOK, int UNROLL, int PIPE>
__device__ __forceinline__ void rows_dot(const uint8_t* __restrict__ codes, int64_t cb,
                                         const int64_t (&row)[NR], const float* __restrict__ scales,
                                         const float* __restrict__ zeros, int sr,
                                         const bf16* __restrict__ x, const int64_t (&xo)[TOK],
                                         int nt, int chunks, int lane, float (&acc)[NR][TOK]) {
  constexpr int EC = chunk_elems<F>();
  constexpr bool kPre = TOK * (EC / 8) <= 8;
  const int4* wp[NR];
#pragma unroll
  for (int r = 0; r < NR; ++r) wp[r] = reinterpret_cast<const int4*>(codes + row[r] * cb);
  // PIPE: the next UNROLL chunks of every row are loaded before this batch's math (twice the
  // code registers, twice the bytes in flight per warp).
  int4 q[UNROLL][NR], qn[PIPE ? UNROLL : 1][NR];
  auto load = [&](int4(&d)[UNROLL][NR], int cs) {
#pragma unroll
    for (int u = 0; u < UNROLL; ++u)
      if (cs + 32 * u < chunks)
#pragma unroll
        for (int r = 0; r < NR; ++r) d[u][r] = qdev::ld_stream(wp[r] + cs + 32 * u);
  };
  if constexpr (PIPE) load(q, lane);
  for (int c0 = lane; c0 < chunks; c0 += 32 * UNROLL) {
    if constexpr (PIPE) {
      if (c0 + 32 * UNROLL < chunks) load(qn, c0 + 32 * UNROLL);
    } else {
      load(q, c0);
    }
#pragma unroll
    for (int u = 0; u < UNROLL; ++u) {
      const int c = c0 + 32 * u;
      if (c < chunks) {
        float s[NR], z[NR];
#pragma unroll
        for (int r = 0; r < NR; ++r) {
          if constexpr (F == kI4) {
            const int64_t g = row[r] * sr + (c * EC) / kInt4GroupSize;
            s[r] = __ldg(scales + g);
            z[r] = __ldg(zeros + g);
          } else {
            s[r] = 1.f;
            z[r] = 0.f;
          }
        }
        float p[NR][TOK];
#pragma unroll
        for (int r = 0; r < NR; ++r)
#pragma unroll
          for (int t = 0; t < TOK; ++t) p[r][t] = 0.f;
        // The activation chunks, loaded before the math when they fit in 8 int4 registers
        // (rows past nt are clamped to a valid token, so the loads need no guard).
        int4 xv[kPre ? TOK : 1][kPre ? EC / 8 : 1];
        if constexpr (kPre) {
#pragma unroll
          for (int t = 0; t < TOK; ++t)
#pragma unroll
            for (int sc = 0; sc < EC / 8; ++sc)
              xv[t][sc] = __ldg(reinterpret_cast<const int4*>(x + xo[t] + int64_t(c) * EC) + sc);
        }
#pragma unroll
        for (int sc = 0; sc < EC / 8; ++sc) {
          float w[NR][8];
#pragma unroll
          for (int r = 0; r < NR; ++r) qdev::dequant8<F>(q[u][r], sc, z[r], w[r]);
#pragma unroll
          for (int t = 0; t < TOK; ++t) {
            if (TOK == 1 || t < nt) {
              float f[8];
              if constexpr (kPre)
                dev::unpack8(xv[t][sc], f);
              else
                dev::unpack8(__ldg(reinterpret_cast<const int4*>(x + xo[t] + int64_t(c) * EC) + sc),
                             f);
#pragma unroll
              for (int r = 0; r < NR; ++r)
#pragma unroll
                for (int k = 0; k < 8; ++k) p[r][t] = fmaf(w[r][k], f[k], p[r][t]);
            }
          }
        }
#pragma unroll
        for (int r = 0; r < NR; ++r)
#pragma unroll
          for (int t = 0; t < TOK; ++t)
            if (TOK == 1 || t < nt) acc[r][t] = fmaf(s[r], p[r][t], acc[r][t]);
      }
    }
    if constexpr (PIPE) {
#pragma unroll
      for (int u = 0; u < UNROLL; ++u)
#pragma unroll
        for (int r = 0; r < NR; ++r) q[u][r] = qn[PIPE ? u : 0][r];
    }
  }
}

// h[a, j] = bf16(bf16(silu(bf16 g)) * bf16 u) for every assignment a of every active expert;
// a warp per ROWS consecutive outputs j (2 * ROWS code rows sharing x). Grid
// (ceil(F / (WARPS * ROWS)), active-expert slots).
template <int F, int WARPS, int TOK, int UNROLL, int ROWS, int PIPE = 0>
__global__ void __launch_bounds__(WARPS * 32)
    gate_up_kernel(const bf16* __restrict__ x, const uint8_t* __restrict__ codes,
                   const float* __restrict__ scales, const float* __restrict__ zeros,
                   const int32_t* __restrict__ offsets, const int32_t* __restrict__ perm,
                   const int32_t* __restrict__ active, bf16* __restrict__ h, int D, int Fd, int E) {
  constexpr int NR = 2 * ROWS;
  if (static_cast<int>(blockIdx.y) >= active[E]) return;
  const int e = active[blockIdx.y];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int j0 = (blockIdx.x * WARPS + warp) * ROWS;
  if (j0 >= Fd) return;
  const int beg = offsets[e], cnt = offsets[e + 1] - beg;
  const int64_t cb = F == kI4 ? D / 2 : D;
  const int sr = F == kI4 ? (D + kInt4GroupSize - 1) / kInt4GroupSize : 1;
  const int chunks = D / chunk_elems<F>();
  int64_t row[NR];
  float rs[NR];
#pragma unroll
  for (int r = 0; r < ROWS; ++r) {
    const int j = min(j0 + r, Fd - 1);  // past the end: a duplicate row, never stored
    row[2 * r] = int64_t(e) * 2 * Fd + j;
    row[2 * r + 1] = row[2 * r] + Fd;
  }
#pragma unroll
  for (int r = 0; r < NR; ++r) rs[r] = F == kI4 ? 1.f : __ldg(scales + row[r]);
  for (int t0 = 0; t0 < cnt; t0 += TOK) {
    const int nt = min(TOK, cnt - t0);
    int64_t xo[TOK];
#pragma unroll
    for (int t = 0; t < TOK; ++t) xo[t] = int64_t(perm[beg + t0 + min(t, nt - 1)] / 2) * D;
    float acc[NR][TOK];
#pragma unroll
    for (int r = 0; r < NR; ++r)
#pragma unroll
      for (int t = 0; t < TOK; ++t) acc[r][t] = 0.f;
    rows_dot<F, NR, TOK, UNROLL, PIPE>(codes, cb, row, scales, zeros, sr, x, xo, nt, chunks, lane,
                                       acc);
#pragma unroll
    for (int r = 0; r < ROWS; ++r) {
#pragma unroll
      for (int t = 0; t < TOK; ++t) {
        if (t < nt) {
          const float g = dev::warp_sum(acc[2 * r][t]) * rs[2 * r];
          const float u = dev::warp_sum(acc[2 * r + 1][t]) * rs[2 * r + 1];
          if (lane == 0 && j0 + r < Fd) {
            const float gb = dev::round_bf(g), ub = dev::round_bf(u);
            h[int64_t(beg + t0 + t) * Fd + j0 + r] =
                dev::to_bf(dev::round_bf(gb / (1.f + __expf(-gb))) * ub);
          }
        }
      }
    }
  }
}

// out[t, i] = bf16(sum over t's experts, ascending, of w_(t,k) * bf16(w2_e[i] . h_(t,k))): a
// warp per output row i walks the active experts and adds into a shared f32 accumulator per
// token (no atomics, the reference's order, one rounding). Grid ceil(D / WARPS).
template <int F, int WARPS, int TOK, int UNROLL, int PIPE = 0>
__global__ void __launch_bounds__(WARPS * 32)
    down_kernel(const bf16* __restrict__ h, const uint8_t* __restrict__ codes,
                const float* __restrict__ scales, const float* __restrict__ zeros,
                const int32_t* __restrict__ offsets, const int32_t* __restrict__ perm,
                const float* __restrict__ wts, const int32_t* __restrict__ active,
                bf16* __restrict__ out, int n, int D, int Fd, int E) {
  __shared__ float acc_s[WARPS][kMoeDecodeMaxTokens];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int i = blockIdx.x * WARPS + warp;
  if (i >= D) return;  // whole warps only: no block-wide barrier below
  for (int t = lane; t < n; t += 32) acc_s[warp][t] = 0.f;
  __syncwarp();
  const int64_t cb = F == kI4 ? Fd / 2 : Fd;
  const int sr = F == kI4 ? (Fd + kInt4GroupSize - 1) / kInt4GroupSize : 1;
  const int chunks = Fd / chunk_elems<F>();
  const int n_act = active[E];
  for (int ra = 0; ra < n_act; ++ra) {
    const int e = active[ra];
    const int beg = offsets[e], cnt = offsets[e + 1] - beg;
    const int64_t row[1] = {int64_t(e) * D + i};
    const float rs = F == kI4 ? 1.f : __ldg(scales + row[0]);
    for (int t0 = 0; t0 < cnt; t0 += TOK) {
      const int nt = min(TOK, cnt - t0);
      int64_t xo[TOK];
#pragma unroll
      for (int t = 0; t < TOK; ++t) xo[t] = int64_t(beg + t0 + min(t, nt - 1)) * Fd;
      float acc[1][TOK];
#pragma unroll
      for (int t = 0; t < TOK; ++t) acc[0][t] = 0.f;
      rows_dot<F, 1, TOK, UNROLL, PIPE>(codes, cb, row, scales, zeros, sr, h, xo, nt, chunks, lane,
                                        acc);
#pragma unroll
      for (int t = 0; t < TOK; ++t) {
        if (t < nt) {
          const float v = dev::warp_sum(acc[0][t]) * rs;
          if (lane == 0) {
            const int asg = perm[beg + t0 + t];
            acc_s[warp][asg / 2] += wts[asg] * dev::round_bf(v);  // expert output is bf16
          }
        }
      }
    }
  }
  __syncwarp();
  for (int t = lane; t < n; t += 32) out[int64_t(t) * D + i] = dev::to_bf(acc_s[warp][t]);
}

// The decode arguments both kernels take (device pointers from moe_decode_route + the weights).
struct DecodeArgs {
  const bf16* x;
  const uint8_t *c13, *c2;
  const float *s13, *z13, *s2, *z2;
  const int32_t *offsets, *perm, *active;
  const float* wts;
  bf16 *h, *out;
  int n, D, F, E;
};

template <int F, int WARPS, int TOK, int UNROLL, int ROWS, int PIPE = 0>
void launch_gate_up(const DecodeArgs& a, cudaStream_t s) {
  const auto rows_per_cta = static_cast<unsigned>(WARPS * ROWS);
  const auto slots = static_cast<unsigned>(a.E < 2 * a.n ? a.E : 2 * a.n);
  gate_up_kernel<F, WARPS, TOK, UNROLL, ROWS, PIPE>
      <<<dim3((static_cast<unsigned>(a.F) + rows_per_cta - 1) / rows_per_cta, slots), WARPS * 32, 0,
         s>>>(a.x, a.c13, a.s13, a.z13, a.offsets, a.perm, a.active, a.h, a.D, a.F, a.E);
}

template <int F, int WARPS, int TOK, int UNROLL, int PIPE = 0>
void launch_down(const DecodeArgs& a, cudaStream_t s) {
  down_kernel<F, WARPS, TOK, UNROLL, PIPE>
      <<<(static_cast<unsigned>(a.D) + WARPS - 1) / WARPS, WARPS * 32, 0, s>>>(
          a.h, a.c2, a.s2, a.z2, a.offsets, a.perm, a.wts, a.active, a.out, a.n, a.D, a.F, a.E);
}

}  // namespace mvl::cuda::qmoe
