// ops batched decode (decode_batch.h): validation, the per-sequence loops, and the dispatch to
// the CUDA gather kernels (kernels/ops/backend/cuda_decode_batch.cpp).
#include "kernels/ops/decode_batch.h"

#include "kernels/core/error.h"
#include "kernels/ops/attention.h"
#include "kernels/ops/backend/cuda_backend.h"
#include "kernels/ops/cuda_dispatch.h"
#include "kernels/ops/lightning.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl::ops {

namespace {
Tensor row(const Tensor& t, int64_t b) { return t.slice(0, b, b + 1); }

// A bf16 [.., d = 128] GPU view with 16-byte aligned rows and strides in multiples of 8
// elements: what the gather kernels read.
bool tuned_view(const Tensor& t) {
  if (!detail::bf16_dev(t) || t.dim(-1) != 128 || t.strides().back() != 1 || t.offset_bytes() % 16 != 0)
    return false;
  for (int i = 0; i + 1 < t.ndim(); ++i)
    if (t.strides()[i] % 8 != 0) return false;
  return true;
}

void check_table(const Tensor& t, DType dtype, int64_t B, const char* op, const char* what) {
  MVL_CHECK(t.defined() && t.dtype() == dtype && t.numel() == B && t.is_contiguous() && t.device().is_cuda(),
            invalid_argument, "{}: {} must be {} [{}] on the GPU, got {}", op, what, dtype_name(dtype), B,
            t.defined() ? t.str() : std::string("nothing"));
}

void check_kv(const Tensor& x, const KvBatch& kv, const char* op) {
  const int64_t B = x.dim(0);
  MVL_CHECK(static_cast<int64_t>(kv.k.size()) == B && kv.v.size() == kv.k.size() &&
                kv.rows.size() == kv.k.size(),
            invalid_argument, "{}: {} rows for {} K caches, {} V caches, {} positions", op, B, kv.k.size(),
            kv.v.size(), kv.rows.size());
  for (int64_t b = 0; b < B; ++b) {
    const Tensor& k = kv.k[static_cast<size_t>(b)];
    const Tensor& v = kv.v[static_cast<size_t>(b)];
    MVL_CHECK(k.ndim() == 3 && v.shape() == k.shape() && k.dtype() == v.dtype() && k.is_contiguous() &&
                  v.is_contiguous() && k.device() == x.device() && v.device() == x.device(),
              shape_mismatch, "{}: sequence {}'s caches must be equal contiguous [capacity, kv_heads, d] "
              "tensors on {}, got {} and {}", op, b, x.device().str(), k.str(), v.str());
    const int64_t r = kv.rows[static_cast<size_t>(b)];
    MVL_CHECK(r >= 0 && r < k.dim(0), invalid_argument, "{}: sequence {}'s row {} is outside its cache of {} rows",
              op, b, r, k.dim(0));
  }
}
}  // namespace

Tensor lightning_decode_batch(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& slopes,
                              const std::vector<Tensor>& states, const Tensor& state_ptrs, int kernel) {
  constexpr const char* kOp = "lightning_decode_batch";
  MVL_CHECK(q.ndim() == 3 && k.shape() == q.shape() && v.shape() == q.shape() &&
                static_cast<int64_t>(states.size()) == q.dim(0),
            shape_mismatch, "{}: q, k, v must be [B, heads, d] with one state per row, got {}, {}, {} and {} states",
            kOp, q.str(), k.str(), v.str(), states.size());
  const int64_t B = q.dim(0), H = q.dim(1), d = q.dim(2);
  for (const Tensor& s : states) {
    check_shape(s, {H, d, d}, std::string(kOp) + " state");
    check_dtype(s, DType::f32, std::string(kOp) + " state");
    MVL_CHECK(s.is_contiguous() && s.device() == q.device(), invalid_argument,
              "{}: every state must be contiguous and on {}, got {}", kOp, q.device().str(), s.str());
  }
  if (tuned_view(q) && tuned_view(k) && tuned_view(v) && B > 0) {
    check_table(state_ptrs, DType::i64, B, kOp, "state_ptrs");
    return cuda_backend::lightning_decode_gather(q, k, v, slopes, state_ptrs, kernel);
  }
  std::vector<Tensor> outs;
  outs.reserve(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    Tensor st = states[static_cast<size_t>(b)];
    outs.push_back(lightning_recurrent(row(q, b), row(k, b), row(v, b), slopes, st));
  }
  if (B == 0) return q.device().is_cpu() ? Tensor::empty({0, H, d}, q.dtype()) : clone(q);
  return B == 1 ? outs[0] : concat_rows(outs);
}

