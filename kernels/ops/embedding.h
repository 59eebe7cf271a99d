// Embedding lookup: gathers rows of a table (f32 or bf16, e.g. embed_tokens [V, H]) into f32.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/core/tensor.h"

namespace mvl::ops {

// table: f32|bf16 [V, H] contiguous; ids: host ids, each in [0, V) (throws Error{invalid_argument}
// naming the first bad id). Returns f32 [ids.size(), H] on the table's device. No scaling.
Tensor embedding(const Tensor& table, const std::vector<int32_t>& ids);
// Same with ids i32 [n] on the table's device (e.g. the argmax of the previous step, so a
// decode step never waits for the host). Device ids are not range-checked on the host:
// out-of-range ids read row 0.
Tensor embedding(const Tensor& table, const Tensor& ids);
// Same two lookups with the output dtype chosen: f32, or bf16 (the bf16 activation path; a
// bf16 table on a GPU is gathered by the tuned kernel, exact; otherwise gathered in f32 then
// rounded).
Tensor embedding(const Tensor& table, const std::vector<int32_t>& ids, DType out);
Tensor embedding(const Tensor& table, const Tensor& ids, DType out);

}  // namespace mvl::ops
