// ops::attention: validation and dispatch (CPU reference, CUDA f32 generic kernel, CUDA bf16
// flash attention for head dims 64/128 with an f32 detour for the others).
#include "kernels/ops/attention.h"

#include "kernels/core/error.h"
#include "kernels/cpu/attention.h"
#include "kernels/ops/backend/cuda_backend.h"
#include "kernels/ops/cuda_dispatch.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl::ops {

namespace {

// One sequence: q [n_q, H, d], k/v [n_k, Hkv, d] f32 (CPU or CUDA generic kernel).
Tensor attention_f32_3d(const Tensor& q, const Tensor& k, const Tensor& v, float scale, bool causal,
                        int64_t q_offset) {
  if (detail::any_cuda({&q, &k, &v})) return cuda_backend::attention_f32(q, k, v, scale, causal, q_offset);
  for (const Tensor* t : {&q, &k, &v})
    MVL_CHECK(t->device().is_cpu(), unsupported, "attention: device tensors go through the CUDA backend");
  Tensor out = Tensor::empty({q.dim(0), q.dim(1), q.dim(2)}, DType::f32);
  cpu::AttentionArgs a{q.data<float>(), q.strides()[0], q.strides()[1],
                       k.data<float>(), k.strides()[0], k.strides()[1],
                       v.data<float>(), v.strides()[0], v.strides()[1],
                       out.data<float>(), q.dim(0), k.dim(0), q.dim(1), k.dim(1), q.dim(2),
                       scale, causal, q_offset};
  cpu::attention(a);
  return out;
}

}  // namespace

Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, float scale, bool causal,
                 int64_t q_offset) {
  const int nd = q.ndim();
  MVL_CHECK((nd == 3 || nd == 4) && k.ndim() == nd && v.ndim() == nd, shape_mismatch,
            "attention: q, k, v must be [n, heads, d] or [batch, n, heads, d], got {}, {}, {}", q.str(), k.str(),
            v.str());
  MVL_CHECK(k.shape() == v.shape(), shape_mismatch, "attention: k {} and v {} differ", k.str(), v.str());
  MVL_CHECK(q.dim(-1) == k.dim(-1), shape_mismatch, "attention: head dims differ: q {}, k {}", q.str(), k.str());
  MVL_CHECK(nd == 3 || q.dim(0) == k.dim(0), shape_mismatch, "attention: batch sizes differ: q {}, k {}", q.str(),
            k.str());
  MVL_CHECK(k.dim(-2) > 0 && q.dim(-2) % k.dim(-2) == 0, shape_mismatch,
            "attention: {} query heads are not a multiple of {} kv heads", q.dim(-2), k.dim(-2));
  const bool bf16 = q.dtype() == DType::bf16;
  for (const Tensor* t : {&q, &k, &v}) {
    MVL_CHECK(t->dtype() == DType::f32 || (bf16 && t->dtype() == DType::bf16 && t->device().is_cuda()), unsupported,
              "attention: expected f32 (or bf16 on a GPU) for q, k and v alike, got {}", t->str());
    MVL_CHECK(t->dtype() == q.dtype(), unsupported, "attention: q {} and {} differ in dtype", q.str(), t->str());
    MVL_CHECK(t->strides()[nd - 1] == 1, unsupported, "attention: last dim must be contiguous ({})", t->str());
  }
  MVL_CHECK(q_offset >= 0, invalid_argument, "attention: negative q_offset {}", q_offset);
  if (bf16) return cuda_backend::attention_bf16(q, k, v, scale, causal, q_offset);
  if (nd == 3) return attention_f32_3d(q, k, v, scale, causal, q_offset);
  // Batched f32: one sequence at a time, stacked.
  std::vector<Tensor> outs;
  for (int64_t b = 0; b < q.dim(0); ++b)
    outs.push_back(attention_f32_3d(q.select(0, b), k.select(0, b), v.select(0, b), scale, causal, q_offset)
                       .unsqueeze(0));
  if (outs.empty()) return q.device().is_cpu() ? Tensor::empty(q.shape(), DType::f32) : clone(q);
  return concat_rows(outs);
}

Tensor attention_cached(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, float scale,
                        const Tensor& kv_len) {
  MVL_CHECK(q.ndim() == 3 && k_cache.ndim() == 3 && k_cache.shape() == v_cache.shape(), shape_mismatch,
            "attention_cached: q must be [n, heads, d] and the caches equal [capacity, kv_heads, d], got {}, {}, {}",
            q.str(), k_cache.str(), v_cache.str());
  MVL_CHECK(kv_len.dtype() == DType::i32 && kv_len.numel() == 1, shape_mismatch,
            "attention_cached: kv_len must be i32 [1], got {}", kv_len.str());
  MVL_CHECK(kv_len.device() == q.device(), invalid_argument, "attention_cached: kv_len on {} but q on {}",
            kv_len.device().str(), q.device().str());
  MVL_CHECK(q.dim(0) <= k_cache.dim(0), invalid_argument, "attention_cached: {} queries exceed the cache capacity {}",
            q.dim(0), k_cache.dim(0));
  if (q.device().is_cuda()) return cuda_backend::attention_cached(q, k_cache, v_cache, scale, kv_len);
  const int64_t len = kv_len.data<int32_t>()[0];
  MVL_CHECK(len >= q.dim(0) && len <= k_cache.dim(0), invalid_argument,
            "attention_cached: kv_len {} must be in [{}, {}]", len, q.dim(0), k_cache.dim(0));
  return attention(q, k_cache.slice(0, 0, len), v_cache.slice(0, 0, len), scale, /*causal=*/true, len - q.dim(0));
}

}  // namespace mvl::ops
