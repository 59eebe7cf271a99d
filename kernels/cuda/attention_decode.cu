// Flash-decoding: softmax attention of ONE query token per sequence over a KV cache (the text
// model's decode step), bf16 in/out, f32 scores and softmax. CPU twin: kernels/cpu/attention.cpp;
// tests: tests/gpu/attention_decode_test.cpp; bench: ops_cuda_bench "softmax_decode" rows.
//
// Decode reads every K/V byte once and does 2 x 128 FLOPs per key and query head, so it is
// bound by HBM bandwidth; the design is about keeping enough bytes in flight on every SM:
//  - GQA packing: one CTA per (sequence, kv head, split) holds the G <= 8 query heads that share
//    the kv head, so each K/V byte is read once for all of them.
//  - Split-K: `splits` is chosen on the host so that B x Hkv x splits CTAs give every SM one
//    CTA (one wave of equal-sized CTAs); it does not depend on the length, which may live in device
//    memory (kv_lens). Each CTA cuts ITS sequence's current length into `splits` pieces of a
//    multiple of 64 keys (split_size), so a captured graph replays at any length <= capacity with
//    every split busy (a cache reserved far beyond the length costs nothing); splits past the
//    length (short sequences) exit at once.
//  - Streaming: each warp owns every 4th 16-key chunk of its split and streams it with 16-byte
//    cp.async into a 3-stage landing buffer that is private to each THREAD (a thread only reads
//    back what it copied itself), so the main loop has no CTA barrier at all; 2 chunks per warp
//    (64 KB per CTA, 2 CTAs per SM) are in flight while one is computed. Keys past the length are
//    zero-filled, never read (a cache's unused rows may hold anything).
//  - Math on mma.sync m16n8k16 (bf16 -> f32): S = Q K^T with the 8 heads as rows 0-7 of the
//    16-row A operand (rows 8-15 zero), P V with P straight from S's accumulator registers. FFMA
//    would need 64 K FMAs per key per CTA plus the bf16 unpacking (~2x the issue slots of the
//    whole memory stream at B = 16); the padded mma costs 32 instructions per 16 keys and warp.
//    The fragments are read without ldmatrix: the dot product over d does not care about the
//    order of d, so each thread copies its K rows as 16-byte pieces laid out exactly as its B
//    fragments (Q is loaded in the same permuted order), and V's B fragments are two-key bf16
//    pairs built with one byte_perm each; the output columns come out in a known permutation.
//  - Merge: the 4 warps of a CTA merge through shared memory in warp order; the splits of a
//    (sequence, head) are merged by decode_merge_kernel in split order (f32, deterministic, no
//    atomics). With one split the CTA writes the bf16 output itself.
#include <algorithm>
#include <cmath>
#include <optional>

#include "kernels/cuda/attention.h"
#include "kernels/cuda/attention_view.h"
#include "kernels/cuda/check.cuh"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/storage.h"

