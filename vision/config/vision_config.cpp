// VisionConfig (CLIP vision schema, spec §2.3) and PreprocessConfig (preprocessor_config.json,
// spec §2.4) parsing and validation. Absent CLIP keys take CLIPVisionConfig's class defaults,
// as transformers does (so a file without hidden_act means quick_gelu, spec §9.2).
#include "vision/config/vision_config.h"

#include <cmath>

#include "kernels/core/error.h"

namespace mvl::vision {

namespace {

using json::Json;

// Sane limits on vision and preprocessing configs (the release: 336-px tiles, at most 18 per
// image, a 1024-wide 24-layer tower).
constexpr int64_t kMaxTileSize = 4096;
constexpr size_t kMaxPinpoints = 4096;
constexpr int64_t kMaxGridTiles = 256;

[[noreturn]] void bad(const std::string& what, const std::string& problem) {
  throw Error(ErrorCategory::bad_format, fmt::format("{}: {}", what, problem));
}

// One [a, b] pair of positive integers.
Pinpoint parse_pair(const Json& p, const std::string& what) {
  const auto v = json::as_int_list(p, what);
  if (v.size() != 2) bad(what, fmt::format("expected a [width, height] pair, got {} numbers", v.size()));
  return {v[0], v[1]};
}

std::array<float, 3> parse_triple(const Json& j, const char* key, std::array<float, 3> dflt,
                                  const std::string& what) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return dflt;
  if (!it->is_array() || it->size() != 3)
    bad(what, fmt::format("'{}' must be a list of 3 numbers (R, G, B)", key));
  std::array<float, 3> r{};
  for (size_t i = 0; i < 3; ++i) {
    if (!(*it)[i].is_number()) bad(what, fmt::format("'{}'[{}] is not a number", key, i));
    r[i] = static_cast<float>((*it)[i].get<double>());
  }
  return r;
}

}  // namespace

std::vector<Pinpoint> released_pinpoints() {
  // File order of the released config (spec §2.1): rows of equal first value, a*b <= 18.
  std::vector<Pinpoint> r;
  for (int64_t a = 1; a <= 6; ++a)
    for (int64_t b = 1; b <= 6; ++b)
      if (a * b <= 18) r.emplace_back(336 * a, 336 * b);
  return r;
}

VisionConfig VisionConfig::from_json(const json::Json& j, const std::string& what) {
  if (!j.is_object()) bad(what, fmt::format("expected an object, got {}", json::type_name(j)));
  if (auto mt = json::opt_string(j, "model_type", what); mt && *mt != "clip_vision_model")
    throw Error(ErrorCategory::unsupported,
                fmt::format("{}: model_type '{}' is not supported; MiniMax-VL-01 uses a CLIP vision tower "
                            "('clip_vision_model')",
                            what, *mt));
  VisionConfig c;
  c.hidden_size = json::opt_int(j, "hidden_size", what).value_or(768);
  c.intermediate_size = json::opt_int(j, "intermediate_size", what).value_or(3072);
  c.num_hidden_layers = json::opt_int(j, "num_hidden_layers", what).value_or(12);
  c.num_attention_heads = json::opt_int(j, "num_attention_heads", what).value_or(12);
  c.image_size = json::opt_int(j, "image_size", what).value_or(224);
  c.patch_size = json::opt_int(j, "patch_size", what).value_or(32);
  c.num_channels = json::opt_int(j, "num_channels", what).value_or(3);
  c.hidden_act = json::opt_string(j, "hidden_act", what).value_or("quick_gelu");
  c.layer_norm_eps = json::opt_number(j, "layer_norm_eps", what).value_or(1e-5);
  c.validate(what);
  return c;
}

void VisionConfig::validate(const std::string& what) const {
  auto positive = [&](const char* key, int64_t v) {
    if (v <= 0) bad(what, fmt::format("{} must be positive, got {}", key, v));
  };
  positive("hidden_size", hidden_size);
  positive("intermediate_size", intermediate_size);
  positive("num_hidden_layers", num_hidden_layers);
  positive("num_attention_heads", num_attention_heads);
  positive("image_size", image_size);
  positive("patch_size", patch_size);
  positive("num_channels", num_channels);
  // Sane upper limits before anything is sized from them (the released tower: 1024 wide,
  // 24 layers, 336-px input, 14-px patches).
  auto at_most = [&](const char* key, int64_t v, int64_t max) {
    if (v > max) bad(what, fmt::format("{} {} is beyond the supported limit {}", key, v, max));
  };
  at_most("hidden_size", hidden_size, int64_t{1} << 16);
  at_most("intermediate_size", intermediate_size, int64_t{1} << 18);
  at_most("num_hidden_layers", num_hidden_layers, 1024);
  at_most("num_attention_heads", num_attention_heads, 1024);
  at_most("image_size", image_size, kMaxTileSize);
  if (hidden_size % num_attention_heads != 0)
    bad(what, fmt::format("hidden_size {} is not a multiple of num_attention_heads {}", hidden_size,
                          num_attention_heads));
  if (image_size % patch_size != 0)
    bad(what, fmt::format("image_size {} is not a multiple of patch_size {}", image_size, patch_size));
  if (num_channels != 3)
    throw Error(ErrorCategory::unsupported,
                fmt::format("{}: num_channels {} is not supported (RGB tiles have 3)", what, num_channels));
  if (hidden_act != "gelu" && hidden_act != "quick_gelu")
    throw Error(ErrorCategory::unsupported,
                fmt::format("{}: hidden_act '{}' is not supported; expected 'gelu' or 'quick_gelu'", what, hidden_act));
  if (!(layer_norm_eps > 0.0)) bad(what, fmt::format("layer_norm_eps must be positive, got {}", layer_norm_eps));
}

