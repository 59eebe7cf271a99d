// The one layout detection for a checkpoint (released vs transformers-native tensor names,
// docs/config.md), and the naming each half's tensor table takes for a layout. Detection is
// llm::TextWeightNaming::find on the checkpoint's names; the vision half follows the text half.
#pragma once

#include <string>
#include <vector>

#include "app/engine/loading/model_config.h"
#include "llm/weights/tensor_table.h"
#include "vision/model/weight_names.h"

namespace mvl::engine {

// The layout a text naming belongs to: language_model.model. -> released; model.language_model.
// (and MiniMax-Text-01's bare model.) -> native.
CheckpointLayout layout_of(const llm::TextWeightNaming& naming);
// The layout of a checkpoint with these tensor names; `fallback` when no text embedding or
// final norm is found under any known prefix.
CheckpointLayout detect_layout(const std::vector<std::string>& names, CheckpointLayout fallback);

llm::TextWeightNaming text_naming(CheckpointLayout layout);        // released_vl | native_vl
vision::VisionWeightNames vision_naming(CheckpointLayout layout);  // released | native

const char* layout_name(CheckpointLayout l);  // "released" / "native"

}  // namespace mvl::engine
