// `minimax-vl ask` end to end on the bundled tiny model: 0, 1 and 3 images, the --json
// schema, the prompt on stdin, streaming == JSON answer, images change the answer, exit
// codes 2/3/4 with one stderr line, the default-model note and Ctrl+C -> 130.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/test_util.h"

namespace mvl {
namespace {

using test::run_cli;
using Json = nlohmann::json;

std::string tiny() { return test::source_path("assets/models/tiny-random"); }
std::string sample(const std::string& name) { return test::source_path("assets/samples/" + name); }

int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n + (!s.empty() && s.back() != '\n');
}

std::string strip_newline(std::string s) {
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

Json ask_json(std::vector<std::string> args) {
  args.insert(args.begin(), {"ask", "-m", tiny(), "--json"});
  const auto r = run_cli(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return Json::parse(r.out);  // exactly one object, nothing else on stdout
}

TEST(AskCli, TextOnlyStreamsAnAnswer) {
  const auto r = run_cli({"ask", "-m", tiny(), "-n", "12", "What is the capital of France?"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(strip_newline(r.out).empty());
  EXPECT_EQ(r.out.back(), '\n');
  EXPECT_EQ(r.err, "");  // -m given: no note, no progress bar (stderr is not a TTY)
}

TEST(AskCli, JsonSchemaWithOneImage) {
  const Json j = ask_json({"-n", "6", "--image", sample("chart.png"), "Which quarter sold the most?"});
  for (const char* k : {"answer", "finish_reason", "images", "usage", "timings", "model"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_TRUE(j["answer"].is_string());
  EXPECT_EQ(j["finish_reason"], "max_tokens");
  ASSERT_EQ(j["images"].size(), 1u);
  const Json& im = j["images"][0];
  EXPECT_EQ(im["path"], sample("chart.png"));
  EXPECT_EQ(im["width"], 600);
  EXPECT_EQ(im["height"], 420);
  ASSERT_TRUE(im["grid"].is_array());
  ASSERT_EQ(im["grid"].size(), 2u);
  EXPECT_GE(im["grid"][0].get<int>(), 1);
  EXPECT_GE(im["grid"][1].get<int>(), 1);
  // spec §3.10: 576 base-tile tokens + rows * (cols + 1)
  EXPECT_GT(im["image_tokens"].get<int>(), 576);
  EXPECT_GE(im["encode_ms"].get<double>(), 0.0);
  const Json& u = j["usage"];
  EXPECT_EQ(u["image_tokens"], im["image_tokens"]);
  EXPECT_GT(u["prompt_tokens"].get<int>(), u["image_tokens"].get<int>());
  EXPECT_EQ(u["completion_tokens"], 6);
  const Json& t = j["timings"];
  for (const char* k : {"load_ms", "image_encode_ms", "prefill_tokens_per_s", "ttft_ms", "decode_tokens_per_s",
                        "total_ms"}) {
    ASSERT_TRUE(t.contains(k)) << k;
    EXPECT_GE(t[k].get<double>(), 0.0) << k;
  }
  EXPECT_GT(t["prefill_tokens_per_s"].get<double>(), 0.0);
  EXPECT_GE(t["total_ms"].get<double>(), t["ttft_ms"].get<double>());
  EXPECT_EQ(j["model"]["tiny_demo"], true);
  EXPECT_EQ(j["model"]["layout"], "released");
}

TEST(AskCli, ThreeImagesInOrder) {
  const Json j = ask_json({"-n", "4", "--image", sample("table.png"), "--image", sample("chart.png"), "--image",
                           sample("receipt.png"), "Compare the three documents."});
  ASSERT_EQ(j["images"].size(), 3u);
  EXPECT_EQ(j["images"][0]["path"], sample("table.png"));
  EXPECT_EQ(j["images"][1]["path"], sample("chart.png"));
  EXPECT_EQ(j["images"][2]["path"], sample("receipt.png"));
  EXPECT_EQ(j["images"][2]["width"], 420);
  EXPECT_EQ(j["images"][2]["height"], 640);
  int sum = 0;
  for (const auto& im : j["images"]) sum += im["image_tokens"].get<int>();
  EXPECT_EQ(j["usage"]["image_tokens"], sum);
  EXPECT_GT(j["usage"]["prompt_tokens"].get<int>(), sum);
}

TEST(AskCli, ImagesChangeTheAnswer) {
  const Json a = ask_json({"-n", "8", "--image", sample("chart.png"), "What is shown?"});
  const Json b = ask_json({"-n", "8", "--image", sample("table.png"), "What is shown?"});
  const Json c = ask_json({"-n", "8", "What is shown?"});
  EXPECT_NE(a["answer"], b["answer"]);
  EXPECT_NE(a["answer"], c["answer"]);
}

TEST(AskCli, StreamedTextEqualsTheJsonAnswer) {
  const auto r = run_cli({"ask", "-m", tiny(), "-n", "10", "Tell me a story"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json j = ask_json({"-n", "10", "Tell me a story"});
  EXPECT_EQ(strip_newline(r.out), j["answer"].get<std::string>());
}

TEST(AskCli, PromptOnStdin) {
  const auto piped = run_cli({"ask", "-m", tiny(), "-n", "8"}, "What is the total?\n");
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  const auto dash = run_cli({"ask", "-m", tiny(), "-n", "8", "-"}, "What is the total?");
  const auto arg = run_cli({"ask", "-m", tiny(), "-n", "8", "What is the total?"});
  EXPECT_EQ(piped.out, arg.out);
  EXPECT_EQ(dash.out, arg.out);
  const auto other = run_cli({"ask", "-m", tiny(), "-n", "8"}, "Something else entirely");
  EXPECT_NE(other.out, arg.out);
  // Piped text is appended to a prompt given as an argument (Ollama's convention): the
  // prompt grows and equals the joined text sent on stdin alone.
  const auto appended = run_cli({"ask", "-m", tiny(), "-n", "8", "--json", "What is the total?"}, "Total: 12 EUR\n");
  ASSERT_EQ(appended.exit_code, 0) << appended.err;
  const auto plain = run_cli({"ask", "-m", tiny(), "-n", "8", "--json", "What is the total?"});
  const auto joined = run_cli({"ask", "-m", tiny(), "-n", "8", "--json"}, "What is the total?\n\nTotal: 12 EUR");
  const Json ja = Json::parse(appended.out), jp = Json::parse(plain.out), jj = Json::parse(joined.out);
  EXPECT_GT(ja["usage"]["prompt_tokens"].get<int>(), jp["usage"]["prompt_tokens"].get<int>());
  EXPECT_EQ(ja["usage"]["prompt_tokens"], jj["usage"]["prompt_tokens"]);
  EXPECT_EQ(ja["answer"], jj["answer"]);
}

TEST(AskCli, NoPromptIsAUsageError) {
  const auto r = run_cli({"ask", "-m", tiny()}, "");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
}

TEST(AskCli, BadImagePathIsExit4WithOneLine) {
  const auto r = run_cli({"ask", "-m", tiny(), "--image", "/no/such/scan.png", "What is the total?"});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("/no/such/scan.png"), std::string::npos);
  EXPECT_EQ(r.out, "");
  // A file that is not an image: same exit code, one line naming it.
  const auto t = run_cli({"ask", "-m", tiny(), "--image", tiny() + "/config.json", "What?"});
  EXPECT_EQ(t.exit_code, 4);
  EXPECT_EQ(count_lines(t.err), 1) << t.err;
  EXPECT_NE(t.err.find("config.json"), std::string::npos);
}

TEST(AskCli, InvalidUtf8PromptIsExit4WithOneLine) {
  const auto r = run_cli({"ask", "-m", tiny(), "-n", "3"}, "bad \xff\xfe bytes");
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("UTF-8"), std::string::npos);
}

TEST(AskCli, MissingModelIsExit3) {
  const auto r = run_cli({"ask", "-m", "/no/such/model", "hello"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("/no/such/model"), std::string::npos);
}

TEST(AskCli, DefaultModelSaysItIsTheTinyDocumentModel) {
  const auto r = run_cli({"ask", "-n", "3", "hello"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("tiny document model"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("-m /path/to/MiniMax-VL-01"), std::string::npos) << r.err;
}

TEST(AskCli, SeededSamplingIsReproducible) {
  auto run = [](const std::string& seed) {
    return run_cli({"ask", "-m", tiny(), "-n", "12", "--temp", "1.0", "--seed", seed, "hello"}).out;
  };
  EXPECT_EQ(run("1"), run("1"));
  EXPECT_NE(run("1"), run("2"));
}

TEST(AskCli, CtrlCStopsGenerationWithExit130) {
  const std::string dir = test::temp_dir("ask_sigint");
  const std::string out = dir + "/out", err = dir + "/err";
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fi = ::open("/dev/null", O_RDONLY), fo = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644),
              fe = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fi, 0);
    ::dup2(fo, 1);
    ::dup2(fe, 2);
    const std::string exe = MVL_CLI_PATH, m = tiny();
    ::execl(exe.c_str(), exe.c_str(), "ask", "-m", m.c_str(), "-n", "0", "hello", nullptr);
    ::_exit(127);
  }
  // Wait for streamed output, then press Ctrl+C once.
  bool streaming = false;
  for (int i = 0; i < 600 && !streaming; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    streaming = test::read_text(out).size() >= 8;
  }
  int status = 0;
  ASSERT_TRUE(streaming) << "no output before the deadline";
  ASSERT_EQ(::waitpid(pid, &status, WNOHANG), 0) << "ask ended before it could be interrupted";
  ::kill(pid, SIGINT);
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  EXPECT_NE(test::read_text(err).find("interrupted"), std::string::npos) << test::read_text(err);
}

}  // namespace
}  // namespace mvl
