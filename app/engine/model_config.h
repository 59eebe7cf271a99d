// ModelConfig: the composite MiniMax-VL-01 config.json (top level + text_config +
// vision_config) in the released remote-code layout or the transformers-native one,
// plus preprocessor_config.json when present. The engine is the only layer that sees
// both halves, so the composite lives here.
#pragma once

#include <string>

#include "llm/config/text_config.h"
#include "vision/config/vision_config.h"

namespace mvl::engine {

enum class CheckpointLayout { released, native };

struct ModelConfig {
  llm::TextConfig text;
  vision::VisionConfig vision;
  vision::PreprocessConfig preprocess;
  bool has_vision = true;                   // false for a text-only checkpoint
  int64_t image_token_index = 200025;
  std::string projector_hidden_act = "gelu";
  int64_t vision_feature_layer = -1;
  std::string vision_feature_select_strategy = "default";
  CheckpointLayout layout = CheckpointLayout::released;

  // Parses a config.json object. `what` names the file in errors.
  static ModelConfig from_json(const json::Json& j, const std::string& what);
  // Reads DIR/config.json and, if present, DIR/preprocessor_config.json.
  static ModelConfig load_dir(const std::string& dir);
};

}  // namespace mvl::engine
