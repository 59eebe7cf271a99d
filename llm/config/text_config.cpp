// TextConfig parsing for both layouts (spec §2.2 legacy text_config, §2.5 native) and the
// validation every later stage relies on. Absent keys take the default of the schema's
// own config class (MiniMaxText01Config for legacy, transformers MiniMaxConfig for native),
// because exporters omit keys equal to those defaults; docs/config.md lists them.
#include "llm/config/text_config.h"

#include <cmath>

#include "kernels/core/error.h"

namespace mvl::llm {

namespace {

using json::Json;

[[noreturn]] void bad(const std::string& what, const std::string& problem) {
  throw Error(ErrorCategory::bad_format, fmt::format("{}: {}", what, problem));
}

int64_t int_or(const Json& j, const char* key, int64_t dflt, const std::string& what) {
  return json::opt_int(j, key, what).value_or(dflt);
}
double num_or(const Json& j, const char* key, double dflt, const std::string& what) {
  return json::opt_number(j, key, what).value_or(dflt);
}

// Keys shared by both schemas (same names, schema-specific defaults).
void parse_common(const Json& j, const std::string& what, TextConfig& c, int64_t max_pos_default,
                  double theta_default) {
  c.vocab_size = int_or(j, "vocab_size", 32000, what);
  c.hidden_size = int_or(j, "hidden_size", 4096, what);
  c.num_hidden_layers = int_or(j, "num_hidden_layers", 32, what);
  c.num_attention_heads = int_or(j, "num_attention_heads", 32, what);
  c.num_key_value_heads = int_or(j, "num_key_value_heads", c.num_attention_heads, what);
  c.intermediate_size = int_or(j, "intermediate_size", 14336, what);
  c.num_local_experts = int_or(j, "num_local_experts", 8, what);
  c.num_experts_per_tok = int_or(j, "num_experts_per_tok", 2, what);
  c.max_position_embeddings = int_or(j, "max_position_embeddings", max_pos_default, what);
  c.rms_norm_eps = num_or(j, "rms_norm_eps", 1e-5, what);
  c.hidden_act = json::opt_string(j, "hidden_act", what).value_or("silu");
  c.rope_theta = num_or(j, "rope_theta", theta_default, what);
  c.tie_word_embeddings = json::opt_bool(j, "tie_word_embeddings", what).value_or(false);
  c.block_size = int_or(j, "block_size", 256, what);
  // head_dim may be null in the native schema ("derive it").
  c.head_dim = int_or(j, "head_dim", 0, what);
  if (c.head_dim == 0) {
    if (c.num_attention_heads <= 0 || c.hidden_size % c.num_attention_heads != 0)
      bad(what, fmt::format("head_dim is absent and hidden_size {} is not a multiple of num_attention_heads {}",
                            c.hidden_size, c.num_attention_heads));
    c.head_dim = c.hidden_size / c.num_attention_heads;
  }
  // eos/bos may be an int, null or (native) a list; keep the first of a list.
  auto token_id = [&](const char* key) -> std::optional<int64_t> {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    if (it->is_array()) {
      if (it->empty()) return std::nullopt;
      const auto ids = json::as_int_list(*it, what + " " + key);
      return ids.front();
    }
    return json::get_int(j, key, what);
  };
  c.bos_token_id = token_id("bos_token_id");
  c.eos_token_id = token_id("eos_token_id");
}

// Legacy shared_intermediate_size is a list ([0] in the release) or an int.
int64_t shared_intermediate(const Json& j, const std::string& what) {
  auto it = j.find("shared_intermediate_size");
  if (it == j.end() || it->is_null()) return 0;
  if (it->is_array()) {
    int64_t total = 0;
    for (int64_t v : json::as_int_list(*it, what + " shared_intermediate_size")) total += v;
    return total;
  }
  return json::get_int(j, "shared_intermediate_size", what);
}

void parse_legacy(const Json& j, const std::string& what, TextConfig& c) {
  c.layout = TextConfigLayout::legacy;
  parse_common(j, what, c, 4096 * 32, 1e6);
  const Json& list = json::get_array(j, "attn_type_list", what);
  const auto kinds = json::as_int_list(list, what + " attn_type_list");
  if (static_cast<int64_t>(kinds.size()) != c.num_hidden_layers)
    bad(what, fmt::format("attn_type_list has {} entries but num_hidden_layers is {}", kinds.size(),
                          c.num_hidden_layers));
  c.layer_types.clear();
  for (size_t i = 0; i < kinds.size(); ++i) {
    if (kinds[i] != 0 && kinds[i] != 1)
      bad(what, fmt::format("attn_type_list[{}] is {}; expected 0 (lightning) or 1 (softmax)", i, kinds[i]));
    c.layer_types.push_back(kinds[i] == 1 ? AttnKind::softmax : AttnKind::lightning);
  }
  // The reference modeling code reads these attributes unconditionally: they are required.
  c.rotary_dim = json::get_int(j, "rotary_dim", what);
  c.full_attn_alpha = json::get_number(j, "layernorm_full_attention_alpha", what);
  c.full_attn_beta = json::get_number(j, "layernorm_full_attention_beta", what);
  c.linear_attn_alpha = json::get_number(j, "layernorm_linear_attention_alpha", what);
  c.linear_attn_beta = json::get_number(j, "layernorm_linear_attention_beta", what);
  c.mlp_alpha = json::get_number(j, "layernorm_mlp_alpha", what);
  c.mlp_beta = json::get_number(j, "layernorm_mlp_beta", what);
  c.postnorm = json::opt_bool(j, "postnorm", what).value_or(false);
  c.shared_intermediate_size = shared_intermediate(j, what);
}

void parse_native(const Json& j, const std::string& what, TextConfig& c) {
  c.layout = TextConfigLayout::native;
  // Native rope_theta lives in rope_parameters; older native files had it top level.
  parse_common(j, what, c, 4096 * 32, 1e6);
  const Json& list = json::get_array(j, "layer_types", what);
  if (static_cast<int64_t>(list.size()) != c.num_hidden_layers)
    bad(what, fmt::format("layer_types has {} entries but num_hidden_layers is {}", list.size(),
                          c.num_hidden_layers));
  c.layer_types.clear();
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string s = list[i].is_string() ? list[i].get<std::string>() : std::string();
    if (s == "linear_attention") c.layer_types.push_back(AttnKind::lightning);
    else if (s == "full_attention") c.layer_types.push_back(AttnKind::softmax);
    else
      bad(what, fmt::format("layer_types[{}] is {}; expected \"linear_attention\" or \"full_attention\"", i,
                            list[i].dump()));
  }
  double partial = num_or(j, "partial_rotary_factor", 1.0, what);
  if (auto rp = j.find("rope_parameters"); rp != j.end() && !rp->is_null()) {
    const std::string rw = what + " rope_parameters";
    if (!rp->is_object()) bad(what, fmt::format("rope_parameters must be an object, got {}", json::type_name(*rp)));
    const std::string type = json::opt_string(*rp, "rope_type", rw).value_or("default");
    if (type != "default")
      throw Error(ErrorCategory::unsupported,
                  fmt::format("{}: rope_type '{}' is not supported (MiniMax-VL-01 uses unscaled 'default' RoPE)",
                              rw, type));
    c.rope_theta = num_or(*rp, "rope_theta", c.rope_theta, rw);
    partial = num_or(*rp, "partial_rotary_factor", partial, rw);
  }
  if (!(partial > 0.0 && partial <= 1.0))
    bad(what, fmt::format("partial_rotary_factor {} must lie in (0, 1]", partial));
  const double rd = partial * static_cast<double>(c.head_dim);
  c.rotary_dim = static_cast<int64_t>(std::llround(rd));
  if (std::fabs(rd - static_cast<double>(c.rotary_dim)) > 1e-6)
    bad(what, fmt::format("partial_rotary_factor {} times head_dim {} is not a whole number of dims", partial,
                          c.head_dim));
  c.full_attn_alpha = num_or(j, "full_attn_alpha_factor", 1.0, what);
  c.full_attn_beta = num_or(j, "full_attn_beta_factor", 1.0, what);
  c.linear_attn_alpha = num_or(j, "linear_attn_alpha_factor", 1.0, what);
  c.linear_attn_beta = num_or(j, "linear_attn_beta_factor", 1.0, what);
  c.mlp_alpha = num_or(j, "mlp_alpha_factor", 1.0, what);
  c.mlp_beta = num_or(j, "mlp_beta_factor", 1.0, what);
  c.postnorm = true;  // the native decoder layer hard-codes the postnorm residual
  c.shared_intermediate_size = 0;
}

}  // namespace

