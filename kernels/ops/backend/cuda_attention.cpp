// The CUDA branch of ops::attention and ops::attention_cached (attention.h): the generic f32
// kernel, and bf16 flash attention for head dims 64/128 with an f32 detour for the others.
#include "kernels/core/error.h"
#include "kernels/cuda/attention.h"
#include "kernels/ops/attention.h"
#include "kernels/ops/backend/cuda_backend.h"
#include "kernels/ops/backend/cuda_context.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl::ops::cuda_backend {

namespace {
// Whether the tuned flash kernel takes this view: head dim 64/128, 16-byte aligned rows,
// token/head/batch strides multiples of 8 elements.
bool flash_ok(const Tensor& t) {
  if (t.dim(-1) != 64 && t.dim(-1) != 128) return false;
  if (t.offset_bytes() % 16 != 0) return false;
  for (int i = 0; i + 1 < t.ndim(); ++i)
    if (t.strides()[i] % 8 != 0) return false;
  return true;
}
}  // namespace

Tensor attention_f32(const Tensor& q, const Tensor& k, const Tensor& v, float scale, bool causal,
                     int64_t q_offset) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&q, &k, &v}, "attention");
  Tensor o = detail::dev_empty({q.dim(0), q.dim(1), q.dim(2)}, DType::f32, ctx);
  cuda::attention_f32(*ctx, q, k, v, scale, causal, q_offset, o);
  return o;
}

Tensor attention_bf16(const Tensor& q, const Tensor& k, const Tensor& v, float scale, bool causal,
                      int64_t q_offset) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&q, &k, &v}, "attention");
  if (flash_ok(q) && flash_ok(k) && flash_ok(v)) {
    Tensor o = detail::dev_uninit(q.shape(), DType::bf16, ctx);
    cuda::flash_attention(*ctx, q, k, v, o, scale, causal, q_offset);
    return o;
  }
  // Other head dims (tiny configs): the generic f32 kernel between two conversions.
  return ops::cast(ops::attention(ops::cast(q, DType::f32), ops::cast(k, DType::f32), ops::cast(v, DType::f32),
                                  scale, causal, q_offset),
                   DType::bf16);
}

Tensor attention_cached(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, float scale,
                        const Tensor& kv_len) {
  // Same argument rules as attention(): check them on the whole cache.
  const detail::CtxPtr ctx = detail::cuda_ctx({&q, &k_cache, &v_cache, &kv_len}, "attention_cached");
  MVL_CHECK(q.dtype() == k_cache.dtype() && q.dtype() == v_cache.dtype() &&
                (q.dtype() == DType::f32 || q.dtype() == DType::bf16),
            unsupported, "attention_cached: q {} and the caches {} must share dtype f32 or bf16", q.str(),
            k_cache.str());
  MVL_CHECK(q.dim(2) == k_cache.dim(2) && q.dim(1) % k_cache.dim(1) == 0, shape_mismatch,
            "attention_cached: q {} does not match the cache {}", q.str(), k_cache.str());
  for (const Tensor* t : {&q, &k_cache, &v_cache})
    MVL_CHECK(t->strides()[2] == 1, unsupported, "attention_cached: last dim must be contiguous ({})", t->str());
  if (q.dtype() == DType::bf16 && flash_ok(q) && flash_ok(k_cache) && flash_ok(v_cache)) {
    Tensor o = detail::dev_uninit(q.shape(), DType::bf16, ctx);
    cuda::flash_attention(*ctx, q, k_cache, v_cache, o, scale, /*causal=*/true, 0, kv_len);
    return o;
  }
  if (q.dtype() == DType::bf16)  // other head dims: the generic f32 kernel between two conversions
    return ops::cast(ops::attention_cached(ops::cast(q, DType::f32), ops::cast(k_cache, DType::f32),
                                           ops::cast(v_cache, DType::f32), scale, kv_len),
                     DType::bf16);
  Tensor o = detail::dev_empty(q.shape(), DType::f32, ctx);
  cuda::attention_f32(*ctx, q, k_cache, v_cache, scale, /*causal=*/true, 0, o, kv_len);
  return o;
}

}  // namespace mvl::ops::cuda_backend