namespace mvl::cuda {

using namespace dev;

namespace {

constexpr int kWarps = 4, kThreads = 32 * kWarps;
constexpr int kChunk = 16;                    // keys per warp step (one m16n8k16 K-step of P V)
constexpr int kSplitAlign = kChunk * kWarps;  // split sizes are multiples of this (64 keys)
constexpr int kStages = 3;                    // landing-buffer depth per thread
constexpr int kMaxSplits = 256;
constexpr int kRows = 8;  // query heads per CTA (rows 0-7 of the mma A operand)

struct DecodeParams {
  const bf16* q;
  const bf16* k;
  const bf16* v;
  bf16* o;
  const int32_t* kv_lens;  // i32 [B] or null (then fixed_len)
  int64_t q_b, q_h, k_b, k_t, k_h, v_b, v_t, v_h, o_b, o_h;
  int cap;        // keys addressable in k/v (the cache capacity)
  int fixed_len;  // keys used when kv_lens is null
  int H, G, splits;
  float scale_log2;
  float* part_o;   // f32 [B, H, splits, D], un-normalised
  float* part_ml;  // f32 [B, H, splits, 2]: running max (log2 units), row sum
  // Gather form (flash_decode_gather): sequence b's K / V cache starts at k_ptrs[b] / v_ptrs[b]
  // (then k_b / v_b are unused), and it runs seq_splits[b] splits (<= splits, the partials'
  // stride) when seq_splits is set.
  const int64_t* k_ptrs;
  const int64_t* v_ptrs;
  const int32_t* seq_splits;
};

// The splits sequence b runs.
__device__ __forceinline__ int seq_split_count(const int32_t* seq_splits, int splits, int b) {
  return seq_splits ? seq_splits[b] : splits;
}

__device__ __forceinline__ int seq_len(const int32_t* kv_lens, int fixed_len, int cap, int b) {
  const int len = kv_lens ? kv_lens[b] : fixed_len;
  return len < 0 ? 0 : (len > cap ? cap : len);
}
// Keys per split for a sequence of `len` keys: len / splits rounded up to 64 (>= 64). Splits
// [0, ceil(len / size)) hold keys; the decode and merge kernels both use this.
__device__ __forceinline__ int split_size(int len, int splits) {
  const int per = (len + splits - 1) / splits;
  return per <= kSplitAlign ? kSplitAlign : (per + kSplitAlign - 1) / kSplitAlign * kSplitAlign;
}

template <int D>
__global__ void __launch_bounds__(kThreads) decode_kernel(const DecodeParams p) {
  static_assert(D % 64 == 0, "head dim must be a multiple of 64");
  constexpr int kKVec = D / 32;                  // 16-byte K pieces per key and thread
  constexpr int kVVec = D / 64;                  // 16-byte V pieces per key and thread
  constexpr int kSlots = 2 * kKVec + 4 * kVVec;  // pieces per thread and chunk (16 at d 128)
  constexpr int kNT = D / 8;                     // P V n-tiles
  extern __shared__ int4 land[];                 // [kStages][kSlots][kThreads]

  const int split = blockIdx.x, hk = blockIdx.y, b = blockIdx.z;
  const int splits = seq_split_count(p.seq_splits, p.splits, b);
  if (split >= splits) return;  // (gather form: a sequence with fewer splits than the grid)
  const int len = seq_len(p.kv_lens, p.fixed_len, p.cap, b);
  const int split_keys = split_size(len, splits);
  const int key_begin = split * split_keys;
  // Past the length: nothing to add (the merge only reads splits below the length). With one
  // split the CTA still runs, so an empty sequence writes zeros.
  if (key_begin >= len && splits > 1) return;
  const int key_end = min(len, key_begin + split_keys);
  const int tid = threadIdx.x, lane = tid & 31, w = tid >> 5, g = lane >> 2, c4 = lane & 3;
  const bf16* kb = (p.k_ptrs ? reinterpret_cast<const bf16*>(p.k_ptrs[b]) : p.k + b * p.k_b) + hk * p.k_h;
  const bf16* vb = (p.v_ptrs ? reinterpret_cast<const bf16*>(p.v_ptrs[b]) : p.v + b * p.v_b) + hk * p.v_h;

  // Q row g (query head hk * G + g; zero past G) as 16-byte pieces at d = 32 i + 8 c4: the
  // A fragment of k-step 2i+s is {qv[i] words 2s, 2s+1}, matching K's pieces below.
  int4 qv[kKVec];
  {
    const bool ok = g < p.G;
    const bf16* qr = p.q + b * p.q_b + int64_t(hk * p.G + (ok ? g : 0)) * p.q_h + 8 * c4;
#pragma unroll
    for (int i = 0; i < kKVec; ++i)
      qv[i] = ok ? __ldg(reinterpret_cast<const int4*>(qr + 32 * i)) : make_int4(0, 0, 0, 0);
  }

  // This warp's chunks: c_lo + w, c_lo + w + kWarps, ... below c_hi.
  const int c_lo = key_begin / kChunk, c_hi = (key_end + kChunk - 1) / kChunk;
  const int n_it = c_hi - c_lo > w ? (c_hi - c_lo - w + kWarps - 1) / kWarps : 0;

  // Copies chunk `it` into `stage`. K: keys key0 + 8t + g (the B operand's column g of n-tile
  // t), pieces d = 32i + 8c4. V: keys key0 + {2c4, 2c4+1, 2c4+8, 2c4+9} (the B operand's rows
  // of this thread), pieces d = 64hh + 8g.
  auto issue = [&](int it, int stage) {
    const int key0 = (c_lo + w + kWarps * it) * kChunk;
    int4* dst = land + stage * kSlots * kThreads + tid;
#pragma unroll
    for (int t = 0; t < 2; ++t) {
      const int key = key0 + 8 * t + g;
      const bool ok = key < key_end;
      const bf16* src = kb + int64_t(ok ? key : 0) * p.k_t + 8 * c4;
#pragma unroll
      for (int i = 0; i < kKVec; ++i)
        cp_async16(dst + (kKVec * t + i) * kThreads, src + 32 * i, ok);
    }
#pragma unroll
    for (int r = 0; r < 4; ++r) {
      const int key = key0 + 2 * c4 + (r & 1) + 8 * (r >> 1);
      const bool ok = key < key_end;
      const bf16* src = vb + int64_t(ok ? key : 0) * p.v_t + 8 * g;
#pragma unroll
      for (int hh = 0; hh < kVVec; ++hh)
        cp_async16(dst + (2 * kKVec + kVVec * r + hh) * kThreads, src + 64 * hh, ok);
    }
  };

#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < n_it) issue(s, s);
    cp_async_commit();
  }

