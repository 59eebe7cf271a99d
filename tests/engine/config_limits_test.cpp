// Issue 14: config values are validated against sane limits before anything is sized from
// them. A hostile config.json must give one bad_format error naming the key, never a giant
// allocation or an integer overflow later (image_grid_pinpoints near 2^62 overflowed the
// anyres arithmetic; [[33600, 33600]] allocated 19.8 GB per image).
#include <gtest/gtest.h>

#include "app/engine/loading/model_config.h"
#include "kernels/core/error.h"
#include "tests/support/test_util.h"

namespace mvl::engine {
namespace {

using json::Json;

Json released_json() {
  return json::parse_file(test::source_path("configs/minimax-vl-01.json"));
}

std::string error_of(const Json& j) {
  try {
    ModelConfig::from_json(j, "config.json");
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::bad_format) << e.what();
    return e.what();
  }
  return "";
}

TEST(ConfigLimits, ReleasedConfigPasses) {
  EXPECT_EQ(error_of(released_json()), "");
}

TEST(ConfigLimits, TextValuesBeyondLimitsAreRefused) {
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, int64_t>>{{"vocab_size", int64_t{1} << 40},
                                                    {"hidden_size", int64_t{1} << 30},
                                                    {"intermediate_size", int64_t{1} << 40},
                                                    {"num_local_experts", 1 << 20},
                                                    {"max_position_embeddings", int64_t{1} << 50},
                                                    {"head_dim", 1 << 20}}) {
    SCOPED_TRACE(key);
    Json j = released_json();
    j["text_config"][key] = value;
    const std::string e = error_of(j);
    EXPECT_NE(e.find(key), std::string::npos) << e;
  }
}

TEST(ConfigLimits, VisionValuesBeyondLimitsAreRefused) {
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, int64_t>>{{"hidden_size", int64_t{1} << 30},
                                                    {"intermediate_size", int64_t{1} << 40},
                                                    {"num_hidden_layers", 100000}}) {
    SCOPED_TRACE(key);
    Json j = released_json();
    j["vision_config"][key] = value;
    const std::string e = error_of(j);
    EXPECT_NE(e.find(key), std::string::npos) << e;
  }
}

TEST(ConfigLimits, HugeOrOverflowingPinpointsAreRefused) {
  const int64_t near_2_62 = int64_t{336} * (int64_t{1} << 53);
  for (const Json& pins : {Json::parse("[[33600, 33600]]"), Json{{near_2_62, 336}},
                           Json{{336, near_2_62}}, Json{{336 * 300, 336}}}) {
    SCOPED_TRACE(pins.dump());
    Json j = released_json();
    j["image_grid_pinpoints"] = pins;
    const std::string e = error_of(j);
    EXPECT_NE(e.find("image_grid_pinpoints"), std::string::npos) << e;
    EXPECT_NE(e.find("tiles"), std::string::npos) << e;
  }
  Json many = Json::array();
  for (int i = 0; i < 5000; ++i) many.push_back({336, 336});
  Json j = released_json();
  j["image_grid_pinpoints"] = many;
  EXPECT_NE(error_of(j).find("5000 entries"), std::string::npos);
}

TEST(ConfigLimits, TokenIdsOutsideTheVocabularyAreRefused) {
  Json j = released_json();
  j["text_config"]["eos_token_id"] = int64_t{1} << 27;
  EXPECT_NE(error_of(j).find("eos_token_id 134217728 lies outside the vocabulary"),
            std::string::npos);
}

}  // namespace
}  // namespace mvl::engine
