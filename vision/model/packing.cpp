// Packing (see packing.h).
#include "vision/model/packing.h"

#include "kernels/core/error.h"
#include "kernels/ops/embedding.h"
#include "kernels/ops/tensor_ops.h"

namespace mvl::vision {

std::vector<int32_t> packing_indices(const AnyresLayout& layout) {
  const int64_t side = layout.feature_side, per_tile = side * side;
  const int64_t T = layout.num_tiles();
  MVL_CHECK(T * per_tile + 1 < (int64_t{1} << 31), invalid_argument, "image has too many features to pack");
  const int32_t newline = static_cast<int32_t>(T * per_tile);
  std::vector<int32_t> idx;
  idx.reserve(static_cast<size_t>(layout.image_tokens()));
  for (int64_t i = 0; i < per_tile; ++i) idx.push_back(static_cast<int32_t>(i));  // base tile, no newline
  const UnpadWindow& u = layout.unpad;
  for (int64_t r = u.row_begin; r < u.row_begin + u.rows; ++r) {
    for (int64_t c = u.col_begin; c < u.col_begin + u.cols; ++c) {
      // Feature-map cell (r, c) lives in grid tile (r / side, c / side) at (r % side, c % side).
      const int64_t tile = 1 + (r / side) * layout.grid_cols + (c / side);
      idx.push_back(static_cast<int32_t>(tile * per_tile + (r % side) * side + (c % side)));
    }
    idx.push_back(newline);
  }
  MVL_ASSERT(static_cast<int64_t>(idx.size()) == layout.image_tokens());
  return idx;
}

Tensor pack_image_features(const Tensor& projected, const Tensor& image_newline, const AnyresLayout& layout) {
  const int64_t per_tile = layout.feature_side * layout.feature_side, T = layout.num_tiles();
  MVL_CHECK(projected.numel() > 0 && projected.dim(-1) > 0, shape_mismatch, "packing: empty features {}", projected.str());
  const int64_t H = projected.dim(-1);
  MVL_CHECK(projected.numel() == T * per_tile * H, shape_mismatch,
            "packing: features {} do not hold {} tiles x {} tokens x {} (grid {}x{} + thumbnail)", projected.str(), T,
            per_tile, H, layout.grid_rows, layout.grid_cols);
  MVL_CHECK(image_newline.ndim() == 1 && image_newline.dim(0) == H, shape_mismatch,
            "packing: image_newline {} does not match hidden size {}", image_newline.str(), H);
  const Tensor rows = (projected.is_contiguous() ? projected : ops::clone(projected)).view({T * per_tile, H});
  // The rows keep their dtype (f32, or bf16 for a bf16 text model); the newline joins them in it.
  const DType dt = rows.dtype();
  const Tensor nl = image_newline.dtype() == dt ? image_newline : ops::cast(image_newline, dt);
  const Tensor table = ops::concat_rows({rows, nl.view({1, H})});
  return ops::embedding(table, packing_indices(layout), dt);
}

}  // namespace mvl::vision