  float m = -INFINITY, l = 0.f;  // row g's running max (log2 units) and this thread's sum
  float acc[kNT][4];             // O rows g (used) and g + 8 (padding, stays zero)
#pragma unroll
  for (int j = 0; j < kNT; ++j) acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.f;

  for (int it = 0; it < n_it; ++it) {
    cp_async_wait<kStages - 2>();  // this thread's copies of chunk `it` have landed
    __syncwarp();                  // (and the compiler keeps the reads below after the wait)
    if (it + kStages - 1 < n_it) issue(it + kStages - 1, (it + kStages - 1) % kStages);
    cp_async_commit();
    const int4* src = land + (it % kStages) * kSlots * kThreads + tid;
    const int key0 = (c_lo + w + kWarps * it) * kChunk;

    // S = Q K^T for keys key0 + 8t + {2c4, 2c4+1} (row g); even / odd k-steps in separate
    // accumulators to halve the dependent mma chain.
    float sc[2][2][4];
#pragma unroll
    for (int t = 0; t < 2; ++t) {
#pragma unroll
      for (int e = 0; e < 4; ++e) sc[t][0][e] = sc[t][1][e] = 0.f;
#pragma unroll
      for (int i = 0; i < kKVec; ++i) {
        const int4 kv = src[(kKVec * t + i) * kThreads];
        const uint32_t a0[4] = {uint32_t(qv[i].x), 0u, uint32_t(qv[i].y), 0u};
        const uint32_t a1[4] = {uint32_t(qv[i].z), 0u, uint32_t(qv[i].w), 0u};
        mma_bf16(sc[t][0], a0, uint32_t(kv.x), uint32_t(kv.y));
        mma_bf16(sc[t][1], a1, uint32_t(kv.z), uint32_t(kv.w));
      }
    }
    float x[2][2];
    float mx = m;
#pragma unroll
    for (int t = 0; t < 2; ++t)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int key = key0 + 8 * t + 2 * c4 + e;
        x[t][e] = key < key_end ? (sc[t][0][e] + sc[t][1][e]) * p.scale_log2 : -INFINITY;
        mx = fmaxf(mx, x[t][e]);
      }
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
    const float ref = mx == -INFINITY ? 0.f : mx;  // a row with no key yet: exp2 gives 0, not NaN
    const float corr = exp2f(m - ref);
    m = mx;
    float rs = 0.f;
#pragma unroll
    for (int t = 0; t < 2; ++t)
#pragma unroll
      for (int e = 0; e < 2; ++e) rs += (x[t][e] = exp2f(x[t][e] - ref));
    l = l * corr + rs;
#pragma unroll
    for (int j = 0; j < kNT; ++j) {
      acc[j][0] *= corr;
      acc[j][1] *= corr;
    }
    // O += P V: P's A fragment is S's accumulator (keys 2c4.. and 2c4+8..); V's B fragment for
    // n-tile j = 8hh + e is column d = 64hh + 8g + e of keys {2c4, 2c4+1} and {2c4+8, 2c4+9}.
    const uint32_t pa[4] = {pack_bf16(x[0][0], x[0][1]), 0u, pack_bf16(x[1][0], x[1][1]), 0u};
#pragma unroll
    for (int hh = 0; hh < kVVec; ++hh) {
      int4 vr[4];
#pragma unroll
      for (int r = 0; r < 4; ++r) vr[r] = src[(2 * kKVec + kVVec * r + hh) * kThreads];
      const uint32_t* v0 = reinterpret_cast<const uint32_t*>(&vr[0]);
      const uint32_t* v1 = reinterpret_cast<const uint32_t*>(&vr[1]);
      const uint32_t* v2 = reinterpret_cast<const uint32_t*>(&vr[2]);
      const uint32_t* v3 = reinterpret_cast<const uint32_t*>(&vr[3]);
#pragma unroll
      for (int e = 0; e < 8; ++e) {
        const uint32_t sel = (e & 1) ? 0x7632u : 0x5410u;  // high / low bf16 of each word
        mma_bf16(acc[8 * hh + e], pa, __byte_perm(v0[e >> 1], v1[e >> 1], sel),
                 __byte_perm(v2[e >> 1], v3[e >> 1], sel));
      }
    }
  }
  cp_async_wait<0>();
  l += __shfl_xor_sync(0xffffffffu, l, 1);
  l += __shfl_xor_sync(0xffffffffu, l, 2);

