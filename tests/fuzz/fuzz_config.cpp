// Fuzzes config.json parsing: the composite MiniMax-VL-01 config (text_config, vision_config,
// image_grid_pinpoints), preprocessor_config.json, and the anyres geometry on whatever
// preprocessing config is accepted (a validated config must never overflow the arithmetic
// or ask for absurd sizes). The input is the JSON text.
#include <cstdio>
#include <cstdlib>

#include "app/engine/loading/model_config.h"
#include "kernels/core/error.h"
#include "tests/fuzz/fuzz_util.h"
#include "vision/preprocess/anyres.h"

using namespace mvl;

namespace {

void exercise_geometry(const vision::PreprocessConfig& pre) {
  static const int64_t sizes[][2] = {{1, 1}, {13, 7000}, {1000, 1000}, {8000, 3}, {13377, 9000}};
  for (const auto& s : sizes) {
    try {
      const auto layout = vision::anyres_layout(s[0], s[1], pre);
      // A validated config must give a bounded tile grid and token count.
      if (layout.num_tiles() > 1 + 256 /* vision_config.cpp kMaxGridTiles */ ||
          layout.image_tokens() < 0)
        std::abort();
    } catch (const Error&) {
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  json::Json j;
  try {
    j = json::parse(text, "config.json");
  } catch (const Error&) {
    return 0;
  }
  MVL_FUZZ_EXPECT_ERRORS_ONLY({
    const auto c = engine::ModelConfig::from_json(j, "config.json");
    if (c.has_vision) exercise_geometry(c.preprocess);
    (void)c.to_json(engine::CheckpointLayout::released);
    (void)c.to_json(engine::CheckpointLayout::native);
  });
  MVL_FUZZ_EXPECT_ERRORS_ONLY({
    const auto p = vision::PreprocessConfig::from_json(j, "preprocessor_config.json");
    exercise_geometry(p);
  });
  MVL_FUZZ_EXPECT_ERRORS_ONLY({
    if (j.is_object() && j.contains("text_config"))
      (void)llm::TextConfig::from_json(j["text_config"], "text_config");
  });
  return 0;
}
