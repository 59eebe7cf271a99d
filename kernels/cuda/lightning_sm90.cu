// Lightning attention prefill for Hopper (sm_90a): the same chunked algorithm as the mma.sync
// kernels in lightning.cu (spec §6.4.4, chunk C = 64, fp32 state, bf16 operands), with every
// product an asynchronous warpgroup MMA (wgmma) whose operands are read from shared memory,
// so one warpgroup keeps the tensor cores busy while it masks, decays and stores.
//
// Grid: one CTA per (sequence, head, 64-wide half of the value dim), 128 threads = one
// warpgroup. The CTA walks its sequence in chunks of 64 tokens, cp.async-prefetching
// kStages - 1 chunks ahead (Q, K: [64 x 128], V: [64 x 64] of this half). Per chunk c:
//   group 1: P  = Q Kᵀ                [64 x 64]   wgmma SS, Q and K K-major
//            O2 = Q S_(c-1)            [64 x 64]   wgmma SS, S (bf16 copy) N-major
//   (meanwhile) Vd[u] = λ^(m-1-u) V[u] into shared memory (m = tokens in the chunk)
//   group 2: S  = λ^m S + Kᵀ Vd        [128 x 64]  wgmma SS, K read M-major (transposed A)
//   wait group 1; P[t,u] *= λ^(t-u) (u <= t, else 0); P -> bf16 A fragments
//   group 3: O1 = P V                  [64 x 64]   wgmma RS, V N-major
//   wait all; S -> bf16 shared copy for chunk c+1; o[t] = O1[t] + λ^(t+1) O2[t] (bf16 stores).
// kStateRS (variants Sm90R*) replaces the Vd pass and group 2's transposed-K read: the
// decayed Kᵀ A fragments come from ldmatrix.trans on the K panels, scaled per token in
// registers, and wgmma RS takes V as stored (one barrier per chunk instead of two).
// kSplitWG (variants Sm90W*, 256 threads): warpgroup 0 computes the outputs of chunk c from
// S_(c-1) while warpgroup 1 advances the state to S_c (RS update), the bf16 copy of S
// double-buffered (S_c in buffer c & 1), so the state chain per chunk is only the Kᵀ V
// product; both warpgroups pass the one barrier per chunk (bar.sync 0 from two code paths:
// barriers count threads, not program counters, on sm_70+).
// The fp32 state [128 x 64] lives in the wgmma accumulators (2 x 32 registers per thread);
// the λ^j table (j = 0..64) is built once per CTA.
// Shared-memory tiles are [rows x 64] bf16 panels of 128-byte rows with the 128B swizzle
// (16-byte chunk c of row r at chunk c ^ (r % 8); panels 1024-byte aligned), the layout the
// wgmma descriptors of attention_sm90.cu use: per stage Q 16 KB + K 16 KB + V 8 KB, then
// Vd 8 KB, S 16 KB (W: 32 KB) and the table: 2 stages ~105 KB, 3 ~145 KB, 4 ~185 KB (one CTA
// per SM).
// Reached through lightning_prefill (lightning.cu) with variants kLightningPrefillSm90*; CPU
// reference kernels/cpu lightning; tests tests/gpu/lightning_test.cpp, lightning_prefill_test.cpp.
#include <cmath>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/hopper.cuh"
#include "kernels/cuda/lightning_prefill.cuh"