  // Merge the warps in warp order through shared memory (the landing buffer, now idle).
  __syncthreads();
  float* red = reinterpret_cast<float*>(land);  // [kWarps][kRows][D]
  float* red_ml = red + kWarps * kRows * D;     // [kWarps][kRows][2]
#pragma unroll
  for (int j = 0; j < kNT; ++j)
#pragma unroll
    for (int c = 0; c < 2;
         ++c)  // accumulator column 2c4 + c of n-tile j is d = 64hh + 8(2c4+c) + e
      red[(w * kRows + g) * D + 64 * (j / 8) + 8 * (2 * c4 + c) + j % 8] = acc[j][c];
  if (c4 == 0) {
    red_ml[(w * kRows + g) * 2] = m;
    red_ml[(w * kRows + g) * 2 + 1] = l;
  }
  __syncthreads();
  for (int idx = tid; idx < kRows * (D / 8); idx += kThreads) {
    const int r = idx / (D / 8), d0 = (idx % (D / 8)) * 8;
    if (r >= p.G) continue;
    float M = -INFINITY;
#pragma unroll
    for (int ww = 0; ww < kWarps; ++ww) M = fmaxf(M, red_ml[(ww * kRows + r) * 2]);
    float L = 0.f, o[8] = {};
#pragma unroll
    for (int ww = 0; ww < kWarps; ++ww) {
      const float mw = red_ml[(ww * kRows + r) * 2];
      const float wgt = mw == -INFINITY ? 0.f : exp2f(mw - M);
      L += wgt * red_ml[(ww * kRows + r) * 2 + 1];
#pragma unroll
      for (int c = 0; c < 8; ++c) o[c] += wgt * red[(ww * kRows + r) * D + d0 + c];
    }
    const int h = hk * p.G + r;
    if (splits == 1) {
      const float inv = L > 0.f ? 1.f / L : 0.f;
#pragma unroll
      for (int c = 0; c < 8; ++c) o[c] *= inv;
      *reinterpret_cast<int4*>(p.o + b * p.o_b + h * p.o_h + d0) = pack8(o);
    } else {
      const int64_t row = (int64_t(b) * p.H + h) * p.splits + split;
      float4* po = reinterpret_cast<float4*>(p.part_o + row * D + d0);
      po[0] = make_float4(o[0], o[1], o[2], o[3]);
      po[1] = make_float4(o[4], o[5], o[6], o[7]);
      if (d0 == 0) *reinterpret_cast<float2*>(p.part_ml + row * 2) = make_float2(M, L);
    }
  }
}

