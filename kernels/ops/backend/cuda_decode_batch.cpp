// The CUDA branch of ops batched decode (decode_batch.h): the gather kernels of
// kernels/cuda/lightning_decode.h (lightning) and kernels/cuda/attention.h (KV append,
// flash-decoding over separate caches).
#include <algorithm>

#include "kernels/cuda/attention.h"
#include "kernels/cuda/lightning_decode.h"
#include "kernels/ops/backend/cuda_backend.h"
#include "kernels/ops/backend/cuda_context.h"
#include "kernels/ops/decode_batch.h"

namespace mvl::ops::cuda_backend {

Tensor lightning_decode_gather(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& slopes,
                               const Tensor& state_ptrs, int kernel) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&q, &k, &v, &slopes, &state_ptrs}, "lightning_decode_batch");
  Tensor out = detail::dev_uninit(q.shape(), DType::bf16, ctx);
  cuda::lightning_decode_gather(*ctx, q, k, v, slopes, state_ptrs, out, cuda::LightningDecodeTuning{kernel});
  return out;
}

void kv_append_gather(const Tensor& k, const Tensor& v, const Tensor& k_ptrs, const Tensor& v_ptrs,
                      const Tensor& rows) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&k, &v, &k_ptrs, &v_ptrs, &rows}, "append_kv_batch");
  cuda::kv_append_gather(*ctx, k, v, k_ptrs, v_ptrs, rows);
}

namespace {
// What attention_cached's flash_decode picks for each sequence alone.
std::vector<int32_t> split_counts(const cuda::Context& ctx, int64_t heads, int64_t kv_heads, int64_t head_dim,
                                  const std::vector<int64_t>& capacities) {
  std::vector<int32_t> out(capacities.size(), 1);
  if (!cuda::flash_decode_supported(1, heads, kv_heads, head_dim)) return out;
  for (size_t i = 0; i < capacities.size(); ++i)
    out[i] = cuda::flash_decode_splits(ctx, 1, kv_heads, std::max<int64_t>(capacities[i], 1));
  return out;
}
}  // namespace

std::vector<int32_t> decode_split_counts(const DeviceContext& dev, int64_t heads, int64_t kv_heads,
                                         int64_t head_dim, const std::vector<int64_t>& capacities) {
  return split_counts(*detail::ctx_of(dev), heads, kv_heads, head_dim, capacities);
}

Tensor attention_decode_gather(const Tensor& q, const KvBatch& kv, int64_t capacity, float scale,
                               bool per_sequence_splits) {
  const detail::CtxPtr ctx =
      detail::cuda_ctx({&q, &kv.k_ptrs, &kv.v_ptrs, &kv.lens_dev}, "attention_decode_batch");
  cuda::FlashDecodeGather g;
  g.k_ptrs = kv.k_ptrs;
  g.v_ptrs = kv.v_ptrs;
  g.kv_lens = kv.lens_dev;
  g.Hkv = kv.k[0].dim(1);
  g.capacity = capacity;
  g.token_stride = kv.k[0].dim(1) * kv.k[0].dim(2);
  if (per_sequence_splits) {
    // The host's copy of the counts: decode_split_counts of the capacities (no read-back).
    std::vector<int64_t> caps;
    for (const Tensor& k : kv.k) caps.push_back(k.dim(0));
    int mx = std::max<int32_t>(kv.splits_max, 1);  // the table's own (the grid must cover it)
    if (kv.splits_max <= 0)
      for (int32_t s : split_counts(*ctx, q.dim(1), g.Hkv, q.dim(2), caps)) mx = std::max<int>(mx, s);
    g.seq_splits = kv.splits_dev;
    g.splits = mx;
  }
  Tensor out = detail::dev_uninit(q.shape(), DType::bf16, ctx);
  cuda::flash_decode_gather(*ctx, q, g, out, scale);
  return out;
}

}  // namespace mvl::ops::cuda_backend
