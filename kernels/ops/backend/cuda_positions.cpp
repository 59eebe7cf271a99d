// The CUDA branch of ops position primitives (positions.h) and of ops::fill_uniform_ (random.h):
// small in-place device kernels that keep a decode step free of host syncs.
#include "kernels/cuda/positions.h"
#include "kernels/cuda/random.h"
#include "kernels/ops/backend/cuda_backend.h"
#include "kernels/ops/backend/cuda_context.h"

namespace mvl::ops::cuda_backend {

Tensor positions_from(const Tensor& pos, int64_t n) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&pos}, "positions_from");
  Tensor out = detail::dev_empty({n}, DType::i32, ctx);
  cuda::positions_from(*ctx, pos, out);
  return out;
}

void add_scalar(const Tensor& t, int32_t v) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&t}, "add_scalar_");
  cuda::add_scalar_i32(*ctx, t, v);
}

void write_rows_at(const Tensor& dst, const Tensor& src, const Tensor& pos) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&dst, &src, &pos}, "write_rows_at");
  cuda::write_rows_at(*ctx, dst, detail::dev_contiguous(src, ctx), pos);
}

void fill_uniform(const Tensor& t, uint64_t seed, float lo, float hi) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&t}, "fill_uniform_");
  cuda::fill_uniform_counter(*ctx, t, seed, lo, hi);
}

}  // namespace mvl::ops::cuda_backend
