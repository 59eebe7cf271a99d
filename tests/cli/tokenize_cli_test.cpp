// `minimax-vl tokenize` / `detokenize` end to end: ids equal HF's goldens line by line, with and
// without --no-special; detokenize inverts tokenize; bad input and missing files give one-line
// errors with the documented exit codes.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/test_util.h"

namespace mvl {
namespace {

using nlohmann::json;

std::string golden(const std::string& name) {
  return test::source_path("tests/golden/tokenizer/" + name);
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string line;
  while (std::getline(ss, line)) out.push_back(line);
  return out;
}

std::string ids_line(const json& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) s += ' ';
    s += std::to_string(ids[i].get<int>());
  }
  return s;
}

struct Cases {
  std::string input;  // corpus lines without line breaks, one per line
  std::vector<std::string> ids, ids_no_special;
};

Cases single_line_cases(const std::string& name) {
  const json corpus = json::parse(test::read_text(golden("corpus.json")));
  const json expected = json::parse(test::read_text(golden("expected_" + name + ".json")));
  Cases c;
  for (size_t i = 0; i < corpus.size(); ++i) {
    const std::string line = corpus[i].get<std::string>();
    if (line.find_first_of("\r\n") != std::string::npos) continue;
    c.input += line + "\n";
    c.ids.push_back(ids_line(expected["ids"][i]));
    c.ids_no_special.push_back(ids_line(expected["ids_no_special"][i]));
  }
  return c;
}

TEST(TokenizeCli, MatchesHuggingFaceGoldens) {
  for (const char* name : {"minimax_like", "o200k_style"}) {
    const Cases c = single_line_cases(name);
    ASSERT_GT(c.ids.size(), 100u);
    const auto r =
        test::run_cli({"tokenize", "--tokenizer", golden(std::string(name) + ".json")}, c.input);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(split_lines(r.out), c.ids) << name;
    const auto ns = test::run_cli(
        {"tokenize", "--tokenizer", golden(std::string(name) + ".json"), "--no-special"}, c.input);
    ASSERT_EQ(ns.exit_code, 0) << ns.err;
    EXPECT_EQ(split_lines(ns.out), c.ids_no_special) << name;
  }
}

TEST(TokenizeCli, ModelDirAndDetokenizeRoundTrip) {
  const std::string dir = test::temp_dir("tok_model");
  std::filesystem::copy_file(golden("minimax_like.json"), dir + "/tokenizer.json");
  const std::string text = "Hello <image> world\n你好 👩‍💻\n\n";
  const auto enc = test::run_cli({"tokenize", "-m", dir}, text);
  ASSERT_EQ(enc.exit_code, 0) << enc.err;
  EXPECT_EQ(split_lines(enc.out).size(), 3u);
  const auto dec = test::run_cli({"detokenize", "--model", dir}, enc.out);
  ASSERT_EQ(dec.exit_code, 0) << dec.err;
  EXPECT_EQ(dec.out, text);
  const auto skip =
      test::run_cli({"detokenize", "-m", dir, "--skip-special"}, split_lines(enc.out)[0] + "\n");
  ASSERT_EQ(skip.exit_code, 0) << skip.err;
  EXPECT_EQ(skip.out, "Hello  world\n");
  // A pasted Python list works too.
  const auto list = test::run_cli({"detokenize", "-m", dir}, "[" + split_lines(enc.out)[1] + "]\n");
  EXPECT_EQ(list.out, "你好 👩‍💻\n");
}

TEST(TokenizeCli, ErrorsAreOneLineWithExitCodes) {
  const std::string tok = golden("minimax_like.json");
  auto one_line = [](const std::string& err) {
    return !err.empty() && err.find('\n') == err.size() - 1 &&
           err.rfind("minimax-vl: error: ", 0) == 0;
  };
  const auto missing =
      test::run_cli({"tokenize", "--tokenizer", "/nonexistent/tokenizer.json"}, "x\n");
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_TRUE(one_line(missing.err)) << missing.err;

  const std::string dir = test::temp_dir("tok_bad");
  test::write_text(dir + "/tokenizer.json", "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}");
  const auto bad = test::run_cli({"tokenize", "-m", dir}, "x\n");
  EXPECT_EQ(bad.exit_code, 3);
  EXPECT_TRUE(one_line(bad.err)) << bad.err;
  EXPECT_NE(bad.err.find("Unigram"), std::string::npos) << bad.err;

  const auto bad_id = test::run_cli({"detokenize", "--tokenizer", tok}, "1 2 99999999\n");
  EXPECT_EQ(bad_id.exit_code, 4);
  EXPECT_TRUE(one_line(bad_id.err)) << bad_id.err;
  EXPECT_NE(bad_id.err.find("line 1"), std::string::npos) << bad_id.err;
  const auto not_id = test::run_cli({"detokenize", "--tokenizer", tok}, "1\n2 x3\n");
  EXPECT_EQ(not_id.exit_code, 4);
  EXPECT_NE(not_id.err.find("'x3'"), std::string::npos) << not_id.err;

  const auto bad_utf8 = test::run_cli({"tokenize", "--tokenizer", tok}, "ok\nbad \xFF\n");
  EXPECT_EQ(bad_utf8.exit_code, 4);
  EXPECT_TRUE(one_line(bad_utf8.err)) << bad_utf8.err;
  EXPECT_NE(bad_utf8.err.find("line 2"), std::string::npos) << bad_utf8.err;

  const auto both = test::run_cli({"tokenize", "--tokenizer", tok, "-m", dir}, "x\n");
  EXPECT_EQ(both.exit_code, 2);
}

TEST(TokenizeCli, DefaultModelWorksOrFailsCleanly) {
  // Without flags the bundled tiny model is used; before it exists the error is one line.
  const auto r = test::run_cli({"tokenize"}, "hello\n");
  if (r.exit_code == 0) {
    EXPECT_FALSE(r.out.empty());
  } else {
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
    EXPECT_NE(r.err.find("--tokenizer FILE or --model DIR"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace mvl
