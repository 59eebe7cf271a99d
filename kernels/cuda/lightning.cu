// Lightning attention kernels.
// Prefill: one CTA per (sequence, head, 32- or 64-wide slice of the value dim), 4 warps,
// walking the sequence in chunks of C = 64 tokens with the fp32 state slice [128 x dv] held
// in mma accumulator registers (dv/2 regs/thread). Per chunk (spec §6.4.4 with B = C):
//   intra  = (QKᵀ ⊙ D) V          D[t,u] = λ^(t-u) for u <= t  (causal warps skip blocks)
//   inter  = λ^(t+1) · (Q · S_prev) S_prev read as bf16 from shared memory
//   S_new  = λ^m S_prev + Kᵀ (λ^(m-1-u) ⊙ V)   (m = tokens in the chunk; right-aligned decay)
// All products are mma.sync m16n8k16 bf16->f32 (sm_80+; runs on sm_90). The λ^j table
// (j = 0..C) is built once per CTA: no exp in the inner loops. Chunks are double-buffered
// with cp.async (zero-fill past the end). Shared memory (dv = 64): Q,K 2x(64x136), V 2x(64x72),
// decayed V 64x72, S 128x72 bf16 + table = ~116 KB (opt-in); dv = 32: ~95 KB, two CTAs per SM.
// The CTAs of a head are adjacent so the repeated reads of Q/K hit L2.
// Default variant (lightning_prefill_ws_kernel): 8 warps per CTA (dv = 64); warps 0-3 do the
// outputs of chunk c from S_(c-1) while warps 4-7 compute S_c, S double-buffered (bf16).
// Hopper variants (wgmma, one or two warpgroups per CTA, 2-4 cp.async stages; selected by
// the `variant` argument, kDefaultPrefillVariant below): lightning_sm90.cu.
// Decode: one 256-thread CTA per (seq, head, 32 value columns); the fp32 state is
// streamed once (float4) and written back in place.
// Also the f32 generic lightning_recurrent_f32: one block per head, token by token.
// CPU reference: kernels/cpu lightning (recurrent form); tests: tests/gpu/lightning_test.cpp,
// model_ops_test.cpp.
#include "kernels/cuda/lightning.h"

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/lightning_prefill.cuh"
#include "kernels/cuda/lightning_views.cuh"