namespace mvl::cuda {

using namespace dev;

namespace {

constexpr int kC = 64;    // chunk (tokens)
constexpr int kDK = 128;  // key dim
constexpr int kDV = 64;   // value columns per CTA
constexpr int kThreads = 128;
constexpr uint32_t kPanel = kC * 128;                   // one [64 x 64] bf16 panel: 8 KB
constexpr uint32_t kTileQK = 2 * kPanel;                // [64 x 128]: two panels
constexpr uint32_t kStageBytes = 2 * kTileQK + kPanel;  // Q, K, V
constexpr uint32_t kTileS = kDK * 128;                  // S [128 x 64] bf16: 16 KB

template <int kStages, bool kSplitWG>
constexpr size_t smem_bytes() {
  return 1024 + kStages * size_t(kStageBytes) + kPanel + (kSplitWG ? 2 : 1) * kTileS +
         (kC + 4) * sizeof(float);
}

#ifdef MVL_SM90_WGMMA
// Byte offset of 16-byte chunk ch (0..7) of 128-byte row r inside a 128B-swizzled panel.
__device__ __forceinline__ uint32_t swz(int r, int ch) {
  return uint32_t(r) * 128u + (uint32_t(ch ^ (r & 7)) << 4);
}

// cp.async of chunk rows [t0, t0 + 64) (zero past len) into one stage: Q and K (128 columns,
// two panels each), V (this CTA's 64 columns, one panel), all 128B-swizzled; kN threads.
template <int kN>
__device__ __forceinline__ void load_chunk(unsigned char* st, const LightningPrefillParams& p,
                                           const bf16* qb, const bf16* kb, const bf16* vb,
                                           int64_t t0, int64_t len, int tid) {
  const int64_t m = len - t0 < kC ? len - t0 : kC;
  for (int idx = tid; idx < kC * 16; idx += kN) {
    const int row = idx >> 4, seg = idx & 15;
    const bool ok = row < m;
    const int64_t tr = ok ? t0 + row : 0;
    const uint32_t off = (seg >> 3) * kPanel + swz(row, seg & 7);
    cp_async16(st + off, qb + tr * p.q_tok + seg * 8, ok);
    cp_async16(st + kTileQK + off, kb + tr * p.k_tok + seg * 8, ok);
  }
  for (int idx = tid; idx < kC * 8; idx += kN) {
    const int row = idx >> 3, seg = idx & 7;
    const bool ok = row < m;
    const int64_t tr = ok ? t0 + row : 0;
    cp_async16(st + 2 * kTileQK + swz(row, seg), vb + tr * p.v_tok + seg * 8, ok);
  }
}
#endif  // MVL_SM90_WGMMA

template <int kStages, bool kStateRS, bool kSplitWG>
__global__ void __launch_bounds__(kSplitWG ? 2 * kThreads : kThreads, 1)
    lightning_prefill_sm90_kernel(const __grid_constant__ LightningPrefillParams p) {
#ifdef MVL_SM90_WGMMA
  static_assert(kStateRS || !kSplitWG, "the split kernel's state warpgroup uses the RS update");
  constexpr int kN = kSplitWG ? 2 * kThreads : kThreads;
  extern __shared__ __align__(1024) unsigned char smem_raw[];
  // 1024-byte alignment for the swizzle atoms (dynamic shared memory is only 16-B aligned).
  unsigned char* sb = smem_raw + ((1024u - (smem_u32(smem_raw) & 1023u)) & 1023u);
  const uint32_t base = smem_u32(sb);
  unsigned char* s_vd = sb + kStages * kStageBytes;
  unsigned char* s_s = s_vd + kPanel;  // S as bf16; kSplitWG: two buffers, S_c in buffer c & 1
  float* pw = reinterpret_cast<float*>(s_s + (kSplitWG ? 2 : 1) * kTileS);
  const uint32_t a_vd = base + kStages * kStageBytes, a_s = a_vd + kPanel;

  const int half = blockIdx.x & 1;
  const int h = (blockIdx.x >> 1) % p.H;
  const int seq = (blockIdx.x >> 1) / p.H;
  const int64_t tok_begin = p.cu_seqlens ? p.cu_seqlens[seq] : 0;
  const int64_t len = p.cu_seqlens ? p.cu_seqlens[seq + 1] - tok_begin : p.total_tokens;
  const int dv0 = half * kDV;
  const int tid = threadIdx.x, lane = tid & 31, w = (tid >> 5) & 3, g = lane >> 2, c4 = lane & 3;
  // Warpgroup roles: one warpgroup does everything, or (kSplitWG) warpgroup 0 the outputs of
  // chunk c from S_(c-1) while warpgroup 1 advances the state to S_c.
  const bool state_thread = !kSplitWG || tid >= kThreads;

  const bf16* qb = p.q + tok_begin * p.q_tok + h * p.q_head;
  const bf16* kb = p.k + tok_begin * p.k_tok + h * p.k_head;
  const bf16* vb = p.v + tok_begin * p.v_tok + h * p.v_head + dv0;
  bf16* ob = p.o + tok_begin * p.o_tok + h * p.o_head + dv0;
  float* stg = p.state + ((int64_t(seq) * p.H + h) * kDK) * kDK + dv0;

  const float slope = p.slopes[h];
  for (int j = tid; j <= kC; j += kN) pw[j] = expf(-slope * static_cast<float>(j));

  // S_c (bf16) lives in buffer c & 1 (kSplitWG) or always in buffer 0; S_(-1) = the input.
  const auto s_buf = [&](int64_t c) { return kSplitWG ? int((c + 2) & 1) : 0; };
  // The state in the wgmma accumulator layout of two m64n64 tiles (key rows 64 mi ..):
  // st[mi][4j + e] = S[64 mi + 16 w + g + 8 (e >= 2)][8 j + 2 c4 + (e & 1)], and its bf16
  // copy ([128 x 64], N-major for the Q·S product).
  float st[2][32];
  const auto store_s_bf16 = [&](unsigned char* dst) {
#pragma unroll
    for (int mi = 0; mi < 2; ++mi)
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        const int r = 64 * mi + 16 * w + g;
        *reinterpret_cast<uint32_t*>(dst + swz(r, j) + 4 * c4) =
            pack_bf16(st[mi][4 * j + 0], st[mi][4 * j + 1]);
        *reinterpret_cast<uint32_t*>(dst + swz(r + 8, j) + 4 * c4) =
            pack_bf16(st[mi][4 * j + 2], st[mi][4 * j + 3]);
      }
  };
  if (state_thread) {
#pragma unroll
    for (int mi = 0; mi < 2; ++mi)
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        const int r = 64 * mi + 16 * w + g, col = 8 * j + 2 * c4;
        const float2 lo = *reinterpret_cast<const float2*>(stg + int64_t(r) * kDK + col);
        const float2 hi = *reinterpret_cast<const float2*>(stg + int64_t(r + 8) * kDK + col);
        st[mi][4 * j + 0] = lo.x;
        st[mi][4 * j + 1] = lo.y;
        st[mi][4 * j + 2] = hi.x;
        st[mi][4 * j + 3] = hi.y;
      }
    store_s_bf16(s_s + s_buf(-1) * kTileS);
  }

