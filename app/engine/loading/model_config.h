// ModelConfig: the composite MiniMax-VL-01 config.json (top level + text_config +
// vision_config) in the released remote-code layout or the transformers-native one,
// plus preprocessor_config.json when present. The engine is the only layer that sees
// both halves, so the composite lives here.
#pragma once

#include <cstdint>
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
  std::string architecture = "MiniMaxVL01ForConditionalGeneration";  // architectures[0]
  std::string source;  // the directory or file the config came from ("" if built in code)

  // The released MiniMax-VL-01 architecture (spec §2), as configs/minimax-vl-01.json holds.
  static ModelConfig released();
  // Cross-checks the halves (image token in vocab, tile size = ViT image size, ...).
  void validate(const std::string& what) const;

  // Parses a config.json object. `what` names the file in errors.
  static ModelConfig from_json(const json::Json& j, const std::string& what);
  // Reads DIR/config.json and, if present, DIR/preprocessor_config.json (and the EOS id
  // from DIR/generation_config.json when config.json leaves it null). `dir` may also be a
  // config .json file (shape-only use, e.g. configs/minimax-vl-01.json).
  static ModelConfig load_dir(const std::string& dir);

  // config.json text in either schema: released = MiniMaxVL01Config + legacy text_config +
  // CLIP vision_config; native = transformers' minimax_vl_01 (layer_types, rope_parameters).
  json::Json to_json(CheckpointLayout as) const;
  // preprocessor_config.json text for the legacy image processor.
  json::Json preprocessor_json() const;
};

}  // namespace mvl::engine