namespace mvl::cuda {

using namespace dev;
using namespace host;

namespace {

// What lightning_prefill runs for kLightningPrefillDefault (one line to flip after
// tools/device/lin_check.sh names a winner; an sm90 default falls back to Ws off Hopper).
constexpr int kDefaultPrefillVariant = kLightningPrefillSm90R3;

constexpr int kC = 64;    // chunk (tokens)
constexpr int kDK = 128;  // key dim
constexpr int kQKPad = kDK + 8;
constexpr int kThreads = 128;

// kDV = value columns per CTA (64: 2 CTAs per head; 32: 4 CTAs per head, ~95 KB of shared
// memory so two CTAs share an SM and hide each other's latency).
template <int kDV>
struct PrefillSmem {
  static constexpr int kVPad = kDV + 8;
  bf16 q[2][kC][kQKPad];
  bf16 k[2][kC][kQKPad];
  bf16 v[2][kC][kVPad];
  bf16 vd[kC][kVPad];
  bf16 s[kDK][kVPad];
  float pw[kC + 4];
};

using PrefillParams = LightningPrefillParams;  // lightning_prefill.cuh

// ---- pieces shared by both prefill kernels (forceinline: they compile into each kernel) ----

// Starts the cp.async copy of chunk rows [t0, t0 + kC) (zero-filled past len) of q, k (all
// kDK columns) and v (kDV columns) into the given stage buffers; kN threads cooperate.
template <int kDV, int kN>
__device__ __forceinline__ void load_chunk_async(bf16 (*q)[kQKPad], bf16 (*k)[kQKPad], bf16 (*v)[kDV + 8],
                                                 const bf16* qb, const bf16* kb, const bf16* vb,
                                                 const PrefillParams& p, int64_t t0, int64_t len, int tid) {
  const int64_t m = len - t0 < kC ? len - t0 : kC;
  for (int idx = tid; idx < kC * 16; idx += kN) {
    const int row = idx >> 4, seg = idx & 15;
    const bool ok = row < m;
    const int64_t tr = ok ? t0 + row : 0;
    cp_async16(&q[row][seg * 8], qb + tr * p.q_tok + seg * 8, ok);
    cp_async16(&k[row][seg * 8], kb + tr * p.k_tok + seg * 8, ok);
  }
  for (int idx = tid; idx < kC * (kDV / 8); idx += kN) {
    const int row = idx / (kDV / 8), seg = idx % (kDV / 8);
    const bool ok = row < m;
    const int64_t tr = ok ? t0 + row : 0;
    cp_async16(&v[row][seg * 8], vb + tr * p.v_tok + seg * 8, ok);
  }
  cp_async_commit();
}


// State slice -> registers: warp w owns key rows [32w, 32w+32) of the [kDK x kDV] slice (fp32),
// and writes it as bf16 into `s` for the Q·S product.
template <int kDV>
__device__ __forceinline__ void load_state(float (&st)[2][kDV / 8][4], const float* stg, bf16 (*s)[kDV + 8],
                                           int w, int lane) {
  const int g = lane >> 2, c4 = lane & 3;
#pragma unroll
  for (int mi = 0; mi < 2; ++mi)
#pragma unroll
    for (int j = 0; j < kDV / 8; ++j) {
      const int r = 32 * w + 16 * mi + g, col = 8 * j + 2 * c4;
      const float2 lo = *reinterpret_cast<const float2*>(stg + int64_t(r) * kDK + col);
      const float2 hi = *reinterpret_cast<const float2*>(stg + int64_t(r + 8) * kDK + col);
      st[mi][j][0] = lo.x;
      st[mi][j][1] = lo.y;
      st[mi][j][2] = hi.x;
      st[mi][j][3] = hi.y;
      *reinterpret_cast<uint32_t*>(&s[r][col]) = pack_bf16(lo.x, lo.y);
      *reinterpret_cast<uint32_t*>(&s[r + 8][col]) = pack_bf16(hi.x, hi.y);
    }
}

// Registers -> the fp32 state slice in global memory (the inverse of load_state).
template <int kDV>
__device__ __forceinline__ void store_state(const float (&st)[2][kDV / 8][4], float* stg, int w, int lane) {
  const int g = lane >> 2, c4 = lane & 3;
#pragma unroll
  for (int mi = 0; mi < 2; ++mi)
#pragma unroll
    for (int j = 0; j < kDV / 8; ++j) {
      const int r = 32 * w + 16 * mi + g, col = 8 * j + 2 * c4;
      *reinterpret_cast<float2*>(stg + int64_t(r) * kDK + col) = make_float2(st[mi][j][0], st[mi][j][1]);
      *reinterpret_cast<float2*>(stg + int64_t(r + 8) * kDK + col) = make_float2(st[mi][j][2], st[mi][j][3]);
    }
}

// Decayed V for the state update: vd[u] = λ^(m-1-u) v[u] (zero past the end), by the
// threads first, first + step, ... of the calling group.
template <int kDV>
__device__ __forceinline__ void decay_values(const bf16 (*v)[kDV + 8], bf16 (*vd)[kDV + 8], const float* pw,
                                             int m, int first, int step) {
  for (int idx = first; idx < kC * kDV / 2; idx += step) {
    const int u = idx / (kDV / 2), cp = (idx % (kDV / 2)) * 2;
    const float f = u < m ? pw[m - 1 - u] : 0.f;
    const __nv_bfloat162 x = *reinterpret_cast<const __nv_bfloat162*>(&v[u][cp]);
    *reinterpret_cast<uint32_t*>(&vd[u][cp]) = pack_bf16(__low2float(x) * f, __high2float(x) * f);
  }
}

// Warp w's 16 output rows of one chunk: o = (QKᵀ ⊙ D) V + λ^(t+1) (Q · S_prev), stored bf16
// at ob + (t0 + t) * o_tok for t < m. q, k: the chunk's [kC x kDK] tiles; v: [kC x kDV];
// s: S_prev as bf16 [kDK x kDV]; pw: λ^j for j = 0..kC.
template <int kDV>
__device__ __forceinline__ void chunk_outputs(const bf16 (*q)[kQKPad], const bf16 (*k)[kQKPad],
                                              const bf16 (*v)[kDV + 8], const bf16 (*s)[kDV + 8],
                                              const float* pw, bf16* ob, int64_t o_tok, int64_t t0, int m,
                                              int w, int lane) {
  constexpr int kNT = kDV / 8;
  const int g = lane >> 2, c4 = lane & 3;
  // Intra scores (QKᵀ, causal blocks only) and inter product (Q·S_prev) share the Q fragments.
  float sc[8][4], o2[kNT][4];
#pragma unroll
  for (int j = 0; j < 8; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) sc[j][e] = 0.f;
#pragma unroll
  for (int j = 0; j < kNT; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) o2[j][e] = 0.f;
#pragma unroll
  for (int kk = 0; kk < kDK / 16; ++kk) {
    // All fragments of this k-step are loaded before the first mma so the ldmatrix
    // latencies overlap (one warp per scheduler leaves little else to hide them).
    uint32_t a[4], bk[4][4], bs[kDV / 16][4];
    ldmatrix_x4(a, &q[16 * w + (lane & 15)][16 * kk + (lane >> 4) * 8]);
#pragma unroll
    for (int np = 0; np < 4; ++np)
      ldmatrix_x4(bk[np], &k[16 * np + (lane & 7) + (lane >> 4) * 8][16 * kk + ((lane >> 3) & 1) * 8]);
#pragma unroll
    for (int np = 0; np < kDV / 16; ++np)
      ldmatrix_x4_trans(bs[np], &s[16 * kk + (lane & 7) + ((lane >> 3) & 1) * 8][16 * np + (lane >> 4) * 8]);
#pragma unroll
    for (int np = 0; np < 4; ++np) {
      if (np <= w) {  // causal: key blocks after this warp's rows are all masked
        mma_bf16(sc[2 * np], a, bk[np][0], bk[np][1]);
        mma_bf16(sc[2 * np + 1], a, bk[np][2], bk[np][3]);
      }
    }
#pragma unroll
    for (int np = 0; np < kDV / 16; ++np) {
      mma_bf16(o2[2 * np], a, bs[np][0], bs[np][1]);
      mma_bf16(o2[2 * np + 1], a, bs[np][2], bs[np][3]);
    }
  }
  // Decay mask on the scores: λ^(t-u) for u <= t, else 0.
  const int t_lo = 16 * w + g, t_hi = t_lo + 8;
#pragma unroll
  for (int j = 0; j < 8; ++j)
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      const int u = 8 * j + 2 * c4 + e;
      sc[j][e] = u <= t_lo ? sc[j][e] * pw[t_lo - u] : 0.f;
      sc[j][2 + e] = u <= t_hi ? sc[j][2 + e] * pw[t_hi - u] : 0.f;
    }
  float o1[kNT][4];
#pragma unroll
  for (int j = 0; j < kNT; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) o1[j][e] = 0.f;
#pragma unroll
  for (int kk = 0; kk < 4; ++kk) {
    if (kk <= w) {
      uint32_t a[4], bv[kDV / 16][4];
#pragma unroll
      for (int np = 0; np < kDV / 16; ++np)
        ldmatrix_x4_trans(bv[np], &v[16 * kk + (lane & 7) + ((lane >> 3) & 1) * 8][16 * np + (lane >> 4) * 8]);
      a[0] = pack_bf16(sc[2 * kk][0], sc[2 * kk][1]);
      a[1] = pack_bf16(sc[2 * kk][2], sc[2 * kk][3]);
      a[2] = pack_bf16(sc[2 * kk + 1][0], sc[2 * kk + 1][1]);
      a[3] = pack_bf16(sc[2 * kk + 1][2], sc[2 * kk + 1][3]);
#pragma unroll
      for (int np = 0; np < kDV / 16; ++np) {
        mma_bf16(o1[2 * np], a, bv[np][0], bv[np][1]);
        mma_bf16(o1[2 * np + 1], a, bv[np][2], bv[np][3]);
      }
    }
  }
  // o = intra + λ^(t+1) inter, stored as bf16.
  const float dl = pw[t_lo + 1], dh = pw[t_hi + 1];
#pragma unroll
  for (int j = 0; j < kNT; ++j) {
    const int col = 8 * j + 2 * c4;
    if (t_lo < m)
      *reinterpret_cast<uint32_t*>(ob + (t0 + t_lo) * o_tok + col) =
          pack_bf16(o1[j][0] + dl * o2[j][0], o1[j][1] + dl * o2[j][1]);
    if (t_hi < m)
      *reinterpret_cast<uint32_t*>(ob + (t0 + t_hi) * o_tok + col) =
          pack_bf16(o1[j][2] + dh * o2[j][2], o1[j][3] + dh * o2[j][3]);
  }
}

// State update in registers for warp w's key rows: S = λ^m S + Kᵀ vd (dm = λ^m), then S as
// bf16 into s_out for the next chunk's Q·S product.
template <int kDV>
__device__ __forceinline__ void state_update(float (&st)[2][kDV / 8][4], const bf16 (*k)[kQKPad],
                                             const bf16 (*vd)[kDV + 8], bf16 (*s_out)[kDV + 8], float dm,
                                             int w, int lane) {
  constexpr int kNT = kDV / 8;
  const int g = lane >> 2, c4 = lane & 3;
#pragma unroll
  for (int mi = 0; mi < 2; ++mi)
#pragma unroll
    for (int j = 0; j < kNT; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) st[mi][j][e] *= dm;
#pragma unroll
  for (int kk = 0; kk < kC / 16; ++kk) {
    uint32_t bv[kDV / 16][4];
#pragma unroll
    for (int np = 0; np < kDV / 16; ++np)
      ldmatrix_x4_trans(bv[np], &vd[16 * kk + (lane & 7) + ((lane >> 3) & 1) * 8][16 * np + (lane >> 4) * 8]);
    uint32_t ka[2][4];
#pragma unroll
    for (int mi = 0; mi < 2; ++mi)
      ldmatrix_x4_trans(ka[mi], &k[16 * kk + (lane & 7) + (lane >> 4) * 8][32 * w + 16 * mi + ((lane >> 3) & 1) * 8]);
#pragma unroll
    for (int mi = 0; mi < 2; ++mi) {
      const uint32_t(&a)[4] = ka[mi];
#pragma unroll
      for (int np = 0; np < kDV / 16; ++np) {
        mma_bf16(st[mi][2 * np], a, bv[np][0], bv[np][1]);
        mma_bf16(st[mi][2 * np + 1], a, bv[np][2], bv[np][3]);
      }
    }
  }
#pragma unroll
  for (int mi = 0; mi < 2; ++mi)
#pragma unroll
    for (int j = 0; j < kNT; ++j) {
      const int r = 32 * w + 16 * mi + g, col = 8 * j + 2 * c4;
      *reinterpret_cast<uint32_t*>(&s_out[r][col]) = pack_bf16(st[mi][j][0], st[mi][j][1]);
      *reinterpret_cast<uint32_t*>(&s_out[r + 8][col]) = pack_bf16(st[mi][j][2], st[mi][j][3]);
    }
}

template <int kDV>
__global__ void __launch_bounds__(kThreads, kDV == 32 ? 2 : 1)
    lightning_prefill_kernel(const PrefillParams p) {
  constexpr int kSplit = kDK / kDV;  // CTAs per head
  constexpr int kNT = kDV / 8;       // value n-tiles of 8
  extern __shared__ __align__(16) unsigned char smem_raw[];
  PrefillSmem<kDV>& sm = *reinterpret_cast<PrefillSmem<kDV>*>(smem_raw);
  const int half = blockIdx.x % kSplit;
  const int h = (blockIdx.x / kSplit) % p.H;
  const int seq = (blockIdx.x / kSplit) / p.H;
  const int64_t tok_begin = p.cu_seqlens ? p.cu_seqlens[seq] : 0;
  const int64_t len = p.cu_seqlens ? p.cu_seqlens[seq + 1] - tok_begin : p.total_tokens;
  const int dv0 = half * kDV;
  const int tid = threadIdx.x, lane = tid & 31, w = tid >> 5;

  const bf16* qb = p.q + tok_begin * p.q_tok + h * p.q_head;
  const bf16* kb = p.k + tok_begin * p.k_tok + h * p.k_head;
  const bf16* vb = p.v + tok_begin * p.v_tok + h * p.v_head + dv0;
  bf16* ob = p.o + tok_begin * p.o_tok + h * p.o_head + dv0;
  float* stg = p.state + ((int64_t(seq) * p.H + h) * kDK) * kDK + dv0;

  const float slope = p.slopes[h];
  for (int j = tid; j <= kC; j += kThreads) sm.pw[j] = expf(-slope * static_cast<float>(j));

  // State slice -> registers: warp w owns key rows [32w, 32w+32), all kDV value columns.
  float st[2][kNT][4];
  load_state<kDV>(st, stg, sm.s, w, lane);

  auto load_chunk = [&](int64_t t0, int stage) {
    load_chunk_async<kDV, kThreads>(sm.q[stage], sm.k[stage], sm.v[stage], qb, kb, vb, p, t0, len, tid);
  };

  const int64_t nchunks = (len + kC - 1) / kC;
  if (nchunks > 0) load_chunk(0, 0);

  for (int64_t ci = 0; ci < nchunks; ++ci) {
    const int stage = static_cast<int>(ci & 1);
    const int64_t t0 = ci * kC;
    const int m = static_cast<int>(len - t0 < kC ? len - t0 : kC);
    cp_async_wait<0>();
    __syncthreads();  // (A) chunk ci landed; S (bf16) from the previous chunk visible
    if (ci + 1 < nchunks) load_chunk(t0 + kC, stage ^ 1);

    decay_values<kDV>(sm.v[stage], sm.vd, sm.pw, m, tid, kThreads);
    chunk_outputs<kDV>(sm.q[stage], sm.k[stage], sm.v[stage], sm.s, sm.pw, ob, p.o_tok, t0, m, w, lane);
    __syncthreads();  // (B) everyone is done reading S_prev; vd is complete

    state_update<kDV>(st, sm.k[stage], sm.vd, sm.s, sm.pw[m], w, lane);
  }
  store_state<kDV>(st, stg, w, lane);
}

constexpr int kWsThreads = 256;
struct WsSmem {
  bf16 q[2][kC][kQKPad];
  bf16 k[2][kC][kQKPad];
  bf16 v[2][kC][64 + 8];
  bf16 vd[kC][64 + 8];
  bf16 s[2][kDK][64 + 8];
  float pw[kC + 4];
};

// Warp-specialised variant (dv = 64, 8 warps): warps 0-3 compute chunk c's outputs from
// S_(c-1) while warps 4-7 advance the state to S_c, so the per-chunk critical path is the
// longer of the two instead of their sum. S is double-buffered in shared memory (bf16).
__global__ void __launch_bounds__(kWsThreads, 1)
    lightning_prefill_ws_kernel(const PrefillParams p) {
  constexpr int kDV = 64;
  constexpr int kSplit = kDK / kDV;
  constexpr int kNT = kDV / 8;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  WsSmem& sm = *reinterpret_cast<WsSmem*>(smem_raw);
  const int half = blockIdx.x % kSplit;
  const int h = (blockIdx.x / kSplit) % p.H;
  const int seq = (blockIdx.x / kSplit) / p.H;
  const int64_t tok_begin = p.cu_seqlens ? p.cu_seqlens[seq] : 0;
  const int64_t len = p.cu_seqlens ? p.cu_seqlens[seq + 1] - tok_begin : p.total_tokens;
  const int dv0 = half * kDV;
  const int tid = threadIdx.x, lane = tid & 31, w = (tid >> 5) & 3;
  const bool state_warp = tid >= 128;  // warps 4-7

  const bf16* qb = p.q + tok_begin * p.q_tok + h * p.q_head;
  const bf16* kb = p.k + tok_begin * p.k_tok + h * p.k_head;
  const bf16* vb = p.v + tok_begin * p.v_tok + h * p.v_head + dv0;
  bf16* ob = p.o + tok_begin * p.o_tok + h * p.o_head + dv0;
  float* stg = p.state + ((int64_t(seq) * p.H + h) * kDK) * kDK + dv0;

  const float slope = p.slopes[h];
  for (int j = tid; j <= kC; j += kWsThreads) sm.pw[j] = expf(-slope * static_cast<float>(j));

  // State slice -> registers: warp w owns key rows [32w, 32w+32), all 64 value columns.
  float st[2][kNT][4];
  if (state_warp) load_state<kDV>(st, stg, sm.s[0], w, lane);

  auto load_chunk = [&](int64_t t0, int stage) {
    load_chunk_async<kDV, kWsThreads>(sm.q[stage], sm.k[stage], sm.v[stage], qb, kb, vb, p, t0, len, tid);
  };

  const int64_t nchunks = (len + kC - 1) / kC;
  if (nchunks > 0) load_chunk(0, 0);

  for (int64_t ci = 0; ci < nchunks; ++ci) {
    const int stage = static_cast<int>(ci & 1);
    const int64_t t0 = ci * kC;
    const int m = static_cast<int>(len - t0 < kC ? len - t0 : kC);
    cp_async_wait<0>();
    __syncthreads();  // (A) chunk ci landed; S (bf16) from the previous chunk visible
    if (ci + 1 < nchunks) load_chunk(t0 + kC, stage ^ 1);

    const int sb = static_cast<int>(ci & 1);  // S_(c-1) lives in s[sb]; S_c goes to s[sb ^ 1]
    if (!state_warp) {
      chunk_outputs<kDV>(sm.q[stage], sm.k[stage], sm.v[stage], sm.s[sb], sm.pw, ob, p.o_tok, t0, m, w, lane);
    } else {
      decay_values<kDV>(sm.v[stage], sm.vd, sm.pw, m, tid - 128, 128);
      asm volatile("bar.sync 1, 128;" ::: "memory");  // state warps only: vd complete
      state_update<kDV>(st, sm.k[stage], sm.vd, sm.s[sb ^ 1], sm.pw[m], w, lane);
    }
  }

  if (state_warp) store_state<kDV>(st, stg, w, lane);
}

struct DecodeParams {
  const bf16* q;
  const bf16* k;
  const bf16* v;
  bf16* o;
  const float* slopes;
  float* state;
  int64_t q_b, q_h, k_b, k_h, v_b, v_h, o_b, o_h;
  int H;
};

// grid (B*H, 4): 32 value columns per CTA; 256 threads = 8 column quads x 32 row groups.
__global__ void __launch_bounds__(256) lightning_decode_kernel(const DecodeParams p) {
  __shared__ float qs[kDK], ks[kDK], vs[32];
  __shared__ float4 red[32][8];
  const int bh = blockIdx.x, b = bh / p.H, h = bh % p.H, c0 = blockIdx.y * 32;
  const int tid = threadIdx.x, cq = tid & 7, rg = tid >> 3;
  if (tid < kDK) {
    qs[tid] = to_f(p.q[b * p.q_b + h * p.q_h + tid]);
    ks[tid] = to_f(p.k[b * p.k_b + h * p.k_h + tid]);
  }
  if (tid < 32) vs[tid] = to_f(p.v[b * p.v_b + h * p.v_h + c0 + tid]);
  __syncthreads();
  const float lam = expf(-p.slopes[h]);
  float* S = p.state + int64_t(bh) * kDK * kDK + c0 + 4 * cq;
  const float4 vv = make_float4(vs[4 * cq], vs[4 * cq + 1], vs[4 * cq + 2], vs[4 * cq + 3]);
  float4 s4[4];
#pragma unroll
  for (int i = 0; i < 4; ++i)
    s4[i] = *reinterpret_cast<const float4*>(S + int64_t(rg + 32 * i) * kDK);
  float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int r = rg + 32 * i;
    const float kr = ks[r], qr = qs[r];
    float4 x = s4[i];
    x.x = fmaf(lam, x.x, kr * vv.x);
    x.y = fmaf(lam, x.y, kr * vv.y);
    x.z = fmaf(lam, x.z, kr * vv.z);
    x.w = fmaf(lam, x.w, kr * vv.w);
    *reinterpret_cast<float4*>(S + int64_t(r) * kDK) = x;
    acc.x += qr * x.x;
    acc.y += qr * x.y;
    acc.z += qr * x.z;
    acc.w += qr * x.w;
  }
  red[rg][cq] = acc;
  __syncthreads();
  if (tid < 32) {
    const int q4 = tid >> 2, e = tid & 3;
    float sum = 0.f;
    for (int r = 0; r < 32; ++r) {
      const float4 t = red[r][q4];
      sum += e == 0 ? t.x : e == 1 ? t.y : e == 2 ? t.z : t.w;
    }
    p.o[b * p.o_b + h * p.o_h + c0 + tid] = to_bf(sum);
  }
}