void append_kv_batch(const Tensor& k, const Tensor& v, const KvBatch& kv) {
  constexpr const char* kOp = "append_kv_batch";
  MVL_CHECK(k.ndim() == 3 && v.shape() == k.shape() && v.dtype() == k.dtype(), shape_mismatch,
            "{}: k {} and v {} must be equal [B, kv_heads, d]", kOp, k.str(), v.str());
  check_kv(k, kv, kOp);
  const int64_t B = k.dim(0);
  for (int64_t b = 0; b < B; ++b)
    MVL_CHECK(kv.k[static_cast<size_t>(b)].dtype() == k.dtype() &&
                  kv.k[static_cast<size_t>(b)].dim(1) == k.dim(1) && kv.k[static_cast<size_t>(b)].dim(2) == k.dim(2),
              shape_mismatch, "{}: rows {} do not fit sequence {}'s cache {}", kOp, k.str(), b,
              kv.k[static_cast<size_t>(b)].str());
  if (B == 0) return;
  if (k.device().is_cuda() && k.strides()[2] == 1 && k.strides()[1] == k.dim(2) && v.strides()[2] == 1 &&
      v.strides()[1] == v.dim(2)) {
    check_table(kv.k_ptrs, DType::i64, B, kOp, "k_ptrs");
    check_table(kv.v_ptrs, DType::i64, B, kOp, "v_ptrs");
    check_table(kv.rows_dev, DType::i32, B, kOp, "rows_dev");
    cuda_backend::kv_append_gather(k, v, kv.k_ptrs, kv.v_ptrs, kv.rows_dev);
    return;
  }
  for (int64_t b = 0; b < B; ++b) {
    const int64_t r = kv.rows[static_cast<size_t>(b)];
    copy_into(kv.k[static_cast<size_t>(b)].slice(0, r, r + 1), row(k, b));
    copy_into(kv.v[static_cast<size_t>(b)].slice(0, r, r + 1), row(v, b));
  }
}

std::vector<int32_t> decode_split_counts(const DeviceContext& dev, int64_t heads, int64_t kv_heads,
                                         int64_t head_dim, DType dtype,
                                         const std::vector<int64_t>& capacities) {
  if (dev.is_cuda() && dtype == DType::bf16)
    return cuda_backend::decode_split_counts(dev, heads, kv_heads, head_dim, capacities);
  return std::vector<int32_t>(capacities.size(), 1);
}

Tensor attention_decode_batch(const Tensor& q, const KvBatch& kv, float scale, DecodeSplits splits) {
  constexpr const char* kOp = "attention_decode_batch";
  MVL_CHECK(q.ndim() == 3, shape_mismatch, "{}: q must be [B, heads, d], got {}", kOp, q.str());
  check_kv(q, kv, kOp);
  const int64_t B = q.dim(0);
  bool gather = B > 0 && tuned_view(q);
  for (int64_t b = 0; gather && b < B; ++b) {
    const Tensor& k = kv.k[static_cast<size_t>(b)];
    gather = tuned_view(k) && tuned_view(kv.v[static_cast<size_t>(b)]) && k.dim(2) == q.dim(2) &&
             k.dim(1) == kv.k[0].dim(1) && q.dim(1) % k.dim(1) == 0 && q.dim(1) / k.dim(1) <= 8;
  }
  if (gather) {
    check_table(kv.k_ptrs, DType::i64, B, kOp, "k_ptrs");
    check_table(kv.v_ptrs, DType::i64, B, kOp, "v_ptrs");
    check_table(kv.lens_dev, DType::i32, B, kOp, "lens_dev");
    if (splits == DecodeSplits::per_sequence) check_table(kv.splits_dev, DType::i32, B, kOp, "splits_dev");
    int64_t cap = 0;
    for (const Tensor& k : kv.k) cap = std::max(cap, k.dim(0));
    return cuda_backend::attention_decode_gather(q, kv, cap, scale, splits == DecodeSplits::per_sequence);
  }
  std::vector<Tensor> outs;
  outs.reserve(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    Tensor len;
    if (q.device().is_cuda()) {
      check_table(kv.lens_dev, DType::i32, B, kOp, "lens_dev");
      len = kv.lens_dev.slice(0, b, b + 1);
    } else {
      len = Tensor::empty({1}, DType::i32);
      len.data<int32_t>()[0] = static_cast<int32_t>(kv.rows[static_cast<size_t>(b)] + 1);
    }
    outs.push_back(attention_cached(row(q, b), kv.k[static_cast<size_t>(b)], kv.v[static_cast<size_t>(b)], scale, len));
  }
  if (B == 0) return q.device().is_cpu() ? Tensor::empty(q.shape(), q.dtype()) : clone(q);
  return B == 1 ? outs[0] : concat_rows(outs);
}

}  // namespace mvl::ops
