// `--tp N` on every generating front end (CPU ranks as LocalComm threads): generate, ask, chat
// (with /regen, i.e. a snapshot restore) and eval give the tokens of --tp 1 on the bundled tiny
// VL model, images included; with --quant (int8-experts, and int8's sharded attention
// projections) and with a checkpoint written by `minimax-vl quantize` too. Greedy decoding
// throughout.
#include <gtest/gtest.h>

#include <sstream>

#include "kernels/core/json.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

using test::run_cli;
using test::source_path;

std::string tiny() {
  return source_path("assets/models/tiny-random");
}
std::string image(const std::string& name) {
  return source_path("tests/golden/vision/images/" + name);
}

// stdout of `args --tp tp`, which must exit 0.
std::string out_with_tp(std::vector<std::string> args, int tp, const std::string& in = "") {
  args.insert(args.end(), {"--device", "cpu", "--tp", std::to_string(tp)});
  const auto r = run_cli(args, in);
  EXPECT_EQ(r.exit_code, 0) << "tp " << tp << ": " << r.err;
  return r.out;
}

TEST(TpFrontEnds, GenerateGivesTheIdsOfOneRank) {
  const std::string dir = test::temp_dir("tp-generate");
  test::write_text(dir + "/ids.txt", "10 20 3005 30 40 50");  // 3005 = <image>
  const std::vector<std::string> args = {"generate",
                                         "-m",
                                         tiny(),
                                         "--ids",
                                         dir + "/ids.txt",
                                         "--image",
                                         image("rgb_exact_336x336.png"),
                                         "-n",
                                         "24",
                                         "--print-ids",
                                         "--ignore-eos"};
  const std::string one = out_with_tp(args, 1);
  ASSERT_GE(std::count(one.begin(), one.end(), ' '), 23) << one;  // 24 ids
  for (int tp : {2, 4}) EXPECT_EQ(out_with_tp(args, tp), one) << "tp " << tp;
}

TEST(TpFrontEnds, AskWithAnImageGivesTheAnswerOfOneRank) {
  const std::vector<std::string> args = {"ask",
                                         "-m",
                                         tiny(),
                                         "-n",
                                         "16",
                                         "--image",
                                         image("rgb_tiny_20x15.png"),
                                         "What is in the picture?"};
  const std::string one = out_with_tp(args, 1);
  ASSERT_FALSE(one.empty());
  EXPECT_EQ(out_with_tp(args, 2), one);
}

TEST(TpFrontEnds, ChatTurnsAndRegenerateGiveTheAnswersOfOneRank) {
  // /regen restores the snapshot taken before the last answer and answers again.
  const std::string script = "first question here\n/regen\nand a second one\n";
  const std::vector<std::string> args = {"chat", "-m", tiny(), "-n", "8"};
  const std::string one = out_with_tp(args, 1, script);
  ASSERT_FALSE(one.empty());
  EXPECT_EQ(out_with_tp(args, 2, script), one);
}

// The responses of predictions.jsonl, in order.
std::vector<std::string> eval_responses(int tp) {
  const std::string out = test::temp_dir("tp-eval") + "/run";
  out_with_tp({"eval", "docvqa", "--data", source_path("assets/eval/docvqa_sample.jsonl"), "-m",
               tiny(), "-n", "4", "--limit", "2", "-o", out},
              tp);
  std::vector<std::string> r;
  std::istringstream lines(test::read_text(out + "/predictions.jsonl"));
  for (std::string line; std::getline(lines, line);)
    if (!line.empty())
      r.push_back(json::get_string(json::parse(line, "prediction"), "response", "prediction"));
  return r;
}

TEST(TpFrontEnds, EvalGivesTheResponsesOfOneRank) {
  const std::vector<std::string> one = eval_responses(1);
  ASSERT_EQ(one.size(), 2u);
  EXPECT_EQ(eval_responses(2), one);
}

TEST(TpFrontEnds, QuantizedWeightsWithTpAnswerAsOneRank) {
  for (const char* q : {"int8-experts", "int8"}) {
    const std::vector<std::string> args = {"ask", "-m", tiny(), "-n", "16", "--quant", q,
                                           "Describe the weather."};
    const std::string one = out_with_tp(args, 1);
    EXPECT_FALSE(one.empty()) << q;
    EXPECT_EQ(out_with_tp(args, 2), one) << q;
  }
  // A checkpoint quantized once, with --tp 2: the answer of --quant at load with --tp 2.
  const std::string dir = test::temp_dir("tp-quantized") + "/q";
  const auto r = run_cli({"quantize", "-m", tiny(), "-o", dir, "--quant", "int8-experts"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(out_with_tp({"ask", "-m", dir, "-n", "16", "Describe the weather."}, 2),
            out_with_tp({"ask", "-m", tiny(), "-n", "16", "--quant", "int8-experts",
                         "Describe the weather."},
                        2));
}

// The value reaches the sharded loader on every command (so the equalities above compare
// sharded runs): 3 ranks do not split the tiny model's 4 heads and are refused at load.
TEST(TpFrontEnds, EveryModelCommandPassesTpToTheEngine) {
  const std::string dir = test::temp_dir("tp-every");
  test::write_text(dir + "/ids.txt", "1 2 3");
  const std::vector<std::vector<std::string>> cmds = {
      {"ask", "-m", tiny(), "-n", "2", "hi"},
      {"chat", "-m", tiny(), "-n", "2"},
      {"eval", "docvqa", "--data", source_path("assets/eval/docvqa_sample.jsonl"), "-m", tiny(),
       "-n", "2", "-o", dir + "/eval"},
      {"generate", "-m", tiny(), "--ids", dir + "/ids.txt", "-n", "2"},
      {"logits", "-m", tiny(), "--ids", dir + "/ids.txt", "-o", dir + "/l.safetensors"},
      {"serve", "-m", tiny(), "--port", "0"}};
  for (std::vector<std::string> args : cmds) {
    const auto help = run_cli({args[0], "--help"});
    if (args[0] == "serve" && help.exit_code != 0) continue;  // a build without the HTTP server
    EXPECT_NE(help.out.find("--tp N"), std::string::npos) << args[0];
    args.insert(args.end(), {"--tp", "3"});
    const auto r = run_cli(args, "hello\n");
    EXPECT_EQ(r.exit_code, 3) << args[0] << ": " << r.err;
    EXPECT_NE(r.err.find("--tp 3"), std::string::npos) << args[0] << ": " << r.err;
    EXPECT_NE(r.err.find("use one of 1, 2, 4"), std::string::npos) << args[0] << ": " << r.err;
  }
}

}  // namespace
}  // namespace mvl