PreprocessConfig PreprocessConfig::from_json(const json::Json& j, const std::string& what) {
  if (!j.is_object()) bad(what, fmt::format("expected an object, got {}", json::type_name(j)));
  PreprocessConfig c;
  if (auto m = json::opt_string(j, "process_image_mode", what)) c.mode = *m;
  // Legacy stores `size` as [w, h] and uses size[0] as the tile edge (spec §2.4); other
  // exporters write {"height","width"} or {"shortest_edge"} or a bare int.
  if (auto it = j.find("size"); it != j.end() && !it->is_null()) {
    const std::string sw = what + " size";
    if (it->is_array()) {
      const auto v = json::as_int_list(*it, sw);
      if (v.empty() || v.size() > 2) bad(what, fmt::format("'size' has {} entries; expected [width, height]", v.size()));
      if (v.size() == 2 && v[0] != v[1])
        throw Error(ErrorCategory::unsupported,
                    fmt::format("{}: size {}x{} is not square; anyres tiles are square", what, v[0], v[1]));
      c.tile_size = v[0];
    } else if (it->is_object()) {
      if (auto h = json::opt_int(*it, "height", sw)) {
        const int64_t w = json::get_int(*it, "width", sw);
        if (w != *h)
          throw Error(ErrorCategory::unsupported,
                      fmt::format("{}: size {}x{} is not square; anyres tiles are square", what, w, *h));
        c.tile_size = *h;
      } else {
        c.tile_size = json::get_int(*it, "shortest_edge", sw);
      }
    } else {
      c.tile_size = json::get_int(j, "size", what);
    }
  }
  if (auto p = json::opt_int(j, "patch_size", what)) c.patch_size = *p;
  if (auto it = j.find("image_grid_pinpoints"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) bad(what, "'image_grid_pinpoints' must be a list of [width, height] pairs");
    c.pinpoints.clear();
    for (size_t i = 0; i < it->size(); ++i)
      c.pinpoints.push_back(parse_pair((*it)[i], fmt::format("{} image_grid_pinpoints[{}]", what, i)));
  }
  c.image_mean = parse_triple(j, "image_mean", c.image_mean, what);
  c.image_std = parse_triple(j, "image_std", c.image_std, what);
  c.validate(what);
  return c;
}

void PreprocessConfig::validate(const std::string& what) const {
  if (mode != "anyres")
    throw Error(ErrorCategory::unsupported,
                fmt::format("{}: process_image_mode '{}' is not supported (MiniMax-VL-01 uses 'anyres')", what, mode));
  if (tile_size <= 0 || patch_size <= 0 || tile_size % patch_size != 0)
    bad(what, fmt::format("tile size {} must be a positive multiple of patch_size {}", tile_size, patch_size));
  if (tile_size > kMaxTileSize)
    bad(what,
        fmt::format("tile size {} is beyond the supported limit {}", tile_size, kMaxTileSize));
  if (pinpoints.empty()) bad(what, "image_grid_pinpoints is empty");
  if (pinpoints.size() > kMaxPinpoints)
    bad(what, fmt::format("image_grid_pinpoints has {} entries, beyond the supported limit {}",
                          pinpoints.size(), kMaxPinpoints));
  for (size_t i = 0; i < pinpoints.size(); ++i) {
    const auto [w, h] = pinpoints[i];
    if (w <= 0 || h <= 0 || w % tile_size != 0 || h % tile_size != 0)
      bad(what, fmt::format("image_grid_pinpoints[{}] = [{}, {}] is not a positive multiple of the {}-px tile", i,
                            w, h, tile_size));
    // Bounded before any product is formed (values near 2^62 overflowed int64 in the anyres
    // arithmetic) and before an image is sized from it ([[33600, 33600]] allocated 19.8 GB).
    if (w / tile_size > kMaxGridTiles || h / tile_size > kMaxGridTiles ||
        (w / tile_size) * (h / tile_size) > kMaxGridTiles)
      bad(what,
          fmt::format("image_grid_pinpoints[{}] = [{}, {}] is {}x{} tiles; at most {} tiles are "
                      "supported (the release uses up to 18)",
                      i, w, h, w / tile_size, h / tile_size, kMaxGridTiles));
  }
  for (int i = 0; i < 3; ++i) {
    if (!std::isfinite(image_mean[i])) bad(what, "image_mean holds a non-finite value");
    if (!(image_std[i] > 0.0f) || !std::isfinite(image_std[i]))
      bad(what, fmt::format("image_std[{}] = {} must be positive", i, image_std[i]));
  }
}

}  // namespace mvl::vision
