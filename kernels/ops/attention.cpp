// ops::attention: validation and dispatch.
#include "kernels/ops/attention.h"

#include "kernels/core/error.h"
#include "kernels/cpu/attention.h"

#include "kernels/ops/cuda_dispatch.h"

namespace mvl::ops {

Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, float scale, bool causal,
                 int64_t q_offset) {
  MVL_CHECK(q.ndim() == 3 && k.ndim() == 3 && v.ndim() == 3, shape_mismatch,
            "attention: q, k, v must be 3-D [n, heads, d], got {}, {}, {}", q.str(), k.str(), v.str());
  MVL_CHECK(k.shape() == v.shape(), shape_mismatch, "attention: k {} and v {} differ", k.str(), v.str());
  MVL_CHECK(q.dim(2) == k.dim(2), shape_mismatch, "attention: head dims differ: q {}, k {}", q.str(), k.str());
  MVL_CHECK(k.dim(1) > 0 && q.dim(1) % k.dim(1) == 0, shape_mismatch,
            "attention: {} query heads are not a multiple of {} kv heads", q.dim(1), k.dim(1));
  for (const Tensor* t : {&q, &k, &v}) {
    MVL_CHECK(t->dtype() == DType::f32, unsupported, "attention: expected f32, got {}", t->str());
    MVL_CHECK(t->strides()[2] == 1, unsupported, "attention: last dim must be contiguous ({})", t->str());
  }
  MVL_CHECK(q_offset >= 0, invalid_argument, "attention: negative q_offset {}", q_offset);
#ifdef MVL_HAVE_CUDA
  if (detail::any_cuda({&q, &k, &v})) {
    const detail::CtxPtr ctx = detail::cuda_ctx({&q, &k, &v}, "attention");
    Tensor o = detail::dev_empty({q.dim(0), q.dim(1), q.dim(2)}, DType::f32, ctx);
    cuda::attention_f32(*ctx, q, k, v, scale, causal, q_offset, o);
    return o;
  }
#endif
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

}  // namespace mvl::ops
