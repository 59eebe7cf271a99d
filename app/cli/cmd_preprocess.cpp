// `minimax-vl preprocess`: decode one image and run the anyres image processor on it, printing
// the chosen resolution, grid, tile count and image-token count (text or --json), and
// optionally dumping pixel_values to safetensors for parity checks against the reference.
#include <cstdio>

#include "app/cli/command.h"
#include "app/cli/generation_cli.h"
#include "app/engine/loading/image_preprocess.h"
#include "kernels/core/json.h"
#include "kernels/core/safetensors.h"

namespace mvl::cli {

namespace {

struct PreprocessArgs {
  std::string image;
  std::string model;
  bool json = false;
  std::string out;
  int64_t max_pixels = engine::default_max_image_pixels();
  bool exif = false;
  std::string resize_compat = "classic";
  bool map = false;
  int64_t max_image_tokens = 0;
};

int run_preprocess(const PreprocessArgs& a) {
  // The released processor settings (spec §2.4) unless -m names a model.
  const engine::ImagePreprocessor pre = load_phase([&] { return engine::ImagePreprocessor::open(a.model); });
  engine::ImagePreprocessOptions popt;
  popt.max_pixels = a.max_pixels;
  popt.exif_orientation = a.exif;
  popt.pillow13_pass_order = a.resize_compat == "pillow13";
  popt.max_image_tokens = a.max_image_tokens;
  const engine::ImagePreprocessReport r = input_phase([&] {
    try {
      return pre.run(a.image, popt);
    } catch (const Error& e) {
      // The library's advice names no flag (ask/chat have none); this command has one.
      if (e.category() != ErrorCategory::out_of_memory || e.message().find("bomb") == std::string::npos)
        throw;
      throw Error(e.category(), e.message() + ", or pass --max-image-pixels to raise the limit");
    }
  });
  const int64_t bw = r.best_width, bh = r.best_height;
  if (a.json) {
    json::Json j;
    j["image"] = a.image;
    j["format"] = r.format;
    j["mode"] = r.mode;
    j["resize_compat"] = a.resize_compat;
    j["width"] = r.width;
    j["height"] = r.height;
    j["best_resolution"] = {bw, bh};
    j["grid"] = {r.grid_rows, r.grid_cols};
    j["tiles"] = r.tiles;
    j["image_tokens"] = r.image_tokens;
    j["unpadded_features"] = {r.unpad_rows, r.unpad_cols};
    j["tile_size"] = r.tile_size;
    j["timings_ms"] = {{"decode", r.decode_ms}, {"resize", r.resize_ms},
                       {"tiles", r.tiles_ms}, {"normalize", r.normalize_ms}};
    if (a.max_image_tokens > 0) {
      const engine::TileMap m = pre.tile_map(r.width, r.height, a.max_image_tokens);
      j["max_image_tokens"] = a.max_image_tokens;
      j["released_image_tokens"] = m.released_image_tokens;
      j["released_grid"] = {m.released_grid_rows, m.released_grid_cols};
    }
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("image:           %s (%s, %s) %lldx%lld\n", a.image.c_str(), r.format.c_str(),
                r.mode.c_str(), static_cast<long long>(r.width), static_cast<long long>(r.height));
    std::printf("best resolution: %lldx%lld (grid %lldx%lld rows x cols of %lld-px tiles)\n", static_cast<long long>(bw),
                static_cast<long long>(bh), static_cast<long long>(r.grid_rows), static_cast<long long>(r.grid_cols),
                static_cast<long long>(r.tile_size));
    std::printf("tiles:           %lld (thumbnail + %lld)\n", static_cast<long long>(r.tiles),
                static_cast<long long>(r.tiles - 1));
    std::printf("image tokens:    %lld (%lld base + %lld rows x (%lld + 1 newline))\n",
                static_cast<long long>(r.image_tokens),
                static_cast<long long>(r.feature_side * r.feature_side), static_cast<long long>(r.unpad_rows),
                static_cast<long long>(r.unpad_cols));
    // The thumbnail is made in the grid resize's passes, so one figure covers both.
    std::printf("time:            %.1f ms = decode %.1f + resize (thumbnail and grid) %.1f + tiles %.1f + normalise %.1f\n",
                r.decode_ms + r.resize_ms + r.tiles_ms + r.normalize_ms, r.decode_ms, r.resize_ms,
                r.tiles_ms, r.normalize_ms);
    if (a.map) std::printf("%s", engine::format_tile_map(pre.tile_map(r.width, r.height, a.max_image_tokens), a.image).c_str());
  }
  if (!a.out.empty()) {
    SafetensorsWriter w;
    w.add("pixel_values", r.pixel_values);  // f32 [T, 3, S, S], tile 0 = thumbnail
    Tensor sizes = Tensor::empty({1, 2}, DType::i64);  // image_sizes as the reference: [h, w]
    sizes.data<int64_t>()[0] = r.height;
    sizes.data<int64_t>()[1] = r.width;
    w.add("image_sizes", sizes);
    w.set_metadata("image", a.image);
    w.set_metadata("best_resolution", fmt::format("{}x{}", bw, bh));
    w.set_metadata("image_tokens", std::to_string(r.image_tokens));
    in_phase(kExitError, [&] { w.write(a.out); });
    if (!a.json) std::printf("wrote:           %s (pixel_values f32 [%lld, 3, %lld, %lld])\n", a.out.c_str(),
                             static_cast<long long>(r.tiles), static_cast<long long>(r.tile_size),
                             static_cast<long long>(r.tile_size));
  }
  return kExitOk;
}

}  // namespace

void add_preprocess_command(CLI::App& app, RunFn& run) {
  auto args = std::make_shared<PreprocessArgs>();
  CLI::App* sub = app.add_subcommand(
      "preprocess",
      "Run the anyres image processor on one image: chosen resolution, 336-px tile grid, tile count and the\n"
      "number of <image> tokens it becomes; --out dumps the normalised pixel_values.\n"
      "Examples:\n"
      "  minimax-vl preprocess --image scan.png\n"
      "  minimax-vl preprocess --image photo.jpg --json --out pixels.safetensors");
  add_image_flag(*sub, args->image, "Image file (PNG, JPEG, GIF, BMP, WebP, TIFF; the content decides)")
      ->required();
  add_model_flag(*sub, args->model,
                 "Model directory whose preprocessor_config.json/config.json to use (default: the "
                 "released settings)");
  add_json_flag(*sub, args->json, "Print one JSON object instead of text");
  sub->add_option("--out,-o", args->out, "Write pixel_values (f32 [tiles, 3, 336, 336]) and image_sizes to this .safetensors");
  sub->add_option("--max-image-pixels", args->max_pixels,
                  "Refuse images with more pixels than this (decompression-bomb guard)")
      ->default_val(engine::default_max_image_pixels())
      ->check(CLI::PositiveNumber);
  sub->add_flag("--exif-orientation", args->exif,
                "Rotate/flip per the EXIF orientation tag (the reference does not; off by default)");
  add_resize_compat_flag(*sub, args->resize_compat);
  sub->add_flag("--map", args->map,
                "Also draw the tile map: the grid, the unpadded image area ('#') and the token sum");
  add_max_image_tokens_flag(*sub, args->max_image_tokens);
  // The earlier spelling, kept working but out of --help.
  sub->add_option("--pillow-pass-order", args->resize_compat)
      ->group("")
      ->check(CLI::IsMember({"pillow13", "classic"}));
  sub->callback([&run, args] { run = [args] { return run_preprocess(*args); }; });
}

}  // namespace mvl::cli
