// The CUDA branch of ops::embedding (embedding.h): host token ids uploaded to the table's
// device, the generic f32 gather, and the bf16 gather for bf16 tables.
#include <algorithm>

#include "kernels/core/error.h"
#include "kernels/cuda/embedding.h"
#include "kernels/cuda/storage.h"
#include "kernels/ops/backend/cuda_backend.h"
#include "kernels/ops/backend/cuda_context.h"

namespace mvl::ops::cuda_backend {

Tensor ids_to_device(const Tensor& table, const std::vector<int32_t>& ids) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&table}, "embedding");
  Tensor host_ids = Tensor::empty({static_cast<int64_t>(ids.size())}, DType::i32);
  std::copy(ids.begin(), ids.end(), host_ids.data<int32_t>());
  Tensor dev_ids = detail::dev_empty(host_ids.shape(), DType::i32, ctx);
  if (!ids.empty()) cuda::copy(host_ids, dev_ids, *ctx);
  return dev_ids;
}

Tensor embedding_f32(const Tensor& table, const Tensor& ids) {
  MVL_CHECK(table.dtype() == DType::f32 || table.dtype() == DType::bf16, unsupported,
            "embedding: device table must be f32 or bf16, got {}", table.str());
  const detail::CtxPtr ctx = detail::cuda_ctx({&table, &ids}, "embedding");
  Tensor out = detail::dev_empty({ids.dim(0), table.dim(1)}, DType::f32, ctx);
  cuda::embedding_f32(*ctx, table, detail::dev_contiguous(ids, ctx), out);
  return out;
}

Tensor embedding_bf16(const Tensor& table, const Tensor& ids) {
  const detail::CtxPtr ctx = detail::cuda_ctx({&table, &ids}, "embedding");
  Tensor y = detail::dev_uninit({ids.dim(0), table.dim(1)}, DType::bf16, ctx);
  cuda::embedding(*ctx, table, detail::dev_contiguous(ids, ctx), y);
  return y;
}

}  // namespace mvl::ops::cuda_backend
