// Anyres geometry (see anyres.h). The double arithmetic in select_best_resolution mirrors the
// Python reference operation for operation; mvl_vision is built with -ffp-contract=off and
// every product/quotient is its own statement, so no FMA or extended precision can creep in.
#include "vision/preprocess/anyres.h"

#include <algorithm>
#include <limits>

#include "kernels/core/error.h"

namespace mvl::vision {

Pinpoint select_best_resolution(int64_t w, int64_t h, const std::vector<Pinpoint>& pinpoints) {
  MVL_CHECK(w >= 1 && h >= 1, invalid_argument, "image size {}x{} is empty", w, h);
  MVL_CHECK(!pinpoints.empty(), invalid_argument, "image_grid_pinpoints is empty");
  Pinpoint best{0, 0};
  int64_t best_effective = 0;
  int64_t best_waste = std::numeric_limits<int64_t>::max();  // stands in for float("inf")
  bool found = false;
  for (const auto& [W, H] : pinpoints) {
    MVL_CHECK(W >= 1 && H >= 1, invalid_argument, "pinpoint [{}, {}] is not a positive size", W, H);
    // scale = min(W / w, H / h): two IEEE double divisions, then the smaller one.
    const double sw = static_cast<double>(W) / static_cast<double>(w);
    const double sh = static_cast<double>(H) / static_cast<double>(h);
    const double s = sh < sw ? sh : sw;
    // int(w * s): one double multiply each, truncated toward zero (spec §3.3: this is not
    // always W, e.g. w = 13, W = 1008 gives 1007.999...).
    const double pw = static_cast<double>(w) * s;
    const double ph = static_cast<double>(h) * s;
    const int64_t dw = static_cast<int64_t>(pw);
    const int64_t dh = static_cast<int64_t>(ph);
    const int64_t effective = std::min(dw * dh, w * h);
    const int64_t waste = W * H - effective;
    if (effective > best_effective || (effective == best_effective && waste < best_waste)) {
      best_effective = effective;
      best_waste = waste;
      best = {W, H};
      found = true;
    }
  }
  // Only reachable if every candidate downscales the image to zero effective pixels
  // (the reference would return None and crash later).
  MVL_CHECK(found, invalid_argument,
            "image size {}x{} fits none of the {} pinpoints (every candidate scales it to 0 pixels)",
            w, h, pinpoints.size());
  return best;
}

CanvasPlacement keep_ratio_placement(int64_t w, int64_t h, int64_t canvas_w, int64_t canvas_h) {
  MVL_CHECK(w >= 1 && h >= 1 && canvas_w >= 1 && canvas_h >= 1, invalid_argument,
            "keep-ratio resize of {}x{} onto {}x{}: sizes must be positive", w, h, canvas_w, canvas_h);
  CanvasPlacement p;
  // w / h > W / H compared exactly (equivalent to the reference's double comparison: equal
  // ratios round equally, distinct ones differ by far more than an ulp).
  if (w * canvas_h > canvas_w * h) {
    p.new_width = canvas_w;
    p.new_height = canvas_w * h / w;  // == int(W * h / w)
  } else {
    p.new_height = canvas_h;
    p.new_width = canvas_h * w / h;
  }
  // A 1 x N strip can floor to 0; Pillow refuses a 0-sized resize, the reference would crash.
  MVL_CHECK(p.new_width >= 1 && p.new_height >= 1, invalid_argument,
            "image {}x{} is too elongated: it scales to {}x{} pixels on the {}x{} canvas", w, h,
            p.new_width, p.new_height, canvas_w, canvas_h);
  p.x0 = (canvas_w - p.new_width) / 2;
  p.y0 = (canvas_h - p.new_height) / 2;
  return p;
}

UnpadWindow unpad_window(int64_t w, int64_t h, int64_t grid_w, int64_t grid_h) {
  UnpadWindow u;
  if (w * grid_h > grid_w * h) {  // relatively wider: trim rows
    const int64_t new_h = h * grid_w / w;
    const int64_t pad = (grid_h - new_h) / 2;
    u.row_begin = pad;
    u.rows = grid_h - 2 * pad;
    u.col_begin = 0;
    u.cols = grid_w;
  } else {  // relatively taller (or equal): trim columns
    const int64_t new_w = w * grid_h / h;
    const int64_t pad = (grid_w - new_w) / 2;
    u.col_begin = pad;
    u.cols = grid_w - 2 * pad;
    u.row_begin = 0;
    u.rows = grid_h;
  }
  return u;
}

AnyresLayout anyres_layout(int64_t w, int64_t h, const PreprocessConfig& cfg) {
  MVL_CHECK(cfg.tile_size >= 1 && cfg.patch_size >= 1 && cfg.tile_size % cfg.patch_size == 0,
            invalid_argument, "preprocess config: tile size {} is not a multiple of patch size {}",
            cfg.tile_size, cfg.patch_size);
  for (const auto& [W, H] : cfg.pinpoints) {
    MVL_CHECK(W >= cfg.tile_size && H >= cfg.tile_size && W % cfg.tile_size == 0 &&
                  H % cfg.tile_size == 0,
              invalid_argument, "preprocess config: pinpoint [{}, {}] is not a multiple of the {}-px tile",
              W, H, cfg.tile_size);
  }
  AnyresLayout l;
  l.width = w;
  l.height = h;
  l.best_resolution = select_best_resolution(w, h, cfg.pinpoints);
  l.grid_cols = l.best_resolution.first / cfg.tile_size;
  l.grid_rows = l.best_resolution.second / cfg.tile_size;
  l.feature_side = cfg.tile_size / cfg.patch_size;
  l.unpad = unpad_window(w, h, l.grid_cols * l.feature_side, l.grid_rows * l.feature_side);
  return l;
}

std::vector<Pinpoint> pinpoints_within_budget(int64_t w, int64_t h, const PreprocessConfig& cfg,
                                              int64_t max_image_tokens) {
  if (max_image_tokens <= 0 || anyres_layout(w, h, cfg).image_tokens() <= max_image_tokens)
    return cfg.pinpoints;
  std::vector<Pinpoint> fit;
  Pinpoint cheapest{0, 0};
  int64_t cheapest_tokens = std::numeric_limits<int64_t>::max();
  PreprocessConfig one = cfg;
  for (const Pinpoint& p : cfg.pinpoints) {
    one.pinpoints = {p};
    int64_t tokens = 0;
    try {
      tokens = anyres_layout(w, h, one).image_tokens();
    } catch (const Error&) {
      continue;  // this candidate scales the image to nothing
    }
    if (tokens <= max_image_tokens) fit.push_back(p);
    if (tokens < cheapest_tokens) {
      cheapest_tokens = tokens;
      cheapest = p;
    }
  }
  if (fit.empty() && cheapest_tokens != std::numeric_limits<int64_t>::max()) fit.push_back(cheapest);
  return fit.empty() ? cfg.pinpoints : fit;
}

std::string expand_image_placeholders(const std::string& text, const std::vector<int64_t>& counts,
                                      const std::string& placeholder) {
  MVL_CHECK(!placeholder.empty(), invalid_argument, "image placeholder is empty");
  size_t found = 0;
  for (size_t pos = text.find(placeholder); pos != std::string::npos;
       pos = text.find(placeholder, pos + placeholder.size())) {
    ++found;
  }
  MVL_CHECK(found == counts.size(), invalid_argument,
            "the prompt has {} '{}' placeholder(s) but {} image(s) were given; put exactly one "
            "placeholder per image", found, placeholder, counts.size());
  std::string out;
  size_t k = 0, start = 0;
  for (size_t pos = text.find(placeholder); pos != std::string::npos;
       pos = text.find(placeholder, start)) {
    out.append(text, start, pos - start);
    MVL_CHECK(counts[k] >= 1, invalid_argument, "image {} has a token count of {}", k, counts[k]);
    out.reserve(out.size() + placeholder.size() * static_cast<size_t>(counts[k]));
    for (int64_t i = 0; i < counts[k]; ++i) out += placeholder;
    ++k;
    start = pos + placeholder.size();
  }
  out.append(text, start, std::string::npos);
  return out;
}

}  // namespace mvl::vision
