// ops::embedding: validation and dispatch.
#include "kernels/ops/embedding.h"

#include <algorithm>

#include "kernels/core/error.h"
#include "kernels/cpu/embedding.h"
#include "kernels/ops/cuda_dispatch.h"
#include "kernels/ops/tensor_ops.h"
#ifdef MVL_HAVE_CUDA
#include "kernels/cuda/embedding.h"
#include "kernels/cuda/storage.h"
#endif

namespace mvl::ops {

Tensor embedding(const Tensor& table, const std::vector<int32_t>& ids) {
  MVL_CHECK(table.ndim() == 2 && table.is_contiguous(), shape_mismatch,
            "embedding: table must be a contiguous [vocab, hidden] matrix, got {}", table.str());
  MVL_CHECK(table.dtype() == DType::f32 || table.dtype() == DType::bf16 || table.dtype() == DType::f16,
            unsupported, "embedding: table dtype must be f32, bf16 or f16, got {}", table.str());
  const int64_t vocab = table.dim(0);
  for (size_t i = 0; i < ids.size(); ++i)
    MVL_CHECK(ids[i] >= 0 && ids[i] < vocab, invalid_argument,
              "token id {} at position {} is outside the vocabulary [0, {})", ids[i], i, vocab);
#ifdef MVL_HAVE_CUDA
  if (detail::any_cuda({&table})) {
    const detail::CtxPtr ctx = detail::cuda_ctx({&table}, "embedding");
    Tensor host_ids = Tensor::empty({static_cast<int64_t>(ids.size())}, DType::i32);
    std::copy(ids.begin(), ids.end(), host_ids.data<int32_t>());
    Tensor dev_ids = detail::dev_empty(host_ids.shape(), DType::i32, ctx);
    if (!ids.empty()) cuda::copy(host_ids, dev_ids, *ctx);
    return embedding(table, dev_ids);
  }
#endif
  MVL_CHECK(table.device().is_cpu(), unsupported, "embedding: device tensors go through the CUDA backend");
  Tensor out = Tensor::empty({static_cast<int64_t>(ids.size()), table.dim(1)}, DType::f32);
  cpu::embedding(table.data(), table.dtype(), table.dim(1), ids.data(), static_cast<int64_t>(ids.size()),
                 out.data<float>());
  return out;
}

Tensor embedding(const Tensor& table, const Tensor& ids) {
  MVL_CHECK(table.ndim() == 2 && table.is_contiguous(), shape_mismatch,
            "embedding: table must be a contiguous [vocab, hidden] matrix, got {}", table.str());
  MVL_CHECK(ids.ndim() == 1 && ids.dtype() == DType::i32, shape_mismatch, "embedding: ids must be i32 [n], got {}",
            ids.str());
#ifdef MVL_HAVE_CUDA
  if (detail::any_cuda({&table, &ids})) {
    MVL_CHECK(table.dtype() == DType::f32 || table.dtype() == DType::bf16, unsupported,
              "embedding: device table must be f32 or bf16, got {}", table.str());
    const detail::CtxPtr ctx = detail::cuda_ctx({&table, &ids}, "embedding");
    Tensor out = detail::dev_empty({ids.dim(0), table.dim(1)}, DType::f32, ctx);
    cuda::embedding_f32(*ctx, table, detail::dev_contiguous(ids, ctx), out);
    return out;
  }
#endif
  const Tensor c = contiguous(ids);
  return embedding(table, std::vector<int32_t>(c.data<int32_t>(), c.data<int32_t>() + c.numel()));
}

Tensor embedding(const Tensor& table, const std::vector<int32_t>& ids, DType out) {
  MVL_CHECK(out == DType::f32 || out == DType::bf16, unsupported, "embedding: output dtype must be f32 or bf16");
#ifdef MVL_HAVE_CUDA
  if (out == DType::bf16 && detail::any_cuda({&table})) {
    MVL_CHECK(table.ndim() == 2, shape_mismatch, "embedding: table must be [vocab, hidden], got {}", table.str());
    const int64_t vocab = table.dim(0);
    for (size_t i = 0; i < ids.size(); ++i)
      MVL_CHECK(ids[i] >= 0 && ids[i] < vocab, invalid_argument,
                "token id {} at position {} is outside the vocabulary [0, {})", ids[i], i, vocab);
    const detail::CtxPtr ctx = detail::cuda_ctx({&table}, "embedding");
    Tensor host_ids = Tensor::empty({static_cast<int64_t>(ids.size())}, DType::i32);
    std::copy(ids.begin(), ids.end(), host_ids.data<int32_t>());
    Tensor dev_ids = detail::dev_empty(host_ids.shape(), DType::i32, ctx);
    if (!ids.empty()) cuda::copy(host_ids, dev_ids, *ctx);
    return embedding(table, dev_ids, out);
  }
#endif
  const Tensor e = embedding(table, ids);
  return out == DType::f32 ? e : cast(e, out);
}

Tensor embedding(const Tensor& table, const Tensor& ids, DType out) {
  MVL_CHECK(out == DType::f32 || out == DType::bf16, unsupported, "embedding: output dtype must be f32 or bf16");
#ifdef MVL_HAVE_CUDA
  if (out == DType::bf16 && table.dtype() == DType::bf16 && table.ndim() == 2 && table.is_contiguous() &&
      table.dim(1) % 8 == 0 && ids.ndim() == 1 && ids.dtype() == DType::i32 && detail::any_cuda({&table, &ids})) {
    const detail::CtxPtr ctx = detail::cuda_ctx({&table, &ids}, "embedding");
    Tensor y = detail::dev_uninit({ids.dim(0), table.dim(1)}, DType::bf16, ctx);
    cuda::embedding(*ctx, table, detail::dev_contiguous(ids, ctx), y);
    return y;
  }
#endif
  const Tensor e = embedding(table, ids);
  return out == DType::f32 ? e : cast(e, out);
}

}  // namespace mvl::ops