// One warp per (sequence, query head): merges the splits below the length in split order.
// Gather form with seq_splits: rows whose sequence ran one split were written by decode_kernel.
template <int D>
__global__ void decode_merge_kernel(const float* __restrict__ part_o,
                                    const float* __restrict__ part_ml, bf16* o,
                                    const int32_t* kv_lens, int fixed_len, int cap, int H,
                                    int stride, const int32_t* seq_splits, int64_t o_b,
                                    int64_t o_h, int rows) {
  const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
  if (row >= rows) return;
  const int lane = threadIdx.x & 31, b = row / H, h = row % H;
  const int splits = seq_split_count(seq_splits, stride, b);
  if (splits == 1) return;
  const int len = seq_len(kv_lens, fixed_len, cap, b);
  const int split_keys = split_size(len, splits);
  const int n = min(splits, (len + split_keys - 1) / split_keys);
  const float* ml = part_ml + int64_t(row) * stride * 2;
  const float* po = part_o + int64_t(row) * stride * D;
  float M = -INFINITY;
  for (int s = lane; s < n; s += 32) M = fmaxf(M, ml[2 * s]);
  M = warp_max(M);
  float L = 0.f;
  float4 acc[D / 128];
#pragma unroll
  for (int c = 0; c < D / 128; ++c) acc[c] = make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll 8  // independent loads: 8 splits per round of L2 latency
  for (int s = 0; s < n; ++s) {
    const float ms = ml[2 * s];
    const float wgt = ms == -INFINITY ? 0.f : exp2f(ms - M);
    L += wgt * ml[2 * s + 1];
#pragma unroll
    for (int c = 0; c < D / 128; ++c) {
      const float4 x = *reinterpret_cast<const float4*>(po + int64_t(s) * D + 128 * c + 4 * lane);
      acc[c].x += wgt * x.x;
      acc[c].y += wgt * x.y;
      acc[c].z += wgt * x.z;
      acc[c].w += wgt * x.w;
    }
  }
  const float inv = L > 0.f ? 1.f / L : 0.f;
#pragma unroll
  for (int c = 0; c < D / 128; ++c) {
    const uint2 out = make_uint2(pack_bf16(acc[c].x * inv, acc[c].y * inv),
                                 pack_bf16(acc[c].z * inv, acc[c].w * inv));
    *reinterpret_cast<uint2*>(o + b * o_b + h * o_h + 128 * c + 4 * lane) = out;
  }
}

// want clamped to [1, min(kMaxSplits, the capacity's 64-key pieces)].
int clamp_splits(int64_t want, int64_t cap) {
  return static_cast<int>(std::clamp<int64_t>(
      want, 1,
      std::max<int64_t>(1, std::min<int64_t>(kMaxSplits, (cap + kSplitAlign - 1) / kSplitAlign))));
}