  const int64_t nchunks = (len + kC - 1) / kC;
  const int ltid = tid;  // cp.async: all kN threads
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < nchunks)
      load_chunk<kN>(sb + s * kStageBytes, p, qb, kb, vb, int64_t(s) * kC, len, ltid);
    cp_async_commit();  // always: one group per chunk slot keeps the wait counts uniform
  }

  const int t_lo = 16 * w + g, t_hi = t_lo + 8;  // this thread's rows of the chunk
  // The chunk loop, compiled once per role (kRole 0: outputs and state, 1: outputs, 2: state)
  // so each warpgroup's code holds only its own wgmma pipeline; every role passes the same
  // barrier once per chunk.
  const auto chunk_loop = [&]<int kRole>() {
    constexpr bool do_out = kRole != 2, do_state = kRole != 1;
    float pacc[32], o1[32], o2[32];
    uint32_t pa[4][4];
    [[maybe_unused]] uint32_t ka[kStateRS ? 2 : 1][4][4];  // RS update: decayed Kᵀ A fragments
    int stage = 0;                                         // = ci % kStages
    for (int64_t ci = 0; ci < nchunks; ++ci, stage = stage + 1 == kStages ? 0 : stage + 1) {
      const int64_t t0 = ci * kC;
      const int m = static_cast<int>(len - t0 < kC ? len - t0 : kC);
      cp_async_wait<kStages - 2>();
      fence_proxy_async();  // this thread's cp.async and S / Vd stores -> visible to wgmma
      __syncthreads();      // chunk ci landed; S_(ci-1) (bf16) complete; stage ci-1 free
      const uint32_t aq = base + stage * kStageBytes, ak = aq + kTileQK, av = ak + kTileQK;

      if constexpr (do_state) {
        const float dm = pw[m];
#pragma unroll
        for (int mi = 0; mi < 2; ++mi)
#pragma unroll
          for (int i = 0; i < 32; ++i) st[mi][i] *= dm;
      }
      if constexpr (do_out) {
        // Group 1: P = Q Kᵀ and O2 = Q S_(ci-1) (k = 128 key dims, 8 steps of 16).
        const uint32_t a_sp = a_s + s_buf(ci - 1) * kTileS;
        wgmma_fence();
#pragma unroll
        for (int kk = 0; kk < 8; ++kk) {
          const uint32_t off = (kk >> 2) * kPanel + (kk & 3) * 32;  // panel, 32 bytes per k-step
          wgmma_ss_m64n64k16<0, 0>(pacc, smem_desc(aq + off, 16, 1024),
                                   smem_desc(ak + off, 16, 1024), kk > 0);
        }
#pragma unroll
        for (int kk = 0; kk < 8; ++kk)
          wgmma_ss_m64n64k16<0, 1>(o2, smem_desc(aq + (kk >> 2) * kPanel + (kk & 3) * 32, 16, 1024),
                                   smem_desc(a_sp + kk * 2048, 1024, 1024), kk > 0);
        wgmma_commit();
      }
      {  // prefetch chunk ci + kStages - 1 into the stage chunk ci - 1 used (free after the
         // barrier)
        const int64_t cn = ci + kStages - 1;
        const int ls = stage == 0 ? kStages - 1 : stage - 1;  // = cn % kStages (stage of ci - 1)
        if (cn < nchunks) load_chunk<kN>(sb + ls * kStageBytes, p, qb, kb, vb, cn * kC, len, ltid);
        cp_async_commit();
      }

      if constexpr (!kStateRS) {
        // Decayed values for the state update, while group 1 runs: Vd[u] = λ^(m-1-u) V[u]. The
        // swizzle permutes chunks within a row only, so row u = byte offset / 128.
        const unsigned char* vsrc = sb + stage * kStageBytes + 2 * kTileQK;
        for (int idx = tid; idx < kC * 8; idx += kThreads) {
          const int u = idx >> 3;
          const float f = u < m ? pw[m - 1 - u] : 0.f;
          float x[8];
          unpack8(*reinterpret_cast<const int4*>(vsrc + idx * 16), x);
#pragma unroll
          for (int i = 0; i < 8; ++i) x[i] *= f;
          *reinterpret_cast<int4*>(s_vd + idx * 16) = pack8(x);
        }
        fence_proxy_async();
        __syncthreads();  // Vd complete

        // Group 2: S = λ^m S + Kᵀ Vd (k = 64 tokens, 4 steps; K panel mi = key rows 64 mi ..
        // read M-major; λ^m S was applied before group 1 so no register of a wgmma in flight is
        // touched).
        wgmma_fence();
#pragma unroll
        for (int mi = 0; mi < 2; ++mi)
#pragma unroll
          for (int kk = 0; kk < 4; ++kk)
            wgmma_ss_m64n64k16<1, 1>(st[mi], smem_desc(ak + mi * kPanel + kk * 2048, 1024, 1024),
                                     smem_desc(a_vd + kk * 2048, 1024, 1024), 1);
        wgmma_commit();
      } else if constexpr (do_state) {
        // Group 2 with A in registers: (λ^(m-1-u) K[u])ᵀ fragments by ldmatrix.trans from the
        // swizzled K panels (warp w: key rows 64 mi + 16 w ..; matrix i = lane / 8 covers tokens
        // 16 kk + 8 (i >> 1) .., key rows + 8 (i & 1)), decayed per token (column) in registers;
        // B = V as stored. No Vd pass, no second barrier.
        const unsigned char* kpan = sb + stage * kStageBytes + kTileQK;
        const int mat = lane >> 3;
        const int ch = 2 * w + (mat & 1);  // 16-byte chunk of the key row within its panel
#pragma unroll
        for (int mi = 0; mi < 2; ++mi)
#pragma unroll
          for (int kk = 0; kk < 4; ++kk) {
            const int tok = 16 * kk + (lane & 7) + (mat >> 1) * 8;
            ldmatrix_x4_trans(ka[mi][kk], kpan + mi * kPanel + swz(tok, ch));
            // a0, a1: tokens 16 kk + 2 c4 (+1); a2, a3: 8 more.
#pragma unroll
            for (int hv = 0; hv < 2; ++hv) {
              const int u0 = 16 * kk + 8 * hv + 2 * c4;
              const float f0 = u0 < m ? pw[m - 1 - u0] : 0.f;
              const float f1 = u0 + 1 < m ? pw[m - 2 - u0] : 0.f;
#pragma unroll
              for (int r = 0; r < 2; ++r) {
                uint32_t& x = ka[mi][kk][2 * hv + r];
                const float2 v2 = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&x));
                x = pack_bf16(v2.x * f0, v2.y * f1);
              }
            }
          }
        wgmma_fence();
#pragma unroll
        for (int mi = 0; mi < 2; ++mi)
#pragma unroll
          for (int kk = 0; kk < 4; ++kk)
            wgmma_rs_m64n64k16_nmajor(st[mi], ka[mi][kk], smem_desc(av + kk * 2048, 1024, 1024), 1);
        wgmma_commit();
      }

      if constexpr (do_out) {
        // Decay mask on the scores (group 1 only), then P as bf16 A fragments.
        if constexpr (kSplitWG)
          wgmma_wait<0>();
        else
          wgmma_wait<1>();
        reg_fence(pacc);
        reg_fence(o2);
#pragma unroll
        for (int j = 0; j < 8; ++j)
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            const int u = 8 * j + 2 * c4 + e;
            pacc[4 * j + e] = u <= t_lo ? pacc[4 * j + e] * pw[t_lo - u] : 0.f;
            pacc[4 * j + 2 + e] = u <= t_hi ? pacc[4 * j + 2 + e] * pw[t_hi - u] : 0.f;
          }
