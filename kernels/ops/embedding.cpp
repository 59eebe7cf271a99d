// ops::embedding: validation and dispatch.
#include "kernels/ops/embedding.h"

#include "kernels/core/error.h"
#include "kernels/cpu/embedding.h"
#include "kernels/ops/backend/cuda_backend.h"
#include "kernels/ops/cuda_dispatch.h"
#include "kernels/ops/tensor_ops.h"

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
  if (detail::any_cuda({&table})) return embedding(table, cuda_backend::ids_to_device(table, ids));
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
  if (detail::any_cuda({&table, &ids})) return cuda_backend::embedding_f32(table, ids);
  const Tensor c = contiguous(ids);
  return embedding(table, std::vector<int32_t>(c.data<int32_t>(), c.data<int32_t>() + c.numel()));
}

Tensor embedding(const Tensor& table, const std::vector<int32_t>& ids, DType out) {
  MVL_CHECK(out == DType::f32 || out == DType::bf16, unsupported, "embedding: output dtype must be f32 or bf16");
  if (out == DType::bf16 && detail::any_cuda({&table})) {
    MVL_CHECK(table.ndim() == 2, shape_mismatch, "embedding: table must be [vocab, hidden], got {}", table.str());
    const int64_t vocab = table.dim(0);
    for (size_t i = 0; i < ids.size(); ++i)
      MVL_CHECK(ids[i] >= 0 && ids[i] < vocab, invalid_argument,
                "token id {} at position {} is outside the vocabulary [0, {})", ids[i], i, vocab);
    return embedding(table, cuda_backend::ids_to_device(table, ids), out);
  }
  const Tensor e = embedding(table, ids);
  return out == DType::f32 ? e : cast(e, out);
}

Tensor embedding(const Tensor& table, const Tensor& ids, DType out) {
  MVL_CHECK(out == DType::f32 || out == DType::bf16, unsupported, "embedding: output dtype must be f32 or bf16");
  if (out == DType::bf16 && table.dtype() == DType::bf16 && table.ndim() == 2 && table.is_contiguous() &&
      table.dim(1) % 8 == 0 && ids.ndim() == 1 && ids.dtype() == DType::i32 && detail::any_cuda({&table, &ids}))
    return cuda_backend::embedding_bf16(table, ids);
  const Tensor e = embedding(table, ids);
  return out == DType::f32 ? e : cast(e, out);
}

}  // namespace mvl::ops
