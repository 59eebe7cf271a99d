// VisionConfig (the CLIP vision tower, spec §2.3) and PreprocessConfig (the anyres image
// processor, spec §2.4). Both parse from JSON with readable errors.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "kernels/core/json.h"

namespace mvl::vision {

struct VisionConfig {
  int64_t hidden_size = 1024;
  int64_t intermediate_size = 4096;
  int64_t num_hidden_layers = 24;
  int64_t num_attention_heads = 16;
  int64_t image_size = 336;
  int64_t patch_size = 14;
  int64_t num_channels = 3;
  std::string hidden_act = "gelu";  // "gelu" (erf) or "quick_gelu" (CLIP's default if absent)
  double layer_norm_eps = 1e-5;

  int64_t grid() const { return image_size / patch_size; }        // 24
  int64_t num_positions() const { return grid() * grid() + 1; }   // 577 (CLS + patches)
  static VisionConfig from_json(const json::Json& j, const std::string& what);
  void validate(const std::string& what) const;
};

// A pinpoint as (width, height) in pixels, legacy reading order (spec §3.3).
using Pinpoint = std::pair<int64_t, int64_t>;

// The 28 released pinpoints in file order.
std::vector<Pinpoint> released_pinpoints();

struct PreprocessConfig {
  int64_t tile_size = 336;
  int64_t patch_size = 14;
  std::vector<Pinpoint> pinpoints = released_pinpoints();
  std::array<float, 3> image_mean{0.48145466f, 0.4578275f, 0.40821073f};
  std::array<float, 3> image_std{0.26862954f, 0.26130258f, 0.27577711f};
  std::string mode = "anyres";

  // Parses preprocessor_config.json (legacy `size` as [w, h] or {"height":..}).
  static PreprocessConfig from_json(const json::Json& j, const std::string& what);
  void validate(const std::string& what) const;
};

}  // namespace mvl::vision
