// quant_format_of: the per-role table of quant_rule.h.
#include "llm/weights/quant_rule.h"

namespace mvl::llm {

const char* quant_scheme_name(QuantScheme s) {
  switch (s) {
    case QuantScheme::none:
      return "bf16";
    case QuantScheme::int8:
      return "int8";
    case QuantScheme::int8_experts:
      return "int8-experts";
    case QuantScheme::fp8_experts:
      return "fp8-experts";
    case QuantScheme::int4_experts:
      return "int4-experts";
  }
  return "?";
}

std::vector<QuantScheme> all_quant_schemes() {
  return {QuantScheme::none, QuantScheme::int8, QuantScheme::int8_experts, QuantScheme::fp8_experts,
          QuantScheme::int4_experts};
}

std::optional<QuantScheme> quant_scheme_from_name(std::string_view s) {
  if (s == "none") return QuantScheme::none;
  for (auto q : all_quant_schemes())
    if (s == quant_scheme_name(q)) return q;
  return std::nullopt;
}

std::string quant_scheme_choices() {
  std::string r;
  for (auto q : all_quant_schemes())
    r += (r.empty() ? "" : ", ") + std::string(quant_scheme_name(q));
  return r;
}

WeightFormat quant_format_of(const TextTensor& t, QuantScheme s) {
  if (!t.is_matrix()) return WeightFormat::plain;
  switch (s) {
    case QuantScheme::none:
      return WeightFormat::plain;
    case QuantScheme::int8:
      switch (t.role) {
        case TextRole::embedding:
        case TextRole::lm_head:
        case TextRole::router:
          return WeightFormat::plain;
        default:
          return WeightFormat::int8;
      }
    case QuantScheme::int8_experts:
      return t.is_expert() ? WeightFormat::int8 : WeightFormat::plain;
    case QuantScheme::fp8_experts:
      return t.is_expert() ? WeightFormat::fp8_e4m3 : WeightFormat::plain;
    case QuantScheme::int4_experts:
      return t.is_expert() ? WeightFormat::int4 : WeightFormat::plain;
  }
  return WeightFormat::plain;
}

}  // namespace mvl::llm
