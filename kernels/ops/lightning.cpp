// ops lightning attention: validation and dispatch (CPU reference forms; CUDA f32 generic
// recurrence; CUDA bf16 tuned prefill/decode for head dim 128, f32 detour for other dims).
#include "kernels/ops/lightning.h"

#include "kernels/core/error.h"
#include "kernels/cpu/lightning.h"

#include "kernels/ops/cuda_dispatch.h"
#include "kernels/ops/tensor_ops.h"
#ifdef MVL_HAVE_CUDA
#include "kernels/cuda/lightning.h"
#endif

namespace mvl::ops {

namespace {
// The checks both backends share: shapes, dtypes and layouts of q/k/v, slopes and state.
void check_lightning_args(const char* op, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& slopes,
                          const Tensor& state) {
  MVL_CHECK(q.ndim() == 3 && k.shape() == q.shape() && v.shape() == q.shape(), shape_mismatch,
            "{}: q, k, v must all be [n, heads, head_dim], got {}, {}, {}", op, q.str(), k.str(), v.str());
  for (const Tensor* t : {&q, &k, &v}) {
    MVL_CHECK((t->dtype() == DType::f32 || detail::bf16_dev(*t)) && t->dtype() == q.dtype() && t->strides()[2] == 1,
              unsupported, "{}: q/k/v must be f32 (or bf16 on a GPU) with a contiguous last dim, got {}", op,
              t->str());
  }
  const int64_t H = q.dim(1), d = q.dim(2);
  check_shape(slopes, {H}, std::string(op) + " slopes");
  check_dtype(slopes, DType::f32, std::string(op) + " slopes");
  check_shape(state, {H, d, d}, std::string(op) + " state");
  check_dtype(state, DType::f32, std::string(op) + " state");
  MVL_CHECK(slopes.is_contiguous() && state.is_contiguous(), unsupported, "{}: slopes and state must be contiguous",
            op);
}

cpu::LightningArgs validate(const char* op, const Tensor& q, const Tensor& k, const Tensor& v,
                            const Tensor& slopes, Tensor& state, Tensor& out) {
  check_lightning_args(op, q, k, v, slopes, state);
  const int64_t n = q.dim(0), H = q.dim(1), d = q.dim(2);
  MVL_CHECK(q.device().is_cpu() && k.device().is_cpu() && v.device().is_cpu() && slopes.device().is_cpu() &&
                state.device().is_cpu(), unsupported,
            "{}: device tensors go through the CUDA backend", op);
  MVL_CHECK(state.storage()->writable(), invalid_argument, "{}: the state tensor is read-only", op);
  out = Tensor::empty({n, H, d}, DType::f32);
  return cpu::LightningArgs{q.data<float>(),      q.strides()[0],   q.strides()[1], k.data<float>(),
                            k.strides()[0],       k.strides()[1],   v.data<float>(), v.strides()[0],
                            v.strides()[1],       slopes.data<float>(), state.data<float>(), out.data<float>(),
                            n,                    H,                d};
}
#ifdef MVL_HAVE_CUDA
// Whether the tuned head-dim-128 kernels take this [n, H, 128] view: token and head
// strides multiples of 8 elements, 16-byte aligned rows.
bool tuned_view(const Tensor& t) {
  return t.strides()[0] % 8 == 0 && t.strides()[1] % 8 == 0 && t.offset_bytes() % 16 == 0;
}
// The CUDA path runs the recurrence for every form (decode and prefill alike): the three
// forms are the same function, and the recurrence is the one the CPU decode uses.
bool cuda_lightning(const char* op, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& slopes,
                    Tensor& state, Tensor& out) {
  if (!detail::any_cuda({&q, &k, &v, &slopes, &state})) return false;
  check_lightning_args(op, q, k, v, slopes, state);
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
      cuda::lightning_recurrent_f32(*ctx, cast(q, DType::f32), cast(k, DType::f32), cast(v, DType::f32), slopes,
                                    state, o32);
      out = cast(o32, DType::bf16);
    }
    return true;
  }
  out = detail::dev_empty({n, H, d}, DType::f32, ctx);
  cuda::lightning_recurrent_f32(*ctx, q, k, v, slopes, state, out);
  return true;
}
#else
bool cuda_lightning(const char*, const Tensor&, const Tensor&, const Tensor&, const Tensor&, Tensor&, Tensor&) {
  return false;
}
#endif

}  // namespace

Tensor lightning_quadratic(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& slopes,
                           Tensor& state) {
  Tensor out;
  cpu::lightning_quadratic(validate("lightning_quadratic", q, k, v, slopes, state, out));
  return out;
}

Tensor lightning_recurrent(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& slopes,
                           Tensor& state) {
  Tensor out;
  if (cuda_lightning("lightning_recurrent", q, k, v, slopes, state, out)) return out;
  cpu::lightning_recurrent(validate("lightning_recurrent", q, k, v, slopes, state, out));
  return out;
}

Tensor lightning_blockwise(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& slopes,
                           Tensor& state, int64_t block_size) {
  MVL_CHECK(block_size > 0, invalid_argument, "lightning_blockwise: block size must be positive, got {}",
            block_size);
  Tensor out;
  if (cuda_lightning("lightning_blockwise", q, k, v, slopes, state, out)) return out;
  cpu::lightning_blockwise(validate("lightning_blockwise", q, k, v, slopes, state, out), block_size);
  return out;
}

}  // namespace mvl::ops
