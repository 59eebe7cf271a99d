// preprocess(): thumbnail first, then the canvas tiles in row-major order (spec §3.1-§3.8).
#include "vision/preprocess/preprocess.h"

#include <cstring>

#include "kernels/core/error.h"
#include "vision/preprocess/pillow_resample.h"

namespace mvl::vision {

std::vector<uint8_t> resize_as_pillow(const Image& img, int64_t out_w, int64_t out_h, PillowPassOrder order) {
  MVL_CHECK(img.width >= 1 && img.height >= 1 &&
                img.rgb.size() == static_cast<size_t>(img.width * img.height * 3),
            invalid_argument, "image of {}x{} has {} RGB bytes", img.width, img.height, img.rgb.size());
  switch (img.rule) {
    case ResampleRule::nearest:
      return resize_nearest_u8(img.rgb.data(), img.width, img.height, 3, out_w, out_h);
    case ResampleRule::bicubic:
      return resize_bicubic_u8(img.rgb.data(), img.width, img.height, 3, out_w, out_h, order);
    case ResampleRule::bicubic_premultiplied: {
      if (!img.has_alpha()) return resize_bicubic_u8(img.rgb.data(), img.width, img.height, 3, out_w, out_h, order);
      if (img.width == out_w && img.height == out_h) return img.rgb;  // Pillow copies, no round trip
      const int64_t n = img.width * img.height;
      MVL_CHECK(img.alpha.size() == static_cast<size_t>(n), invalid_argument, "alpha plane has {} bytes for {} pixels",
                img.alpha.size(), n);
      std::vector<uint8_t> rgba(static_cast<size_t>(n * 4));
      for (int64_t i = 0; i < n; ++i) {
        std::memcpy(&rgba[i * 4], &img.rgb[i * 3], 3);
        rgba[i * 4 + 3] = img.alpha[i];
      }
      premultiply_alpha(rgba.data(), n);
      std::vector<uint8_t> out4 = resize_bicubic_u8(rgba.data(), img.width, img.height, 4, out_w, out_h, order);
      const int64_t m = out_w * out_h;
      unpremultiply_alpha(out4.data(), m);
      std::vector<uint8_t> rgb(static_cast<size_t>(m * 3));  // convert('RGB') drops alpha
      for (int64_t i = 0; i < m; ++i) std::memcpy(&rgb[i * 3], &out4[i * 4], 3);
      return rgb;
    }
  }
  throw Error(ErrorCategory::internal, "unknown resample rule");
}

void normalize_tile(const uint8_t* rgb, int64_t h, int64_t w, const PreprocessConfig& cfg, float* out_chw) {
  const int64_t plane = h * w;
  for (int c = 0; c < 3; ++c) {
    const float mean = cfg.image_mean[c];
    const float std = cfg.image_std[c];
    float* o = out_chw + c * plane;
    for (int64_t i = 0; i < plane; ++i) {
      float x = static_cast<float>(rgb[i * 3 + c]) / 255.0f;
      x = x - mean;
      x = x / std;
      o[i] = x;
    }
  }
}

PreprocessResult preprocess(const Image& img, const PreprocessConfig& cfg, const PreprocessOptions& opts) {
  MVL_CHECK(cfg.mode == "anyres", unsupported, "image processing mode '{}' is not supported (only 'anyres')", cfg.mode);
  for (int c = 0; c < 3; ++c) {
    MVL_CHECK(cfg.image_std[c] != 0.0f, invalid_argument, "preprocess config: image_std[{}] is 0", c);
  }
  PreprocessResult r;
  r.layout = anyres_layout(img.width, img.height, cfg);
  const int64_t S = cfg.tile_size;
  const auto [W, H] = r.layout.best_resolution;
  const CanvasPlacement place = keep_ratio_placement(img.width, img.height, W, H);
  const int64_t T = r.layout.num_tiles();
  const int64_t tile_bytes = S * S * 3;
  r.tiles_u8.assign(static_cast<size_t>(T * tile_bytes), 0);

  // Tile 0: the whole image squashed to S x S (aspect ratio not kept).
  const std::vector<uint8_t> thumb = resize_as_pillow(img, S, S, opts.pass_order);
  std::memcpy(r.tiles_u8.data(), thumb.data(), static_cast<size_t>(tile_bytes));

  // Keep-ratio resize, pasted centred on a black W x H canvas, cut row-major.
  const std::vector<uint8_t> resized = resize_as_pillow(img, place.new_width, place.new_height, opts.pass_order);
  std::vector<uint8_t> canvas(static_cast<size_t>(W * H * 3), 0);
  for (int64_t y = 0; y < place.new_height; ++y) {
    std::memcpy(&canvas[static_cast<size_t>(((place.y0 + y) * W + place.x0) * 3)],
                &resized[static_cast<size_t>(y * place.new_width * 3)], static_cast<size_t>(place.new_width * 3));
  }
  for (int64_t tr = 0; tr < r.layout.grid_rows; ++tr) {
    for (int64_t tc = 0; tc < r.layout.grid_cols; ++tc) {
      uint8_t* dst = r.tiles_u8.data() + (1 + tr * r.layout.grid_cols + tc) * tile_bytes;
      for (int64_t y = 0; y < S; ++y) {
        std::memcpy(dst + y * S * 3, &canvas[static_cast<size_t>(((tr * S + y) * W + tc * S) * 3)],
                    static_cast<size_t>(S * 3));
      }
    }
  }

  r.pixel_values = Tensor::empty({T, 3, S, S}, DType::f32);
  float* pv = r.pixel_values.data<float>();
  for (int64_t t = 0; t < T; ++t) {
    normalize_tile(r.tiles_u8.data() + t * tile_bytes, S, S, cfg, pv + t * 3 * S * S);
  }
  return r;
}

}  // namespace mvl::vision
