// The check every front end gets before a load starts: do the model's weights, plus the
// cache of one sequence, fit the chosen device? Computed from config.json alone (the memory
// plan, docs/memory_plan.md), so a checkpoint too big for the machine is refused in
// milliseconds, with the figures, instead of failing half-way through a long load.
#pragma once

#include "app/engine/loading/model_config.h"
#include "app/engine/core/options.h"

namespace mvl::engine {

// Throws Error{out_of_memory} naming the bytes needed and the bytes available when the
// model cannot fit: a GPU's free memory (weights are uploaded as bf16), or the host's RAM for
// the CPU (weights are memory-mapped, so they must fit in RAM to run at all). Does nothing
// when the device's memory cannot be read.
void check_model_fits(const ModelConfig& cfg, const EngineOptions& opts);

}  // namespace mvl::engine
