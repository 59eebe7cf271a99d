// Flash attention (FA2-style) with mma.sync m16n8k16 bf16->f32 (sm_80+, runs on sm_90).
// CTA = 4 warps, 64 query rows x 64-key blocks, K/V double-buffered with cp.async;
// online softmax in f32 (exp2 with the scale folded in). Row mapping: for prefill a CTA
// holds 64 tokens of one query head; when n_q is small (decode) it holds n_q tokens x
// the G = H/Hkv query heads of one kv head, so each K/V byte is read once per kv head,
// and when that grid is too small for the GPU the key range is split across CTAs (split-K)
// with an f32 merge kernel. One query token with d = 128 and <= 8 heads per kv head goes to the
// flash-decoding kernel instead (attention_decode.cu).
// Shared memory: Q 64x(d+8), K/V 2x2x64x(d+8) bf16 (87 KB at d = 128, opt-in).
// Also the f32 generic attention_f32: one block per (query, head), scores in shared memory.
// CPU reference: kernels/cpu/attention.cpp; tests: tests/gpu/attention_test.cpp, model_ops_test.cpp.
#include "kernels/cuda/attention.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "kernels/cuda/attention_view.h"
#include "kernels/cuda/check.cuh"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/storage.h"

namespace mvl::cuda {

using namespace dev;
using namespace host;

namespace {

constexpr int kBM = 64, kBN = 64, kThreads = 128;

struct FaParams {
  const bf16* q;
  const bf16* k;
  const bf16* v;
  bf16* o;
  const int32_t* kv_lens;
  int64_t q_b, q_t, q_h, k_b, k_t, k_h, v_b, v_t, v_h, o_b, o_t, o_h;
  int n_q, n_k, H, G, rows_per_tok;  // rows_per_tok: 1 (token-major CTA) or G (head-grouped CTA)
  int64_t q_offset;
  float scale_log2;
  bool causal;
  int kv_splits;   // > 1: split-K (decode); partial results go to part_o / part_ml
  float* part_o;   // f32 [B, splits, n_q, H, D] un-normalised
  float* part_ml;  // f32 [B, splits, n_q, H, 2] (running max in log2 units, row sum)
};

template <int D>
__global__ void __launch_bounds__(kThreads) flash_kernel(const FaParams p) {
  constexpr int kPad = D + 8;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16(*qs)[kPad] = reinterpret_cast<bf16(*)[kPad]>(smem_raw);
  bf16(*ks)[kBN][kPad] = reinterpret_cast<bf16(*)[kBN][kPad]>(smem_raw + sizeof(bf16) * kBM * kPad);
  bf16(*vs)[kBN][kPad] =
      reinterpret_cast<bf16(*)[kBN][kPad]>(smem_raw + sizeof(bf16) * (kBM + 2 * kBN) * kPad);

  const int b = blockIdx.z / p.kv_splits, split = blockIdx.z % p.kv_splits;
  const int rpt = p.rows_per_tok;
  const int toks_per_cta = kBM / rpt;
  // Causal: the last row blocks see the most keys; launch them first to shorten the tail.
  const int64_t tok0 = int64_t(p.causal ? gridDim.x - 1 - blockIdx.x : blockIdx.x) * toks_per_cta;
  const int h_base = rpt == 1 ? blockIdx.y : blockIdx.y * p.G;
  const int hk = h_base / p.G;
  const int n_k = p.kv_lens ? p.kv_lens[b] : p.n_k;
  const int64_t q_off = p.kv_lens ? n_k - p.n_q : p.q_offset;
  const int tid = threadIdx.x, lane = tid & 31, w = tid >> 5, g = lane >> 2, c4 = lane & 3;

  const bf16* qb = p.q + b * p.q_b;
  const bf16* kb = p.k + b * p.k_b + hk * p.k_h;
  const bf16* vb = p.v + b * p.v_b + hk * p.v_h;

  // Q tile.
  for (int idx = tid; idx < kBM * (D / 8); idx += kThreads) {
    const int r = idx / (D / 8), seg = idx % (D / 8);
    const int64_t t = tok0 + r / rpt;
    const int h = h_base + r % rpt;
    const bool ok = t < p.n_q && (rpt == 1 || r % rpt < p.G);
    cp_async16(&qs[r][seg * 8], ok ? qb + t * p.q_t + h * p.q_h + seg * 8 : qb, ok);
  }
  cp_async_commit();

  // Key range: causal CTAs stop after the last key their last token can see.
  const int64_t last_tok =
      tok0 + toks_per_cta - 1 < p.n_q - 1 ? tok0 + toks_per_cta - 1 : p.n_q - 1;
  int64_t kend = n_k;
  if (p.causal && q_off + last_tok + 1 < kend) kend = q_off + last_tok + 1;
  const int nkb_all = kend > 0 ? static_cast<int>((kend + kBN - 1) / kBN) : 0;
  const int per_split = (nkb_all + p.kv_splits - 1) / p.kv_splits;
  const int blk_begin = split * per_split;
  const int blk_end = blk_begin + per_split < nkb_all ? blk_begin + per_split : nkb_all;

  auto load_kv = [&](int blk, int stage) {
    for (int idx = tid; idx < kBN * (D / 8); idx += kThreads) {
      const int r = idx / (D / 8), seg = idx % (D / 8);
      const int64_t j = int64_t(blk) * kBN + r;
      const bool ok = j < n_k;
      cp_async16(&ks[stage][r][seg * 8], ok ? kb + j * p.k_t + seg * 8 : kb, ok);
      cp_async16(&vs[stage][r][seg * 8], ok ? vb + j * p.v_t + seg * 8 : vb, ok);
    }
    cp_async_commit();
  };
  if (blk_begin < blk_end) load_kv(blk_begin, 0);

  const int r_lo = 16 * w + g, r_hi = r_lo + 8;
  const int64_t pos_lo = q_off + tok0 + r_lo / rpt, pos_hi = q_off + tok0 + r_hi / rpt;
  float m_lo = -INFINITY, m_hi = -INFINITY, l_lo = 0.f, l_hi = 0.f;
  float acc[D / 8][4];
#pragma unroll
  for (int j = 0; j < D / 8; ++j) acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.f;
  uint32_t qa[D / 16][4];

  if (blk_begin >= blk_end) cp_async_wait<0>();  // the Q copy must land before the CTA exits
  for (int blk = blk_begin; blk < blk_end; ++blk) {
    const int stage = (blk - blk_begin) & 1;
    cp_async_wait<0>();
    __syncthreads();
    if (blk + 1 < blk_end) load_kv(blk + 1, stage ^ 1);
    if (blk == blk_begin) {
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk)
        ldmatrix_x4(qa[kk], &qs[16 * w + (lane & 15)][16 * kk + (lane >> 4) * 8]);
    }
    float sc[8][4];
#pragma unroll
    for (int j = 0; j < 8; ++j) sc[j][0] = sc[j][1] = sc[j][2] = sc[j][3] = 0.f;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      uint32_t bb[4][4];  // all K fragments of the k-step first: overlapping ldmatrix latency
#pragma unroll
      for (int np = 0; np < 4; ++np)
        ldmatrix_x4(
            bb[np],
            &ks[stage][16 * np + (lane & 7) + (lane >> 4) * 8][16 * kk + ((lane >> 3) & 1) * 8]);
#pragma unroll
      for (int np = 0; np < 4; ++np) {
        mma_bf16(sc[2 * np], qa[kk], bb[np][0], bb[np][1]);
        mma_bf16(sc[2 * np + 1], qa[kk], bb[np][2], bb[np][3]);
      }
    }
    // Scale (log2 domain) and mask.
    float mx_lo = m_lo, mx_hi = m_hi;
#pragma unroll
    for (int j = 0; j < 8; ++j)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int64_t key = int64_t(blk) * kBN + 8 * j + 2 * c4 + e;
        const bool ok_lo = key < n_k && (!p.causal || key <= pos_lo);
        const bool ok_hi = key < n_k && (!p.causal || key <= pos_hi);
        sc[j][e] = ok_lo ? sc[j][e] * p.scale_log2 : -INFINITY;
        sc[j][2 + e] = ok_hi ? sc[j][2 + e] * p.scale_log2 : -INFINITY;
        mx_lo = fmaxf(mx_lo, sc[j][e]);
        mx_hi = fmaxf(mx_hi, sc[j][2 + e]);
      }
    mx_lo = fmaxf(mx_lo, __shfl_xor_sync(0xffffffffu, mx_lo, 1));
    mx_lo = fmaxf(mx_lo, __shfl_xor_sync(0xffffffffu, mx_lo, 2));
    mx_hi = fmaxf(mx_hi, __shfl_xor_sync(0xffffffffu, mx_hi, 1));
    mx_hi = fmaxf(mx_hi, __shfl_xor_sync(0xffffffffu, mx_hi, 2));
    // Fully masked rows keep m = -inf; use 0 as the reference so exp2 gives 0, not NaN.
    const float ref_lo = mx_lo == -INFINITY ? 0.f : mx_lo,
                ref_hi = mx_hi == -INFINITY ? 0.f : mx_hi;
    const float corr_lo = exp2f(m_lo - ref_lo), corr_hi = exp2f(m_hi - ref_hi);
    m_lo = mx_lo;
    m_hi = mx_hi;
    float rs_lo = 0.f, rs_hi = 0.f;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      sc[j][0] = exp2f(sc[j][0] - ref_lo);
      sc[j][1] = exp2f(sc[j][1] - ref_lo);
      sc[j][2] = exp2f(sc[j][2] - ref_hi);
      sc[j][3] = exp2f(sc[j][3] - ref_hi);
      rs_lo += sc[j][0] + sc[j][1];
      rs_hi += sc[j][2] + sc[j][3];
    }
    l_lo = l_lo * corr_lo + rs_lo;
    l_hi = l_hi * corr_hi + rs_hi;
