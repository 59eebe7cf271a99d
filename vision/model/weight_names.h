// Where the vision half's tensors live in a checkpoint. The engine (the only code that knows
// checkpoint prefixes, design.md) picks one of these; vision code only appends suffixes.
#pragma once

#include <string>

namespace mvl::vision {

struct VisionWeightNames {
  std::string tower;          // + "embeddings.patch_embedding.weight", "encoder.layers.N....", ...
  std::string projector;      // + "linear_1.weight", ...
  std::string image_newline;  // the full key of the [text_hidden] row separator

  // The released MiniMax-VL-01 checkpoint (spec §1.2).
  static VisionWeightNames released() {
    return {"vision_tower.vision_model.", "multi_modal_projector.", "image_newline"};
  }
  // transformers' native minimax_vl_01 layout (spec §1.5).
  static VisionWeightNames native() {
    return {"model.vision_tower.", "model.multi_modal_projector.", "model.image_newline"};
  }
};

}  // namespace mvl::vision
