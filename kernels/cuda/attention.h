// Softmax attention on CUDA for the text model's softmax layers (causal, GQA, prefill and
// decode over the KV cache) and the ViT (non-causal, 577 tokens): the bf16 flash kernels
// (mma.sync on sm_80+, attention.cu; wgmma/TMA on sm_90a, attention_sm90.cu; flash-decoding
// for one query token, attention_decode.cu) and the f32 generic form. CPU twin:
// kernels/cpu/attention.h; dispatch: kernels/ops/attention.h.
#pragma once

#include <cstdint>

#include "kernels/core/tensor.h"
#include "kernels/cuda/context.h"

namespace mvl::cuda {

// q: bf16 [B, n_q, H, d]; k, v: bf16 [B, n_k, Hkv, d]; o: bf16 [B, n_q, H, d]. Views with a
// contiguous last dim and 16-byte aligned rows; d = 64 or 128; H % Hkv == 0 (query head h
// reads kv head h / (H/Hkv)). Scores = scale · q·k in f32, online softmax in f32.
// causal: query i sits at position q_offset + i and sees keys j <= q_offset + i.
// kv_lens: optional i32 [B] on the device: sequence b uses only its first kv_lens[b] keys
// and, when causal, q_offset = kv_lens[b] - n_q (decode over a padded cache).
// 3-D tensors ([n, H, d]) are accepted as B = 1.
void flash_attention(const Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                     const Tensor& o, float scale, bool causal, int64_t q_offset = 0,
                     const Tensor& kv_lens = Tensor());

// Flash-decoding (attention_decode.cu), which flash_attention dispatches to when
// flash_decode_supported(n_q, H, Hkv, d): one query token, d = 128, H / Hkv <= 8. Same contract
// as flash_attention (with n_q = 1: keys [0, kv_lens[b]) when kv_lens is given, else keys
// <= q_offset when causal, else all n_k keys). Split-K over the key range: the split count fills
// the GPU (splits = 0) or is given (tests: 1 = no merge), the split size follows the length;
// deterministic, no host sync, graph-capturable (scratch for the partials when splits > 1).
bool flash_decode_supported(int64_t n_q, int64_t H, int64_t Hkv, int64_t d);
void flash_decode(const Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                  const Tensor& o, float scale, bool causal, int64_t q_offset = 0,
                  const Tensor& kv_lens = Tensor(), int splits = 0);
// The split count flash_decode picks for B sequences x Hkv kv heads over a cache of
// `capacity` keys on ctx's GPU: enough CTAs to fill every SM once. Each sequence's current
// length is cut into that many pieces of a multiple of 64 keys on the device.
int flash_decode_splits(const Context& ctx, int64_t B, int64_t Hkv, int64_t capacity);

// Flash-decoding over B sequences whose KV caches are separate buffers (a continuous-batching
// step: each sequence's cache is its own allocation, of its own capacity). Same kernel, same
// arithmetic per (sequence, kv head, split) as flash_decode: with seq_splits[b] equal to the
// split count flash_decode picks for sequence b alone (flash_decode_splits(ctx, 1, Hkv, its
// capacity)), row b of o is bit-identical to flash_decode of that sequence alone.
struct FlashDecodeGather {
  Tensor k_ptrs, v_ptrs;  // i64 [B] on the GPU: sequence b's K / V cache base address, each a
                          // bf16 [capacity_b, Hkv, 128] buffer (row stride token_stride)
  Tensor kv_lens;         // i32 [B] on the GPU: keys [0, kv_lens[b]) are used (<= capacity_b)
  Tensor seq_splits;      // optional i32 [B] on the GPU: splits per sequence, each in [1, splits]
  int64_t Hkv = 0;
  int64_t capacity = 0;      // the largest capacity_b
  int64_t token_stride = 0;  // elements between cache rows (Hkv * 128 for contiguous caches)
  int splits = 0;  // with seq_splits: their maximum; else the count for all (0: fill the GPU,
                   // flash_decode_splits(ctx, B, Hkv, capacity))
};
// q, o: bf16 [B, H, 128] (or [B, 1, H, 128]) views as flash_decode's. Graph-capturable.
void flash_decode_gather(const Context& ctx, const Tensor& q, const FlashDecodeGather& g,
                         const Tensor& o, float scale);
int flash_decode_max_splits();
// The KV append of a batched decode step: row b of k_new / v_new ([B, Hkv, d], rows
// contiguous, any dtype) to row rows[b] (i32 [B] on the GPU) of the caches at k_ptrs[b] /
// v_ptrs[b] (i64 [B], contiguous [capacity_b, Hkv, d] buffers, 16-byte aligned). One launch.
void kv_append_gather(const Context& ctx, const Tensor& k_new, const Tensor& v_new,
                      const Tensor& k_ptrs, const Tensor& v_ptrs, const Tensor& rows);

// The Hopper (sm_90a) fast path flash_attention dispatches to on compute capability 9.x when
// there are no kv_lens (attention_sm90.cu). True when ctx's GPU is compute capability 9.x.
bool flash_attention_sm90_available(const Context& ctx);
// Shapes of the sm_90a kernel. d = 64: all; d = 128: k128 and k128f.
// k128: 128-key blocks, one CTA per SM (the d128 shape). k64x1: 64-key blocks, one CTA per SM.
// k64x2: 64-key blocks, two CTAs per SM (104 registers per consumer thread: ptxas serializes
// its wgmmas). k128f, k64x1f: k128, k64x1 with a CTA's tiles run as one pipeline of key blocks
// (Q double-buffered; the next tile's first S overlaps the last one's final P·V and O store;
// at d = 128 that leaves room for 2 K/V stages instead of 3).
// tiles_per_cta: 128-row query tiles of one (batch, head) a CTA runs in turn without a causal
// mask, the producer loading the next tile's Q and first K/V blocks while the consumers finish
// the last (the ViT: 5 tiles of 577 rows); 1 = one tile per CTA.
enum class Sm90Tiling { automatic, k128, k64x1, k64x2, k128f, k64x1f };
// persistent (k128f, k64x1f; causal too): one CTA per SM walks every (batch, head, tile) item in
// turn, a single flat pipeline per SM (tiles_per_cta is then unused).
// lpt: heaviest causal tiles first, the heads of a GQA group side by side (their K/V blocks
// shared through L2). One tile per CTA: a grid (B x H, tiles) launching every head's longest
// tile before any shorter one (without lpt: head by head, each longest first). Persistent: the
// CTAs walk that tile-major list in a snake (CTA c takes position c of its round, then the
// mirror position in the next), which evens out their sums of causal work; without lpt item
// c + i x CTAs of the (batch, head, tile) list.
struct Sm90Tuning {
  Sm90Tiling tiling = Sm90Tiling::automatic;  // automatic: the head dim's default's
  int tiles_per_cta = 0;                      // <= 0: the default's (and its persistent and lpt)
  bool persistent = false;
  bool lpt = false;
};
// What flash_attention runs at d = 64. tools/device/vit_check.sh times every tuning on the ViT
// shape and prints the line to put here when another one wins.
inline constexpr Sm90Tuning kSm90D64Default{Sm90Tiling::k128f, 1, true, false};
// What flash_attention runs at d = 128 (causal GQA prefill); from kSm90D128LongFrom query
// tokens on (0: never) kSm90D128LongDefault instead, should the short and the long prefill
// want different schedules. tools/device/sfx_check.sh times every d = 128 tuning at 8K / 32K /
// 128K against torch SDPA and prints the lines to put here. Session 9's H100 call (every
// schedule passed parity): k128f persistent longest-first 1.748 ms at 8K vs k128 1.814 (SDPA
// 3.268), but 29.75 vs 28.22 ms at 32K, so k128 stays from 16K query tokens on.
inline constexpr Sm90Tuning kSm90D128Default{Sm90Tiling::k128f, 1, true, true};
inline constexpr int64_t kSm90D128LongFrom = 16384;
inline constexpr Sm90Tuning kSm90D128LongDefault{Sm90Tiling::k128, 1, false, false};
const char* sm90_tiling_name(Sm90Tiling t);
// Same contract as flash_attention minus kv_lens; scale > 0. P is rounded to bf16 for P·V (as
// the mma.sync kernel does). Throws Error{unsupported} on a GPU that is not 9.x.
void flash_attention_sm90(const Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                          const Tensor& o, float scale, bool causal, int64_t q_offset = 0,
                          Sm90Tuning tuning = {});

// f32 activations (one block per query and head, scores in shared memory).
// Softmax attention, f32 scores, GQA, optional causal with q_offset. q [nq, H, d], k/v
// [nk, Hkv, d] views (contiguous last dim); o f32 [nq, H, d] contiguous.
// kv_len: optional i32 [1] on the device: only keys [0, kv_len) are used and q_offset becomes
// kv_len - n_q (decode over a cache whose length lives in device memory; graph-safe).
void attention_f32(const Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                   float scale, bool causal, int64_t q_offset, const Tensor& o,
                   const Tensor& kv_len = Tensor());

}  // namespace mvl::cuda
