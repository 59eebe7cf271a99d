// Flash attention forward for Hopper (sm_90a), FA3-style: a TMA producer warp and two wgmma
// consumer warpgroups; prefill / ViT attention (no kv_lens), d = 64 or 128.
//
// Algorithm (per CTA = 128 query rows of one query head; 384 threads = 3 warpgroups):
//   warpgroup 0 (producer, setmaxnreg 24): one thread issues TMA tensor copies
//     (cp.async.bulk.tensor; CUtensorMap encoded on the host through the driver entry point,
//     no -lcuda) of Q once and of K/V blocks of kBN = 128 keys into a kStages ring; mbarriers:
//     *_full (expect_tx bytes, completed by the TMA) and *_empty (the 256 consumer threads
//     arrive once they no longer read the stage). TMA zero-fills rows past n_q / n_k.
//   warpgroups 1, 2 (consumers, setmaxnreg 240), 64 query rows each, per key block j:
//     issue S_j[64 x 128] = Q K_j^T     wgmma m64n128k16, Q and K both K-major smem descriptors
//     issue O += P_{j-1} V_{j-1}        wgmma m64n64k16 per 64-column panel, P as bf16 register
//                                       A fragments, V N-major (transposed-B) smem descriptor
//     wait for S_j only (frees K_j) and run the online softmax on its accumulator registers in
//     f32 (max on raw scores, exp2 via one FFMA with scale·log2e folded in; causal / n_k masks
//     only on blocks that need them) while the P·V wgmmas run; then wait for them (frees
//     V_{j-1}), rescale O and pack P_j to bf16. With kPingPong the two consumer warpgroups take
//     turns issuing their wgmmas (named barriers), so one's softmax overlaps the other's GEMMs.
//   Finally O / l is stored as bf16. GQA: query head h reads kv head h / (H / Hkv). Causal:
//   query i sits at q_offset + i; CTAs stop at the last key their last row sees and are
//   launched longest first.
// Layout: every tile is [rows x d] bf16 split into d/64 panels of [rows x 64] (128 B per row),
//   TMA SWIZZLE_128B: 16-byte chunk c of row r sits at chunk c ^ (r % 8); panels 1024-B aligned.
// Budget (d = 128): smem Q 32 KB + 3 x (K 32 KB + V 32 KB) = 224 KB (+1 KB alignment, barriers),
//   one CTA per SM; consumer registers: S 64 + O 64 f32 + P 32 bf16x2 + addressing (<= 240).
//   k128f: 2 x Q 32 KB + 2 x (K + V) = 192 KB.
//   d = 64, 64-key blocks: Q 16 KB + 4 x (8 + 8) KB = 80 KB; S 32 + O 32 + P 16.
// Measured slower on an H200 and dropped (docs/benchmarks.md, Hopper attention): a persistent
//   grid (one CTA per SM looping over tiles, the next Q loaded during the last P·V) and skipping
//   the O rescale when a thread's row maxima did not move (d = 128 causal prefill; the d = 64
//   persistent / flat tunings below are timed on the ViT shape by vit_check.sh).
// d = 128 causal prefill schedules (Sm90Tuning; tools/device/sfx_check.sh times them against
//   torch SDPA): at 8K tokens the 4096 one-tile CTAs (64 tiles x 64 heads, tile i doing i + 1
//   key blocks) each pay a prologue and a drain with nothing to hide them, and the default
//   grid launches head by head, so the last heads' longest tiles start late. lpt launches
//   every head's longest tile first, the G query heads of a kv head side by side (K/V blocks
//   shared in L2); k128f runs the flat pipeline at d = 128 (Q double-buffered, 2 K/V stages),
//   persistent with a variable block count per tile, the walk (lpt) tile-major longest first in
//   a snake so each SM's sum of causal work is within ~0.1% of the mean at 8K.
// d = 64 (the ViT: 37 tiles x 16 heads x 577 tokens, no mask; Sm90Tuning in attention.h):
//   the d128 shape is slow there because each CTA is short: 5 key blocks of 128, one CTA per SM,
//   so its prologue (barrier init, the first Q/K TMA round trip, S_0 and its softmax with
//   nothing to overlap) and drain (the last P·V, O stores) are hidden by no other work, and
//   the 65-key last block (577 = 4 x 128 + 65) computes 128. Two remedies, tuned on the GPU
//   (tools/device/vit_check.sh): tiles_per_cta > 1 (kMulti shapes) lets a CTA run the query
//   tiles of one (batch, head) in turn, the producer loading the next tile's Q (q_empty is
//   released after the tile's last S) and K/V blocks (the ring runs on across tiles) while the
//   consumers drain the last; the flat shapes (k128f, k64x1f) go further and run a CTA's tiles
//   as one pipeline of blocks (Q double-buffered): the next tile's first S and its softmax
//   overlap the last tile's final P·V, and its O is stored in the shadow of the next block's
//   wgmmas; persistent (flat shapes): one CTA per SM walks all (batch, head, tile) items, so
//   there is one prologue per SM and the last wave is ~3% short, not a half-empty fifth wave
//   (592 CTAs of 5 tiles on 132 SMs); 64-key blocks (k64x1: 4 stages, 81 KB smem) halve the
//   un-overlapped first and last block. k64x2 packs two CTAs per SM instead (104 registers per
//   consumer thread: ptxas spills a little and serializes the wgmmas). A 16-key last step for
//   577 = 9 x 64 + 1 (m64n16 S, one P·V k-step) made ptxas serialize every wgmma (C7520,
//   a wgmma on a divergent path), so the last block always runs whole, masked.
// Hopper primitives (wgmma, TMA, mbarrier, setmaxnreg): hopper.cuh; the m64n64 S wgmma of
//   the 64-key shapes lives here.
// Must match the CPU reference kernels/cpu/attention.cpp (same maths as kernels/cuda/attention.cu);
// test: tests/gpu/attention_test.cpp (Sm90Direct*, Sm90D64Tunings, FlashParity through the
// dispatch).
#include "kernels/cuda/attention.h"

