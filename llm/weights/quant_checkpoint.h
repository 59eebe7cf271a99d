// Quantized checkpoints on disk (issue 17; docs/quantization.md): what `minimax-vl quantize`
// writes and TextWeights::load reads back with no re-quantization. A weight the rule
// (quant_rule.h) quantizes keeps its name and holds the codes (I8 int8, F8_E4M3 fp8, U8 int4
// nibble pairs [.., ceil(in / 2)]); beside it `<name>_scale` F32 [.., 1] (int8, fp8) or
// [.., ceil(in / 128)] (int4), and for int4 `<name>_zero` F32 alike. config.json carries
// `quantization_config` {"quant_method": "minimax-vl", "scheme": ...}.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "kernels/core/json.h"
#include "kernels/core/quant_format.h"
#include "kernels/core/safetensors.h"
#include "llm/config/text_config.h"
#include "llm/weights/quant_rule.h"
#include "llm/weights/tensor_table.h"

namespace mvl::llm {

inline constexpr const char* kQuantMethod = "minimax-vl";

std::string quant_scale_name(const std::string& weight);  // weight + "_scale"
std::string quant_zero_name(const std::string& weight);   // weight + "_zero"
// On-disk shape and dtype of the codes, and the shape of the scales (and zeros), of a weight
// of logical shape `shape` (input axis last) in format f.
Shape stored_code_shape(const Shape& shape, WeightFormat f);
DType stored_code_dtype(WeightFormat f);
Shape stored_scale_shape(const Shape& shape, WeightFormat f);

// The quantized weight `name` (logical shape `shape`, format f) as stored: zero-copy views of
// the codes, scales and zeros. Throws Error{bad_format} naming the tensor when one is missing
// or has the wrong dtype or shape (a truncated scale table included).
Tensor read_quantized_weight(const Checkpoint& ckpt, const std::string& name, const Shape& shape,
                             WeightFormat f);

// config.json's "quantization_config" for scheme s.
json::Json quantization_config_json(QuantScheme s);
// The scheme a config.json declares (none when it has no quantization_config). A foreign
// method (quanto, fp8, awq, ...) or an unknown scheme throws Error{unsupported} saying so.
QuantScheme stored_quant_scheme(const json::Json& config, const std::string& what);

// Writes every tensor of `src` into out_dir, file by file under the same file names (the
// same shards): the text tensors `s` quantizes as codes + scales (+ zeros), everything else
// byte for byte; then the index when the source had one. One output shard is held in memory
// at a time, never a bf16 copy of the model. Returns the written file names.
struct QuantizeProgress {
  size_t file = 0, files = 0;            // 1-based file index being written, of `files`
  std::string name;                      // its file name
  uint64_t bytes_in = 0, bytes_out = 0;  // totals so far
};
std::vector<std::string> quantize_checkpoint(
    const Checkpoint& src, const TextConfig& cfg, const TextWeightNaming& naming, QuantScheme s,
    const std::string& out_dir, const std::function<void(const QuantizeProgress&)>& progress = {});

}  // namespace mvl::llm