// One block per head, thread c owns value column c of S (d rows, in a local array).
constexpr int kMaxLightningD = 256;
__global__ void lightning_recurrent_f32_kernel(const float* q, const float* k, const float* v,
                                               QkvStrides s, const float* slopes, float* state,
                                               float* o, int64_t n, int64_t heads, int64_t d) {
  extern __shared__ float sh[];  // q_t [d], k_t [d]
  float* qs = sh;
  float* ks = sh + d;
  const int64_t h = blockIdx.x;
  const int c = threadIdx.x;
  const float lambda = expf(-slopes[h]);
  float* S = state + h * d * d;
  float col[kMaxLightningD];
  for (int64_t i = 0; i < d; ++i) col[i] = c < d ? S[i * d + c] : 0.0f;
  for (int64_t t = 0; t < n; ++t) {
    __syncthreads();
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
      qs[j] = q[t * s.q0 + h * s.q1 + j];
      ks[j] = k[t * s.k0 + h * s.k1 + j];
    }
    __syncthreads();
    if (c < d) {
      const float vc = v[t * s.v0 + h * s.v1 + c];
      float acc = 0.0f;
      for (int64_t i = 0; i < d; ++i) {
        col[i] = lambda * col[i] + ks[i] * vc;
        acc += qs[i] * col[i];
      }
      o[(t * heads + h) * d + c] = acc;
    }
  }
  if (c < d)
    for (int64_t i = 0; i < d; ++i) S[i * d + c] = col[i];
}

}  // namespace

