// The image half's processor for front ends that inspect it without a model (`preprocess`):
// decode one file and run the anyres processor with a checkpoint's settings (or the released
// ones), reporting what the vision tower would get. Keeps vision/ behind app/engine.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "app/engine/loading/tile_map.h"
#include "kernels/core/tensor.h"

namespace mvl::engine {

struct ImagePreprocessOptions {
  int64_t max_pixels = 0;           // 0: the decoder's default cap (default_max_image_pixels())
  bool exif_orientation = false;    // rotate/flip per EXIF (the reference does not)
  bool pillow13_pass_order = true;  // Pillow 13's resize pass order, else the classic one
  int64_t max_image_tokens = 0;     // --max-image-tokens (tile_map.h); 0 = released grid
};

struct ImagePreprocessReport {
  std::string format, mode;                // the file's format and its PIL mode
  int64_t width = 0, height = 0;           // original pixels
  int64_t best_width = 0, best_height = 0; // the chosen anyres resolution
  int64_t grid_rows = 0, grid_cols = 0, tiles = 0, image_tokens = 0;
  int64_t feature_side = 0;                // features per tile side
  int64_t unpad_rows = 0, unpad_cols = 0;  // the unpadded feature window
  int64_t tile_size = 0;
  Tensor pixel_values;                     // f32 [tiles, 3, tile, tile], tile 0 = the thumbnail
  // Wall time (ms) of each stage: file decode, then vision::PreprocessTimings' four.
  double decode_ms = 0, resize_ms = 0, tiles_ms = 0, normalize_ms = 0;
};

int64_t default_max_image_pixels();

class ImagePreprocessor {
 public:
  // model_dir "": the released processor settings; else DIR's config.json and
  // preprocessor_config.json. Throws Error (a load problem).
  static ImagePreprocessor open(const std::string& model_dir);
  // Throws Error naming the file for unreadable, corrupt or oversized images (bad input).
  ImagePreprocessReport run(const std::string& path, const ImagePreprocessOptions& opts) const;
  // The tile map of a width x height image under these settings (no pixels needed).
  TileMap tile_map(int64_t width, int64_t height, int64_t max_image_tokens) const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace mvl::engine
