// ModelConfig: reads the composite config.json in the released remote-code layout or the
// transformers-native one (spec §2, §2.5), preprocessor_config.json and the generation EOS,
// cross-checks the halves, and writes both schemas back (make-tiny, configs/).
#include "app/engine/loading/model_config.h"

#include <filesystem>

#include "kernels/core/error.h"
#include "kernels/core/log.h"

namespace mvl::engine {

namespace fs = std::filesystem;
using json::Json;

namespace {

[[noreturn]] void bad(const std::string& what, const std::string& problem) {
  throw Error(ErrorCategory::bad_format, fmt::format("{}: {}", what, problem));
}

Json pinpoints_json(const std::vector<vision::Pinpoint>& pins) {
  Json a = Json::array();
  for (const auto& [w, h] : pins) a.push_back({w, h});
  return a;
}

void check_token_id(const std::optional<int64_t>& id, const char* key, int64_t vocab,
                    const std::string& what) {
  if (id && (*id < 0 || *id >= vocab))
    bad(what, fmt::format("{} {} lies outside the vocabulary [0, {})", key, *id, vocab));
}

}  // namespace

ModelConfig ModelConfig::released() {
  ModelConfig c;
  c.text = llm::TextConfig::released();
  return c;
}

ModelConfig ModelConfig::from_json(const json::Json& j, const std::string& what) {
  if (!j.is_object()) bad(what, fmt::format("expected a JSON object, got {}", json::type_name(j)));
  ModelConfig c;
  if (auto it = j.find("architectures"); it != j.end() && it->is_array() && !it->empty() && (*it)[0].is_string())
    c.architecture = (*it)[0].get<std::string>();
  const auto model_type = json::opt_string(j, "model_type", what);
  const bool has_text = j.contains("text_config") && !j["text_config"].is_null();
  if (!has_text) {
    // A text-only MiniMax-Text-01 checkpoint: the text keys sit at the top level.
    if (!j.contains("attn_type_list") && !j.contains("layer_types"))
      bad(what, fmt::format("no text_config (model_type '{}'); expected a MiniMax-VL-01 config.json with "
                            "text_config and vision_config",
                            model_type.value_or("?")));
    c.text = llm::TextConfig::from_json(j, what);
    c.has_vision = false;
    c.architecture = c.architecture.empty() ? "MiniMaxText01ForCausalLM" : c.architecture;
  } else {
    if (model_type && *model_type != "minimax_vl_01")
      throw Error(ErrorCategory::unsupported,
                  fmt::format("{}: model_type '{}' is not MiniMax-VL-01 ('minimax_vl_01')", what, *model_type));
    c.text = llm::TextConfig::from_json(json::get_object(j, "text_config", what), what + " text_config");
    const Json& vc = json::get_object(j, "vision_config", what);
    c.vision = vision::VisionConfig::from_json(vc, what + " vision_config");
    // Legacy names the key image_token_index; native transformers names it image_token_id.
    if (auto v = json::opt_int(j, "image_token_index", what)) c.image_token_index = *v;
    else if (auto v2 = json::opt_int(j, "image_token_id", what)) c.image_token_index = *v2;
    else bad(what, "missing 'image_token_index' (released) or 'image_token_id' (native)");
    c.projector_hidden_act = json::opt_string(j, "projector_hidden_act", what).value_or("gelu");
    // The legacy/LLaVA class default is -2; the release sets -1 explicitly (spec §2.1).
    c.vision_feature_layer = json::opt_int(j, "vision_feature_layer", what).value_or(-2);
    c.vision_feature_select_strategy =
        json::opt_string(j, "vision_feature_select_strategy", what).value_or("default");
    if (auto it = j.find("image_grid_pinpoints"); it != j.end() && !it->is_null()) {
      Json pj = {{"image_grid_pinpoints", *it}, {"size", {c.vision.image_size, c.vision.image_size}},
                 {"patch_size", c.vision.patch_size}};
      c.preprocess = vision::PreprocessConfig::from_json(pj, what);
    } else {
      c.preprocess.tile_size = c.vision.image_size;
      c.preprocess.patch_size = c.vision.patch_size;
    }
  }
  if (auto t = json::opt_bool(j, "tie_word_embeddings", what)) c.text.tie_word_embeddings = *t;
  c.layout = c.text.layout == llm::TextConfigLayout::native ? CheckpointLayout::native : CheckpointLayout::released;
  c.validate(what);
  return c;
}

void ModelConfig::validate(const std::string& what) const {
  text.validate(what + " text_config");
  check_token_id(text.eos_token_id, "text_config eos_token_id", text.vocab_size, what);
  check_token_id(text.bos_token_id, "text_config bos_token_id", text.vocab_size, what);
  if (!has_vision) return;
  vision.validate(what + " vision_config");
  preprocess.validate(what);
  if (image_token_index < 0 || image_token_index >= text.vocab_size)
    bad(what, fmt::format("image_token_index {} lies outside the vocabulary [0, {})", image_token_index,
                          text.vocab_size));
  if (vision_feature_layer < -vision.num_hidden_layers - 1 || vision_feature_layer > vision.num_hidden_layers)
    bad(what, fmt::format("vision_feature_layer {} is out of range for a {}-layer vision tower",
                          vision_feature_layer, vision.num_hidden_layers));
  if (vision_feature_select_strategy != "default" && vision_feature_select_strategy != "full")
    bad(what, fmt::format("vision_feature_select_strategy '{}' must be 'default' or 'full'",
                          vision_feature_select_strategy));
  if (projector_hidden_act != "gelu" && projector_hidden_act != "quick_gelu" && projector_hidden_act != "silu")
    throw Error(ErrorCategory::unsupported,
                fmt::format("{}: projector_hidden_act '{}' is not supported", what, projector_hidden_act));
  if (preprocess.tile_size != vision.image_size || preprocess.patch_size != vision.patch_size)
    bad(what, fmt::format("the image processor cuts {}-px tiles with patch {} but the vision tower expects {}-px "
                          "images with patch {}",
                          preprocess.tile_size, preprocess.patch_size, vision.image_size, vision.patch_size));
}

ModelConfig ModelConfig::load_dir(const std::string& dir) {
  std::error_code ec;
  const bool is_file = fs::is_regular_file(dir, ec);
  const fs::path base = is_file ? fs::path(dir).parent_path() : fs::path(dir);
  const std::string config_path = is_file ? dir : (base / "config.json").string();
  if (!is_file && !fs::exists(dir, ec))
    throw Error(ErrorCategory::not_found, fmt::format("model directory '{}' does not exist", dir));
  if (!fs::exists(config_path, ec))
    throw Error(ErrorCategory::not_found,
                fmt::format("'{}' has no config.json; point -m at a MiniMax-VL-01 checkpoint directory", dir));
  ModelConfig c = from_json(json::parse_file(config_path), "'" + config_path + "'");
  c.source = dir;
  if (is_file) return c;
  const fs::path pre = base / "preprocessor_config.json";
  if (c.has_vision && fs::exists(pre, ec)) {
    const std::string what = "'" + pre.string() + "'";
    const auto from_config = c.preprocess;
    c.preprocess = vision::PreprocessConfig::from_json(json::parse_file(pre.string()), what);
    // The legacy processor reads pinpoints from this file, the model from config.json: a
    // mismatch would make the token count and the packed features disagree (spec §2.4).
    if (c.preprocess.pinpoints != from_config.pinpoints)
      bad(what, fmt::format("image_grid_pinpoints ({} pairs) differ from config.json's ({} pairs); the processor "
                            "and the model must use the same list",
                            c.preprocess.pinpoints.size(), from_config.pinpoints.size()));
    c.validate("'" + config_path + "'");
  }
  const fs::path gen = base / "generation_config.json";
  if (!c.text.eos_token_id && fs::exists(gen, ec)) {
    const std::string what = "'" + gen.string() + "'";
    const Json g = json::parse_file(gen.string());
    if (auto it = g.find("eos_token_id"); it != g.end() && !it->is_null()) {
      if (it->is_array()) {
        const auto ids = json::as_int_list(*it, what + " eos_token_id");
        if (ids.empty()) bad(what, "eos_token_id is an empty list; give the end-of-text token id");
        c.text.eos_token_id = ids.front();
      } else {
        c.text.eos_token_id = json::get_int(g, "eos_token_id", what);
      }
      check_token_id(c.text.eos_token_id, "eos_token_id", c.text.vocab_size, what);
    }
    if (!c.text.bos_token_id) {
      c.text.bos_token_id = json::opt_int(g, "bos_token_id", what);
      check_token_id(c.text.bos_token_id, "bos_token_id", c.text.vocab_size, what);
    }
  }
  return c;
}

json::Json ModelConfig::to_json(CheckpointLayout as) const {
  const auto& t = text;
  Json tc;
  tc["vocab_size"] = t.vocab_size;
  tc["hidden_size"] = t.hidden_size;
  tc["num_hidden_layers"] = t.num_hidden_layers;
  tc["num_attention_heads"] = t.num_attention_heads;
  tc["num_key_value_heads"] = t.num_key_value_heads;
  tc["head_dim"] = t.head_dim;
  tc["max_position_embeddings"] = t.max_position_embeddings;
  tc["hidden_act"] = t.hidden_act;
  tc["intermediate_size"] = t.intermediate_size;
  tc["num_local_experts"] = t.num_local_experts;
  tc["num_experts_per_tok"] = t.num_experts_per_tok;
  tc["rms_norm_eps"] = t.rms_norm_eps;
  tc["tie_word_embeddings"] = t.tie_word_embeddings;
  tc["bos_token_id"] = t.bos_token_id ? Json(*t.bos_token_id) : Json(nullptr);
  tc["eos_token_id"] = t.eos_token_id ? Json(*t.eos_token_id) : Json(nullptr);
  tc["sliding_window"] = nullptr;
  tc["attention_dropout"] = 0.0;
  tc["router_jitter_noise"] = 0.0;
  tc["router_aux_loss_coef"] = 0.001;
  tc["output_router_logits"] = false;
  tc["torch_dtype"] = "bfloat16";
  if (as == CheckpointLayout::released) {
    tc["architectures"] = {"MiniMaxText01ForCausalLM"};
    tc["model_type"] = "minimax_text_01";
    Json kinds = Json::array();
    for (auto k : t.layer_types) kinds.push_back(k == llm::AttnKind::softmax ? 1 : 0);
    tc["attn_type_list"] = kinds;
    tc["rotary_dim"] = t.rotary_dim;
    tc["rope_theta"] = t.rope_theta;
    tc["postnorm"] = t.postnorm;
    tc["layernorm_full_attention_alpha"] = t.full_attn_alpha;
    tc["layernorm_full_attention_beta"] = t.full_attn_beta;
    tc["layernorm_linear_attention_alpha"] = t.linear_attn_alpha;
    tc["layernorm_linear_attention_beta"] = t.linear_attn_beta;
    tc["layernorm_mlp_alpha"] = t.mlp_alpha;
    tc["layernorm_mlp_beta"] = t.mlp_beta;
    tc["shared_intermediate_size"] = {t.shared_intermediate_size};
    tc["shared_moe_mode"] = "sigmoid";
  } else {
    tc["model_type"] = "minimax";
    Json kinds = Json::array();
    for (auto k : t.layer_types) kinds.push_back(k == llm::AttnKind::softmax ? "full_attention" : "linear_attention");
    tc["layer_types"] = kinds;
    tc["rope_parameters"] = {{"rope_type", "default"},
                             {"rope_theta", t.rope_theta},
                             {"partial_rotary_factor",
                              static_cast<double>(t.rotary_dim) / static_cast<double>(t.head_dim)}};
    tc["block_size"] = t.block_size;
    tc["full_attn_alpha_factor"] = t.full_attn_alpha;
    tc["full_attn_beta_factor"] = t.full_attn_beta;
    tc["linear_attn_alpha_factor"] = t.linear_attn_alpha;
    tc["linear_attn_beta_factor"] = t.linear_attn_beta;
    tc["mlp_alpha_factor"] = t.mlp_alpha;
    tc["mlp_beta_factor"] = t.mlp_beta;
  }
  if (!has_vision) {
    tc["architectures"] = {architecture};
    return tc;
  }
  Json vc;
  vc["model_type"] = "clip_vision_model";
  vc["hidden_size"] = vision.hidden_size;
  vc["intermediate_size"] = vision.intermediate_size;
  vc["num_hidden_layers"] = vision.num_hidden_layers;
  vc["num_attention_heads"] = vision.num_attention_heads;
  vc["image_size"] = vision.image_size;
  vc["patch_size"] = vision.patch_size;
  vc["num_channels"] = vision.num_channels;
  vc["hidden_act"] = vision.hidden_act;
  vc["layer_norm_eps"] = vision.layer_norm_eps;
  vc["projection_dim"] = text.hidden_size;
  Json j;
  j["architectures"] = {"MiniMaxVL01ForConditionalGeneration"};
  j["model_type"] = "minimax_vl_01";
  j[as == CheckpointLayout::released ? "image_token_index" : "image_token_id"] = image_token_index;
  j["projector_hidden_act"] = projector_hidden_act;
  j["vision_feature_layer"] = vision_feature_layer;
  j["vision_feature_select_strategy"] = vision_feature_select_strategy;
  j["image_grid_pinpoints"] = pinpoints_json(preprocess.pinpoints);
  j["ignore_index"] = -100;
  j["image_seq_length"] = 576;
  j["tie_word_embeddings"] = text.tie_word_embeddings;
  j["torch_dtype"] = "bfloat16";
  j["text_config"] = tc;
  j["vision_config"] = vc;
  return j;
}

json::Json ModelConfig::preprocessor_json() const {
  Json p;
  p["processor_class"] = "MiniMaxVL01Processor";
  p["image_processor_type"] = "MiniMaxVL01ImageProcessor";
  p["process_image_mode"] = preprocess.mode;
  p["size"] = {preprocess.tile_size, preprocess.tile_size};
  p["patch_size"] = preprocess.patch_size;
  p["image_grid_pinpoints"] = pinpoints_json(preprocess.pinpoints);
  // The OpenAI-CLIP constants are written as their usual decimal literals (what Python
  // processors read); other values are float32 widened to double, which round-trips.
  auto triple = [](const std::array<float, 3>& v, const std::array<double, 3>& literal) {
    Json a = Json::array();
    for (int i = 0; i < 3; ++i)
      a.push_back(v[i] == static_cast<float>(literal[i]) ? literal[i] : static_cast<double>(v[i]));
    return a;
  };
  p["image_mean"] = triple(preprocess.image_mean, {0.48145466, 0.4578275, 0.40821073});
  p["image_std"] = triple(preprocess.image_std, {0.26862954, 0.26130258, 0.27577711});
  p["do_resize"] = true;
  p["do_normalize"] = true;
  p["do_convert_rgb"] = true;
  p["resample"] = 3;  // PIL BICUBIC
  return p;
}

}  // namespace mvl::engine