bool lightning_prefill_variant_available(const Context& ctx, int variant) {
  switch (variant) {
    case kLightningPrefillDefault:
    case kLightningPrefillWs:
    case kLightningPrefillDv32:
    case kLightningPrefillDv64:
      return true;
    case kLightningPrefillSm90S2:
    case kLightningPrefillSm90S3:
    case kLightningPrefillSm90S4:
    case kLightningPrefillSm90R2:
    case kLightningPrefillSm90R3:
    case kLightningPrefillSm90R4:
    case kLightningPrefillSm90W2:
    case kLightningPrefillSm90W3:
    case kLightningPrefillSm90W4:
      return lightning_prefill_sm90_available(ctx);
    default:
      return false;
  }
}

void lightning_prefill(const Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                       const Tensor& slopes, const Tensor& state, const Tensor& o,
                       const Tensor& cu_seqlens, int variant) {
  const int64_t T = q.dim(0), H = q.dim(1);
  check_lightning_view(q, "q", T, H);
  check_lightning_view(k, "k", T, H);
  check_lightning_view(v, "v", T, H);
  check_lightning_view(o, "o", T, H);
  const int64_t S = state.dim(0);
  MVL_CHECK(state.dtype() == DType::f32 && state.is_contiguous() && state.ndim() == 4 &&
                state.dim(1) == H && state.dim(2) == kDK && state.dim(3) == kDK,
            shape_mismatch, "cuda::lightning_prefill: state must be f32 [S, {}, 128, 128], got {}",
            H, state.str());
  MVL_CHECK(slopes.dtype() == DType::f32 && slopes.numel() == H, shape_mismatch,
            "cuda::lightning_prefill: slopes {} for {} heads", slopes.str(), H);
  if (cu_seqlens.defined())
    MVL_CHECK(cu_seqlens.dtype() == DType::i32 && cu_seqlens.numel() == S + 1, shape_mismatch,
              "cuda::lightning_prefill: cu_seqlens {} for {} sequences", cu_seqlens.str(), S);
  else
    MVL_CHECK(S == 1, shape_mismatch, "cuda::lightning_prefill: {} states but no cu_seqlens", S);
  if (S == 0) return;
  PrefillParams p{};
  p.q = static_cast<const bf16*>(q.data());
  p.k = static_cast<const bf16*>(k.data());
  p.v = static_cast<const bf16*>(v.data());
  p.o = static_cast<bf16*>(o.data());
  p.slopes = static_cast<const float*>(slopes.data());
  p.state = static_cast<float*>(state.data());
  p.cu_seqlens = cu_seqlens.defined() ? static_cast<const int32_t*>(cu_seqlens.data()) : nullptr;
  p.total_tokens = T;
  p.q_tok = q.strides()[0];
  p.q_head = q.strides()[1];
  p.k_tok = k.strides()[0];
  p.k_head = k.strides()[1];
  p.v_tok = v.strides()[0];
  p.v_head = v.strides()[1];
  p.o_tok = o.strides()[0];
  p.o_head = o.strides()[1];
  p.H = static_cast<int>(H);
  const auto is_sm90 = [](int x) {  // 9F2..9F4: family F (S, R, W), 2..4 stages
    return x >= kLightningPrefillSm90S2 && x <= kLightningPrefillSm90W4 && x % 10 >= 2 &&
           x % 10 <= 4;
  };
  int var = variant == kLightningPrefillDefault ? kDefaultPrefillVariant : variant;
  if (variant == kLightningPrefillDefault && is_sm90(var) && !lightning_prefill_sm90_available(ctx))
    var = kLightningPrefillWs;  // the default never fails for want of wgmma
  if (is_sm90(var)) {
    lightning_prefill_sm90(ctx, p, S, var % 10, static_cast<Sm90StateUpdate>((var - 900) / 10));
    return;
  }
  MVL_CHECK(var == kLightningPrefillWs || var == kLightningPrefillDv32 ||
                var == kLightningPrefillDv64,
            invalid_argument, "cuda::lightning_prefill: variant {} (see lightning.h)", variant);
  auto launch = [&](auto kernel, size_t smem, int split, int threads) {
    MVL_CHECK(smem <= ctx.max_smem_optin(), unsupported,
              "cuda::lightning_prefill needs {} bytes of shared memory per block; this GPU allows "
              "{} (sm_80+ needed)",
              smem, ctx.max_smem_optin());
    MVL_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(smem)));
    kernel<<<static_cast<unsigned>(S * H * split), threads, smem, ctx.stream()>>>(p);
    MVL_CUDA_CHECK_LAUNCH();
  };
  if (var == kLightningPrefillDv32) {
    launch(lightning_prefill_kernel<32>, sizeof(PrefillSmem<32>), 4, kThreads);
  } else if (var == kLightningPrefillDv64) {
    launch(lightning_prefill_kernel<64>, sizeof(PrefillSmem<64>), 2, kThreads);
  } else {
    launch(lightning_prefill_ws_kernel, sizeof(WsSmem), 2, kWsThreads);
  }
}