#pragma unroll
    for (int j = 0; j < D / 8; ++j) {
      acc[j][0] *= corr_lo;
      acc[j][1] *= corr_lo;
      acc[j][2] *= corr_hi;
      acc[j][3] *= corr_hi;
    }
#pragma unroll
    for (int kk = 0; kk < kBN / 16; ++kk) {
      uint32_t a[4];
      a[0] = pack_bf16(sc[2 * kk][0], sc[2 * kk][1]);
      a[1] = pack_bf16(sc[2 * kk][2], sc[2 * kk][3]);
      a[2] = pack_bf16(sc[2 * kk + 1][0], sc[2 * kk + 1][1]);
      a[3] = pack_bf16(sc[2 * kk + 1][2], sc[2 * kk + 1][3]);
#pragma unroll
      for (int np0 = 0; np0 < D / 16; np0 += 4) {
        uint32_t bb[4][4];
#pragma unroll
        for (int i = 0; i < 4; ++i)
          ldmatrix_x4_trans(bb[i], &vs[stage][16 * kk + (lane & 7) + ((lane >> 3) & 1) * 8]
                                      [16 * (np0 + i) + (lane >> 4) * 8]);
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          mma_bf16(acc[2 * (np0 + i)], a, bb[i][0], bb[i][1]);
          mma_bf16(acc[2 * (np0 + i) + 1], a, bb[i][2], bb[i][3]);
        }
      }
    }
  }
  // Row sums live spread over the quad; reduce, normalise, store.
  l_lo += __shfl_xor_sync(0xffffffffu, l_lo, 1);
  l_lo += __shfl_xor_sync(0xffffffffu, l_lo, 2);
  l_hi += __shfl_xor_sync(0xffffffffu, l_hi, 1);
  l_hi += __shfl_xor_sync(0xffffffffu, l_hi, 2);
  const int64_t t_lo = tok0 + r_lo / rpt, t_hi = tok0 + r_hi / rpt;
  const bool ok_lo = t_lo < p.n_q && (rpt == 1 || r_lo % rpt < p.G);
  const bool ok_hi = t_hi < p.n_q && (rpt == 1 || r_hi % rpt < p.G);
  if (p.kv_splits > 1) {
    const int64_t base = (int64_t(b) * p.kv_splits + split) * p.n_q;
    const int64_t row_lo = (base + t_lo) * p.H + h_base + r_lo % rpt,
                  row_hi = (base + t_hi) * p.H + h_base + r_hi % rpt;
#pragma unroll
    for (int j = 0; j < D / 8; ++j) {
      const int col = 8 * j + 2 * c4;
      if (ok_lo)
        *reinterpret_cast<float2*>(p.part_o + row_lo * D + col) = make_float2(acc[j][0], acc[j][1]);
      if (ok_hi)
        *reinterpret_cast<float2*>(p.part_o + row_hi * D + col) = make_float2(acc[j][2], acc[j][3]);
    }
    if (c4 == 0) {
      if (ok_lo) *reinterpret_cast<float2*>(p.part_ml + row_lo * 2) = make_float2(m_lo, l_lo);
      if (ok_hi) *reinterpret_cast<float2*>(p.part_ml + row_hi * 2) = make_float2(m_hi, l_hi);
    }
    return;
  }
  const float inv_lo = l_lo > 0.f ? 1.f / l_lo : 0.f, inv_hi = l_hi > 0.f ? 1.f / l_hi : 0.f;
  bf16* ob = p.o + b * p.o_b;
  bf16* o_lo = ob + t_lo * p.o_t + (h_base + r_lo % rpt) * p.o_h;
  bf16* o_hi = ob + t_hi * p.o_t + (h_base + r_hi % rpt) * p.o_h;
