// `minimax-vl make-tiny` end to end: regenerating the committed assets/models/tiny-random
// is byte-identical, the bundled tokenizer is the golden minimax_like.json, and bad
// arguments fail with the right exit code.
#include <filesystem>
#include <set>

#include "tests/support/test_util.h"

namespace mvl {
namespace {

namespace fs = std::filesystem;
using test::run_cli;

std::set<std::string> files_in(const std::string& dir) {
  std::set<std::string> r;
  for (const auto& e : fs::directory_iterator(dir)) r.insert(e.path().filename().string());
  return r;
}

TEST(MakeTinyCli, RegeneratingTheAssetIsByteIdentical) {
  const std::string asset = test::source_path("assets/models/tiny-random");
  const std::string out = test::temp_dir("make-tiny");
  const auto r = run_cli({"make-tiny", "--out", out, "--seed", "0", "--tokenizer", asset + "/tokenizer.json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("model.safetensors.index.json"), std::string::npos) << r.out;
  ASSERT_EQ(files_in(out), files_in(asset));
  for (const auto& f : files_in(asset))
    EXPECT_TRUE(test::read_text(out + "/" + f) == test::read_text(asset + "/" + f))
        << f << " differs; if the generator changed on purpose, rerun: minimax-vl make-tiny --out "
        << "assets/models/tiny-random";
}

TEST(MakeTinyCli, BundledTokenizerIsTheGoldenOne) {
  const std::string golden = test::source_path("tests/golden/tokenizer/minimax_like.json");
  if (!fs::exists(golden)) GTEST_SKIP() << "tests/golden/tokenizer/minimax_like.json is not in this tree";
  EXPECT_TRUE(test::read_text(golden) == test::read_text(test::source_path("assets/models/tiny-random/tokenizer.json")))
      << "assets/models/tiny-random/tokenizer.json is stale; regenerate with: minimax-vl make-tiny --out "
         "assets/models/tiny-random";
}

TEST(MakeTinyCli, SingleFileAndSeedsDiffer) {
  const std::string tok = test::source_path("assets/models/tiny-random/tokenizer.json");
  const std::string a = test::temp_dir("mt-a"), b = test::temp_dir("mt-b");
  ASSERT_EQ(run_cli({"make-tiny", "--out", a, "--single-file", "--tokenizer", tok}).exit_code, 0);
  ASSERT_EQ(run_cli({"make-tiny", "--out", b, "--single-file", "--seed", "1", "--tokenizer", tok}).exit_code, 0);
  EXPECT_TRUE(fs::exists(a + "/model.safetensors"));
  EXPECT_FALSE(fs::exists(a + "/model.safetensors.index.json"));
  EXPECT_NE(test::read_text(a + "/model.safetensors"), test::read_text(b + "/model.safetensors"));
  const auto info = run_cli({"info", "-m", a});
  EXPECT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("1 file, 121 tensors"), std::string::npos) << info.out;
}

TEST(MakeTinyCli, BadArguments) {
  EXPECT_EQ(run_cli({"make-tiny"}).exit_code, 2);  // --out is required
  EXPECT_EQ(run_cli({"make-tiny", "--out", test::temp_dir("mt"), "--layout", "gguf"}).exit_code, 2);
  const auto r = run_cli({"make-tiny", "--out", test::temp_dir("mt"), "--tokenizer", "/no/tokenizer.json"});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find("/no/tokenizer.json"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mvl
