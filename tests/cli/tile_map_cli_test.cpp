// The tile map in the CLI: `preprocess --map` draws the grid and sums the tokens, a
// --max-image-tokens budget picks a smaller grid (and the pixels dumped follow it), and
// `ask -v` prints each image's map on stderr.
#include "kernels/core/json.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

std::string sample(const std::string& name) {
  return test::source_path("docs/images/" + name);
}

TEST(TileMapCli, PreprocessMapDrawsTheGridAndTheBudgetShrinksIt) {
  const auto r = test::run_cli({"preprocess", "-i", sample("tall_receipt.png"), "--map"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("6 x 1 tiles of 336 px"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("|.######.|"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("= 3024 image tokens"), std::string::npos) << r.out;

  const auto b = test::run_cli(
      {"preprocess", "-i", sample("tall_receipt.png"), "--json", "--max-image-tokens", "1500"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const json::Json j = json::parse(b.out, "preprocess --json");
  EXPECT_LE(j.at("image_tokens").get<int64_t>(), 1500);
  EXPECT_EQ(j.at("released_image_tokens"), 3024);
  EXPECT_EQ(j.at("grid"), json::Json::array({3, 1}));
  EXPECT_EQ(
      test::run_cli({"preprocess", "-i", sample("tall_receipt.png"), "--max-image-tokens", "-5"})
          .exit_code,
      2);
}

TEST(TileMapCli, AskVerbosePrintsTheMapOfEachImage) {
  const auto r = test::run_cli({"ask", "-v", "-n", "2", "-i", sample("wide_table.png"),
                                "--max-image-tokens", "2000", "What is in the table?"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("wide_table.png: 3200x300 px"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("instead of the released 1 x 6"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("positions left"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mvl
