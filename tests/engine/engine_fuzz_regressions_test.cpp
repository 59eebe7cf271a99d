// Fuzz-found inputs for the engine's parsers (see tests/core/fuzz_regressions_test.cpp): a
// saved chat and a config.json holding a number out of double range must be one bad_format
// error, not a foreign nlohmann exception; a huge float for an integer key likewise.
#include "app/engine/loading/model_config.h"
#include "app/engine/core/transcript.h"
#include "kernels/core/error.h"
#include "llm/tokenizer/tokenizer.h"
#include "tests/support/test_util.h"

namespace mvl::engine {
namespace {

ErrorCategory category_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.category();
  }
  return ErrorCategory::internal;
}

TEST(EngineFuzzRegressions, SavedChatWithAHugeNumber) {
  const std::string dir = test::temp_dir("fuzz_chat");
  test::write_text(
      dir + "/chat.json",
      "{\"format\": \"minimax-vl-transcript/1\", \"messages\": [{\"role\": \"assistant\", "
      "\"content\": [], \"tokens\": [952e12534]}]}");
  EXPECT_EQ(category_of([&] { load_transcript(dir + "/chat.json"); }), ErrorCategory::bad_format);
}

TEST(EngineFuzzRegressions, ConfigWithHugeNumbers) {
  const std::string dir = test::temp_dir("fuzz_cfg");
  json::Json j = json::parse_file(test::source_path("assets/models/tiny-random/config.json"));
  j["text_config"]["hidden_size"] = 4.09678e+22;
  EXPECT_EQ(category_of([&] { ModelConfig::from_json(j, "config.json"); }),
            ErrorCategory::bad_format);
  test::write_text(dir + "/config.json", "{\"text_config\": {\"rope_theta\": 1e999}}");
  EXPECT_EQ(category_of([&] { ModelConfig::load_dir(dir); }), ErrorCategory::bad_format);
}

TEST(EngineFuzzRegressions, TokenizerJsonWithAHugeNumber) {
  EXPECT_EQ(category_of([] {
              llm::Tokenizer::from_json_text("{\"model\": {\"vocab\": {\"a\": 7e88888}}}", "t");
            }),
            ErrorCategory::bad_format);
}

}  // namespace
}  // namespace mvl::engine
