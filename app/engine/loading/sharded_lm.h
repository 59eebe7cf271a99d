// The text model over N tensor-parallel ranks (llm::ShardedTextModel) as the engine's
// LanguageModel: EngineOptions::tp > 1 opens it, so `logits --tp N` runs the engine's road.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "app/engine/core/model_api.h"
#include "kernels/core/device.h"
#include "kernels/core/safetensors.h"
#include "kernels/ops/precision.h"
#include "llm/config/text_config.h"
#include "llm/parallel/sharded_layers.h"
#include "llm/weights/quant_rule.h"

namespace mvl::engine {

// first: the CPU (tp ranks as threads) or cuda:K (GPUs K .. K + tp - 1). Throws
// Error{invalid_argument} when tp does not split the model (naming the sizes that do).
// rank >= 0: this process holds rank `rank` alone, on `first`, and joins the other processes
// at `rendezvous` (CPU: comm::SocketComm's socket path; CUDA: NcclComm::create_rank's id file).
// quant: quantize each rank's slices at load (any scheme, the same codes as --tp 1); stored:
// the scheme of a `minimax-vl quantize` checkpoint, whose codes are cut per rank as stored.
std::unique_ptr<LanguageModel> load_sharded_lm(const Checkpoint& ckpt, const llm::TextConfig& cfg,
                                               int tp, Device first,
                                               std::optional<ops::Precision> precision,
                                               int rank = -1, const std::string& rendezvous = "",
                                               llm::QuantScheme quant = llm::QuantScheme::none,
                                               llm::QuantScheme stored = llm::QuantScheme::none);

// rank_moe set: every rank, even one holding all the experts (tp 1), runs that per-rank MoE.
// Random weights (llm::ShardedTextModel::random, quantized with `quant`) over tp ranks: GPUs first.index ..
// first.index + tp - 1, or CPU ranks as threads. What `bench --random-weights --tp N` times.
LoadedModel load_random_sharded_model(const llm::TextConfig& cfg, int tp, Device first,
                                      uint64_t seed,
                                      llm::QuantScheme quant = llm::QuantScheme::none,
                                      std::optional<llm::RankMoe> rank_moe = std::nullopt);

}  // namespace mvl::engine