#include <algorithm>
#include <cmath>

#include "kernels/cuda/attention_view.h"
#include "kernels/cuda/check.cuh"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/hopper.cuh"

namespace mvl::cuda {

using namespace dev;

namespace {

constexpr int kBM = 128, kThreads = 384;

struct Sm90Params {
  CUtensorMap tq, tk,
      tv;  // 4-D maps {d, tokens, heads, batch}, box {64, kBM|kBN, 1, 1}, 128B swizzle
  bf16* o;
  int64_t o_b, o_t, o_h;
  int n_q, n_k, G;
  int tiles_per_cta;  // query tiles one CTA runs in turn (1 when causal)
  int persistent;     // flat shapes: a 1-D grid walks every (b, h, tile) item
  int lpt;            // heaviest tiles first (persistent: a snake walk over the LPT order)
  int lpt_grid;       // one tile per CTA on a grid (B * H, ntq): heads inner, tiles descending
  int B, H;           // sequences, query heads (the persistent walk's decomposition)
  int64_t q_offset;
  float scale_log2;
  bool causal;
};

#ifdef MVL_SM90_WGMMA
// Consumer warpgroups take turns issuing wgmmas (FA3 ping-pong); see the header.
constexpr bool kPingPong = true;
// 2^x on the SFU (FA-style; -inf -> 0).
__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}
// Named barriers 1, 2 (0 is __syncthreads) between the two consumer warpgroups (256 threads).
__device__ __forceinline__ void named_sync(int id) {
  asm volatile("bar.sync %0, 256;\n" ::"r"(id) : "memory");
}
__device__ __forceinline__ void named_arrive(int id) {
  asm volatile("bar.arrive %0, 256;\n" ::"r"(id) : "memory");
}
#endif

// One shape of the kernel: head dim D, kBN keys per block, kStages K/V buffers, kMinBlocks CTAs
// per SM (the launch bound), consumer registers after setmaxnreg (the producer keeps 24; the
// consumers' total must fit what the producer frees: 256 (kRegs - R) <= 128 (R - 24) for the
// kernel's register count R = 65536 / (384 kMinBlocks) rounded down to 8). kMulti: a CTA may
// run several query tiles (without it the tile loop folds away: the d128 shape spilled with it).
// kFlat (with kMulti): those tiles run as one pipeline of blocks, Q double-buffered, so the next
// tile's first S and softmax overlap the last tile's final P·V and O store.
template <int D_, int kBN_, int kStages_, int kMinBlocks_, int kRegs_, bool kMulti_, bool kFlat_>
struct Sm90Shape {
  static constexpr int D = D_, kBN = kBN_, kStages = kStages_, kMinBlocks = kMinBlocks_,
                       kRegs = kRegs_;
  static constexpr bool kMulti = kMulti_, kFlat = kFlat_;
  static constexpr int kQBufs = kFlat ? 2 : 1;
  static_assert(kMulti || !kFlat, "a flat pipeline runs several tiles");
  static_assert(kBN == 64 || kBN == 128, "key blocks of 64 or 128");
  static constexpr int kLaunchRegs = (65536 / (kThreads * kMinBlocks)) / 8 * 8;
  static_assert(256 * (kRegs - (kLaunchRegs < 168 ? kLaunchRegs : 168)) <=
                    128 * ((kLaunchRegs < 168 ? kLaunchRegs : 168) - 24),
                "consumers would wait for registers the producer cannot free");
};
using ShapeD128 = Sm90Shape<128, 128, 3, 1, 240, false, false>;
// d128, tiles flattened: Q double-buffered leaves room for 2 K/V stages (192 KB, as FA3).
using ShapeD128F = Sm90Shape<128, 128, 2, 1, 240, true, true>;
using ShapeD64K128 = Sm90Shape<64, 128, 3, 1, 240, true, false>;  // the d128 shape at d = 64
using ShapeD64K64x1 = Sm90Shape<64, 64, 4, 1, 240, true, false>;  // 64-key blocks, 1 CTA/SM
using ShapeD64K64x2 = Sm90Shape<64, 64, 4, 2, 104, true, false>;  // 2 CTAs/SM (serialized wgmmas)
using ShapeD64K128F = Sm90Shape<64, 128, 3, 1, 240, true, true>;  // k128, tiles flattened
using ShapeD64K64F = Sm90Shape<64, 64, 4, 1, 240, true, true>;    // k64x1, tiles flattened

template <class Shape>
__global__ void __launch_bounds__(kThreads, Shape::kMinBlocks)
    flash_sm90_kernel(const __grid_constant__ Sm90Params p) {
#ifdef MVL_SM90_WGMMA
  constexpr int D = Shape::D, kBN = Shape::kBN, kStages = Shape::kStages;
  constexpr int kNS = kBN / 2;  // S accumulators per thread (m64nkBN: kBN / 8 blocks x 4)
  constexpr int kQBufs = Shape::kQBufs;
  constexpr uint32_t kTileQ = kBM * D * 2, kTileKV = kBN * D * 2;  // bytes
  extern __shared__ __align__(1024) unsigned char smem_raw[];
  // 1024-byte alignment for the 128B swizzle atoms (dynamic smem is only 16-B aligned).
  const uint32_t base = (smem_u32(smem_raw) + 1023u) & ~1023u;
  const uint32_t sq = base, sk = base + kQBufs * kTileQ, sv = sk + kStages * kTileKV;
  // mbarriers (8 bytes each): q_full[2], k_full[S], v_full[S], k_empty[S], v_empty[S],
  // q_empty[2]. Tile ti uses Q buffer ti % kQBufs for the (ti / kQBufs)-th time.
  const uint32_t bars = sv + kStages * kTileKV;
  auto q_full = [&](int buf) { return bars + 8u * buf; };
  auto k_full = [&](int s) { return bars + 8u * (2 + s); };
  auto v_full = [&](int s) { return bars + 8u * (2 + kStages + s); };
  auto k_empty = [&](int s) { return bars + 8u * (2 + 2 * kStages + s); };
  auto v_empty = [&](int s) { return bars + 8u * (2 + 3 * kStages + s); };
  auto q_empty = [&](int buf) { return bars + 8u * (2 + 4 * kStages + buf); };

  const int tid = threadIdx.x, wg = tid >> 7;
  // This CTA's query tiles of kBM rows, run in turn: tile0 .. tile0 + ntile - 1 of head
  // blockIdx.y of sequence blockIdx.z (tiles_per_cta > 1 only without a causal mask; causal:
  // one tile, the longest first). lpt_grid (one tile per CTA): blockIdx.x = b * H + h,
  // blockIdx.y = tile slot, so every head's longest tile is launched before any shorter one and
  // the G query heads of one kv head run side by side (their K/V blocks come from L2).
  // Persistent (flat shapes): the CTA walks items of the B x H x ntq (batch, head, tile) list:
  // without lpt items blockIdx.x + i gridDim.x in (b, h, tile) order; with lpt the list is
  // tile-major, longest first (heads of a GQA group adjacent), and round i takes position
  // blockIdx.x (i even) or gridDim.x - 1 - blockIdx.x (i odd) of its gridDim.x items, a snake
  // that evens out the CTAs' sums of causal work.
  const int ntq = (p.n_q + kBM - 1) / kBM;
  const bool persistent = Shape::kFlat && p.persistent;
  const bool multi = Shape::kMulti && (!p.causal || persistent);
  const int items = p.B * p.H * ntq, nctas = int(gridDim.x), cta = int(blockIdx.x);
  const int slot = p.lpt_grid ? int(blockIdx.y) : int(blockIdx.x);
  const int tile0 = p.causal ? ntq - 1 - slot : slot * (multi ? p.tiles_per_cta : 1);
  int ntile = 1;
  if (persistent && p.lpt) {
    const int full = items / nctas, pos = (full & 1) ? nctas - 1 - cta : cta;
    ntile = full + (pos < items - full * nctas ? 1 : 0);
  } else if (persistent) {
    ntile = (items - cta + nctas - 1) / nctas;
  } else if (multi) {
    ntile = min(p.tiles_per_cta, ntq - tile0);
  }
  struct TileId {
    int b, h, tok0;
  };
  auto tile_id = [&](int ti) {
    if (persistent && p.lpt) {
      const int w = ti * nctas + ((ti & 1) ? nctas - 1 - cta : cta), bh = w % (p.B * p.H);
      return TileId{bh / p.H, bh % p.H, (ntq - 1 - w / (p.B * p.H)) * kBM};
    }
    if (persistent) {
      const int w = cta + ti * nctas, qt = w % ntq, bh = w / ntq;
      return TileId{bh / p.H, bh % p.H, qt * kBM};
    }
    if (p.lpt_grid) return TileId{cta / p.H, cta % p.H, (tile0 + ti) * kBM};
    return TileId{int(blockIdx.z), int(blockIdx.y), (tile0 + ti) * kBM};
  };
  // Key blocks of the tile starting at row tok0: all, or (causal) up to its last row's position.
  auto blocks_for = [&](int tok0) {
    const int64_t last_tok = tok0 + kBM - 1 < p.n_q - 1 ? tok0 + kBM - 1 : p.n_q - 1;
    int64_t kend = p.n_k;
    if (p.causal && p.q_offset + last_tok + 1 < kend) kend = p.q_offset + last_tok + 1;
    return kend > 0 ? int((kend + kBN - 1) / kBN) : 0;
  };

  if (tid == 0) {
    for (int buf = 0; buf < 2; ++buf) {
      mbar_init(q_full(buf), 1);
      mbar_init(q_empty(buf), 256);
    }
    for (int s = 0; s < kStages; ++s) {
      mbar_init(k_full(s), 1);
      mbar_init(v_full(s), 1);
      mbar_init(k_empty(s), 256);
      mbar_init(v_empty(s), 256);
    }
    fence_mbarrier_init();
    fence_proxy_async();
  }
  __syncthreads();  // the last CTA-wide barrier: producer and consumers part here

  if (wg == 0) {  // ---- producer ----
    setmaxnreg_dec<24>();
    if (tid == 0) {
      // K/V blocks go through the ring in one sequence over all tiles (it = position in it).
      for (int ti = 0, it = 0; ti < ntile; ++ti) {
        const TileId t = tile_id(ti);
        const int tok0 = t.tok0, nblk = blocks_for(tok0), b = t.b, h = t.h, hk = h / p.G;
        const int buf = ti % kQBufs, use = ti / kQBufs;
        // The consumers' last S of the tile that used this buffer before.
        if (use > 0) mbar_wait(q_empty(buf), (use - 1) & 1);
        mbar_expect_tx(q_full(buf), kTileQ);
#pragma unroll
        for (int pn = 0; pn < D / 64; ++pn)
          tma_load_4d(sq + buf * kTileQ + pn * kBM * 128, &p.tq, pn * 64, tok0, h, b, q_full(buf));
        for (int blk = 0; blk < nblk; ++blk, ++it) {
          const int st = it % kStages;
          const uint32_t ph = ((it / kStages) & 1) ^ 1;
          mbar_wait(k_empty(st), ph);
          mbar_expect_tx(k_full(st), kTileKV);
#pragma unroll
          for (int pn = 0; pn < D / 64; ++pn)
            tma_load_4d(sk + st * kTileKV + pn * kBN * 128, &p.tk, pn * 64, blk * kBN, hk, b,
                        k_full(st));
          mbar_wait(v_empty(st), ph);
          mbar_expect_tx(v_full(st), kTileKV);
#pragma unroll
          for (int pn = 0; pn < D / 64; ++pn)
            tma_load_4d(sv + st * kTileKV + pn * kBN * 128, &p.tv, pn * 64, blk * kBN, hk, b,
                        v_full(st));
        }
      }
    }
    return;
  }

  // ---- consumers: warpgroup cw = 0, 1 owns query rows cw * 64 .. + 63 ----
  setmaxnreg_inc<Shape::kRegs>();
  const int cw = wg - 1, lane = tid & 31, warp = (tid >> 5) & 3;
  const int g = lane >> 2, c4 = lane & 3;

  // This thread's rows (accumulator layout = mma.sync m16n8 per 8 columns): lo and lo + 8.
  const int r_lo = cw * 64 + warp * 16 + g;
  int tok0 = 0;  // the current tile's first row
  int64_t pos_lo = 0, pos_hi = 0;
  // Running max in raw score units (scale > 0), row sums of this thread's columns.
  float m_lo, m_hi, l_lo, l_hi;
  float o[D / 64][32];  // O[64 x D] of this warpgroup: panel, then 8-column blocks x 4
  float s[kNS];  // S[64 x kBN]: element 4j + e -> column 8j + 2c4 + (e & 1), row lo (e < 2) / hi
  uint32_t pa[kBN / 16][4];  // P of the previous block as bf16 A fragments (k-step = 16 keys)

  // This warpgroup's 64 rows of each Q panel of buffer buf.
  auto q_rows = [&](int buf) { return sq + buf * kTileQ + cw * 64 * 128; };

  // Softmax of S_blk in registers (max on raw scores; exp2 as one FFMA with scale·log2e);
  // leaves P_blk (f32) in s and the O correction factors in corr_lo / corr_hi.
  float corr_lo = 1.f, corr_hi = 1.f;
  auto softmax = [&](int blk) {
    const int64_t key0 = int64_t(blk) * kBN;
    if (key0 + kBN > p.n_k || (p.causal && key0 + kBN - 1 > p.q_offset + tok0 + cw * 64)) {
#pragma unroll
      for (int j = 0; j < kBN / 8; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int64_t key = key0 + 8 * j + 2 * c4 + e;
          if (key >= p.n_k || (p.causal && key > pos_lo)) s[4 * j + e] = -INFINITY;
          if (key >= p.n_k || (p.causal && key > pos_hi)) s[4 * j + 2 + e] = -INFINITY;
        }
    }
    float mx_lo = m_lo, mx_hi = m_hi;
#pragma unroll
    for (int j = 0; j < kBN / 8; ++j) {
      mx_lo = fmaxf(mx_lo, fmaxf(s[4 * j], s[4 * j + 1]));
      mx_hi = fmaxf(mx_hi, fmaxf(s[4 * j + 2], s[4 * j + 3]));
    }
    mx_lo = fmaxf(mx_lo, __shfl_xor_sync(0xffffffffu, mx_lo, 1));
    mx_lo = fmaxf(mx_lo, __shfl_xor_sync(0xffffffffu, mx_lo, 2));
    mx_hi = fmaxf(mx_hi, __shfl_xor_sync(0xffffffffu, mx_hi, 1));
    mx_hi = fmaxf(mx_hi, __shfl_xor_sync(0xffffffffu, mx_hi, 2));
    // Fully masked rows keep m = -inf and use 0 as the reference: they get 0, not NaN.
    const float ref_lo = (mx_lo == -INFINITY ? 0.f : mx_lo) * p.scale_log2,
                ref_hi = (mx_hi == -INFINITY ? 0.f : mx_hi) * p.scale_log2;
    corr_lo = fast_exp2(fmaf(m_lo, p.scale_log2, -ref_lo));
    corr_hi = fast_exp2(fmaf(m_hi, p.scale_log2, -ref_hi));
    m_lo = mx_lo;
    m_hi = mx_hi;
    float rs_lo = 0.f, rs_hi = 0.f;
#pragma unroll
    for (int j = 0; j < kBN / 8; ++j) {
      s[4 * j + 0] = fast_exp2(fmaf(s[4 * j + 0], p.scale_log2, -ref_lo));
      s[4 * j + 1] = fast_exp2(fmaf(s[4 * j + 1], p.scale_log2, -ref_lo));
      s[4 * j + 2] = fast_exp2(fmaf(s[4 * j + 2], p.scale_log2, -ref_hi));
      s[4 * j + 3] = fast_exp2(fmaf(s[4 * j + 3], p.scale_log2, -ref_hi));
      rs_lo += s[4 * j + 0] + s[4 * j + 1];
      rs_hi += s[4 * j + 2] + s[4 * j + 3];
    }
    l_lo = l_lo * corr_lo + rs_lo;
    l_hi = l_hi * corr_hi + rs_hi;
  };
  auto pack_p = [&] {
#pragma unroll
    for (int kk = 0; kk < kBN / 16; ++kk) {
      pa[kk][0] = pack_bf16(s[8 * kk + 0], s[8 * kk + 1]);
      pa[kk][1] = pack_bf16(s[8 * kk + 2], s[8 * kk + 3]);
      pa[kk][2] = pack_bf16(s[8 * kk + 4], s[8 * kk + 5]);
      pa[kk][3] = pack_bf16(s[8 * kk + 6], s[8 * kk + 7]);
    }
  };
  // st: the ring stage holding the block; qb: the Q buffer.
  auto issue_s = [&](int st, int qb) {
    const uint32_t kst = sk + st * kTileKV, qr = q_rows(qb);
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {  // k16 step = 32 bytes along a swizzled row
      const uint32_t off = (kk & 3) * 32;
      const uint64_t da = smem_desc(qr + (kk >> 2) * kBM * 128 + off, 16, 1024),
                     db = smem_desc(kst + (kk >> 2) * kBN * 128 + off, 16, 1024);
      if constexpr (kBN == 128)
        wgmma_ss_m64n128k16(s, da, db, kk > 0);
      else
        wgmma_ss_m64n64k16<0, 0>(s, da, db, kk > 0);
    }
    wgmma_commit();
  };
  // O += P V: V tile [keys x D] is N-major here; k-step kk = 16 keys = 2 groups of 8
  // swizzled 128-byte rows (2048 bytes), panel pn = 64 output columns.
  auto issue_pv = [&](int st) {
    const uint32_t vst = sv + st * kTileKV;
#pragma unroll
    for (int kk = 0; kk < kBN / 16; ++kk)
#pragma unroll
      for (int pn = 0; pn < D / 64; ++pn)
        wgmma_rs_m64n64k16_nmajor(o[pn], pa[kk],
                                  smem_desc(vst + pn * kBN * 128 + kk * 2048, 1024, 1024), 1);
    wgmma_commit();
  };
  // Ping-pong turn taking: warpgroup cw waits on barrier 1 + cw before issuing, then hands the
  // turn to the other; warpgroup 1 opens the first turn and skips its last hand-over, so every
  // arrive has its sync.
  auto turn_begin = [&] {
    if (kPingPong) named_sync(1 + cw);
  };
  auto turn_end = [&](bool last) {
    if (kPingPong && !(last && cw == 1)) named_arrive(2 - cw);
  };
  // O / l of tile ti, stored as bf16 (sum: this thread's partial row sums).
  auto store_tile = [&](int ti, float sum_lo, float sum_hi) {
    const TileId t = tile_id(ti);
    const int t0 = t.tok0, b = t.b, h = t.h;
    sum_lo += __shfl_xor_sync(0xffffffffu, sum_lo, 1);
    sum_lo += __shfl_xor_sync(0xffffffffu, sum_lo, 2);
    sum_hi += __shfl_xor_sync(0xffffffffu, sum_hi, 1);
    sum_hi += __shfl_xor_sync(0xffffffffu, sum_hi, 2);
    const float inv_lo = sum_lo > 0.f ? 1.f / sum_lo : 0.f,
                inv_hi = sum_hi > 0.f ? 1.f / sum_hi : 0.f;
    const int64_t t_lo = t0 + r_lo, t_hi = t_lo + 8;
    bf16* o_lo = p.o + b * p.o_b + t_lo * p.o_t + h * p.o_h;
    bf16* o_hi = o_lo + 8 * p.o_t;
#pragma unroll
    for (int pn = 0; pn < D / 64; ++pn)
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        const int col = pn * 64 + 8 * j + 2 * c4;
        if (t_lo < p.n_q)
          *reinterpret_cast<uint32_t*>(o_lo + col) =
              pack_bf16(o[pn][4 * j] * inv_lo, o[pn][4 * j + 1] * inv_lo);
        if (t_hi < p.n_q)
          *reinterpret_cast<uint32_t*>(o_hi + col) =
              pack_bf16(o[pn][4 * j + 2] * inv_hi, o[pn][4 * j + 3] * inv_hi);
      }
  };
  auto zero_o = [&] {
#pragma unroll
    for (int pn = 0; pn < D / 64; ++pn)
#pragma unroll
      for (int i = 0; i < 32; ++i) o[pn][i] = 0.f;
  };
  auto rescale_o = [&] {
#pragma unroll
    for (int pn = 0; pn < D / 64; ++pn)
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        o[pn][4 * j + 0] *= corr_lo;
        o[pn][4 * j + 1] *= corr_lo;
        o[pn][4 * j + 2] *= corr_hi;
        o[pn][4 * j + 3] *= corr_hi;
      }
  };
  auto fence_o = [&] {
#pragma unroll
    for (int pn = 0; pn < D / 64; ++pn) reg_fence(o[pn]);
  };

  if (Shape::kFlat && multi) {
    // Flat pipeline: step g (block blk of tile ti, the g-th key block of this CTA's walk)
    // issues S of that block and P·V of step g - 1. A tile has nb = blocks_for(tok0) blocks (all
    // the same without a causal mask; causal, persistent: the walk's tiles get shorter). When
    // blk == 0 that P·V is the previous tile's last, so the softmax of the new tile's first S
    // overlaps it, then O of the previous tile is stored (its row sums saved before the softmax
    // restarts them) and cleared by the usual rescale. The ring position of step g is g.
    int ti = 0, blk = 0, nb = 0;
    auto start_tile = [&](int t) {  // the causal mask's rows and the tile's block count
      tok0 = tile_id(t).tok0;
      pos_lo = p.q_offset + tok0 + r_lo;
      pos_hi = pos_lo + 8;
      nb = blocks_for(tok0);
    };
    start_tile(0);
    if (kPingPong && cw == 1) named_arrive(1);
    m_lo = m_hi = -INFINITY;
    l_lo = l_hi = 0.f;
    zero_o();
    mbar_wait(q_full(0), 0);
    mbar_wait(k_full(0), 0);
    turn_begin();
    wgmma_fence();
    issue_s(0, 0);
    turn_end(false);
    wgmma_wait<0>();
    reg_fence(s);
    mbar_arrive(k_empty(0));
    if (nb == 1) mbar_arrive(q_empty(0));
    softmax(0);
    pack_p();
    int g = 1;
    for (;; ++g) {
      if (++blk == nb) {
        if (++ti == ntile) break;
        blk = 0;
        start_tile(ti);
      }
      const int buf = ti & 1;
      const int st = g % kStages, pst = (g - 1) % kStages;
      if (blk == 0) mbar_wait(q_full(buf), (ti >> 1) & 1);
      mbar_wait(k_full(st), (g / kStages) & 1);
      mbar_wait(v_full(pst), ((g - 1) / kStages) & 1);
      turn_begin();
      wgmma_fence();
      issue_s(st, buf);
      issue_pv(pst);
      turn_end(false);
      wgmma_wait<1>();  // S done (committed first); P·V may still run
      reg_fence(s);
      mbar_arrive(k_empty(st));
      if (blk == nb - 1) mbar_arrive(q_empty(buf));  // the tile's last S has completed
      const float prev_lo = l_lo, prev_hi = l_hi;
      if (blk == 0) {  // a new tile: its softmax starts afresh
        m_lo = m_hi = -INFINITY;
        l_lo = l_hi = 0.f;
      }
      softmax(blk);
      wgmma_wait<0>();  // P·V of step g - 1 done: O and pa are free again
      fence_o();
      mbar_arrive(v_empty(pst));
      // A new tile: the previous tile's O is stored; corr is 0 (its softmax restarted from
      // m = -inf), so the rescale clears O for it without a second code path writing the
      // accumulators (which made ptxas copy them between wgmmas and serialize those).
      if (blk == 0) store_tile(ti - 1, prev_lo, prev_hi);
      rescale_o();
      pack_p();
    }
    const int last = g - 1;
    mbar_wait(v_full(last % kStages), (last / kStages) & 1);
    turn_begin();
    wgmma_fence();
    issue_pv(last % kStages);
    turn_end(true);
    wgmma_wait<0>();
    fence_o();
    mbar_arrive(v_empty(last % kStages));
    store_tile(ntile - 1, l_lo, l_hi);
    return;
  }

  for (int ti = 0, it0 = 0; ti < ntile; ++ti) {
    tok0 = (tile0 + ti) * kBM;
    pos_lo = p.q_offset + tok0 + r_lo;
    pos_hi = pos_lo + 8;
    const int nblk = blocks_for(tok0), buf = ti % kQBufs;
    m_lo = m_hi = -INFINITY;
    l_lo = l_hi = 0.f;
    zero_o();
    // Ring stage and phase of the tile's block blk (the ring runs on across tiles).
    auto stage = [&](int blk) { return (it0 + blk) % kStages; };
    auto phase = [&](int blk) { return uint32_t(((it0 + blk) / kStages) & 1); };
    if (kPingPong && cw == 1 && nblk > 0) named_arrive(1);

    // Software pipeline per warpgroup: block blk issues S_blk = Q K_blk^T and then
    // O += P_{blk-1} V_{blk-1}, waits only for S, runs the softmax of S_blk while the P·V
    // wgmmas run, then waits for them, rescales O and packs P_blk. Once the tile's last S is done
    // the Q buffer is handed back (q_empty) so the producer loads the next tile's Q meanwhile.
    // Always waits for Q: no TMA may still target smem when the CTA exits.
    mbar_wait(q_full(buf), (ti / kQBufs) & 1);
    if (nblk > 0) {
      mbar_wait(k_full(stage(0)), phase(0));
      turn_begin();
      wgmma_fence();
      issue_s(stage(0), buf);
      turn_end(false);
      wgmma_wait<0>();
      reg_fence(s);
      mbar_arrive(k_empty(stage(0)));
      softmax(0);
      pack_p();
      for (int blk = 1; blk < nblk; ++blk) {
        const int st = stage(blk), pst = stage(blk - 1);
        mbar_wait(k_full(st), phase(blk));
        mbar_wait(v_full(pst), phase(blk - 1));
        turn_begin();
        wgmma_fence();
        issue_s(st, buf);
        issue_pv(pst);
        turn_end(false);
        wgmma_wait<1>();  // S done (committed first); P·V may still run
        reg_fence(s);
        mbar_arrive(k_empty(st));
        softmax(blk);
        wgmma_wait<0>();  // P_{blk-1} V_{blk-1} done: O and pa are free again
        fence_o();
        mbar_arrive(v_empty(pst));
        rescale_o();
        pack_p();
      }
      mbar_arrive(q_empty(buf));  // every S of this tile has completed
      mbar_wait(v_full(stage(nblk - 1)), phase(nblk - 1));
      turn_begin();
      wgmma_fence();
      issue_pv(stage(nblk - 1));
      turn_end(true);
      wgmma_wait<0>();
      fence_o();
      mbar_arrive(v_empty(stage(nblk - 1)));
    } else {
      mbar_arrive(q_empty(buf));
    }
    it0 += nblk;
    store_tile(ti, l_lo, l_hi);
  }  // tiles