TextConfig TextConfig::from_json(const json::Json& j, const std::string& what) {
  if (!j.is_object()) bad(what, fmt::format("expected an object, got {}", json::type_name(j)));
  const bool legacy = j.contains("attn_type_list") && !j["attn_type_list"].is_null();
  const bool native = j.contains("layer_types") && !j["layer_types"].is_null();
  TextConfig c;
  if (legacy && native) {
    // Some converted files keep both; they must agree.
    parse_legacy(j, what, c);
    TextConfig n;
    parse_native(j, what, n);
    if (n.layer_types != c.layer_types)
      bad(what, "attn_type_list and layer_types both present but describe different layers");
  } else if (legacy) {
    parse_legacy(j, what, c);
  } else if (native) {
    parse_native(j, what, c);
  } else {
    bad(what,
        "has neither attn_type_list (released MiniMax-Text-01 layout) nor layer_types (transformers-native "
        "layout); is this a MiniMax text config?");
  }
  if (auto mt = json::opt_string(j, "model_type", what)) c.model_type = *mt;
  c.validate(what);
  return c;
}

void TextConfig::validate(const std::string& what) const {
  auto positive = [&](const char* key, int64_t v) {
    if (v <= 0) bad(what, fmt::format("{} must be positive, got {}", key, v));
  };
  positive("vocab_size", vocab_size);
  positive("hidden_size", hidden_size);
  positive("num_hidden_layers", num_hidden_layers);
  positive("num_attention_heads", num_attention_heads);
  positive("num_key_value_heads", num_key_value_heads);
  positive("head_dim", head_dim);
  positive("rotary_dim", rotary_dim);
  positive("intermediate_size", intermediate_size);
  positive("num_local_experts", num_local_experts);
  positive("num_experts_per_tok", num_experts_per_tok);
  positive("max_position_embeddings", max_position_embeddings);
  positive("block_size", block_size);
  // Sane upper limits, checked before anything is sized from these values: a hostile config
  // must not make the loader allocate (or overflow computing) terabytes. Each is far above
  // the released model (spec §2.2) and anything it could be fine-tuned into.
  auto at_most = [&](const char* key, int64_t v, int64_t max) {
    if (v > max) bad(what, fmt::format("{} {} is beyond the supported limit {}", key, v, max));
  };
  at_most("vocab_size", vocab_size, int64_t{1} << 24);
  at_most("hidden_size", hidden_size, int64_t{1} << 16);
  at_most("num_hidden_layers", num_hidden_layers, 1024);
  at_most("num_attention_heads", num_attention_heads, 1024);
  at_most("num_key_value_heads", num_key_value_heads, 1024);
  at_most("head_dim", head_dim, 4096);
  at_most("intermediate_size", intermediate_size, int64_t{1} << 20);
  at_most("num_local_experts", num_local_experts, 4096);
  at_most("max_position_embeddings", max_position_embeddings, int64_t{1} << 27);
  at_most("block_size", block_size, int64_t{1} << 16);
  if (static_cast<int64_t>(layer_types.size()) != num_hidden_layers)
    bad(what, fmt::format("{} has {} entries but num_hidden_layers is {}",
                          layout == TextConfigLayout::native ? "layer_types" : "attn_type_list",
                          layer_types.size(), num_hidden_layers));
  if (num_attention_heads % num_key_value_heads != 0)
    bad(what, fmt::format("num_attention_heads {} is not a multiple of num_key_value_heads {}",
                          num_attention_heads, num_key_value_heads));
  if (rotary_dim > head_dim || rotary_dim % 2 != 0)
    bad(what, fmt::format("rotary_dim {} must be even and at most head_dim {}", rotary_dim, head_dim));
  if (num_experts_per_tok > num_local_experts)
    bad(what, fmt::format("num_experts_per_tok {} exceeds num_local_experts {}", num_experts_per_tok,
                          num_local_experts));
  if (!(rms_norm_eps > 0.0) || !(lightning_norm_eps > 0.0))
    bad(what, fmt::format("rms_norm_eps must be positive, got {}", rms_norm_eps));
  if (!(rope_theta > 0.0)) bad(what, fmt::format("rope_theta must be positive, got {}", rope_theta));
  if (hidden_act != "silu")
    throw Error(ErrorCategory::unsupported,
                fmt::format("{}: hidden_act '{}' is not supported (MiniMax-Text-01 uses 'silu')", what, hidden_act));
  if (!postnorm)
    throw Error(ErrorCategory::unsupported,
                fmt::format("{}: postnorm is false; only the postnorm residual of the released model is "
                            "implemented (set \"postnorm\": true)",
                            what));
  if (shared_intermediate_size != 0)
    throw Error(ErrorCategory::unsupported,
                fmt::format("{}: shared_intermediate_size is {}; shared experts are not supported (the release "
                            "uses [0])",
                            what, shared_intermediate_size));
  for (double f : {full_attn_alpha, full_attn_beta, linear_attn_alpha, linear_attn_beta, mlp_alpha, mlp_beta})
    if (!std::isfinite(f)) bad(what, "a residual alpha/beta factor is not a finite number");
}

TextConfig TextConfig::released() {
  TextConfig c;  // the member defaults are the released values
  c.layer_types.clear();
  for (int64_t l = 0; l < c.num_hidden_layers; ++l)
    c.layer_types.push_back((l + 1) % 8 == 0 ? AttnKind::softmax : AttnKind::lightning);
  return c;
}

int64_t TextConfig::num_softmax_layers() const {
  int64_t n = 0;
  for (auto k : layer_types) n += k == AttnKind::softmax ? 1 : 0;
  return n;
}

}  // namespace mvl::llm
