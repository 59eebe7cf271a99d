// ops lightning attention: validation and dispatch (CPU reference forms; CUDA f32 generic
// recurrence; CUDA bf16 tuned prefill/decode for head dim 128, f32 detour for other dims).
#include "kernels/ops/lightning.h"

#include "kernels/core/error.h"
#include "kernels/cpu/lightning.h"
#include "kernels/ops/backend/cuda_backend.h"
#include "kernels/ops/cuda_dispatch.h"

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
// Device inputs: the shared checks, then the CUDA backend (it runs the recurrence for every form).
bool cuda_lightning(const char* op, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& slopes,
                    Tensor& state, Tensor& out) {
  if (!detail::any_cuda({&q, &k, &v, &slopes, &state})) return false;
  check_lightning_args(op, q, k, v, slopes, state);
  out = cuda_backend::lightning(op, q, k, v, slopes, state);
  return true;
}

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
