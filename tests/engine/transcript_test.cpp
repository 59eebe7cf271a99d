// Transcript JSON: a round trip keeps roles, content order, image paths and answer ids;
// malformed files fail with one readable Error naming the problem.
#include <gtest/gtest.h>

#include <filesystem>

#include "app/engine/core/transcript.h"
#include "kernels/core/error.h"
#include "tests/support/test_util.h"

namespace mvl::engine {
namespace {

std::vector<Message> sample_messages() {
  Message sys{Role::system, {ContentPart::make_text("Be brief.")}, {}};
  Message user{Role::user, {ContentPart::make_image("a.png"), ContentPart::make_text("Total? \"quoted\" <image>")}, {}};
  Message ans{Role::assistant, {ContentPart::make_text("42 €")}, {19, 20, 200019}};
  return {sys, user, ans};
}

TEST(Transcript, RoundTrip) {
  const std::string path = test::temp_dir("transcript") + "/t.json";
  save_transcript(path, sample_messages());
  const auto back = load_transcript(path);
  const auto want = sample_messages();
  ASSERT_EQ(back.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(back[i].role, want[i].role);
    EXPECT_EQ(back[i].tokens, want[i].tokens);
    ASSERT_EQ(back[i].parts.size(), want[i].parts.size());
    for (size_t k = 0; k < want[i].parts.size(); ++k) {
      EXPECT_EQ(back[i].parts[k].kind, want[i].parts[k].kind);
      EXPECT_EQ(back[i].parts[k].text, want[i].parts[k].text);
      // saved as absolute paths (against the current folder), so /load works from anywhere
      const std::string path = want[i].parts[k].image_path;
      EXPECT_EQ(back[i].parts[k].image_path,
                path.empty() ? path : std::filesystem::absolute(path).lexically_normal().string());
    }
  }
}

void expect_bad(const std::string& text, const std::string& needle) {
  try {
    transcript_from_json(json::parse(text, "t"), "'t.json'");
    ADD_FAILURE() << "accepted: " << text;
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::bad_format) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Transcript, MalformedFilesAreReadableErrors) {
  expect_bad(R"([1,2])", "expected a JSON object");
  expect_bad(R"({"messages": []})", "not a minimax-vl transcript");
  const std::string head = R"({"format": "minimax-vl-transcript/1", "messages": [)";
  expect_bad(head + R"({"role": "robot", "content": []}]})", "unknown role 'robot'");
  expect_bad(head + R"({"role": "user", "content": [{"type": "audio"}]}]})", "unknown content type 'audio'");
  expect_bad(head + R"({"role": "user", "content": [], "tokens": [1]}]})", "only assistant messages");
  expect_bad(head + R"({"role": "assistant", "content": [], "tokens": [-5]}]})", "out of range");
  expect_bad(head + R"({"role": "user"}]})", "content");
  EXPECT_THROW(load_transcript("/no/such/transcript.json"), Error);
}

}  // namespace
}  // namespace mvl::engine
