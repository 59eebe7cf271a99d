// ops position primitives: validation, then cpu:: or the CUDA backend (backend/cuda_positions.cpp).
#include "kernels/ops/positions.h"

#include "kernels/core/error.h"
#include "kernels/cpu/positions.h"
#include "kernels/ops/backend/cuda_backend.h"
#include "kernels/ops/cuda_dispatch.h"

namespace mvl::ops {

namespace {

void check_pos(const Tensor& pos, const char* op) {
  MVL_CHECK(pos.defined() && pos.dtype() == DType::i32 && pos.numel() == 1 && pos.ndim() <= 1,
            shape_mismatch, "{}: pos must be an i32 [1] tensor, got {}", op,
            pos.defined() ? pos.str() : "an undefined tensor");
}

void require_cpu(const Tensor& t, const char* op) {
  MVL_CHECK(t.device().is_cpu(), unsupported,
            "{}: device tensors go through the CUDA backend (got {})", op, t.str());
}

}  // namespace

Tensor positions_from(const Tensor& pos, int64_t n) {
  check_pos(pos, "positions_from");
  MVL_CHECK(n >= 0, invalid_argument, "positions_from: n must be >= 0, got {}", n);
  if (detail::any_cuda({&pos})) return cuda_backend::positions_from(pos, n);
  require_cpu(pos, "positions_from");
  Tensor out = Tensor::empty({n}, DType::i32);
  cpu::positions_from(*static_cast<const int32_t*>(pos.data()), n, out.data<int32_t>());
  return out;
}

void add_scalar_(const Tensor& t, int32_t v) {
  MVL_CHECK(t.defined() && t.dtype() == DType::i32 && t.ndim() == 1 && t.is_contiguous(),
            shape_mismatch, "add_scalar_: expected a contiguous i32 [m], got {}",
            t.defined() ? t.str() : "an undefined tensor");
  if (detail::any_cuda({&t})) return cuda_backend::add_scalar(t, v);
  require_cpu(t, "add_scalar_");
  MVL_CHECK(t.storage()->writable(), invalid_argument, "add_scalar_: {} is read-only", t.str());
  cpu::add_scalar(static_cast<int32_t*>(t.data()), t.numel(), v);
}

void write_rows_at(const Tensor& dst, const Tensor& src, const Tensor& pos) {
  check_pos(pos, "write_rows_at");
  MVL_CHECK(dst.defined() && src.defined() && dst.ndim() >= 1 && src.ndim() == dst.ndim(),
            shape_mismatch,
            "write_rows_at: dst and src must have the same rank >= 1, got {} and {}",
            dst.defined() ? dst.str() : "undefined", src.defined() ? src.str() : "undefined");
  for (int64_t d = 1; d < dst.ndim(); ++d)
    MVL_CHECK(dst.dim(d) == src.dim(d), shape_mismatch, "write_rows_at: rows of {} and {} differ",
              dst.str(), src.str());
  MVL_CHECK(dst.dtype() == src.dtype(), shape_mismatch, "write_rows_at: dtypes differ: {} vs {}",
            dst.str(), src.str());
  const size_t es = dtype_size(dst.dtype());
  MVL_CHECK(es == 2 || es == 4, unsupported,
            "write_rows_at: dtype of 2 or 4 bytes expected, got {}", dst.str());
  MVL_CHECK(dst.is_contiguous(), unsupported, "write_rows_at: dst {} must be contiguous",
            dst.str());
  MVL_CHECK(src.dim(0) <= dst.dim(0), invalid_argument,
            "write_rows_at: {} rows do not fit a capacity of {} ({})", src.dim(0), dst.dim(0),
            dst.str());
  if (detail::any_cuda({&dst, &src, &pos})) return cuda_backend::write_rows_at(dst, src, pos);
  require_cpu(dst, "write_rows_at");
  require_cpu(src, "write_rows_at");
  require_cpu(pos, "write_rows_at");
  MVL_CHECK(dst.storage()->writable(), invalid_argument, "write_rows_at: {} is read-only",
            dst.str());
  const Tensor s = contiguous(src);
  const int64_t row_bytes = dst.dim(0) > 0 ? static_cast<int64_t>(dst.nbytes()) / dst.dim(0) : 0;
  cpu::write_rows_at(dst.data(), dst.dim(0), s.data(), s.dim(0), row_bytes,
                     *static_cast<const int32_t*>(pos.data()));
}

}  // namespace mvl::ops
