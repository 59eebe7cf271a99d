// The CUDA branch of ops lightning attention (lightning.h): the generic f32 recurrence, and for
// bf16 the tuned head-dim-128 prefill/decode kernels with an f32 detour for other dims.
#include "kernels/cuda/lightning.h"
#include "kernels/ops/backend/cuda_backend.h"
#include "kernels/ops/backend/cuda_context.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl::ops::cuda_backend {

namespace {
// Whether the tuned head-dim-128 kernels take this [n, H, 128] view: token and head
// strides multiples of 8 elements, 16-byte aligned rows.
bool tuned_view(const Tensor& t) {
  return t.strides()[0] % 8 == 0 && t.strides()[1] % 8 == 0 && t.offset_bytes() % 16 == 0;
}
}  // namespace

// The CUDA path runs the recurrence for every form (decode and prefill alike): the three
// forms are the same function, and the recurrence is the one the CPU decode uses.
Tensor lightning(const char* op, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& slopes,
                 Tensor& state) {
  Tensor out;
  const int64_t n = q.dim(0), H = q.dim(1), d = q.dim(2);
  const detail::CtxPtr ctx = detail::cuda_ctx({&q, &k, &v, &slopes, &state}, op);
  if (q.dtype() == DType::bf16) {
    if (n == 0) {
      out = detail::dev_empty({0, H, d}, DType::bf16, ctx);
    } else if (d == 128 && tuned_view(q) && tuned_view(k) && tuned_view(v)) {
      // The tuned kernels (f32 state, bf16 q/k/v/o): one token = the decode step, more =
      // the blockwise prefill (block 256 inside the kernel; every form is the same function).
      out = detail::dev_uninit({n, H, d}, DType::bf16, ctx);
      const Tensor st = state.view({1, H, d, d});
      if (n == 1)
        cuda::lightning_decode(*ctx, q, k, v, slopes, st, out);
      else
        cuda::lightning_prefill(*ctx, q, k, v, slopes, st, out);
    } else {
      // Other head dims (tiny configs): the generic f32 recurrence between conversions.
      Tensor o32 = detail::dev_empty({n, H, d}, DType::f32, ctx);
      cuda::lightning_recurrent_f32(*ctx, ops::cast(q, DType::f32), ops::cast(k, DType::f32),
                                    ops::cast(v, DType::f32), slopes, state, o32);
      out = ops::cast(o32, DType::bf16);
    }
    return out;
  }
  out = detail::dev_empty({n, H, d}, DType::f32, ctx);
  cuda::lightning_recurrent_f32(*ctx, q, k, v, slopes, state, out);
  return out;
}

}  // namespace mvl::ops::cuda_backend
