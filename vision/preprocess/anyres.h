// Anyres geometry of the reference image processor (spec §3.3-§3.5, §3.10, §3.11, §5.2):
// best-resolution choice over the pinpoints, the keep-ratio placement on the canvas, the
// unpadded feature grid, the image-token count and the <image> placeholder expansion.
// Pure integer/double arithmetic, no pixels; the exact rounding of the Python reference is
// reproduced (one double division, one double multiply, truncation; integer floors elsewhere).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vision/config/vision_config.h"

namespace mvl::vision {

// Picks (W*, H*) among `pinpoints` (read as (width, height), file order) for an image of
// w x h pixels: most effective pixels, then least waste; the first candidate wins a tie.
// Throws Error{invalid_argument} for w or h < 1 or an empty/invalid pinpoint list.
Pinpoint select_best_resolution(int64_t w, int64_t h, const std::vector<Pinpoint>& pinpoints);

// Where the keep-ratio resized image lands on the W x H black canvas (spec §3.4).
struct CanvasPlacement {
  int64_t new_width = 0, new_height = 0;  // size of the resized image
  int64_t x0 = 0, y0 = 0;                 // its top-left corner on the canvas
};
CanvasPlacement keep_ratio_placement(int64_t w, int64_t h, int64_t canvas_w, int64_t canvas_h);

// The part of the (grid_h x grid_w) feature map that survives unpadding (spec §5.2): rows
// [row_begin, row_begin + rows) and columns [col_begin, col_begin + cols), integer floors.
struct UnpadWindow {
  int64_t row_begin = 0, rows = 0;
  int64_t col_begin = 0, cols = 0;
};
UnpadWindow unpad_window(int64_t w, int64_t h, int64_t grid_w, int64_t grid_h);

// Everything the token count and the packing need to know about one image.
struct AnyresLayout {
  int64_t width = 0, height = 0;   // original image
  Pinpoint best_resolution;        // (W*, H*)
  int64_t grid_rows = 0;           // H* / tile
  int64_t grid_cols = 0;           // W* / tile
  int64_t feature_side = 0;        // tile / patch (24): features per tile side
  UnpadWindow unpad;               // on the (grid_rows*side) x (grid_cols*side) feature map
  int64_t num_tiles() const { return 1 + grid_rows * grid_cols; }  // thumbnail included
  // side^2 (base tile) + rows * (cols + 1) (unpadded grid with one newline per row)
  int64_t image_tokens() const {
    return feature_side * feature_side + unpad.rows * (unpad.cols + 1);
  }
};
// Validates the config and the size, then computes the layout. Throws Error naming the
// problem (e.g. a pinpoint that is not a multiple of the tile size).
AnyresLayout anyres_layout(int64_t w, int64_t h, const PreprocessConfig& cfg);

// The per-image token budget (--max-image-tokens), an extension: the released processor has
// none. Returns the pinpoints of `cfg` whose layout for a w x h image needs at most
// `max_image_tokens` image tokens, in file order, so select_best_resolution among them picks
// the best grid within the budget. Every pinpoint is kept when max_image_tokens <= 0 or when
// the released choice already fits (the released behaviour, bit for bit). When none fits,
// the single pinpoint needing the fewest tokens (first in file order on a tie).
std::vector<Pinpoint> pinpoints_within_budget(int64_t w, int64_t h, const PreprocessConfig& cfg,
                                              int64_t max_image_tokens);

// Replaces the k-th occurrence of `placeholder` in `text` by counts[k] copies of it.
// Throws Error{invalid_argument} unless the text holds exactly counts.size() placeholders
// (the reference silently keeps extra ones; a runtime must not, spec §3.11).
std::string expand_image_placeholders(const std::string& text, const std::vector<int64_t>& counts,
                                      const std::string& placeholder = "<image>");

}  // namespace mvl::vision
