// Packing one image's projected tiles into its token sequence (spec §5.2): base tile first,
// grid tiles reassembled into one feature map, unpadded with integer floors, image_newline
// appended to every kept row. The geometry is a row-index table; the data movement is one
// ops::embedding gather, so it runs wherever the ops do.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/core/tensor.h"
#include "vision/preprocess/anyres.h"

namespace mvl::vision {

// Row indices into [tile rows (T*side*side) ; newline row] giving the packed order; the
// newline row has index T*side*side. Length == layout.image_tokens().
std::vector<int32_t> packing_indices(const AnyresLayout& layout);

// projected: f32|bf16 [T, side*side, H] or [T*side*side, H] (T = layout.num_tiles());
// image_newline: f32|bf16 [H]. Returns [layout.image_tokens(), H] in projected's dtype.
Tensor pack_image_features(const Tensor& projected, const Tensor& image_newline, const AnyresLayout& layout);

}  // namespace mvl::vision
