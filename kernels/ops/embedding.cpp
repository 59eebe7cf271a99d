// ops::embedding: validation and dispatch.
#include "kernels/ops/embedding.h"

#include "kernels/core/error.h"
#include "kernels/cpu/embedding.h"

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
  MVL_CHECK(table.device().is_cpu(), unsupported, "embedding: device tensors go through the CUDA backend");
  Tensor out = Tensor::empty({static_cast<int64_t>(ids.size()), table.dim(1)}, DType::f32);
  cpu::embedding(table.data(), table.dtype(), table.dim(1), ids.data(), static_cast<int64_t>(ids.size()),
                 out.data<float>());
  return out;
}

}  // namespace mvl::ops
