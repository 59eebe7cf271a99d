// preprocess(): thumbnail first, then the canvas tiles in row-major order (spec §3.1-§3.8).
#include "vision/preprocess/preprocess.h"

#include <algorithm>
#include <cstring>

#include "kernels/core/clock.h"
#include "kernels/core/error.h"
#include "kernels/cpu/parallel.h"
#include "vision/preprocess/pillow_resample.h"

namespace mvl::vision {


std::vector<uint8_t> resize_as_pillow(const Image& img, int64_t out_w, int64_t out_h, PillowPassOrder order,
                                      const ResampleThreads& threads) {
  return std::move(resize_as_pillow(img, {ResizeSize{out_w, out_h}}, order, threads)[0]);
}

std::vector<std::vector<uint8_t>> resize_as_pillow(const Image& img, const std::vector<ResizeSize>& sizes,
                                                   PillowPassOrder order, const ResampleThreads& threads) {
  MVL_CHECK(img.width >= 1 && img.height >= 1 &&
                img.rgb.size() == static_cast<size_t>(img.width * img.height * 3),
            invalid_argument, "image of {}x{} has {} RGB bytes", img.width, img.height, img.rgb.size());
  switch (img.rule) {
    case ResampleRule::nearest: {
      std::vector<std::vector<uint8_t>> outs;
      for (const ResizeSize& s : sizes)
        outs.push_back(resize_nearest_u8(img.rgb.data(), img.width, img.height, 3, s.width, s.height));
      return outs;
    }
    case ResampleRule::bicubic:
      return resize_bicubic_u8(img.rgb.data(), img.width, img.height, 3, sizes, order, threads);
    case ResampleRule::bicubic_premultiplied: {
      if (!img.has_alpha()) return resize_bicubic_u8(img.rgb.data(), img.width, img.height, 3, sizes, order, threads);
      const int64_t n = img.width * img.height;
      MVL_CHECK(img.alpha.size() == static_cast<size_t>(n), invalid_argument, "alpha plane has {} bytes for {} pixels",
                img.alpha.size(), n);
      std::vector<uint8_t> rgba(static_cast<size_t>(n * 4));
      for (int64_t i = 0; i < n; ++i) {
        std::memcpy(&rgba[i * 4], &img.rgb[i * 3], 3);
        rgba[i * 4 + 3] = img.alpha[i];
      }
      premultiply_alpha(rgba.data(), n);
      std::vector<std::vector<uint8_t>> outs = resize_bicubic_u8(rgba.data(), img.width, img.height, 4, sizes, order, threads);
      for (size_t k = 0; k < sizes.size(); ++k) {
        const int64_t m = sizes[k].width * sizes[k].height;
        if (sizes[k].width == img.width && sizes[k].height == img.height) {
          outs[k] = img.rgb;  // Pillow copies, no round trip
          continue;
        }
        unpremultiply_alpha(outs[k].data(), m);
        std::vector<uint8_t> rgb(static_cast<size_t>(m * 3));  // convert('RGB') drops alpha
        for (int64_t i = 0; i < m; ++i) std::memcpy(&rgb[i * 3], &outs[k][i * 4], 3);
        outs[k] = std::move(rgb);
      }
      return outs;
    }
  }
  throw Error(ErrorCategory::internal, "unknown resample rule");
}

void normalize_tile(const uint8_t* rgb, int64_t h, int64_t w, const PreprocessConfig& cfg, float* out_chw) {
  // A u8 has 256 values: the formula runs once per value and channel (the same f32 ops, so the
  // same bits) and the pixels look their value up, 10x faster than the divisions per pixel.
  float table[3][256];
  for (int c = 0; c < 3; ++c) {
    for (int v = 0; v < 256; ++v) {
      float x = static_cast<float>(v) / 255.0f;
      x = x - cfg.image_mean[c];
      x = x / cfg.image_std[c];
      table[c][v] = x;
    }
  }
  const int64_t plane = h * w;
  float* o0 = out_chw;
  float* o1 = out_chw + plane;
  float* o2 = out_chw + 2 * plane;
  for (int64_t i = 0; i < plane; ++i) {
    o0[i] = table[0][rgb[i * 3]];
    o1[i] = table[1][rgb[i * 3 + 1]];
    o2[i] = table[2][rgb[i * 3 + 2]];
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

  // Tile 0: the whole image squashed to S x S (aspect ratio not kept), and the keep-ratio
  // resize for the grid, made together: their first passes share one parallel sweep and their
  // second passes another (the same bytes as two separate resizes).
  double t = now_ms();
  std::vector<std::vector<uint8_t>> outs = resize_as_pillow(
      img, {ResizeSize{S, S}, ResizeSize{place.new_width, place.new_height}}, opts.pass_order, opts.threads);
  const std::vector<uint8_t>& thumb = outs[0];
  const std::vector<uint8_t>& resized = outs[1];
  std::memcpy(r.tiles_u8.data(), thumb.data(), static_cast<size_t>(tile_bytes));
  r.timings.resize_ms = now_ms() - t;

  // The resized image pasted centred on a black W x H canvas, cut row-major. The canvas is
  // never built: each tile row copies the part of the resized image that falls in it, and
  // tiles_u8 is zero (black) elsewhere.
  t = now_ms();
  const int64_t cols = r.layout.grid_cols;
  MVL_CHECK(place.x0 >= 0 && place.y0 >= 0 && place.x0 + place.new_width <= W && place.y0 + place.new_height <= H &&
                W == cols * S && H == r.layout.grid_rows * S,
            internal, "keep-ratio placement {}x{} at ({}, {}) does not fit the {}x{} canvas of {}x{} tiles",
            place.new_width, place.new_height, place.x0, place.y0, W, H, r.layout.grid_rows, cols);
  for (int64_t cy = place.y0; cy < place.y0 + place.new_height; ++cy) {  // canvas rows holding the image
    const int64_t tr = cy / S, y = cy % S;
    const uint8_t* src_row = &resized[static_cast<size_t>((cy - place.y0) * place.new_width * 3)];
    for (int64_t tc = 0; tc < cols; ++tc) {
      const int64_t x0 = std::max(tc * S, place.x0), x1 = std::min((tc + 1) * S, place.x0 + place.new_width);
      if (x0 >= x1) continue;
      uint8_t* dst = r.tiles_u8.data() + (1 + tr * cols + tc) * tile_bytes + (y * S + (x0 - tc * S)) * 3;
      std::memcpy(dst, src_row + (x0 - place.x0) * 3, static_cast<size_t>((x1 - x0) * 3));
    }
  }
  r.timings.tiles_ms = now_ms() - t;

  // One (tile, channel) plane per item, spread over the cores (the same f32 ops in each).
  t = now_ms();
  r.pixel_values = Tensor::empty({T, 3, S, S}, DType::f32);
  float* pv = r.pixel_values.data<float>();
  const uint8_t* tiles = r.tiles_u8.data();
  cpu::parallel_for(T, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t i = t0; i < t1; ++i) normalize_tile(tiles + i * tile_bytes, S, S, cfg, pv + i * 3 * S * S);
  });
  r.timings.normalize_ms = now_ms() - t;
  return r;
}

}  // namespace mvl::vision