// decode_kernel over (p.splits, hkv, B) with its split scratch, then the merge of the splits
// (p.seq_splits: per-sequence split counts, or null for p.splits everywhere). set_smem: set the
// kernel's shared-memory attribute here (flash_decode_splits sets it otherwise).
template <int D>
void launch_decode(const Context& ctx, DecodeParams& p, int64_t B, int64_t hkv, int64_t H,
                   int64_t o_sb, int64_t o_sh, bool set_smem) {
  const size_t smem = size_t(kStages) * (2 * (D / 32) + 4 * (D / 64)) * kThreads * 16;
  if (set_smem)
    MVL_CUDA_CHECK(cudaFuncSetAttribute(decode_kernel<D>,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  std::optional<Scratch> scratch;
  const int64_t parts = B * H * p.splits;
  if (p.splits > 1) {
    scratch.emplace(ctx, std::initializer_list<int64_t>{parts * D * 4, parts * 2 * 4});
    p.part_o = static_cast<float*>(scratch->take({parts * D}, DType::f32).data());
    p.part_ml = static_cast<float*>(scratch->take({parts * 2}, DType::f32).data());
  }
  const dim3 grid(static_cast<unsigned>(p.splits), static_cast<unsigned>(hkv),
                  static_cast<unsigned>(B));
  decode_kernel<D><<<grid, kThreads, smem, ctx.stream()>>>(p);
  MVL_CUDA_CHECK_LAUNCH();
  if (p.splits > 1) {
    const int rows = static_cast<int>(B * H), per_block = 4;
    decode_merge_kernel<D><<<(rows + per_block - 1) / per_block, 32 * per_block, 0, ctx.stream()>>>(
        p.part_o, p.part_ml, p.o, p.kv_lens, p.fixed_len, p.cap, p.H, p.splits, p.seq_splits, o_sb,
        o_sh, rows);
    MVL_CUDA_CHECK_LAUNCH();
  }
}

}  // namespace

bool flash_decode_supported(int64_t n_q, int64_t H, int64_t Hkv, int64_t d) {
  return n_q == 1 && d == 128 && Hkv > 0 && H % Hkv == 0 && H / Hkv <= kRows;
}

int flash_decode_splits(const Context& ctx, int64_t B, int64_t Hkv, int64_t capacity) {
  constexpr int D = 128;
  const size_t smem = size_t(kStages) * (2 * (D / 32) + 4 * (D / 64)) * kThreads * 16;
  MVL_CUDA_CHECK(cudaFuncSetAttribute(decode_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                      int(smem)));
  // One CTA per SM, not as many as fit: on the H100 (session 7, 32K keys) B = 1 ran 0.0628 ms
  // with 16 splits (128 CTAs) against 0.0694 ms with the 33 that two CTAs per SM gave, and
  // B = 16 0.8225 ms with 1 split against 0.8495 ms with 2: each CTA already keeps ~128 KB in
  // flight, so a second one per SM only adds merge work and a ragged tail.
  const int64_t slots = ctx.sm_count();
  const int64_t by_len = std::max<int64_t>(1, (capacity + kSplitAlign - 1) / kSplitAlign);
  return static_cast<int>(std::clamp<int64_t>(slots / std::max<int64_t>(1, B * Hkv), 1,
                                              std::min<int64_t>(by_len, kMaxSplits)));
}

void flash_decode(const Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                  const Tensor& o, float scale, bool causal, int64_t q_offset,
                  const Tensor& kv_lens, int splits) {
  constexpr const char* kOp = "cuda::flash_decode";
  const AttentionView Q = attention_view(q, kOp, "q"), K = attention_view(k, kOp, "k"),
                      V = attention_view(v, kOp, "v"), O = attention_view(o, kOp, "o");
  MVL_CHECK(K.B == Q.B && V.B == Q.B && O.B == Q.B && K.n == V.n && K.H == V.H && O.n == Q.n &&
                O.H == Q.H && Q.d == K.d && K.d == V.d && O.d == Q.d,
            shape_mismatch, "{}: q {} k {} v {} o {} do not fit together", kOp, q.str(), k.str(),
            v.str(), o.str());
  MVL_CHECK(flash_decode_supported(Q.n, Q.H, K.H, Q.d), unsupported,
            "{}: needs one query token, head dim 128 and at most {} query heads per kv head "
            "(q {}, k {})",
            kOp, kRows, q.str(), k.str());
  MVL_CHECK(K.n < (int64_t(1) << 31) - kMaxSplits * kSplitAlign, unsupported,
            "{}: cache of {} keys is too long", kOp, K.n);
  if (kv_lens.defined())
    MVL_CHECK(kv_lens.dtype() == DType::i32 && kv_lens.numel() == Q.B && kv_lens.device().is_cuda(),
              shape_mismatch, "{}: kv_lens {} for batch {}", kOp, kv_lens.str(), Q.B);
  MVL_CHECK(splits >= 0, invalid_argument, "{}: splits {}", kOp, splits);
  MVL_CHECK(Q.B <= 65535, unsupported, "{}: batch {} exceeds the grid's 65535", kOp, Q.B);
  if (Q.B == 0 || Q.H == 0) return;
  constexpr int D = 128;
  const int cap = static_cast<int>(K.n);
  DecodeParams p{};
  p.q = static_cast<const bf16*>(q.data());
  p.k = static_cast<const bf16*>(k.data());
  p.v = static_cast<const bf16*>(v.data());
  p.o = static_cast<bf16*>(o.data());
  p.kv_lens = kv_lens.defined() ? static_cast<const int32_t*>(kv_lens.data()) : nullptr;
  p.q_b = Q.sb;
  p.q_h = Q.sh;
  p.k_b = K.sb;
  p.k_t = K.st;
  p.k_h = K.sh;
  p.v_b = V.sb;
  p.v_t = V.st;
  p.v_h = V.sh;
  p.o_b = O.sb;
  p.o_h = O.sh;
  p.cap = cap;
  // Without kv_lens: causal decode sees keys <= q_offset (clamped to the cache).
  p.fixed_len = causal ? static_cast<int>(std::clamp<int64_t>(q_offset + 1, 0, cap)) : cap;
  p.H = static_cast<int>(Q.H);
  p.G = static_cast<int>(Q.H / K.H);
  p.scale_log2 = scale * 1.4426950408889634f;
  // The split count from the GPU and the batch (not from the length, which may live on the
  // device); never more than the capacity has 64-key pieces.
  const int want = splits > 0 ? splits : flash_decode_splits(ctx, Q.B, K.H, cap);
  p.splits = clamp_splits(want, cap);
  launch_decode<D>(ctx, p, Q.B, K.H, Q.H, O.sb, O.sh, splits > 0);
}

void flash_decode_gather(const Context& ctx, const Tensor& q3, const FlashDecodeGather& g,
                         const Tensor& o3, float scale) {
  constexpr const char* kOp = "cuda::flash_decode_gather";
  constexpr int D = 128;
  // [B, H, d] is B sequences of one token here (attention_view would read it as one of B).
  const Tensor q = q3.ndim() == 3 ? q3.unsqueeze(1) : q3, o = o3.ndim() == 3 ? o3.unsqueeze(1) : o3;
  const AttentionView Q = attention_view(q, kOp, "q"), O = attention_view(o, kOp, "o");
  MVL_CHECK(O.B == Q.B && O.n == Q.n && O.H == Q.H && O.d == Q.d, shape_mismatch,
            "{}: q {} and o {} differ", kOp, q.str(), o.str());
  MVL_CHECK(flash_decode_supported(Q.n, Q.H, g.Hkv, Q.d), unsupported,
            "{}: needs one query token, head dim 128 and at most {} query heads per kv head "
            "(q {}, {} kv heads)",
            kOp, kRows, q.str(), g.Hkv);
  for (const Tensor* t : {&g.k_ptrs, &g.v_ptrs})
    MVL_CHECK(t->dtype() == DType::i64 && t->numel() == Q.B && t->is_contiguous() &&
                  t->device().is_cuda(),
              shape_mismatch, "{}: the cache addresses must be i64 [{}] on the GPU, got {}", kOp, Q.B,
              t->str());
  MVL_CHECK(g.kv_lens.dtype() == DType::i32 && g.kv_lens.numel() == Q.B &&
                g.kv_lens.is_contiguous() && g.kv_lens.device().is_cuda(),
            shape_mismatch, "{}: kv_lens must be i32 [{}] on the GPU, got {}", kOp, Q.B, g.kv_lens.str());
  if (g.seq_splits.defined())
    MVL_CHECK(g.seq_splits.dtype() == DType::i32 && g.seq_splits.numel() == Q.B &&
                  g.seq_splits.is_contiguous() && g.seq_splits.device().is_cuda() && g.splits >= 1 &&
                  g.splits <= kMaxSplits,
              shape_mismatch, "{}: seq_splits must be i32 [{}] on the GPU with splits (their max) in [1, {}], got {} and {}",
              kOp, Q.B, kMaxSplits, g.seq_splits.str(), g.splits);
  MVL_CHECK(g.capacity > 0 && g.capacity < (int64_t(1) << 31) - kMaxSplits * kSplitAlign &&
                g.token_stride >= g.Hkv * D && g.token_stride % 8 == 0,
            invalid_argument, "{}: capacity {} / token stride {} out of range", kOp, g.capacity,
            g.token_stride);
  MVL_CHECK(Q.B <= 65535, unsupported, "{}: batch {} exceeds the grid's 65535", kOp, Q.B);
  if (Q.B == 0) return;
  const int cap = static_cast<int>(g.capacity);
  DecodeParams p{};
  p.q = static_cast<const bf16*>(q.data());
  p.o = static_cast<bf16*>(o.data());
  p.k_ptrs = static_cast<const int64_t*>(g.k_ptrs.data());
  p.v_ptrs = static_cast<const int64_t*>(g.v_ptrs.data());
  p.kv_lens = static_cast<const int32_t*>(g.kv_lens.data());
  p.q_b = Q.sb;
  p.q_h = Q.sh;
  p.k_t = p.v_t = g.token_stride;
  p.k_h = p.v_h = D;
  p.o_b = O.sb;
  p.o_h = O.sh;
  p.cap = cap;
  p.fixed_len = cap;
  p.H = static_cast<int>(Q.H);
  p.G = static_cast<int>(Q.H / g.Hkv);
  p.scale_log2 = scale * 1.4426950408889634f;
  if (g.seq_splits.defined()) {
    p.seq_splits = static_cast<const int32_t*>(g.seq_splits.data());
    p.splits = g.splits;
  } else {
    const int want = g.splits > 0 ? g.splits : flash_decode_splits(ctx, Q.B, g.Hkv, cap);
    p.splits = clamp_splits(want, cap);
  }
  launch_decode<D>(ctx, p, Q.B, g.Hkv, Q.H, O.sb, O.sh, true);
}

int flash_decode_max_splits() { return kMaxSplits; }

namespace {
// Block (b, 0|1): row b of k_new (y 0) or v_new (y 1) to row rows[b] of cache ptrs[b], in
// units of U bytes.
template <typename U>
__global__ void kv_append_gather_kernel(const char* k_new, const char* v_new, int64_t k_sb,
                                        int64_t v_sb, const int64_t* k_ptrs, const int64_t* v_ptrs,
                                        const int32_t* rows, int64_t row_bytes) {
  const int b = blockIdx.x;
  const bool is_v = blockIdx.y == 1;
  const U* src = reinterpret_cast<const U*>((is_v ? v_new : k_new) + b * (is_v ? v_sb : k_sb));
  U* dst = reinterpret_cast<U*>(reinterpret_cast<char*>((is_v ? v_ptrs : k_ptrs)[b]) +
                                int64_t(rows[b]) * row_bytes);
  const int64_t n = row_bytes / int64_t(sizeof(U));
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) dst[i] = src[i];
}
}  // namespace

