// The per-sequence part of a batched decode step (B sequences, one token each, each with its
// own lightning states and KV caches, which are separate buffers): the lightning state update,
// the KV append and the cached attention, as ONE op call per layer for all B sequences.
// On a GPU these are one launch each (gather kernels that read the B buffers' addresses from a
// device table the caller uploads once per step); on the CPU, and where no gather kernel takes
// the shapes, they loop over the single-sequence ops (identical results). Used by llm's
// lightning_attention_batch / softmax_attention_batch; tests: tests/gpu/decode_batch_ops_test.cpp.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/core/tensor.h"
#include "kernels/ops/device.h"

namespace mvl::ops {

// The address a gather kernel reads for t (its first element), for the caller's tables.
inline int64_t buffer_address(const Tensor& t) { return reinterpret_cast<int64_t>(t.data()); }

// Lightning decode for B sequences: q, k, v [B, H, d] (as lightning_recurrent's, one token per
// sequence), slopes f32 [H], states[b] f32 [H, d, d] contiguous: sequence b's state, updated in
// place. Returns o [B, H, d] in q's dtype.
// state_ptrs: i64 [B] on the GPU with buffer_address(states[b]); read only where the gather
// kernel runs (bf16 q/k/v, d = 128, on a GPU: cuda::lightning_decode_gather with row kernel
// `kernel`, 0 = its default): the states come out bit-identical to B lightning_recurrent calls
// and o equal up to the f32 summation order of q . S (the single-sequence step runs another
// kernel). Elsewhere: lightning_recurrent per sequence (identical).
Tensor lightning_decode_batch(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& slopes,
                              const std::vector<Tensor>& states, const Tensor& state_ptrs, int kernel = 0);

// B sequences' KV caches of one softmax layer, and the row each one's new token goes to.
struct KvBatch {
  std::vector<Tensor> k, v;   // per sequence: the whole cache [capacity_b, Hkv, d], contiguous
  std::vector<int64_t> rows;  // per sequence: the row written this step (= its position);
                              // attention then uses keys [0, rows[b]]
  // On a GPU, device tables of the same (one upload per step can serve every layer):
  Tensor k_ptrs, v_ptrs;  // i64 [B]: buffer_address(k[b]), buffer_address(v[b])
  Tensor rows_dev;        // i32 [B] == rows
  Tensor lens_dev;        // i32 [B] == rows + 1
  Tensor splits_dev;      // i32 [B] == decode_split_counts(...) (DecodeSplits::per_sequence)
  int32_t splits_max = 0;  // the largest of splits_dev (0: the capacities' counts, computed)
};

// Row b of k, v ([B, Hkv, d], the caches' dtype) into row rows[b] of sequence b's caches.
// GPU: one launch (cuda::kv_append_gather); CPU: B row copies.
void append_kv_batch(const Tensor& k, const Tensor& v, const KvBatch& kv);

// How the GPU splits each sequence's keys in attention_decode_batch.
//   per_sequence: as attention_cached of that sequence alone would (decode_split_counts), so
//                 row b is bit-identical to it;
//   batch:        one count for the batch, chosen to fill the GPU once (fewer partials to
//                 merge at large B; equal up to the rounding of the split merge).
enum class DecodeSplits { per_sequence, batch };
// The split count attention_cached uses for one sequence with a cache of `capacity` rows,
// per sequence (1 each on the CPU or where flash-decoding does not run).
std::vector<int32_t> decode_split_counts(const DeviceContext& dev, int64_t heads, int64_t kv_heads,
                                         int64_t head_dim, DType dtype,
                                         const std::vector<int64_t>& capacities);

// q [B, H, d]: sequence b's query, attending causally over keys [0, rows[b]] of its cache.
// Returns [B, H, d] in q's dtype; row b equals attention_cached(q[b], k[b], v[b], scale,
// rows[b] + 1) (bit for bit with DecodeSplits::per_sequence). GPU bf16, d = 128, H / Hkv <= 8:
// one cuda::flash_decode_gather launch; elsewhere attention_cached per sequence.
Tensor attention_decode_batch(const Tensor& q, const KvBatch& kv, float scale,
                              DecodeSplits splits = DecodeSplits::per_sequence);

}  // namespace mvl::ops
