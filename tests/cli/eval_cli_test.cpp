// `minimax-vl eval` end to end on the bundled tiny model and the sample datasets in
// assets/eval: report files and their schema, --limit 2 then --resume to 4 runs only the
// 2 new items (the first records stay byte-identical), a missing image is recorded per item,
// input errors exit 4 (usage 2) with one line before any model load, --json, Ctrl+C -> 130 with the
// finished items kept. The tiny model's answers are gibberish: scores are only range-checked.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "tests/support/test_util.h"

namespace mvl {
namespace {

using Json = nlohmann::json;
using test::run_cli;

std::string tiny() { return test::source_path("assets/models/tiny-random"); }
std::string sample_data(const std::string& name) { return test::source_path("assets/eval/" + name); }

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

int count_lines(const std::string& s) { return static_cast<int>(lines(s).size()); }

TEST(EvalCli, HelpTeachesWithExamples) {
  const auto r = run_cli({"eval", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* s : {"docvqa", "ai2d", "--data", "--limit", "--resume", "--output", "--device", "--json",
                        "--protocol", "Examples:", "docs/eval.md"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s;
}

TEST(EvalCli, DocVqaLimitThenResumeRunsOnlyNewItems) {
  const std::string out = test::temp_dir("eval_cli") + "/run";
  const std::vector<std::string> base = {"eval", "docvqa", "--data", sample_data("docvqa_sample.jsonl"),
                                         "-m", tiny(), "-n", "4", "-o", out};
  auto args = base;
  args.insert(args.end(), {"--limit", "2"});
  const auto r1 = run_cli(args);
  ASSERT_EQ(r1.exit_code, 0) << r1.err;
  EXPECT_NE(r1.out.find("| docvqa | short |"), std::string::npos) << r1.out;  // the markdown table
  EXPECT_NE(r1.err.find("ETA"), std::string::npos) << r1.err;                 // progress on stderr
  const std::string first = test::read_text(out + "/predictions.jsonl");
  ASSERT_EQ(count_lines(first), 2);

  for (const std::string& l : lines(first)) {
    const Json rec = Json::parse(l);
    for (const char* k : {"id", "question", "images", "prompt", "target", "response", "extracted", "scores",
                          "finish_reason", "usage", "timings", "error"})
      EXPECT_TRUE(rec.contains(k)) << k;
    EXPECT_TRUE(rec["error"].is_null());
    EXPECT_TRUE(rec["response"].is_string());
    EXPECT_EQ(rec["finish_reason"], "max_tokens");
    EXPECT_EQ(rec["usage"]["completion_tokens"], 4);
    EXPECT_GT(rec["usage"]["image_tokens"].get<int>(), 576);  // spec §3.10: base tile + grid rows
    for (const char* m : {"anls", "anls_strict", "exact_match"}) {
      const double v = rec["scores"][m].get<double>();
      EXPECT_GE(v, 0.0) << m;
      EXPECT_LE(v, 1.0) << m;
    }
    EXPECT_NE(rec["prompt"].get<std::string>().find("Answer the question using a single word or phrase."),
              std::string::npos);
  }
  Json s = Json::parse(test::read_text(out + "/summary.json"));
  EXPECT_EQ(s["done"], 2);
  EXPECT_EQ(s["selected"], 2);
  EXPECT_EQ(s["model"]["tiny_demo"], true);

  // Same settings without --resume: a usage error, before the model loads.
  const auto again = run_cli(base);
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("--resume"), std::string::npos) << again.err;
  EXPECT_EQ(count_lines(again.err), 1) << again.err;

  args = base;
  args.insert(args.end(), {"--limit", "4", "--resume"});
  const auto r2 = run_cli(args);
  ASSERT_EQ(r2.exit_code, 0) << r2.err;
  EXPECT_NE(r2.err.find("ran 2 item(s), kept 2 from the earlier run"), std::string::npos) << r2.err;
  const std::string second = test::read_text(out + "/predictions.jsonl");
  ASSERT_EQ(count_lines(second), 4);
  EXPECT_EQ(second.substr(0, first.size()), first);  // finished items were not run again
  const auto recs = lines(second);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(Json::parse(recs[i])["id"], fmt::format("s{}", i + 1));

  s = Json::parse(test::read_text(out + "/summary.json"));
  EXPECT_EQ(s["done"], 4);
  EXPECT_EQ(s["complete"], true);
  EXPECT_EQ(s["errors"], 0);
  EXPECT_GE(s["score"].get<double>(), 0.0);
  EXPECT_LE(s["score"].get<double>(), 1.0);
  EXPECT_GT(s["timings"]["images_per_s"].get<double>(), 0.0);
  EXPECT_GT(s["timings"]["prefill_tokens_per_s"].get<double>(), 0.0);
  EXPECT_GT(s["timings"]["decode_tokens_per_s"].get<double>(), 0.0);
  const std::string md = test::read_text(out + "/summary.md");
  EXPECT_NE(md.find("images/s"), std::string::npos) << md;
  const Json sub = Json::parse(test::read_text(out + "/submission.json"));
  ASSERT_EQ(sub.size(), 4u);
  EXPECT_EQ(sub[0]["questionId"], "s1");
}

TEST(EvalCli, Ai2dJsonSummary) {
  const std::string out = test::temp_dir("eval_cli") + "/ai2d";
  const auto r = run_cli({"eval", "ai2d", sample_data("ai2d_sample.jsonl"), "-m", tiny(), "--limit", "1", "-o", out,
                          "--json", "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");  // -q: no progress, no notes
  const Json s = Json::parse(r.out);  // exactly one JSON object on stdout
  EXPECT_EQ(s["task"], "ai2d");
  EXPECT_EQ(s["metric"], "accuracy");
  EXPECT_EQ(s["done"], 1);
  EXPECT_EQ(s["generation"]["max_tokens"], 16);  // the lmms-eval default for AI2D
  EXPECT_EQ(s["generation"]["temperature"], 0.0);
  const Json rec = Json::parse(lines(test::read_text(out + "/predictions.jsonl")).at(0));
  EXPECT_EQ(rec["target"]["answer"], "D");
  EXPECT_NE(rec["prompt"].get<std::string>().find("\nA. Q1\nB. Q2\nC. Q3\nD. Q4\n"), std::string::npos);
  EXPECT_TRUE(rec.contains("extraction_rule"));
}

TEST(EvalCli, MissingImageIsRecordedPerItem) {
  const std::string dir = test::temp_dir("eval_cli");
  test::write_text(dir + "/d.jsonl", "{\"id\": \"gone\", \"question\": \"q?\", \"image\": \"nowhere.png\", "
                                     "\"answers\": [\"x\"]}\n");
  const auto r = run_cli({"eval", "docvqa", "--data", dir + "/d.jsonl", "-m", tiny(), "-o", dir + "/out", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("missing"), std::string::npos) << r.err;  // warned before the load
  const Json s = Json::parse(r.out);
  EXPECT_EQ(s["errors"], 1);
  EXPECT_EQ(s["score"], 0.0);  // an error counts as 0
  const Json rec = Json::parse(lines(test::read_text(dir + "/out/predictions.jsonl")).at(0));
  EXPECT_EQ(rec["error"]["phase"], "input");
  EXPECT_NE(rec["error"]["message"].get<std::string>().find("nowhere.png"), std::string::npos);
}

TEST(EvalCli, InputErrorsAreOneLineWithExitCodes) {
  const std::string dir = test::temp_dir("eval_cli");
  auto r = run_cli({"eval", "docvqa", "--data", dir + "/absent.jsonl", "-m", tiny()});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find("dataset '" + dir + "/absent.jsonl': no such file"), std::string::npos) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;

  test::write_text(dir + "/bad.jsonl", "{\"question\": \"q\", \"image\": \"i.png\"}\n{oops\n");
  r = run_cli({"eval", "docvqa", "--data", dir + "/bad.jsonl", "-m", tiny()});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find("bad.jsonl:2: not valid JSON"), std::string::npos) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;

  r = run_cli({"eval", "chartqa", "--data", dir + "/bad.jsonl"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("docvqa"), std::string::npos) << r.err;

  r = run_cli({"eval", "docvqa"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--data"), std::string::npos) << r.err;

  r = run_cli({"eval", "docvqa", "--data", sample_data("docvqa_sample.jsonl"), "--device", "tpu"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--device"), std::string::npos) << r.err;
}

TEST(EvalCli, CtrlCKeepsFinishedItemsWithExit130) {
  const std::string dir = test::temp_dir("eval_sigint");
  const std::string out = dir + "/run", err = dir + "/err";
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fi = ::open("/dev/null", O_RDONLY), fo = ::open((dir + "/out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644),
              fe = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fi, 0);
    ::dup2(fo, 1);
    ::dup2(fe, 2);
    const std::string exe = MVL_CLI_PATH, m = tiny(), data = sample_data("docvqa_sample.jsonl");
    ::execl(exe.c_str(), exe.c_str(), "eval", "docvqa", "--data", data.c_str(), "-m", m.c_str(), "-n", "4", "-o",
            out.c_str(), nullptr);
    ::_exit(127);
  }
  // Wait for the first finished item, then press Ctrl+C once.
  bool one = false;
  for (int i = 0; i < 1200 && !one; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    one = count_lines(test::read_text(out + "/predictions.jsonl")) >= 1;
  }
  int status = 0;
  ASSERT_TRUE(one) << "no finished item before the deadline";
  ASSERT_EQ(::waitpid(pid, &status, WNOHANG), 0) << "eval ended before it could be interrupted";
  ::kill(pid, SIGINT);
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  EXPECT_NE(test::read_text(err).find("--resume"), std::string::npos) << test::read_text(err);
  const int kept = count_lines(test::read_text(out + "/predictions.jsonl"));
  EXPECT_GE(kept, 1);
  EXPECT_LT(kept, 6);
  const Json s = Json::parse(test::read_text(out + "/summary.json"));
  EXPECT_EQ(s["interrupted"], true);
  EXPECT_EQ(s["done"], kept);
}

}  // namespace
}  // namespace mvl
