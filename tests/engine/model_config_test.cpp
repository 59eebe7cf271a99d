// ModelConfig / TextConfig / VisionConfig / PreprocessConfig parsing: the shipped released
// config, the transformers-native layout, round trips through to_json, and malformed
// configs each rejected with a readable message naming the problem.
#include <filesystem>

#include "app/engine/loading/model_config.h"
#include "kernels/core/error.h"
#include "tests/support/test_util.h"

namespace mvl::engine {
namespace {

using json::Json;

Json released_json() { return json::parse_file(test::source_path("configs/minimax-vl-01.json")); }

// A native-layout config.json as transformers writes it (spec §2.5 mapping applied by hand).
Json native_json() {
  Json j = released_json();
  j.erase("image_token_index");
  j["image_token_id"] = 200025;
  Json& t = j["text_config"];
  Json types = Json::array();
  for (int l = 0; l < 80; ++l) types.push_back((l + 1) % 8 == 0 ? "full_attention" : "linear_attention");
  for (const char* k : {"attn_type_list", "rotary_dim", "rope_theta", "postnorm", "shared_intermediate_size",
                        "shared_moe_mode", "layernorm_full_attention_alpha", "layernorm_full_attention_beta",
                        "layernorm_linear_attention_alpha", "layernorm_linear_attention_beta",
                        "layernorm_mlp_alpha", "layernorm_mlp_beta"})
    t.erase(k);
  t["model_type"] = "minimax";
  t["layer_types"] = types;
  t["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 1e7}, {"partial_rotary_factor", 0.5}};
  for (const char* k : {"full_attn", "linear_attn", "mlp"}) {
    t[std::string(k) + "_alpha_factor"] = 3.5565588200778455;
    t[std::string(k) + "_beta_factor"] = 1.0;
  }
  return j;
}

void expect_released_values(const ModelConfig& c) {
  const auto& t = c.text;
  EXPECT_EQ(t.vocab_size, 200064);
  EXPECT_EQ(t.hidden_size, 6144);
  EXPECT_EQ(t.num_hidden_layers, 80);
  EXPECT_EQ(t.num_attention_heads, 64);
  EXPECT_EQ(t.num_key_value_heads, 8);
  EXPECT_EQ(t.head_dim, 128);
  EXPECT_EQ(t.rotary_dim, 64);
  EXPECT_DOUBLE_EQ(t.rope_theta, 1e7);
  EXPECT_EQ(t.intermediate_size, 9216);
  EXPECT_EQ(t.num_local_experts, 32);
  EXPECT_EQ(t.num_experts_per_tok, 2);
  EXPECT_EQ(t.num_softmax_layers(), 10);
  EXPECT_EQ(t.num_lightning_layers(), 70);
  for (int64_t l = 0; l < 80; ++l) EXPECT_EQ(t.is_softmax(l), (l + 1) % 8 == 0) << l;
  EXPECT_DOUBLE_EQ(t.full_attn_alpha, 3.5565588200778455);
  EXPECT_DOUBLE_EQ(t.linear_attn_alpha, 3.5565588200778455);
  EXPECT_DOUBLE_EQ(t.mlp_alpha, 3.5565588200778455);
  EXPECT_DOUBLE_EQ(t.mlp_beta, 1.0);
  EXPECT_TRUE(t.postnorm);
  EXPECT_FALSE(t.tie_word_embeddings);
  EXPECT_DOUBLE_EQ(t.rms_norm_eps, 1e-5);
  EXPECT_EQ(t.block_size, 256);
  const auto& v = c.vision;
  EXPECT_EQ(v.hidden_size, 1024);
  EXPECT_EQ(v.intermediate_size, 4096);
  EXPECT_EQ(v.num_hidden_layers, 24);
  EXPECT_EQ(v.num_attention_heads, 16);
  EXPECT_EQ(v.num_positions(), 577);
  EXPECT_EQ(v.hidden_act, "gelu");
  EXPECT_EQ(c.image_token_index, 200025);
  EXPECT_EQ(c.vision_feature_layer, -1);
  EXPECT_EQ(c.vision_feature_select_strategy, "default");
  EXPECT_EQ(c.preprocess.pinpoints, vision::released_pinpoints());
  EXPECT_EQ(c.preprocess.tile_size, 336);
}

// Expects from_json(j) to throw an Error containing `problem`.
void expect_bad(const Json& j, const std::string& problem) {
  try {
    ModelConfig::from_json(j, "'test/config.json'");
    ADD_FAILURE() << "accepted a config that should fail with: " << problem;
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(problem), std::string::npos) << msg;
    EXPECT_NE(msg.find("test/config.json"), std::string::npos) << "message does not name the file: " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST(ReleasedPinpoints, TwentyEightPairsInFileOrder) {
  const auto p = vision::released_pinpoints();
  ASSERT_EQ(p.size(), 28u);
  EXPECT_EQ(p[0], (vision::Pinpoint{336, 336}));
  EXPECT_EQ(p[5], (vision::Pinpoint{336, 2016}));
  EXPECT_EQ(p[6], (vision::Pinpoint{672, 336}));
  EXPECT_EQ(p[21], (vision::Pinpoint{1344, 1344}));
  EXPECT_EQ(p[22], (vision::Pinpoint{1680, 336}));
  EXPECT_EQ(p[27], (vision::Pinpoint{2016, 1008}));
  for (const auto& [w, h] : p) EXPECT_LE((w / 336) * (h / 336), 18);
}

TEST(ModelConfig, ShippedReleasedConfigParses) {
  const ModelConfig c = ModelConfig::load_dir(test::source_path("configs/minimax-vl-01.json"));
  EXPECT_EQ(c.layout, CheckpointLayout::released);
  EXPECT_EQ(c.architecture, "MiniMaxVL01ForConditionalGeneration");
  expect_released_values(c);
  EXPECT_FALSE(c.text.eos_token_id.has_value());  // null in the release (spec §2.2)
}

TEST(ModelConfig, ReleasedFactoryMatchesTheShippedFile) {
  const ModelConfig a = ModelConfig::released();
  const ModelConfig b = ModelConfig::from_json(released_json(), "configs");
  EXPECT_EQ(a.to_json(CheckpointLayout::released), b.to_json(CheckpointLayout::released));
}

TEST(ModelConfig, NativeLayoutParsesToTheSameValues) {
  const ModelConfig c = ModelConfig::from_json(native_json(), "native");
  EXPECT_EQ(c.layout, CheckpointLayout::native);
  EXPECT_EQ(c.text.layout, llm::TextConfigLayout::native);
  expect_released_values(c);
}

TEST(ModelConfig, RoundTripsThroughBothSchemas) {
  const ModelConfig r = ModelConfig::released();
  for (auto layout : {CheckpointLayout::released, CheckpointLayout::native}) {
    const Json j = r.to_json(layout);
    const ModelConfig back = ModelConfig::from_json(j, "round trip");
    EXPECT_EQ(back.layout, layout);
    expect_released_values(back);
    EXPECT_EQ(back.to_json(CheckpointLayout::released), r.to_json(CheckpointLayout::released));
  }
  EXPECT_TRUE(r.to_json(CheckpointLayout::native)["text_config"].contains("layer_types"));
  EXPECT_TRUE(r.to_json(CheckpointLayout::released)["text_config"].contains("attn_type_list"));
}

TEST(ModelConfig, NativeOlderTopLevelRopeKeys) {
  Json j = native_json();
  j["text_config"].erase("rope_parameters");
  j["text_config"]["rope_theta"] = 1e7;
  j["text_config"]["partial_rotary_factor"] = 0.5;
  const ModelConfig c = ModelConfig::from_json(j, "native");
  EXPECT_EQ(c.text.rotary_dim, 64);
  EXPECT_DOUBLE_EQ(c.text.rope_theta, 1e7);
}

TEST(ModelConfig, LayerCountMismatchIsReadable) {
  Json j = released_json();
  j["text_config"]["attn_type_list"].erase(0);
  expect_bad(j, "attn_type_list has 79 entries but num_hidden_layers is 80");
  Json n = native_json();
  n["text_config"]["layer_types"].erase(0);
  expect_bad(n, "layer_types has 79 entries but num_hidden_layers is 80");
}

TEST(ModelConfig, BadLayerKinds) {
  Json j = released_json();
  j["text_config"]["attn_type_list"][5] = 2;
  expect_bad(j, "attn_type_list[5] is 2; expected 0 (lightning) or 1 (softmax)");
  Json n = native_json();
  n["text_config"]["layer_types"][3] = "sliding_attention";
  expect_bad(n, "layer_types[3] is \"sliding_attention\"");
  Json neither = released_json();
  neither["text_config"].erase("attn_type_list");
  expect_bad(neither, "neither attn_type_list");
}

TEST(ModelConfig, WrongTypesAndMissingKeys) {
  Json j = released_json();
  j["text_config"]["hidden_size"] = "6144";
  expect_bad(j, "key 'hidden_size': expected an integer, got string");
  Json k = released_json();
  k["text_config"].erase("rotary_dim");
  expect_bad(k, "missing key 'rotary_dim'");
  Json m = released_json();
  m.erase("text_config");
  expect_bad(m, "no text_config");
  Json v = released_json();
  v["vision_config"] = 3;
  expect_bad(v, "key 'vision_config': expected an object, got integer");
  Json t = released_json();
  t["text_config"]["layernorm_mlp_alpha"] = nullptr;
  expect_bad(t, "missing key 'layernorm_mlp_alpha'");
  expect_bad(Json::array(), "expected a JSON object, got array");
}

TEST(ModelConfig, InconsistentShapesAreRejected) {
  Json j = released_json();
  j["text_config"]["num_key_value_heads"] = 7;
  expect_bad(j, "num_attention_heads 64 is not a multiple of num_key_value_heads 7");
  Json r = released_json();
  r["text_config"]["rotary_dim"] = 192;
  expect_bad(r, "rotary_dim 192 must be even and at most head_dim 128");
  Json e = released_json();
  e["text_config"]["num_experts_per_tok"] = 33;
  expect_bad(e, "num_experts_per_tok 33 exceeds num_local_experts 32");
  Json z = released_json();
  z["text_config"]["vocab_size"] = 0;
  expect_bad(z, "vocab_size must be positive");
  Json i = released_json();
  i["image_token_index"] = 200064;
  expect_bad(i, "image_token_index 200064 lies outside the vocabulary");
  Json v = released_json();
  v["vision_config"]["num_attention_heads"] = 5;
  expect_bad(v, "hidden_size 1024 is not a multiple of num_attention_heads 5");
  Json p = released_json();
  p["vision_config"]["image_size"] = 448;
  expect_bad(p, "448");
  Json f = released_json();
  f["vision_feature_layer"] = -30;
  expect_bad(f, "vision_feature_layer -30 is out of range");
  Json q = native_json();
  q["text_config"]["rope_parameters"]["partial_rotary_factor"] = 0.3;
  expect_bad(q, "not a whole number of dims");
}

TEST(ModelConfig, UnsupportedVariantsSayWhy) {
  Json j = released_json();
  j["text_config"]["postnorm"] = false;
  expect_bad(j, "postnorm is false");
  Json s = released_json();
  s["text_config"]["shared_intermediate_size"] = {1024};
  expect_bad(s, "shared experts are not supported");
  Json n = native_json();
  n["text_config"]["rope_parameters"]["rope_type"] = "yarn";
  expect_bad(n, "rope_type 'yarn' is not supported");
  Json v = released_json();
  v["vision_config"]["model_type"] = "siglip_vision_model";
  expect_bad(v, "model_type 'siglip_vision_model' is not supported");
  Json m = released_json();
  m["model_type"] = "llava_next";
  expect_bad(m, "model_type 'llava_next' is not MiniMax-VL-01");
  Json a = released_json();
  a["text_config"]["hidden_act"] = "gelu";
  expect_bad(a, "hidden_act 'gelu' is not supported");
}

TEST(VisionConfig, AbsentKeysTakeClipDefaults) {
  const auto v = vision::VisionConfig::from_json(
      Json{{"hidden_size", 1024}, {"num_attention_heads", 16}, {"image_size", 336}, {"patch_size", 14}}, "v");
  EXPECT_EQ(v.hidden_act, "quick_gelu");  // CLIP's class default (spec §9.2)
  EXPECT_EQ(v.num_hidden_layers, 12);
  EXPECT_EQ(v.intermediate_size, 3072);
  EXPECT_DOUBLE_EQ(v.layer_norm_eps, 1e-5);
}

TEST(PreprocessConfig, SizeFormatsAndValidation) {
  using vision::PreprocessConfig;
  EXPECT_EQ(PreprocessConfig::from_json(Json{{"size", {336, 336}}}, "p").tile_size, 336);
  EXPECT_EQ(PreprocessConfig::from_json(Json{{"size", {{"height", 336}, {"width", 336}}}}, "p").tile_size, 336);
  EXPECT_EQ(PreprocessConfig::from_json(Json{{"size", {{"shortest_edge", 336}}}}, "p").tile_size, 336);
  const auto d = PreprocessConfig::from_json(Json::object(), "p");
  EXPECT_EQ(d.pinpoints.size(), 28u);
  EXPECT_FLOAT_EQ(d.image_mean[0], 0.48145466f);
  auto bad = [](const Json& j, const std::string& problem) {
    try {
      PreprocessConfig::from_json(j, "'pre.json'");
      ADD_FAILURE() << problem;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(problem), std::string::npos) << e.what();
    }
  };
  bad(Json{{"size", {336, 672}}}, "not square");
  bad(Json{{"image_mean", {0.5, 0.5}}}, "'image_mean' must be a list of 3 numbers");
  bad(Json{{"image_std", {0.5, 0.0, 0.5}}}, "image_std[1]");
  bad(Json{{"process_image_mode", "pad"}}, "process_image_mode 'pad' is not supported");
  bad(Json{{"image_grid_pinpoints", {{336, 500}}}}, "image_grid_pinpoints[0] = [336, 500]");
  bad(Json{{"image_grid_pinpoints", {{336}}}}, "image_grid_pinpoints[0]");
}

TEST(ModelConfig, LoadDirReadsProcessorAndGenerationFiles) {
  const std::string dir = test::temp_dir("cfg-dir");
  Json cfg = released_json();
  test::write_text(dir + "/config.json", cfg.dump());
  test::write_text(dir + "/generation_config.json", R"({"eos_token_id": 200020, "bos_token_id": 200019})");
  Json pre = ModelConfig::released().preprocessor_json();
  test::write_text(dir + "/preprocessor_config.json", pre.dump());
  const ModelConfig c = ModelConfig::load_dir(dir);
  EXPECT_EQ(c.text.eos_token_id, 200020);
  EXPECT_EQ(c.text.bos_token_id, 200019);
  EXPECT_EQ(c.preprocess.pinpoints.size(), 28u);
  // A processor whose pinpoints differ from config.json's would miscount image tokens.
  pre["image_grid_pinpoints"].erase(27);
  test::write_text(dir + "/preprocessor_config.json", pre.dump());
  try {
    ModelConfig::load_dir(dir);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("differ from config.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("preprocessor_config.json"), std::string::npos) << e.what();
  }
}

TEST(ModelConfig, LoadDirErrors) {
  try {
    ModelConfig::load_dir("/no/such/model");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::not_found);
    EXPECT_NE(std::string(e.what()).find("/no/such/model"), std::string::npos);
  }
  const std::string empty = test::temp_dir("cfg-empty");
  try {
    ModelConfig::load_dir(empty);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("has no config.json"), std::string::npos) << e.what();
  }
  const std::string broken = test::temp_dir("cfg-broken");
  test::write_text(broken + "/config.json", "{\"text_config\": ");
  try {
    ModelConfig::load_dir(broken);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::bad_format);
    EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos) << e.what();
  }
}

TEST(ModelConfig, TextOnlyConfig) {
  const Json t = released_json()["text_config"];
  const ModelConfig c = ModelConfig::from_json(t, "text-only");
  EXPECT_FALSE(c.has_vision);
  EXPECT_EQ(c.text.num_hidden_layers, 80);
}

}  // namespace
}  // namespace mvl::engine
