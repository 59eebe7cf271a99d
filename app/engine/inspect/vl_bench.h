// `bench --path vl` (issue 21 item 1): one image question timed end to end, what a user waits
// for. The released vision half (CLIP ViT, projector, anyres packing) and the first --layers text
// layers with random weights at a config's shapes, in one Engine; each image (a generated
// 2016x2016 page and 1000x1400 scan by default, written as PNG so the engine decodes real
// files) is asked about in raw requests of [question ids, <image>, question ids] that sample one
// token. Stages, medians over --reps: image decode, preprocess (anyres tiles + thumbnail), ViT,
// projector + packing, prefill of the spliced prompt, first token (sampling and the rest up to
// the id on the host), and the TTFT of the same request without stage timing.
// Runs on a GPU at the released shapes and on the CPU at tiny shapes (the CI test).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "app/engine/core/options.h"

namespace mvl::engine {

struct VlBenchOptions {
  std::string config;       // a VL-01 config.json: text_config, vision_config, pinpoints
  int64_t layers = 2;       // the first N text layers of the config
  std::vector<std::string> images;  // image files to ask about; empty: generated ones
  // Generated images (WxH) when `images` is empty: the first a page, the others scans.
  std::vector<std::pair<int64_t, int64_t>> sizes = {{2016, 2016}, {1000, 1400}};
  std::string images_dir;   // keep the generated PNGs here; empty: a temp dir, removed after
  int reps = 5;             // timed requests per image and mode (one more of each warms up)
  int64_t text_before = 12; // question ids before the image slot (the chat template's opening)
  int64_t text_after = 20;  // and after it (the question and the generation prompt)
  // Positions per prefill call and per pass inside one: ask's defaults (the engine's); 0 = the
  // whole prompt in one call / one pass.
  int64_t chunk = EngineOptions{}.prefill_chunk;
  int64_t ubatch = EngineOptions{}.prefill_ubatch;
  bool cpu = false;         // run on the CPU (f32) instead of CUDA device `device`
  int device = 0;
  uint64_t seed = 1;
};

// Milliseconds; each a median over the staged requests (so they need not sum to ttft exactly).
struct VlStages {
  double decode = 0;       // file read + PNG/JPEG decode
  double preprocess = 0;   // anyres resize, tiles + thumbnail, normalise (decode excluded)
  double vit = 0;          // CLIP tower over every tile, waited for on the device
  double project = 0;      // projector + packing (unpad, image_newline), waited for
  double prefill = 0;      // the spliced prompt through the text layers, waited for
  double first_token = 0;  // TTFT minus the stages above: sampling, the id read, bookkeeping
  double ttft = 0;         // request start -> first id on the host, of these staged requests
};

struct VlBenchRow {
  std::string label;       // "page 2016x2016", "scan 1000x1400" or the file's name
  std::string path;
  uint64_t file_bytes = 0;
  int64_t width = 0, height = 0, grid_rows = 0, grid_cols = 0;
  int64_t tiles = 0;          // grid tiles + the thumbnail
  int64_t image_tokens = 0;   // rows spliced into the prompt (the engine's count)
  int64_t text_tokens = 0;    // question ids
  int64_t prompt_tokens = 0;  // positions prefilled
  int64_t prefill_calls = 0;  // the engine's prefill calls for this prompt (--chunk)
  VlStages staged;            // medians of the staged requests
  double ttft_ms = 0;         // median TTFT of the plain requests (the road ask takes)
  std::vector<double> ttft_reps;
};

struct VlBenchReport {
  std::string device_name;  // the GPU's name, or "cpu"
  std::string precision;    // activations: "bf16" | "f32"
  int64_t layers = 0, lightning_layers = 0, softmax_layers = 0;
  int64_t vision_layers = 0, vision_hidden = 0, text_hidden = 0;
  int64_t chunk = 0, ubatch = 0;
  double make_s = 0;        // random weights made (text on the device, vision written + loaded)
  uint64_t text_weight_bytes = 0, vision_weight_bytes = 0;
  std::vector<VlBenchRow> rows;
};

// Throws Error (an unreadable config or image, a slice that does not fit the GPU).
VlBenchReport run_vl_bench(const VlBenchOptions& o);

}  // namespace mvl::engine
