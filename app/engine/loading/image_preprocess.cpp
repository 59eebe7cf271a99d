// ImagePreprocessor: vision::decode_image_file + vision::preprocess behind plain structs.
#include "app/engine/loading/image_preprocess.h"

#include "app/engine/loading/model_config.h"
#include "kernels/core/clock.h"
#include "kernels/core/error.h"
#include "vision/image/image.h"
#include "vision/preprocess/anyres.h"
#include "vision/preprocess/preprocess.h"

namespace mvl::engine {

struct ImagePreprocessor::Impl {
  vision::PreprocessConfig cfg;  // the released processor settings unless a model says otherwise
};

TileMap ImagePreprocessor::tile_map(int64_t width, int64_t height, int64_t max_image_tokens) const {
  return compute_tile_map(width, height, impl_->cfg, max_image_tokens);
}

int64_t default_max_image_pixels() { return vision::kDefaultMaxImagePixels; }

ImagePreprocessor ImagePreprocessor::open(const std::string& model_dir) {
  auto impl = std::make_shared<Impl>();
  if (!model_dir.empty()) impl->cfg = ModelConfig::load_dir(model_dir).preprocess;
  ImagePreprocessor p;
  p.impl_ = std::move(impl);
  return p;
}

ImagePreprocessReport ImagePreprocessor::run(const std::string& path, const ImagePreprocessOptions& opts) const {
  vision::DecodeOptions dopt;
  if (opts.max_pixels > 0) dopt.max_pixels = opts.max_pixels;
  dopt.apply_exif_orientation = opts.exif_orientation;
  vision::PreprocessOptions popt;
  popt.pass_order = opts.pillow13_pass_order ? vision::PillowPassOrder::pillow13 : vision::PillowPassOrder::classic;
  const double t0 = now_ms();
  const vision::Image img = vision::decode_image_file(path, dopt);
  const double decode_ms = now_ms() - t0;
  const vision::PreprocessResult r = in_context(fmt::format("image '{}'", path), [&] {
    vision::PreprocessConfig cfg = impl_->cfg;
    cfg.pinpoints = vision::pinpoints_within_budget(img.width, img.height, impl_->cfg, opts.max_image_tokens);
    return vision::preprocess(img, cfg, popt);
  });
  ImagePreprocessReport out;
  out.format = img.format;
  out.mode = img.source_mode;
  out.width = r.width();
  out.height = r.height();
  const auto [bw, bh] = r.best_resolution();
  out.best_width = bw;
  out.best_height = bh;
  out.grid_rows = r.grid_rows();
  out.grid_cols = r.grid_cols();
  out.tiles = r.num_tiles();
  out.image_tokens = r.image_tokens();
  out.feature_side = r.layout.feature_side;
  out.unpad_rows = r.layout.unpad.rows;
  out.unpad_cols = r.layout.unpad.cols;
  out.tile_size = impl_->cfg.tile_size;
  out.pixel_values = r.pixel_values;
  out.decode_ms = decode_ms;
  out.resize_ms = r.timings.resize_ms;
  out.tiles_ms = r.timings.tiles_ms;
  out.normalize_ms = r.timings.normalize_ms;
  return out;
}

}  // namespace mvl::engine