void lightning_decode(const Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                      const Tensor& slopes, const Tensor& state, const Tensor& o) {
  const int64_t B = q.dim(0), H = q.dim(1);
  check_lightning_view(q, "q", B, H);
  check_lightning_view(k, "k", B, H);
  check_lightning_view(v, "v", B, H);
  check_lightning_view(o, "o", B, H);
  MVL_CHECK(state.dtype() == DType::f32 && state.is_contiguous() && state.ndim() == 4 &&
                state.dim(0) == B && state.dim(1) == H && state.dim(2) == kDK &&
                state.dim(3) == kDK,
            shape_mismatch, "cuda::lightning_decode: state must be f32 [{}, {}, 128, 128], got {}",
            B, H, state.str());
  MVL_CHECK(slopes.dtype() == DType::f32 && slopes.numel() == H, shape_mismatch,
            "cuda::lightning_decode: slopes {}", slopes.str());
  if (B == 0) return;
  DecodeParams p{};
  set_decode_io(p, q, k, v, o, slopes);
  p.state = static_cast<float*>(state.data());
  lightning_decode_kernel<<<dim3(static_cast<unsigned>(B * H), kDK / 32), 256, 0, ctx.stream()>>>(
      p);
  MVL_CUDA_CHECK_LAUNCH();
}

void lightning_recurrent_f32(const Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                             const Tensor& slopes, const Tensor& state, const Tensor& o) {
  const int64_t n = q.dim(0), heads = q.dim(1), d = q.dim(2);
  MVL_CHECK(d <= kMaxLightningD, unsupported, "lightning on CUDA: head dim {} > {}", d,
            kMaxLightningD);
  if (heads == 0 || n == 0) return;
  const QkvStrides s{q.strides()[0], q.strides()[1], k.strides()[0],
                     k.strides()[1], v.strides()[0], v.strides()[1]};
  const int threads = static_cast<int>((d + 31) / 32 * 32);
  lightning_recurrent_f32_kernel<<<static_cast<unsigned>(heads), threads, 2 * d * sizeof(float),
                                   ctx.stream()>>>(
      q.data<float>(), k.data<float>(), v.data<float>(), s, slopes.data<float>(),
      state.data<float>(), o.data<float>(), n, heads, d);
  MVL_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mvl::cuda
