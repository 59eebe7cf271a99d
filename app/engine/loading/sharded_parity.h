// A checkpoint's text model split over N tensor-parallel ranks (llm/parallel), opened for the
// parity commands (`logits --tp N`): CPU ranks as threads, or GPUs first.index .. +N-1.
// The vision half is not loaded here; image rows come from the caller's splicing.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "app/engine/loading/model_config.h"
#include "kernels/core/safetensors.h"
#include "kernels/ops/precision.h"
#include "llm/parallel/sharded_text_model.h"

namespace mvl::engine {

class ShardedParityModel {
 public:
  // Throws Error{invalid_argument} when tp does not split the model (naming the sizes that do).
  static ShardedParityModel open(const std::string& dir, int tp, Device first,
                                 std::optional<ops::Precision> precision = std::nullopt);
  const ModelConfig& config() const { return cfg_; }
  const Checkpoint& checkpoint() const { return ckpt_; }
  int tp() const { return model_.tp(); }
  // f32 [n, vocab] on the host: the logits of every position of the prompt, from a fresh state.
  Tensor logits(const std::vector<llm::Segment>& segments, int64_t chunk = 0) const;

 private:
  ModelConfig cfg_;
  Checkpoint ckpt_;
  llm::ShardedTextModel model_;
};

}  // namespace mvl::engine
