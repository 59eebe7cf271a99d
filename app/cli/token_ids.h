// Token-id prompts for the parity commands (`generate --ids`, `logits`): reading id lists
// and splicing images. Each occurrence of the image token id is expanded to that image's
// token count and replaced by its features (ViT + projector + packing), in order, so a
// reference run over the same expanded sequence can be compared row for row.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "app/engine/loading/model_config.h"
#include "app/engine/core/options.h"  // vision::PillowPassOrder (EngineOptions::resize_compat)
#include "kernels/core/safetensors.h"
#include "kernels/ops/device.h"
#include "llm/model/text_model.h"

namespace mvl::cli {

// A checkpoint opened for the parity commands: config, tensors and the text model only
// (images go through splice_images, which loads the vision half on demand).
struct ParityModel {
  engine::ModelConfig cfg;
  Checkpoint ckpt;
  llm::TextModel model;
};
// Loads DIR (load-phase errors, exit 3); the text model runs on `dev` (weights uploaded once)
// with the given activation precision (unset: the device's default, bf16 on CUDA).
ParityModel load_parity_model(const std::string& dir, const ops::DeviceContext& dev,
                              std::optional<ops::Precision> precision = std::nullopt);

// Whitespace-separated ids from FILE or '-' (stdin); commas and [] are accepted too, so a
// Python list pastes. Throws Error{invalid_argument|not_found} naming the file and item.
std::vector<int32_t> read_token_ids(const std::string& file);

// Every id must be < vocab_size; throws Error{invalid_argument} naming the position.
void check_token_ids(const std::vector<int32_t>& ids, int64_t vocab_size);

struct SplicedPrompt {
  std::vector<llm::Segment> segments;  // token runs and image rows, in prompt order
  int64_t positions = 0;               // length of the expanded sequence
  std::vector<int64_t> image_tokens;   // per image
};

// Splits `ids` at each cfg.image_token_index and puts the k-th image's features there.
// The count of image tokens in `ids` must equal images.size() (one-line error otherwise).
// Image decoding/preprocessing errors name the file (input errors for the caller).
// A vision tensor missing or malformed in the checkpoint is a load error (exit 3), not bad input.
// resize_compat: whose Pillow resize the images get (--resize-compat).
SplicedPrompt splice_images(
    const std::vector<int32_t>& ids, const std::vector<std::string>& images,
    const engine::ModelConfig& cfg, const Checkpoint& ckpt,
    vision::PillowPassOrder resize_compat = vision::PillowPassOrder::classic);

}  // namespace mvl::cli