void kv_append_gather(const Context& ctx, const Tensor& k_new, const Tensor& v_new,
                      const Tensor& k_ptrs, const Tensor& v_ptrs, const Tensor& rows) {
  constexpr const char* kOp = "cuda::kv_append_gather";
  MVL_CHECK(k_new.ndim() == 3 && v_new.shape() == k_new.shape() && v_new.dtype() == k_new.dtype() &&
                k_new.device().is_cuda() && v_new.device().is_cuda(),
            shape_mismatch, "{}: k {} and v {} must be equal [B, kv_heads, d] GPU tensors", kOp,
            k_new.str(), v_new.str());
  const int64_t B = k_new.dim(0), row = k_new.dim(1) * k_new.dim(2);
  for (const Tensor* t : {&k_new, &v_new})
    MVL_CHECK(t->strides()[2] == 1 && t->strides()[1] == t->dim(2), unsupported,
              "{}: each row of {} must be contiguous", kOp, t->str());
  for (const Tensor* t : {&k_ptrs, &v_ptrs})
    MVL_CHECK(t->dtype() == DType::i64 && t->numel() == B && t->is_contiguous() && t->device().is_cuda(),
              shape_mismatch, "{}: the cache addresses must be i64 [{}] on the GPU, got {}", kOp, B, t->str());
  MVL_CHECK(rows.dtype() == DType::i32 && rows.numel() == B && rows.is_contiguous() && rows.device().is_cuda(),
            shape_mismatch, "{}: rows must be i32 [{}] on the GPU, got {}", kOp, B, rows.str());
  MVL_CHECK(B <= 65535, unsupported, "{}: batch {} exceeds the grid's 65535", kOp, B);
  if (B == 0 || row == 0) return;
  const int64_t es = static_cast<int64_t>(dtype_size(k_new.dtype()));
  const int64_t row_bytes = row * es, k_sb = k_new.strides()[0] * es, v_sb = v_new.strides()[0] * es;
  const auto* kp = static_cast<const char*>(k_new.data());
  const auto* vp = static_cast<const char*>(v_new.data());
  const auto* kq = static_cast<const int64_t*>(k_ptrs.data());
  const auto* vq = static_cast<const int64_t*>(v_ptrs.data());
  const auto* rp = static_cast<const int32_t*>(rows.data());
  const auto aligned = [&](int64_t a) {
    return row_bytes % a == 0 && k_sb % a == 0 && v_sb % a == 0 &&
           reinterpret_cast<uintptr_t>(kp) % a == 0 && reinterpret_cast<uintptr_t>(vp) % a == 0;
  };
  // (Cache bases come from the allocator: 256-byte aligned.)
  const dim3 grid(static_cast<unsigned>(B), 2);
  if (aligned(16))
    kv_append_gather_kernel<int4><<<grid, 128, 0, ctx.stream()>>>(kp, vp, k_sb, v_sb, kq, vq, rp, row_bytes);
  else if (aligned(4))
    kv_append_gather_kernel<int32_t><<<grid, 128, 0, ctx.stream()>>>(kp, vp, k_sb, v_sb, kq, vq, rp, row_bytes);
  else
    kv_append_gather_kernel<int16_t><<<grid, 128, 0, ctx.stream()>>>(kp, vp, k_sb, v_sb, kq, vq, rp, row_bytes);
  MVL_CUDA_CHECK_LAUNCH();
}

}  // namespace mvl::cuda