#else
  __trap();  // only launched on compute capability 9.x, where the sm_90a image is used
#endif
}

template <class Shape>
void launch(const Context& ctx, Sm90Params p, int B, int H) {
  if (!Shape::kMulti || p.causal) p.tiles_per_cta = 1;  // the kernel then runs one tile per CTA
  if (!Shape::kFlat) p.persistent = 0;
  p.lpt_grid = p.lpt && !p.persistent && p.tiles_per_cta == 1;
  constexpr int D = Shape::D, kBN = Shape::kBN, kStages = Shape::kStages;
  const size_t smem = 1024 + size_t(Shape::kQBufs) * kBM * D * 2 +
                      2 * kStages * size_t(kBN) * D * 2 + 8 * (4 + 4 * kStages);
  MVL_CHECK(smem <= ctx.max_smem_optin(), unsupported,
            "cuda::flash_attention_sm90 needs {} bytes of shared memory", smem);
  MVL_CUDA_CHECK(cudaFuncSetAttribute(flash_sm90_kernel<Shape>,
                                      cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  if (Shape::kMinBlocks > 1)  // room for several CTAs' shared memory on one SM
    MVL_CUDA_CHECK(cudaFuncSetAttribute(flash_sm90_kernel<Shape>,
                                        cudaFuncAttributePreferredSharedMemoryCarveout,
                                        int(cudaSharedmemCarveoutMaxShared)));
  const int ntq = (p.n_q + kBM - 1) / kBM;
  // Persistent: a 1-D grid of kMinBlocks CTAs per SM walking the B x H x ntq items.
  const int64_t items = int64_t(B) * H * ntq;
  // lpt_grid: (b, h) inner, tile slots outer (one tile per CTA).
  const dim3 grid = p.persistent ? dim3(static_cast<unsigned>(std::min<int64_t>(
                                       items, int64_t(ctx.sm_count()) * Shape::kMinBlocks)))
                    : p.lpt_grid
                        ? dim3(static_cast<unsigned>(int64_t(B) * H), static_cast<unsigned>(ntq))
                        : dim3(static_cast<unsigned>((ntq + p.tiles_per_cta - 1) / p.tiles_per_cta),
                               static_cast<unsigned>(H), static_cast<unsigned>(B));
  MVL_CHECK(items < (int64_t(1) << 31) && grid.y < 65536 && grid.z < 65536, unsupported,
            "cuda::flash_attention_sm90: {} sequences x {} heads x {} tiles do not fit a grid", B,
            H, ntq);
  flash_sm90_kernel<Shape><<<grid, kThreads, smem, ctx.stream()>>>(p);
  MVL_CUDA_CHECK_LAUNCH();
}

using View4 = AttentionView;
inline View4 view4(const Tensor& t, const char* what) {
  return attention_view(t, "cuda::flash_attention_sm90", what);
}

// 4-D map {d, tokens, heads, batch} over a bf16 view; box {64, rows, 1, 1} lands as one
// [rows x 64] 128B-swizzled panel. A size-1 dim gets a nominal stride (its coordinate is 0).
CUtensorMap tensor_map(host::EncodeTiledFn encode, const Tensor& t, const View4& v, int rows) {
  const auto bytes = [](int64_t stride, int64_t extent) {
    return cuuint64_t(extent == 1 && stride == 0 ? 16 : stride * 2);
  };
  const cuuint64_t dims[4] = {cuuint64_t(v.d), cuuint64_t(v.n), cuuint64_t(v.H), cuuint64_t(v.B)};
  const cuuint64_t strides[3] = {bytes(v.st, v.n), bytes(v.sh, v.H), bytes(v.sb, v.B)};
  const cuuint32_t box[4] = {64, cuuint32_t(rows), 1, 1}, elem[4] = {1, 1, 1, 1};
  CUtensorMap map{};
  const CUresult r =
      encode(&map, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 4, const_cast<void*>(t.data()), dims, strides,
             box, elem, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
             CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  MVL_CHECK(r == CUDA_SUCCESS, unsupported,
            "cuda::flash_attention_sm90: cuTensorMapEncodeTiled failed ({}) for {}", int(r),
            t.str());
  return map;
}

}  // namespace

bool flash_attention_sm90_available(const Context& ctx) {
  int major = 0;
  MVL_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, ctx.device()));
  return major == 9;
}