#pragma unroll
  for (int j = 0; j < D / 8; ++j) {
    const int col = 8 * j + 2 * c4;
    if (ok_lo)
      *reinterpret_cast<uint32_t*>(o_lo + col) = pack_bf16(acc[j][0] * inv_lo, acc[j][1] * inv_lo);
    if (ok_hi)
      *reinterpret_cast<uint32_t*>(o_hi + col) = pack_bf16(acc[j][2] * inv_hi, acc[j][3] * inv_hi);
  }
}

// Merges split-K partials: one CTA of D threads per (b, token, head).
__global__ void combine_splits_kernel(const float* __restrict__ part_o,
                                      const float* __restrict__ part_ml, bf16* o, int splits,
                                      int n_q, int H, int D, int64_t o_b, int64_t o_t,
                                      int64_t o_h) {
  const int64_t row = blockIdx.x;  // (b * n_q + t) * H + h
  const int h = static_cast<int>(row % H);
  const int64_t t = (row / H) % n_q, b = row / (int64_t(H) * n_q);
  float M = -INFINITY;
  for (int s = 0; s < splits; ++s)
    M = fmaxf(M, part_ml[(((b * splits + s) * n_q + t) * H + h) * 2]);
  float L = 0.f, acc = 0.f;
  for (int s = 0; s < splits; ++s) {
    const int64_t r = ((b * splits + s) * n_q + t) * H + h;
    const float m = part_ml[r * 2], l = part_ml[r * 2 + 1];
    const float wgt = m == -INFINITY ? 0.f : exp2f(m - M);
    L += wgt * l;
    acc += wgt * part_o[r * D + threadIdx.x];
  }
  o[b * o_b + t * o_t + h * o_h + threadIdx.x] = to_bf(L > 0.f ? acc / L : 0.f);
}

