// --resize-compat: every command that reads images has it, classic (Pillow <= 12) is the
// default, and a tall image through `logits` with no option gives the logits of the reference
// run on a Pillow <= 12 (tests/golden/vl/, tools/golden/vl/make_vl_goldens.py), while
// --resize-compat pillow13 gives those of the Pillow 13 run.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "kernels/core/safetensors.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

using test::run_cli;
using test::source_path;

std::string vl(const std::string& rel) {
  return source_path("tests/golden/vl/" + rel);
}

TEST(ResizeCompatCli, EveryImageCommandHasTheOption) {
  for (const char* cmd : {"ask", "chat", "eval", "serve", "logits", "generate", "preprocess"}) {
    const auto r = run_cli({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find("--resize-compat"), std::string::npos)
        << cmd << " --help lacks --resize-compat";
  }
  EXPECT_EQ(run_cli({"ask", "--resize-compat", "pillow11", "hi"}).exit_code, 2);
  // The old preprocess spelling still works, out of --help.
  EXPECT_EQ(run_cli({"preprocess", "--help"}).out.find("--pillow-pass-order"), std::string::npos);
}

TEST(ResizeCompatCli, PreprocessReportsClassicByDefaultAndTakesTheOldSpelling) {
  const std::string tall = vl("images/tall_150x2400.png");
  const auto d = run_cli({"preprocess", "--image", tall, "--json"});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(nlohmann::json::parse(d.out).at("resize_compat"), "classic");
  const auto old =
      run_cli({"preprocess", "--image", tall, "--json", "--pillow-pass-order", "pillow13"});
  ASSERT_EQ(old.exit_code, 0) << old.err;
  EXPECT_EQ(nlohmann::json::parse(old.out).at("resize_compat"), "pillow13");
}

// max |logits rows at `rows` - reference| / max |reference|.
double rel_err(const Tensor& all, const Tensor& rows, const Tensor& ref) {
  double err = 0, m = 0;
  const int64_t V = ref.dim(1);
  for (int64_t i = 0; i < rows.numel(); ++i) {
    const int64_t p = rows.data<int32_t>()[i];
    for (int64_t j = 0; j < V; ++j) {
      const double r = ref.data<float>()[i * V + j];
      err = std::max(err, std::fabs(all.data<float>()[p * V + j] - r));
      m = std::max(m, std::fabs(r));
    }
  }
  return err / m;
}

TEST(ResizeCompatCli, TallImageThroughLogitsUsesClassicByDefault) {
  const nlohmann::json man = nlohmann::json::parse(test::read_text(vl("manifest.json")));
  const auto& c = man.at("cases").at("tall");
  const std::string dir = test::temp_dir("resize-compat");
  std::string ids;
  for (const auto& i : c.at("ids")) ids += std::to_string(i.get<int>()) + " ";
  test::write_text(dir + "/ids.txt", ids);
  auto logits = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"logits",
                                     "-m",
                                     vl("model"),
                                     "--ids",
                                     dir + "/ids.txt",
                                     "--image",
                                     vl(c.at("images").at(0).get<std::string>()),
                                     "-o",
                                     dir + "/out.safetensors"};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = run_cli(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return contiguous(SafetensorsFile::open(dir + "/out.safetensors")->get("logits"));
  };
  const auto p12 = SafetensorsFile::open(vl("logits_pillow12.safetensors"));
  const auto p13 = SafetensorsFile::open(vl("logits_pillow13.safetensors"));
  const Tensor rows = contiguous(p12->get("tall.rows"));
  const Tensor ref12 = contiguous(p12->get("tall.f32")), ref13 = contiguous(p13->get("tall.f32"));

  const Tensor def = logits({});
  EXPECT_LE(rel_err(def, rows, ref12), 1e-4) << "default vs the Pillow <= 12 reference";
  EXPECT_GT(rel_err(def, rows, ref13), 1e-2) << "default looks like Pillow 13's order";
  const Tensor p13run = logits({"--resize-compat", "pillow13"});
  EXPECT_LE(rel_err(p13run, rows, ref13), 1e-4)
      << "--resize-compat pillow13 vs the Pillow 13 reference";
}

}  // namespace
}  // namespace mvl
