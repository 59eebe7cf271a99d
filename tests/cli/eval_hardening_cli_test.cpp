// Issue 14's eval rows on the bundled tiny model: an output folder is locked while a run
// writes to it (a second run exits 2 instead of mixing the two runs' files), and --resume
// re-runs every kept item whose prompt, target or image bytes changed since the earlier run,
// saying so, instead of keeping results for pages it never saw.
#include <filesystem>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "app/eval/output_lock.h"
#include "tests/cli/cli_timeout.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using test::run_cli_timed;

std::string tiny() {
  return test::source_path("assets/models/tiny-random");
}

std::vector<Json> records(const std::string& path) {
  std::vector<Json> out;
  std::istringstream in(test::read_text(path));
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(Json::parse(l));
  return out;
}

// A dataset folder of our own: data/d.jsonl with its images in samples/ (as in assets/).
std::string own_dataset(const std::string& root) {
  fs::create_directories(root + "/data");
  fs::copy(test::source_path("assets/samples"), root + "/samples", fs::copy_options::recursive);
  fs::copy_file(test::source_path("assets/eval/docvqa_sample.jsonl"), root + "/data/d.jsonl");
  return root + "/data/d.jsonl";
}

// Row "two evals writing to one -o": both exited 0 and the first run's predictions were gone.
TEST(EvalHardeningCli, ASecondRunOnALockedFolderIsAUsageError) {
  const std::string out = test::temp_dir("eval_lock") + "/out";
  const std::vector<std::string> args = {
      "eval",    "docvqa", "--data", test::source_path("assets/eval/docvqa_sample.jsonl"),
      "-m",      tiny(),   "-n",     "2",
      "--limit", "1",      "-o",     out};
  {
    const auto held = eval::OutputLock::acquire(out);  // stands for a run in progress
    const auto r = run_cli_timed(args, "", 120);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("is in use by another eval run"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out + "/predictions.jsonl"));
  }
  const auto r = run_cli_timed(args, "", 120);  // the lock dies with its holder
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(records(out + "/predictions.jsonl").size(), 1u);
}

// Row "--resume on another dataset": old results were kept for items whose images changed.
TEST(EvalHardeningCli, ResumeRerunsItemsWhoseImagesOrTextChanged) {
  const std::string root = test::temp_dir("eval_resume");
  const std::string data = own_dataset(root);
  const std::string out = root + "/out";
  const std::vector<std::string> base = {"eval", "docvqa", "--data", data, "-m",
                                         tiny(), "-n",     "2",      "-o", out};
  auto args = base;
  args.insert(args.end(), {"--limit", "3"});
  const auto r1 = run_cli_timed(args, "", 300);
  ASSERT_EQ(r1.exit_code, 0) << r1.err;
  const auto first = records(out + "/predictions.jsonl");
  ASSERT_EQ(first.size(), 3u);
  ASSERT_EQ(first[0]["images"][0].get<std::string>().find("invoice.png") != std::string::npos,
            true);

  // The page behind s1 and s2 is replaced by another document; s3's question is reworded.
  fs::copy_file(root + "/samples/receipt.png", root + "/samples/invoice.png",
                fs::copy_options::overwrite_existing);
  std::string text = test::read_text(data);
  const size_t at = text.find("\"questionId\": \"s3\"");
  ASSERT_NE(at, std::string::npos);
  const size_t q = text.find("\"question\": \"", at) + 13;
  text.insert(q, "Reworded: ");
  test::write_text(data, text);

  args = base;
  args.insert(args.end(), {"--limit", "3", "--resume"});
  const auto r2 = run_cli_timed(args, "", 300);
  ASSERT_EQ(r2.exit_code, 0) << r2.err;
  EXPECT_NE(r2.err.find("3 item(s) changed since the earlier run"), std::string::npos) << r2.err;
  const auto second = records(out + "/predictions.jsonl");
  ASSERT_EQ(second.size(), 3u);
  for (const auto& r : second) {
    SCOPED_TRACE(r["id"].dump());
    for (const auto& f : first) {
      if (f["id"] != r["id"]) continue;
      EXPECT_NE(r["image_fnv1a64"] == f["image_fnv1a64"] && r["prompt"] == f["prompt"], true)
          << "a changed item kept its old record";
    }
  }

  // Nothing changed now: --resume keeps all three.
  const auto r3 = run_cli_timed(args, "", 300);
  ASSERT_EQ(r3.exit_code, 0) << r3.err;
  EXPECT_EQ(r3.err.find("changed since"), std::string::npos) << r3.err;
  EXPECT_NE(r3.err.find("kept 3 from the earlier run"), std::string::npos) << r3.err;
}

}  // namespace
}  // namespace mvl
