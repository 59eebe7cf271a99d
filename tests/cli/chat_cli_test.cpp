// `minimax-vl chat` driven through stdin on the tiny model: several turns give the same
// greedy answer as one prefill of the saved transcript (/save then /load), /clear resets,
// a bad /image only warns, and bad input at start is exit 4.
#include <gtest/gtest.h>

#include "tests/support/test_util.h"

namespace mvl {
namespace {

using test::run_cli;

std::string tiny() { return test::source_path("assets/models/tiny-random"); }

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

TEST(ChatCli, TurnByTurnEqualsOnePrefillOfTheTranscript) {
  const std::string dir = test::temp_dir("chat_cli");
  const std::string saved = dir + "/two_turns.json";
  const std::string img = test::source_path("assets/samples/table.png");
  // Session A: three turns (an image in the second), saving after two.
  const auto a = run_cli({"chat", "-m", tiny(), "-n", "8"},
                         "Hello there\n/image " + img + "\nWhat does this table say?\n/save " + saved +
                             "\nAnd the third question?\n");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  // Session B: the saved two turns fed in one prefill, then the same third question.
  const auto b = run_cli({"chat", "-m", tiny(), "-n", "8"}, "/load " + saved + "\nAnd the third question?\n");
  ASSERT_EQ(b.exit_code, 0) << b.err;
  ASSERT_GT(b.out.size(), 2u);
  EXPECT_TRUE(ends_with(a.out, b.out)) << "A:\n" << a.out << "\nB:\n" << b.out;
  // The check can fail: a different history gives a different third answer.
  const auto c = run_cli({"chat", "-m", tiny(), "-n", "8"}, "And the third question?\n");
  EXPECT_FALSE(ends_with(a.out, c.out));
}

TEST(ChatCli, LaterTurnsOnlyPrefillTheNewMessage) {
  const auto r = run_cli({"chat", "-m", tiny(), "-n", "4", "-v"}, "first question here\nsecond\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // -v prints "prompt N tokens" per turn; the second turn must be far smaller than the first
  // (system + first turn are not fed again).
  std::vector<int> prompts;
  for (size_t at = 0; (at = r.err.find("prompt ", at)) != std::string::npos; at += 7)
    prompts.push_back(std::stoi(r.err.substr(at + 7)));
  ASSERT_EQ(prompts.size(), 2u) << r.err;
  EXPECT_LT(prompts[1], prompts[0] / 2);
}

TEST(ChatCli, ClearStartsOver) {
  const auto once = run_cli({"chat", "-m", tiny(), "-n", "6"}, "ping\n");
  const auto twice = run_cli({"chat", "-m", tiny(), "-n", "6"}, "something\n/clear\nping\n");
  ASSERT_EQ(twice.exit_code, 0) << twice.err;
  EXPECT_TRUE(ends_with(twice.out, once.out));
  EXPECT_NE(twice.err.find("cleared"), std::string::npos);
}

TEST(ChatCli, BadImageInTheReplOnlyWarns) {
  const auto r = run_cli({"chat", "-m", tiny(), "-n", "3"}, "/image /no/such.png\nhello\n/quit\nnot sent\n");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.err.find("/no/such.png"), std::string::npos);
  EXPECT_FALSE(r.out.empty());
}

TEST(ChatCli, BadImageAtStartIsExit4) {
  const auto r = run_cli({"chat", "-m", tiny(), "--image", "/no/such.png"}, "hello\n");
  EXPECT_EQ(r.exit_code, 4);
}

TEST(ChatCli, MissingModelIsExit3) {
  const auto r = run_cli({"chat", "-m", "/no/such/model"}, "hello\n");
  EXPECT_EQ(r.exit_code, 3);
}

}  // namespace
}  // namespace mvl
