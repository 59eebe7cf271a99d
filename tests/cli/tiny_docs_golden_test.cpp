// Issue 18 in CI: the bundled tiny document model (assets/models/tiny-docs) through the C++
// runtime gives the same greedy answers as its PyTorch definition, and reads the sample pages.
//   * 20 held-out questions (unseen templates and fonts; tools/docgen heldout) with the answers
//     of tools/train_tiny/model.py frozen by tools/train_tiny/torch_answers.py --golden
//     (tests/golden/tiny_docs/manifest.json: versions, command, the weights' sha256), run
//     through `minimax-vl eval docvqa` (the eval prompt both sides use): every answer the same.
//   * `ask` with no -m uses this model, says so on stderr, and answers the receipt's and the
//     invoice's totals as printed on them.
#include <fstream>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/test_util.h"

namespace mvl {
namespace {

using Json = nlohmann::json;

std::string golden(const std::string& rel) { return test::source_path("tests/golden/tiny_docs/" + rel); }

std::vector<Json> read_jsonl(const std::string& path) {
  std::ifstream f(path);
  EXPECT_TRUE(f.good()) << path;
  std::vector<Json> rows;
  for (std::string line; std::getline(f, line);)
    if (!line.empty()) rows.push_back(Json::parse(line));
  return rows;
}

TEST(TinyDocsGolden, CppGreedyAnswersEqualThePyTorchModelOn20HeldOutQuestions) {
  std::map<std::string, std::string> want;
  for (const Json& r : read_jsonl(golden("torch_answers.jsonl")))
    want[r["questionId"].get<std::string>()] = r["torch"].get<std::string>();
  ASSERT_EQ(want.size(), 20u);
  const std::string out = test::temp_dir("tiny_docs_golden");
  const auto r = test::run_cli({"eval", "docvqa", "--data", golden("questions.jsonl"), "-m",
                                test::source_path("assets/models/tiny-docs"), "-o", out, "--overwrite",
                                "-n", "32"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int same = 0, n = 0;
  for (const Json& p : read_jsonl(out + "/predictions.jsonl")) {
    const std::string id = p["id"].get<std::string>();
    ASSERT_TRUE(want.count(id)) << id;
    const std::string got = p["response"].get<std::string>();
    ++n;
    same += got == want[id];
    EXPECT_EQ(got, want[id]) << id << ": " << p["question"].get<std::string>();
  }
  EXPECT_EQ(n, 20);
  std::printf("C++ vs PyTorch greedy answers: %d/%d identical\n", same, n);
}

TEST(TinyDocsGolden, AskWithoutAModelReadsTheSampleTotals) {
  struct Case {
    const char* image;
    const char* question;
    const char* printed;  // what the page says
  };
  for (const Case& c : {Case{"receipt.png", "What is the total?", "19.90"},
                        Case{"invoice.png", "What is the total amount due?", "513.81"}}) {
    const auto r = test::run_cli(
        {"ask", "--image", test::source_path(std::string("assets/samples/") + c.image), c.question});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find(c.printed), std::string::npos) << c.image << ": answered '" << r.out << "'";
    EXPECT_NE(r.err.find("tiny-docs"), std::string::npos) << r.err;  // the default-model note
  }
}

}  // namespace
}  // namespace mvl
