// The anyres image processor of the reference (spec §3): thumbnail + keep-ratio resized,
// black-padded, row-major 336-px tiles, rescaled and CLIP-normalised in fp32.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/core/tensor.h"
#include "vision/config/vision_config.h"
#include "vision/image/image.h"
#include "vision/preprocess/anyres.h"
#include "vision/preprocess/pillow_resample.h"

namespace mvl::vision {

// Wall time of each stage of preprocess() (host clock, ms).
struct PreprocessTimings {
  double resize_ms = 0;     // the thumbnail (tile 0) and the keep-ratio resize to the grid, made
                            // together in shared passes
  double tiles_ms = 0;      // cutting the canvas tiles (black where the image does not reach)
  double normalize_ms = 0;  // u8 -> f32 CLIP-normalised pixel_values
};

struct PreprocessResult {
  AnyresLayout layout;       // size, best resolution, grid, unpad window, token count
  Tensor pixel_values;       // f32 [T, 3, tile, tile], T = 1 + rows*cols, tile 0 = thumbnail
  std::vector<uint8_t> tiles_u8;  // u8 [T, tile, tile, 3]: the same tiles before normalisation
  PreprocessTimings timings;

  int64_t width() const { return layout.width; }
  int64_t height() const { return layout.height; }
  Pinpoint best_resolution() const { return layout.best_resolution; }
  int64_t grid_rows() const { return layout.grid_rows; }
  int64_t grid_cols() const { return layout.grid_cols; }
  int64_t num_tiles() const { return layout.num_tiles(); }
  int64_t image_tokens() const { return layout.image_tokens(); }
};

// Knobs that are not part of the checkpoint's processor config.
struct PreprocessOptions {
  // Which Pillow release to match bit for bit: classic (<= 12, the release era) by default.
  PillowPassOrder pass_order = PillowPassOrder::classic;
  // Threads for the two resizes (the pool's size by default); the bytes do not depend on it.
  ResampleThreads threads;
};

// Resizes `img` to out_w x out_h the way Pillow resizes the image's original mode (BICUBIC,
// premultiplied alpha for RGBA/LA, NEAREST for palette) and returns RGB u8 [out_h, out_w, 3].
std::vector<uint8_t> resize_as_pillow(const Image& img, int64_t out_w, int64_t out_h,
                                      PillowPassOrder order = PillowPassOrder::classic,
                                      const ResampleThreads& threads = {});

// The same for several sizes at once (resize_bicubic_u8's shared passes; one premultiplied
// copy for RGBA), outputs in the order of `sizes`, each the bytes of the one-size call.
std::vector<std::vector<uint8_t>> resize_as_pillow(const Image& img, const std::vector<ResizeSize>& sizes,
                                                   PillowPassOrder order = PillowPassOrder::classic,
                                                   const ResampleThreads& threads = {});

// u8 [h, w, 3] tile pixels -> f32 [3, h, w]: x = u/255, x -= mean, x /= std, each rounded
// to f32 separately (torchvision ToTensor + Normalize).
void normalize_tile(const uint8_t* rgb, int64_t h, int64_t w, const PreprocessConfig& cfg, float* out_chw);

// The whole processor for one image. Throws Error for a bad config or an image too
// elongated to survive the keep-ratio resize.
PreprocessResult preprocess(const Image& img, const PreprocessConfig& cfg, const PreprocessOptions& opts = {});

}  // namespace mvl::vision