using View4 = AttentionView;
inline View4 view4(const Tensor& t, const char* what) {
  return attention_view(t, "cuda::flash_attention", what);
}

// One block per (query i, head h): scores in shared memory, then the weighted value sum.
// kv_len: i32 [1] on the device, or null. When given, only keys [0, kv_len) exist and the
// queries are the last gridDim.x of them (q_offset = kv_len - n_q): decode over a cache
// whose length is read from device memory.
__global__ void attention_f32_kernel(const float* q, const float* k, const float* v, QkvStrides s,
                                     float* o, int64_t nk, int64_t heads, int64_t group, int64_t d,
                                     float scale, bool causal, int64_t q_offset,
                                     const int32_t* kv_len) {
  extern __shared__ float sc[];  // [nk] scores, then red[32]
  float* red = sc + nk;
  if (kv_len) {
    const int64_t len = min(static_cast<int64_t>(kv_len[0]), nk);
    q_offset = len - static_cast<int64_t>(gridDim.x);
    nk = len;
  }
  const int64_t i = blockIdx.x, h = blockIdx.y, hk = h / group;
  const float* qi = q + i * s.q0 + h * s.q1;
  const int64_t last = causal ? min(nk - 1, q_offset + i) : nk - 1;
  float mx = -INFINITY;
  for (int64_t j = threadIdx.x; j <= last; j += blockDim.x) {
    const float* kj = k + j * s.k0 + hk * s.k1;
    float acc = 0.0f;
    for (int64_t c = 0; c < d; ++c) acc += qi[c] * kj[c];
    sc[j] = acc * scale;
    mx = fmaxf(mx, sc[j]);
  }
  mx = block_max_seq(mx, red);
  float sum = 0.0f;
  for (int64_t j = threadIdx.x; j <= last; j += blockDim.x) {
    sc[j] = expf(sc[j] - mx);
    sum += sc[j];
  }
  sum = block_sum_seq(sum, red);
  __syncthreads();
  for (int64_t c = threadIdx.x; c < d; c += blockDim.x) {
    float acc = 0.0f;
    for (int64_t j = 0; j <= last; ++j) acc += sc[j] * v[j * s.v0 + hk * s.v1 + c];
    o[(i * heads + h) * d + c] = acc / sum;
  }
}

}  // namespace