const char* sm90_tiling_name(Sm90Tiling t) {
  switch (t) {
    case Sm90Tiling::automatic:
      return "automatic";
    case Sm90Tiling::k128:
      return "k128";
    case Sm90Tiling::k64x1:
      return "k64x1";
    case Sm90Tiling::k64x2:
      return "k64x2";
    case Sm90Tiling::k128f:
      return "k128f";
    case Sm90Tiling::k64x1f:
      return "k64x1f";
  }
  return "?";
}

void flash_attention_sm90(const Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                          const Tensor& o, float scale, bool causal, int64_t q_offset,
                          Sm90Tuning tuning) {
  MVL_CHECK(flash_attention_sm90_available(ctx), unsupported,
            "cuda::flash_attention_sm90 needs a compute capability 9.x GPU (sm_90a wgmma)");
  const View4 Q = view4(q, "q"), K = view4(k, "k"), V = view4(v, "v"), O = view4(o, "o");
  MVL_CHECK(K.B == Q.B && V.B == Q.B && O.B == Q.B && K.n == V.n && K.H == V.H && O.n == Q.n &&
                O.H == Q.H && Q.d == K.d && K.d == V.d && O.d == Q.d && K.H > 0 && Q.H % K.H == 0,
            shape_mismatch, "cuda::flash_attention_sm90: q {} k {} v {} o {} do not fit together",
            q.str(), k.str(), v.str(), o.str());
  MVL_CHECK(Q.d == 64 || Q.d == 128, unsupported,
            "cuda::flash_attention_sm90: head dim {} (64 or 128 supported)", Q.d);
  MVL_CHECK(q_offset >= 0 && Q.n < (int64_t(1) << 31) && K.n < (int64_t(1) << 31), unsupported,
            "cuda::flash_attention_sm90: q_offset {} / lengths {} {} out of range", q_offset, Q.n,
            K.n);
  MVL_CHECK(scale > 0.f, unsupported,
            "cuda::flash_attention_sm90: scale {} (the running max is kept on raw scores)", scale);
  if (Q.n == 0 || Q.B == 0) return;
  MVL_CHECK(K.n > 0, unsupported, "cuda::flash_attention_sm90: no keys (a TMA map needs n_k > 0)");
  // Each head dim takes the tuning or its default (d = 128: k128 or k128f only).
  const bool long_prefill = kSm90D128LongFrom > 0 && Q.n >= kSm90D128LongFrom;
  const Sm90Tuning& dflt = Q.d == 64      ? kSm90D64Default
                           : long_prefill ? kSm90D128LongDefault
                                          : kSm90D128Default;
  if (tuning.tiling == Sm90Tiling::automatic) tuning.tiling = dflt.tiling;
  if (tuning.tiles_per_cta <= 0) {
    tuning.tiles_per_cta = dflt.tiles_per_cta;
    tuning.persistent = dflt.persistent;
    tuning.lpt = dflt.lpt;
  }
  MVL_CHECK(Q.d == 64 || tuning.tiling == Sm90Tiling::k128 || tuning.tiling == Sm90Tiling::k128f,
            unsupported, "cuda::flash_attention_sm90: tiling {} at d = 128 (k128 or k128f)",
            sm90_tiling_name(tuning.tiling));
  const Sm90Tiling t = tuning.tiling;
  const int kbn = t == Sm90Tiling::k128 || t == Sm90Tiling::k128f ? 128 : 64;
  const host::EncodeTiledFn encode = host::encode_tiled_fn("cuda::flash_attention_sm90");
  Sm90Params p{};
  p.tq = tensor_map(encode, q, Q, kBM);
  p.tk = tensor_map(encode, k, K, kbn);
  p.tv = tensor_map(encode, v, V, kbn);
  p.o = static_cast<bf16*>(o.data());
  p.o_b = O.sb;
  p.o_t = O.st;
  p.o_h = O.sh;
  p.n_q = static_cast<int>(Q.n);
  p.n_k = static_cast<int>(K.n);
  p.G = static_cast<int>(Q.H / K.H);
  p.q_offset = q_offset;
  p.scale_log2 = scale * 1.4426950408889634f;
  p.causal = causal;
  p.tiles_per_cta = causal ? 1 : std::max(1, tuning.tiles_per_cta);
  p.persistent = tuning.persistent ? 1 : 0;  // launch clears it for shapes without the flat loop
  p.lpt = tuning.lpt ? 1 : 0;
  p.B = static_cast<int>(Q.B);
  p.H = static_cast<int>(Q.H);
  const int B = static_cast<int>(Q.B), H = static_cast<int>(Q.H);
  if (Q.d == 128 && t == Sm90Tiling::k128f)
    launch<ShapeD128F>(ctx, p, B, H);
  else if (Q.d == 128)
    launch<ShapeD128>(ctx, p, B, H);
  else if (t == Sm90Tiling::k64x2)
    launch<ShapeD64K64x2>(ctx, p, B, H);
  else if (t == Sm90Tiling::k64x1)
    launch<ShapeD64K64x1>(ctx, p, B, H);
  else if (t == Sm90Tiling::k128f)
    launch<ShapeD64K128F>(ctx, p, B, H);
  else if (t == Sm90Tiling::k64x1f)
    launch<ShapeD64K64F>(ctx, p, B, H);
  else
    launch<ShapeD64K128>(ctx, p, B, H);
}

}  // namespace mvl::cuda