#pragma unroll
        for (int kk = 0; kk < 4; ++kk) {
          pa[kk][0] = pack_bf16(pacc[8 * kk + 0], pacc[8 * kk + 1]);
          pa[kk][1] = pack_bf16(pacc[8 * kk + 2], pacc[8 * kk + 3]);
          pa[kk][2] = pack_bf16(pacc[8 * kk + 4], pacc[8 * kk + 5]);
          pa[kk][3] = pack_bf16(pacc[8 * kk + 6], pacc[8 * kk + 7]);
        }
        // Group 3: O1 = P V (k = 64 tokens).
        wgmma_fence();
#pragma unroll
        for (int kk = 0; kk < 4; ++kk)
          wgmma_rs_m64n64k16_nmajor(o1, pa[kk], smem_desc(av + kk * 2048, 1024, 1024), kk > 0);
        wgmma_commit();
      }
      wgmma_wait<0>();  // this warpgroup's groups (its reads of S, the stage, Vd are done)
      if constexpr (do_out) reg_fence(o1);
      if constexpr (do_state) {
        reg_fence(st[0]);
        reg_fence(st[1]);
        // S_ci as bf16 for the next chunk (its reader, group 1 of this chunk, is done or, split,
        // reads the other buffer).
        store_s_bf16(s_s + s_buf(ci) * kTileS);
      }
      if constexpr (do_out) {
        // o = intra + λ^(t+1) inter.
        const float dl = pw[t_lo + 1], dh = pw[t_hi + 1];
#pragma unroll
        for (int j = 0; j < 8; ++j) {
          const int col = 8 * j + 2 * c4;
          if (t_lo < m)
            *reinterpret_cast<uint32_t*>(ob + (t0 + t_lo) * p.o_tok + col) =
                pack_bf16(o1[4 * j] + dl * o2[4 * j], o1[4 * j + 1] + dl * o2[4 * j + 1]);
          if (t_hi < m)
            *reinterpret_cast<uint32_t*>(ob + (t0 + t_hi) * p.o_tok + col) =
                pack_bf16(o1[4 * j + 2] + dh * o2[4 * j + 2], o1[4 * j + 3] + dh * o2[4 * j + 3]);
        }
      }
    }
  };
  if constexpr (!kSplitWG)
    chunk_loop.template operator()<0>();
  else if (state_thread)
    chunk_loop.template operator()<2>();
  else
    chunk_loop.template operator()<1>();
  cp_async_wait<0>();  // the trailing (empty) groups

  if (state_thread) {
#pragma unroll
    for (int mi = 0; mi < 2; ++mi)
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        const int r = 64 * mi + 16 * w + g, col = 8 * j + 2 * c4;
        *reinterpret_cast<float2*>(stg + int64_t(r) * kDK + col) =
            make_float2(st[mi][4 * j + 0], st[mi][4 * j + 1]);
        *reinterpret_cast<float2*>(stg + int64_t(r + 8) * kDK + col) =
            make_float2(st[mi][4 * j + 2], st[mi][4 * j + 3]);
      }
  }
