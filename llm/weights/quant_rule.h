// The quantization rule of every text tensor, read off its tensor-table entry (role and axes,
// llm/weights/tensor_table.h), never off its name, as the sharding rule is (shard_rules.h):
//   --quant int8          the official recipe (the HF model card's QuantoConfig(weights="int8")):
//                         every GEMM weight int8 EXCEPT embed_tokens, lm_head and each
//                         block_sparse_moe.gate (router); each layer's `coefficient` (absent from
//                         VL-01: no shared experts) and the whole vision half (tower,
//                         image_newline, projector) stay bf16 too
//   --quant int8-experts  experts only (vLLM's experts_int8); everything else bf16
//   --quant fp8-experts   experts only, e4m3 with per-output-channel scales
//   --quant int4-experts  experts only, int4 groups of 128 with scale and zero point
// Norms and every 1-D tensor are never quantized.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/core/quant_format.h"
#include "llm/weights/tensor_table.h"

namespace mvl::llm {

enum class QuantScheme : uint8_t { none, int8, int8_experts, fp8_experts, int4_experts };

const char* quant_scheme_name(QuantScheme s);  // "bf16", "int8", "int8-experts", ...
// Parses a --quant value ("none" and "bf16" both mean none); nullopt when unknown.
std::optional<QuantScheme> quant_scheme_from_name(std::string_view s);
std::vector<QuantScheme> all_quant_schemes();  // bf16 first
std::string quant_scheme_choices();            // "bf16, int8, int8-experts, ..."

// The format tensor t is stored in under scheme s (WeightFormat::plain = as released).
WeightFormat quant_format_of(const TextTensor& t, QuantScheme s);

}  // namespace mvl::llm
