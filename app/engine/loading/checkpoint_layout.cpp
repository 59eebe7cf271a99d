// Layout detection and per-layout naming (see checkpoint_layout.h).
#include "app/engine/loading/checkpoint_layout.h"

#include <unordered_set>

namespace mvl::engine {

CheckpointLayout layout_of(const llm::TextWeightNaming& n) {
  return n.layers_prefix == llm::TextWeightNaming::released_vl().layers_prefix
             ? CheckpointLayout::released
             : CheckpointLayout::native;
}

CheckpointLayout detect_layout(const std::vector<std::string>& names, CheckpointLayout fallback) {
  const std::unordered_set<std::string> have(names.begin(), names.end());
  const auto n =
      llm::TextWeightNaming::find([&have](const std::string& k) { return have.count(k) > 0; });
  return n ? layout_of(*n) : fallback;
}

llm::TextWeightNaming text_naming(CheckpointLayout l) {
  return l == CheckpointLayout::native ? llm::TextWeightNaming::native_vl()
                                       : llm::TextWeightNaming::released_vl();
}

vision::VisionWeightNames vision_naming(CheckpointLayout l) {
  return l == CheckpointLayout::native ? vision::VisionWeightNames::native()
                                       : vision::VisionWeightNames::released();
}

const char* layout_name(CheckpointLayout l) {
  return l == CheckpointLayout::native ? "native" : "released";
}

}  // namespace mvl::engine