void flash_attention(const Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                     const Tensor& o, float scale, bool causal, int64_t q_offset,
                     const Tensor& kv_lens) {
  const View4 Q = view4(q, "q"), K = view4(k, "k"), V = view4(v, "v"), O = view4(o, "o");
  MVL_CHECK(K.B == Q.B && V.B == Q.B && O.B == Q.B && K.n == V.n && K.H == V.H && O.n == Q.n &&
                O.H == Q.H && Q.d == K.d && K.d == V.d && O.d == Q.d && K.H > 0 && Q.H % K.H == 0,
            shape_mismatch, "cuda::flash_attention: q {} k {} v {} o {} do not fit together",
            q.str(), k.str(), v.str(), o.str());
  MVL_CHECK(Q.d == 64 || Q.d == 128, unsupported,
            "cuda::flash_attention: head dim {} (64 or 128 supported)", Q.d);
  if (kv_lens.defined())
    MVL_CHECK(kv_lens.dtype() == DType::i32 && kv_lens.numel() == Q.B, shape_mismatch,
              "cuda::flash_attention: kv_lens {} for batch {}", kv_lens.str(), Q.B);
  if (Q.n == 0 || Q.B == 0) return;
  // One query token (decode): the flash-decoding kernel (attention_decode.cu).
  if (flash_decode_supported(Q.n, Q.H, K.H, Q.d)) {
    flash_decode(ctx, q, k, v, o, scale, causal, q_offset, kv_lens);
    return;
  }
  // Hopper: prefill and the ViT (>= 128 query rows, no kv_lens) go to the wgmma kernel;
  // decode and short chunks stay here (head-grouped CTAs / split-K).
  if (!kv_lens.defined() && Q.n >= 128 && scale > 0.f && flash_attention_sm90_available(ctx)) {
    flash_attention_sm90(ctx, q, k, v, o, scale, causal, q_offset);
    return;
  }
  FaParams p{};
  p.q = static_cast<const bf16*>(q.data());
  p.k = static_cast<const bf16*>(k.data());
  p.v = static_cast<const bf16*>(v.data());
  p.o = static_cast<bf16*>(o.data());
  p.kv_lens = kv_lens.defined() ? static_cast<const int32_t*>(kv_lens.data()) : nullptr;
  p.q_b = Q.sb;
  p.q_t = Q.st;
  p.q_h = Q.sh;
  p.k_b = K.sb;
  p.k_t = K.st;
  p.k_h = K.sh;
  p.v_b = V.sb;
  p.v_t = V.st;
  p.v_h = V.sh;
  p.o_b = O.sb;
  p.o_t = O.st;
  p.o_h = O.sh;
  p.n_q = static_cast<int>(Q.n);
  p.n_k = static_cast<int>(K.n);
  p.H = static_cast<int>(Q.H);
  p.G = static_cast<int>(Q.H / K.H);
  // Head-grouped CTAs when few query tokens share a kv head (decode); token-major otherwise.
  p.rows_per_tok = (p.G > 1 && p.G <= kBM && Q.n * p.G <= 4 * kBM && kBM % p.G == 0) ? p.G : 1;
  p.q_offset = q_offset;
  p.scale_log2 = scale * 1.4426950408889634f;
  p.causal = causal;
  const int toks_per_cta = kBM / p.rows_per_tok;
  const int64_t ctas =
      ((Q.n + toks_per_cta - 1) / toks_per_cta) * (p.rows_per_tok == 1 ? Q.H : K.H) * Q.B;
  // Split-K when the grid cannot fill the GPU and the key range is long (decode): each
  // split covers >= 8 key blocks; partials are merged by combine_splits_kernel.
  int splits = 1;
  if (ctas < 2 * ctx.sm_count()) {
    const int64_t want = (2 * ctx.sm_count() + ctas - 1) / ctas;
    const int64_t max_by_len = (K.n + 8 * kBN - 1) / (8 * kBN);
    splits = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>({want, max_by_len, 64})));
  }
  p.kv_splits = splits;
  std::optional<Scratch> scratch;
  if (splits > 1) {
    scratch.emplace(ctx, std::initializer_list<int64_t>{Q.B * splits * Q.n * Q.H * Q.d * 4,
                                                        Q.B * splits * Q.n * Q.H * 2 * 4});
    p.part_o =
        static_cast<float*>(scratch->take({Q.B * splits * Q.n * Q.H * Q.d}, DType::f32).data());
    p.part_ml =
        static_cast<float*>(scratch->take({Q.B * splits * Q.n * Q.H * 2}, DType::f32).data());
  }
  const dim3 grid(static_cast<unsigned>((Q.n + toks_per_cta - 1) / toks_per_cta),
                  static_cast<unsigned>(p.rows_per_tok == 1 ? Q.H : K.H),
                  static_cast<unsigned>(Q.B * splits));
  const size_t smem = sizeof(bf16) * (kBM + 4 * kBN) * (Q.d + 8);
  MVL_CHECK(smem <= ctx.max_smem_optin(), unsupported,
            "cuda::flash_attention needs {} bytes of shared memory", smem);
  if (Q.d == 128) {
    MVL_CUDA_CHECK(cudaFuncSetAttribute(flash_kernel<128>,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
    flash_kernel<128><<<grid, kThreads, smem, ctx.stream()>>>(p);
  } else {
    MVL_CUDA_CHECK(cudaFuncSetAttribute(flash_kernel<64>,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
    flash_kernel<64><<<grid, kThreads, smem, ctx.stream()>>>(p);
  }
  MVL_CUDA_CHECK_LAUNCH();
  if (splits > 1) {
    combine_splits_kernel<<<static_cast<unsigned>(Q.B * Q.n * Q.H), static_cast<unsigned>(Q.d), 0,
                            ctx.stream()>>>(p.part_o, p.part_ml, static_cast<bf16*>(o.data()),
                                            splits, p.n_q, p.H, static_cast<int>(Q.d), O.sb, O.st,
                                            O.sh);
    MVL_CUDA_CHECK_LAUNCH();
  }
}

void attention_f32(const Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                   float scale, bool causal, int64_t q_offset, const Tensor& o,
                   const Tensor& kv_len) {
  const int64_t nq = q.dim(0), heads = q.dim(1), d = q.dim(2), nk = k.dim(0), hkv = k.dim(1);
  if (nq * heads == 0) return;
  const size_t smem = (static_cast<size_t>(nk) + 32) * sizeof(float);
  MVL_CHECK(smem <= ctx.max_smem_optin(), unsupported,
            "attention on CUDA (generic path): {} keys exceed the shared-memory score buffer", nk);
  if (smem > 48 * 1024)
    MVL_CUDA_CHECK(cudaFuncSetAttribute(
        attention_f32_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
  const QkvStrides s{q.strides()[0], q.strides()[1], k.strides()[0],
                     k.strides()[1], v.strides()[0], v.strides()[1]};
  attention_f32_kernel<<<dim3(static_cast<unsigned>(nq), static_cast<unsigned>(heads)), 128, smem,
                         ctx.stream()>>>(
      q.data<float>(), k.data<float>(), v.data<float>(), s, o.data<float>(), nk, heads, heads / hkv,
      d, scale, causal, q_offset, kv_len.defined() ? kv_len.data<int32_t>() : nullptr);
  MVL_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mvl::cuda
