// One flag vocabulary across subcommands (issue #20): every subcommand listed by
// `minimax-vl --help` prints its --help, and the shared flags carry llama.cpp's names there
// (-m/--model, -i/--image, -p/--prompt, -n/--max-tokens, -c/--ctx-size, --temp, --top-p,
// --top-k, -s/--seed, --device cpu|cuda|cuda:N, --json); earlier spellings stay out of --help
// but still parse; default paths do not depend on the current folder.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "tests/support/test_util.h"

namespace mvl {
namespace {

using test::run_cli;

// The subcommand names of `minimax-vl --help` (the lines under "Subcommands:").
std::vector<std::string> subcommands() {
  const auto r = run_cli({"--help"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> names;
  std::istringstream in(r.out);
  std::string line;
  bool in_list = false;
  while (std::getline(in, line)) {
    if (line.rfind("Subcommands:", 0) == 0) {
      in_list = true;
      continue;
    }
    if (!in_list || line.size() < 3 || line[0] != ' ' || line[2] == ' ') continue;
    std::istringstream words(line);
    std::string name;
    words >> name;
    names.push_back(name);
  }
  return names;
}

// Option entries of a --help text: each "  -m,--model DIR ..." line gives {"-m", "--model"}.
std::vector<std::set<std::string>> options(const std::string& help) {
  std::vector<std::set<std::string>> out;
  std::istringstream in(help);
  std::string line;
  while (std::getline(in, line)) {
    const size_t b = line.find_first_not_of(' ');
    if (b == std::string::npos || b == 0 || line[b] != '-') continue;
    std::string first = line.substr(b, line.find(' ', b) - b);
    std::set<std::string> names;
    std::istringstream parts(first);
    std::string name;
    while (std::getline(parts, name, ',')) names.insert(name);
    out.push_back(names);
  }
  return out;
}

const std::set<std::string>* find(const std::vector<std::set<std::string>>& opts,
                                  const std::string& name) {
  for (const auto& o : opts)
    if (o.count(name)) return &o;
  return nullptr;
}

// Long name -> the short name it must have wherever it appears, and no other flag may take.
const std::map<std::string, std::string> kPairs = {
    {"--model", "-m"},      {"--image", "-i"},    {"--prompt", "-p"},
    {"--max-tokens", "-n"}, {"--ctx-size", "-c"}, {"--seed", "-s"},
};
// Spellings that must not be shown (hidden aliases at most).
const std::vector<std::string> kRetired = {"--context",     "--ctx",
                                           "--temperature", "--max-new-tokens",
                                           "--n-predict",   "--repetition-penalty",
                                           "--n-gpu-layers"};

TEST(FlagVocabulary, EverySubcommandUsesTheSharedNames) {
  const std::vector<std::string> subs = subcommands();
  ASSERT_GE(subs.size(), 10u) << "could not read the subcommand list of --help";
  for (const std::string& sub : subs) {
    SCOPED_TRACE(sub);
    const auto r = run_cli({sub, "--help"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto opts = options(r.out);
    ASSERT_FALSE(opts.empty()) << r.out;
    for (const auto& [lng, shrt] : kPairs) {
      const auto* o = find(opts, lng);
      if (o) EXPECT_TRUE(o->count(shrt)) << lng << " without " << shrt << ":\n" << r.out;
      const auto* s = find(opts, shrt);
      if (s) EXPECT_TRUE(s->count(lng)) << shrt << " is not " << lng << ":\n" << r.out;
    }
    for (const auto& old : kRetired)
      EXPECT_EQ(find(opts, old), nullptr) << old << " is shown in --help:\n" << r.out;
    // --device takes cpu|cuda|cuda:N everywhere (not a bare index).
    const size_t dev = r.out.find("--device ");
    if (dev != std::string::npos) EXPECT_NE(r.out.find("cuda:N", dev), std::string::npos) << r.out;
  }
}

// Which shared flags each command must have (a command that loses one fails here).
TEST(FlagVocabulary, CommandsHaveTheirFlags) {
  const std::map<std::string, std::vector<std::string>> want = {
      {"ask",
       {"-m", "-i", "-p", "-n", "-c", "--temp", "--top-p", "--top-k", "-s", "--device", "--json"}},
      {"chat", {"-m", "-i", "-n", "-c", "--temp", "--top-p", "--top-k", "-s", "--device"}},
      {"eval", {"-m", "-n", "-c", "--temp", "--top-p", "--top-k", "-s", "--device", "--json"}},
      {"generate", {"-m", "-i", "-p", "-n", "--temp", "--top-p", "--top-k", "-s", "--device"}},
      {"logits", {"-m", "-i", "--device"}},
      {"info", {"-m", "-c", "--json"}},
      {"preprocess", {"-m", "-i", "--json"}},
      {"serve", {"-m", "-n", "-c", "--temp", "--top-p", "--device"}},
      {"bench", {"-s", "--device"}},
      {"tokenize", {"-m"}},
  };
  for (const auto& [sub, flags] : want) {
    const auto r = run_cli({sub, "--help"});
    ASSERT_EQ(r.exit_code, 0) << sub << ": " << r.err;
    const auto opts = options(r.out);
    for (const auto& f : flags) EXPECT_NE(find(opts, f), nullptr) << sub << " has no " << f;
  }
}

TEST(FlagVocabulary, OldSpellingsStillParse) {
  // info --context (now -c,--ctx-size): the plan uses the value.
  auto r = run_cli({"info", "--context", "4096", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("4096"), std::string::npos) << r.out;
  const auto c = run_cli({"info", "-c", "4096", "--json"});
  EXPECT_EQ(c.out, r.out);
  // generate's --max-new-tokens and --temperature; ask now takes --temperature too.
  r = run_cli(
      {"generate", "-p", "hello", "--max-new-tokens", "3", "--temperature", "0", "--print-ids"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream ids(r.out);
  int n = 0;
  for (std::string id; ids >> id;) ++n;
  EXPECT_LE(n, 3) << r.out;
  EXPECT_GE(n, 1) << r.out;
  r = run_cli({"ask", "--temperature", "0", "--max-new-tokens", "2", "--json", "hello"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"completion_tokens\": 2"), std::string::npos) << r.out;
  // A bad device is a usage error with the accepted forms named.
  r = run_cli({"ask", "--device", "gpu0", "hello"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cuda:N"), std::string::npos) << r.err;
}

TEST(FlagVocabulary, AskTakesShortImageFlag) {
  const std::string img = test::source_path("assets/samples/receipt.png");
  const auto r = run_cli({"ask", "-i", img, "-n", "1", "--json", "what is this?"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("receipt.png"), std::string::npos) << r.out;
}

TEST(FlagVocabulary, BenchDefaultsDoNotDependOnTheCurrentFolder) {
  auto r = run_cli({"bench", "--help"});
  ASSERT_EQ(r.exit_code, 0);
  const size_t at = r.out.find("configs/minimax-vl-01.json");
  ASSERT_NE(at, std::string::npos) << r.out;
  const size_t open = r.out.rfind('=', at);
  ASSERT_NE(open, std::string::npos);
  EXPECT_EQ(r.out[open + 1], '/') << "the default --config is not absolute:\n" << r.out;
  // bench --device takes cuda:N (a bare index still parses); cpu is refused as usage.
  r = run_cli({"bench", "--random-weights", "--device", "cpu"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("cuda"), std::string::npos) << r.err;
  r = run_cli({"bench", "--random-weights", "--device", "banana"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

}  // namespace
}  // namespace mvl