#else
  __trap();  // only launched on compute capability 9.x, where the sm_90a image is used
#endif
}

template <int kStages, bool kStateRS, bool kSplitWG>
void launch(const Context& ctx, const LightningPrefillParams& p, int64_t S) {
  const size_t smem = smem_bytes<kStages, kSplitWG>();
  MVL_CHECK(smem <= ctx.max_smem_optin(), unsupported,
            "cuda::lightning_prefill (sm90, {} stages) needs {} bytes of shared memory; this GPU "
            "allows {}",
            kStages, smem, ctx.max_smem_optin());
  auto* kernel = lightning_prefill_sm90_kernel<kStages, kStateRS, kSplitWG>;
  MVL_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  kernel<<<static_cast<unsigned>(S * p.H * (kDK / kDV)), kSplitWG ? 2 * kThreads : kThreads, smem,
           ctx.stream()>>>(p);
  MVL_CUDA_CHECK_LAUNCH();
}

}  // namespace

bool lightning_prefill_sm90_available(const Context& ctx) {
  int major = 0;
  MVL_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, ctx.device()));
  return major == 9;
}

void lightning_prefill_sm90(const Context& ctx, const LightningPrefillParams& p, int64_t S,
                            int stages, Sm90StateUpdate state) {
  MVL_CHECK(lightning_prefill_sm90_available(ctx), unsupported,
            "cuda::lightning_prefill: the sm90 variant needs a compute capability 9.x GPU (wgmma)");
  MVL_CHECK(stages >= 2 && stages <= 4, invalid_argument,
            "cuda::lightning_prefill: sm90 stages {} (2, 3 or 4)", stages);
  if (S == 0) return;
  using Launch = void (*)(const Context&, const LightningPrefillParams&, int64_t);
  constexpr Launch kLaunch[3][3] = {
      {launch<2, false, false>, launch<3, false, false>, launch<4, false, false>},
      {launch<2, true, false>, launch<3, true, false>, launch<4, true, false>},
      {launch<2, true, true>, launch<3, true, true>, launch<4, true, true>}};
  kLaunch[static_cast<int>(state)][stages - 2](ctx, p, S);
}

}  // namespace mvl::cuda
