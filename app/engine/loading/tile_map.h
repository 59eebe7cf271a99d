// The tile map: the anyres grid the vision tower will see for an image, computed from the
// image size and the checkpoint's processor settings before anything is encoded: the chosen
// resolution and tile grid, where the resized image sits on the canvas, the unpadded feature
// window and the image-token count, optionally under a per-image token budget
// (--max-image-tokens, which departs from the released preprocessing: docs/tile-map.md).
// The desktop draws it; the CLI prints format_tile_map (preprocess --map, ask -v).
#pragma once

#include <cstdint>
#include <string>

namespace mvl::vision {
struct PreprocessConfig;
}

namespace mvl::engine {

struct TileMap {
  int64_t width = 0, height = 0;                // the image, pixels
  int64_t canvas_width = 0, canvas_height = 0;  // the chosen anyres resolution
  int64_t tile_size = 0, grid_rows = 0, grid_cols = 0;
  int64_t placed_x = 0, placed_y = 0;  // the keep-ratio resized image on the canvas
  int64_t placed_width = 0, placed_height = 0;
  int64_t feature_side = 0;                     // features per tile side (24)
  int64_t unpad_row_begin = 0, unpad_rows = 0;  // the unpadded window on the feature grid
  int64_t unpad_col_begin = 0, unpad_cols = 0;
  int64_t thumbnail_tokens = 0;       // feature_side^2
  int64_t image_tokens = 0;           // thumbnail + unpad_rows * (unpad_cols + 1)
  int64_t max_image_tokens = 0;       // the budget asked for (0: none)
  int64_t released_image_tokens = 0;  // without the budget
  int64_t released_grid_rows = 0, released_grid_cols = 0;
  bool budget_applied() const {
    return grid_rows != released_grid_rows || grid_cols != released_grid_cols;
  }
  bool over_budget() const { return max_image_tokens > 0 && image_tokens > max_image_tokens; }
  int64_t tiles() const { return 1 + grid_rows * grid_cols; }
};

// Throws Error{invalid_argument} for an empty size or an invalid config.
TileMap compute_tile_map(int64_t width, int64_t height, const vision::PreprocessConfig& cfg,
                         int64_t max_image_tokens);

// The map as text: a summary line, the grid drawn in characters ('#' unpadded image
// features, '.' padding the model drops), and the token sum. `name` labels the image;
// context_left >= 0 adds how much of the context the tokens take.
std::string format_tile_map(const TileMap& m, const std::string& name, int64_t context_left = -1);

}  // namespace mvl::engine
