// Opening a checkpoint dir into a LoadedModel: config, tokenizer + chat template, text
// model and vision half, in the released or the native layout. This is the only code that
// knows the checkpoint prefixes (vision_tower., multi_modal_projector., language_model.,
// model.language_model., ...); it hands llm/ and vision/ their naming structs.
#pragma once

#include <optional>
#include <string>

#include "app/engine/core/engine.h"
#include "app/engine/loading/model_config.h"
#include "kernels/core/safetensors.h"
#include "kernels/ops/device.h"
#include "kernels/ops/precision.h"
#include "llm/weights/quant_rule.h"
#include "llm/config/text_config.h"

namespace mvl::engine {

// Throws Error (with "loading model 'DIR'" context) for anything missing or malformed.
// `progress` hears about every stage and the weight bytes as they load (LoadProgress).
LoadedModel load_checkpoint(const EngineOptions& opts, const LoadProgressFn& progress = {});

// The vision half alone (ViT + projector + packing), for the parity commands (`logits`,
// `generate --ids --image`) that drive llm::TextModel directly. Null for text-only configs.
// dev: where the ViT runs (CUDA: weights once as bf16, packed features stay on that GPU).
// precision: the ViT + projector activations, as for the text model (unset: bf16 on CUDA,
// f32 on the CPU); the packed rows are f32 either way. resize_compat: whose Pillow resize
// prepare() reproduces (EngineOptions::resize_compat).
std::unique_ptr<VisionEncoder> load_vision_encoder(
    const ModelConfig& cfg, const Checkpoint& ckpt, const ops::DeviceContext& dev = {},
    std::optional<ops::Precision> precision = std::nullopt,
    vision::PillowPassOrder resize_compat = vision::PillowPassOrder::classic);

// A text-only LoadedModel with random weights at cfg's shapes, made on dev
// (llm::TextModel::random: bf16 on a GPU, experts packed as load() packs them), without a
// tokenizer: raw token-id requests only. For `bench --path model`.
// With a quantization scheme the weights it picks are quantized on the device (bench --quant).
LoadedModel load_random_text_model(const llm::TextConfig& cfg, const ops::DeviceContext& dev, uint64_t seed = 1,
                                   llm::QuantScheme quant = llm::QuantScheme::none);
// The LoadedModel around any random-weight language model of cfg (no tokenizer, no vision):
// what load_random_text_model and load_random_sharded_model (sharded_lm.h) return.
LoadedModel random_text_only_model(const llm::TextConfig& cfg, std::unique_ptr<LanguageModel> lm,
                                   bool cuda, const std::string& precision);

// `serve --random-weights`: `layers` decoder layers of the config at config_path (a VL-01
// config.json's text_config or a flat Text-01 one): its first layers - 1, then a softmax
// layer if the config has any (so a short slice runs both kinds), with random weights on dev,
// plus
// the tokenizer and chat template of the model in tokenizer_dir (its ids are a prefix of the
// config's vocabulary), so chat requests run the real model path without a checkpoint.
LoadedModel load_random_chat_model(const std::string& config_path, int64_t layers,
                                   const std::string& tokenizer_dir, const ops::DeviceContext& dev,
                                   uint64_t seed = 1);

// True for the bundled random demo model (its answers are gibberish), detected from the
// "minimax_vl_tiny_random" marker make-tiny writes, or the directory name.
bool is_tiny_demo_model(const std::string& dir);

}  // namespace mvl::engine
