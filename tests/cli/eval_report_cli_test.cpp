// eval's reports name the model (issue #20): summary.json carries its name, parameters, weight
// bytes and dtype, activation precision and a demo flag with the reason; summary.md says the
// same in a line and flags the bundled random model in bold, so a 0.00 from a demo model
// cannot pass for a real score. With --json, errors of every phase come as one JSON object
// on stderr carrying the exit code.
#include <gtest/gtest.h>
#include <unistd.h>

#include "app/eval/report.h"
#include "kernels/core/json.h"
#include "kernels/core/safetensors.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

using json::Json;
using test::run_cli;

std::string tiny() {
  return test::source_path("assets/models/tiny-random");
}

TEST(EvalReport, SummaryNamesTheModelAndFlagsTheDemo) {
  const std::string out = test::temp_dir("eval_report") + "/out";
  const auto r =
      run_cli({"eval", "docvqa", "--data", test::source_path("assets/eval/docvqa_sample.jsonl"),
               "--limit", "1", "-n", "2", "-o", out, "-q", "-m", tiny()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json s = Json::parse(test::read_text(out + "/summary.json"));
  const Json& m = s["model"];
  const Checkpoint ck = Checkpoint::open(tiny());
  int64_t params = 0;
  for (const auto& n : ck.names()) params += shape_numel(ck.info(n).shape);
  EXPECT_EQ(m["name"], "tiny-random") << m.dump();
  EXPECT_EQ(m["parameters"].get<int64_t>(), params);
  EXPECT_EQ(m["weight_bytes"].get<uint64_t>(), ck.total_bytes());
  EXPECT_EQ(m["weight_dtype"], "bf16");
  EXPECT_EQ(m["precision"], "f32");
  EXPECT_EQ(m["demo"], true);
  EXPECT_NE(m["demo_reason"].get<std::string>().find("random"), std::string::npos);
  const std::string md = test::read_text(out + "/summary.md");
  EXPECT_NE(md.find("**tiny-random**"), std::string::npos) << md;
  EXPECT_NE(md.find("K parameters"), std::string::npos) << md;  // ~816K
  EXPECT_NE(md.find("MB of bf16 weights"), std::string::npos) << md;
  EXPECT_NE(md.find("DEMO MODEL"), std::string::npos) << md;
  // The table printed on stdout is the same markdown.
  EXPECT_NE(r.out.find("DEMO MODEL"), std::string::npos) << r.out;
}

TEST(EvalReport, ARealModelIsNotFlagged) {
  eval::RunInfo info;
  info.model = {{"name", "MiniMax-VL-01"},
                {"parameters", 456'000'000'000LL},
                {"weight_bytes", 913'000'000'000ULL},
                {"weight_dtype", "bf16"},
                {"precision", "bf16"},
                {"backend", "cuda"},
                {"demo", false}};
  const std::string md = eval::summary_markdown(eval::summarize({}, info));
  EXPECT_NE(md.find("Model: **MiniMax-VL-01** (456.0B parameters, 913.0 GB of bf16 weights; bf16 "
                    "activations on cuda)"),
            std::string::npos)
      << md;
  EXPECT_EQ(md.find("DEMO"), std::string::npos) << md;
}

TEST(EvalReport, ResumeFromAnotherPathIsTheSameModel) {
  const std::string dir = test::temp_dir("eval_report_resume");
  const std::string data = test::source_path("assets/eval/docvqa_sample.jsonl");
  auto r = run_cli(
      {"eval", "docvqa", "--data", data, "--limit", "1", "-n", "2", "-o", dir + "/out", "-q", "-m", tiny()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The same checkpoint through a symlink with another name: --resume accepts it.
  ASSERT_EQ(::symlink(tiny().c_str(), (dir + "/other-name").c_str()), 0);
  r = run_cli({"eval", "docvqa", "--data", data, "--limit", "2", "-n", "2", "-o", dir + "/out",
               "-q", "--resume", "-m", dir + "/other-name"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// Every failing phase gives one JSON object with its exit code under --json.
TEST(EvalReport, JsonErrorsCarryTheExitCode) {
  const std::string dir = test::temp_dir("eval_json_err");
  struct Case {
    std::vector<std::string> args;
    int code;
  };
  const std::vector<Case> cases = {
      {{"eval", "docvqa", "--data", dir + "/missing.jsonl", "--json"}, 4},
      {{"eval", "docvqa", "--json"}, 2},
      {{"eval", "docvqa", "--data", test::source_path("assets/eval/docvqa_sample.jsonl"), "-m",
        dir + "/no-model", "-o", dir + "/o", "--json"},
       3},
      {{"eval", "docvqa", "--json", "--temp", "nan"}, 2},
      {{"ask", "--json", "-m", dir + "/no-model", "hi"}, 3},
      {{"info", "--json", "-m", dir + "/no-model"}, 3},
  };
  for (const auto& c : cases) {
    std::string joined;
    for (const auto& a : c.args) joined += a + " ";
    SCOPED_TRACE(joined);
    const auto r = run_cli(c.args);
    EXPECT_EQ(r.exit_code, c.code) << r.err;
    Json j;
    ASSERT_NO_THROW(j = Json::parse(r.err)) << r.err;
    ASSERT_TRUE(j.contains("error")) << r.err;
    EXPECT_EQ(j["error"]["exit_code"].get<int>(), r.exit_code);
    EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
    EXPECT_TRUE(j["error"]["type"].is_string());
    EXPECT_EQ(r.out, "") << "stdout must hold no half result";
  }
  // Without --json: the usual one line of text.
  const auto r = run_cli({"eval", "docvqa", "--data", dir + "/missing.jsonl"});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(r.err.rfind("minimax-vl: error: ", 0), 0u) << r.err;
}

}  // namespace
}  // namespace mvl
