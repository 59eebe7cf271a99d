// `minimax-vl quantize` behind the engine (the CLI reaches llm/ only through app/engine): a
// checkpoint directory written again with the text weights a scheme picks quantized
// (llm/weights/quant_checkpoint.h: same shards, codes + `_scale` / `_zero` tensors), its
// config.json with a `quantization_config`, and every other file of the source copied.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "llm/weights/quant_rule.h"

namespace mvl::engine {

struct QuantizeProgress {
  size_t file = 0, files = 0;            // 1-based shard being written, of `files`
  std::string name;                      // its file name
  uint64_t bytes_in = 0, bytes_out = 0;  // tensor bytes read / written so far
};

struct QuantizeResult {
  std::vector<std::string> files;                // written shards and index
  uint64_t source_bytes = 0, written_bytes = 0;  // *.safetensors on disk, before and after
};

// Reads src (config.json + *.safetensors; refuses an already quantized one with
// Error{unsupported}), writes dst (which must not exist or be empty) in scheme s. Throws Error.
QuantizeResult quantize_model_dir(const std::string& src, const std::string& dst,
                                  llm::QuantScheme s,
                                  const std::function<void(const QuantizeProgress&)>& progress);

}  // namespace mvl::engine
