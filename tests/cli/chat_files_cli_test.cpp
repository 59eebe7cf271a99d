// chat's /save and /load against hostile or moved files (issue 14's table, issue 20):
// /save refuses a symlink or FIFO and replaces a regular file atomically; saved image paths
// are absolute, so /load works from another folder; a file with out-of-vocab token ids or a
// missing image is refused in one line and the session stays usable; /regen under greedy
// says it will repeat itself.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "tests/support/test_util.h"

namespace mvl {
namespace {

namespace fs = std::filesystem;
using test::run_cli;

std::string tiny() {
  return test::source_path("assets/models/tiny-random");
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

int count(const std::string& s, const std::string& what) {
  int n = 0;
  for (size_t at = 0; (at = s.find(what, at)) != std::string::npos; at += what.size()) ++n;
  return n;
}

// Runs the test body in `dir` and goes back (each ctest case is its own process).
class InFolder {
 public:
  explicit InFolder(const std::string& dir) : old_(fs::current_path()) { fs::current_path(dir); }
  ~InFolder() { fs::current_path(old_); }

 private:
  fs::path old_;
};

TEST(ChatFiles, SaveRefusesASymlinkAndAFifo) {
  const std::string dir = test::temp_dir("chat_save_special");
  const std::string target = dir + "/target.txt", link = dir + "/link.json",
                    fifo = dir + "/fifo.json";
  test::write_text(target, "keep me");
  fs::create_symlink(target, link);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  const auto r = run_cli({"chat", "-m", tiny(), "-n", "2"},
                         "hi\n/save " + link + "\n/save " + fifo + "\nstill here\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count(r.err, "not a regular file"), 2) << r.err;
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(test::read_text(target), "keep me");
  struct stat st {};
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(count(r.out, "\n"), 2) << "both turns must be answered:\n" << r.out;
}

TEST(ChatFiles, SaveReplacesARegularFileAndLeavesNoTemporaryFile) {
  const std::string dir = test::temp_dir("chat_save_regular");
  const std::string saved = dir + "/chat.json";
  test::write_text(saved, "old contents");
  const auto r = run_cli({"chat", "-m", tiny(), "-n", "2"}, "hi\n/save " + saved + "\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(test::read_text(saved).find("minimax-vl-transcript/1"), std::string::npos);
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.is_regular_file() ? 1 : 0;
  EXPECT_EQ(files, 1) << "a temporary file was left beside " << saved;
}

TEST(ChatFiles, SavedImagePathsAreAbsoluteAndLoadWorksFromAnotherFolder) {
  const std::string a = test::temp_dir("chat_moved_a"), b = test::temp_dir("chat_moved_b");
  fs::copy_file(test::source_path("assets/samples/table.png"), a + "/pic.png",
                fs::copy_options::overwrite_existing);
  const std::string saved = a + "/chat.json";
  std::string first;
  {
    InFolder in(a);
    const auto r = run_cli({"chat", "-m", tiny(), "-n", "4"},
                           "/image pic.png\nwhat is this?\n/save chat.json\nand then?\n");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    first = r.out;
  }
  const std::string text = test::read_text(saved);
  EXPECT_NE(text.find("\"" + (fs::path(a) / "pic.png").lexically_normal().string() + "\""),
            std::string::npos)
      << text;
  InFolder in(b);
  const auto r = run_cli({"chat", "-m", tiny(), "-n", "4"}, "/load " + saved + "\nand then?\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("loaded 3 messages"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("error"), std::string::npos) << r.err;
  EXPECT_TRUE(ends_with(first, r.out)) << "first:\n" << first << "\nloaded:\n" << r.out;
  // An older file with the path as typed ("pic.png") resolves against its own folder.
  std::string relative = text;
  relative.replace(relative.find(a + "/pic.png"), a.size() + 8, "pic.png");
  test::write_text(a + "/relative.json", relative);
  const auto rel =
      run_cli({"chat", "-m", tiny(), "-n", "4"}, "/load " + a + "/relative.json\nand then?\n");
  EXPECT_NE(rel.err.find("loaded 3 messages"), std::string::npos) << rel.err;
  EXPECT_EQ(rel.out, r.out);
}

// A transcript of one user turn and one answer whose ids or image are bad.
std::string transcript(const std::string& image, int64_t token) {
  std::string user = R"({"role": "user", "content": [)";
  if (!image.empty()) user += R"({"type": "image", "path": ")" + image + R"("}, )";
  user += R"({"type": "text", "text": "hello"}]})";
  return R"({"format": "minimax-vl-transcript/1", "messages": [)" + user +
         R"(, {"role": "assistant", "content": [{"type": "text", "text": "x"}], "tokens": [)" +
         std::to_string(token) + "]}]}";
}

TEST(ChatFiles, LoadRefusesOutOfVocabIdsAndAMissingImageAndTheSessionGoesOn) {
  const std::string dir = test::temp_dir("chat_load_bad");
  test::write_text(dir + "/oov.json", transcript("", 1 << 30));
  test::write_text(dir + "/noimg.json", transcript(dir + "/gone.png", 65));
  const auto plain = run_cli({"chat", "-m", tiny(), "-n", "5"}, "ping\n");
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  for (const std::string f : {"oov.json", "noimg.json"}) {
    const auto r =
        run_cli({"chat", "-m", tiny(), "-n", "5"}, "/load " + dir + "/" + f + "\nping\n");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err.find("messages from"), std::string::npos) << f << ": " << r.err;
    EXPECT_NE(r.err.find("nothing loaded"), std::string::npos) << f << ": " << r.err;
    EXPECT_EQ(count(r.err, "error"), 1) << f << ": one line, and the next turn works: " << r.err;
    EXPECT_EQ(r.out, plain.out) << f << ": the next turn must answer as a fresh chat";
  }
  const auto oov = run_cli({"chat", "-m", tiny(), "-n", "5"}, "/load " + dir + "/oov.json\n");
  EXPECT_NE(oov.err.find("vocabulary"), std::string::npos) << oov.err;
  const auto noimg = run_cli({"chat", "-m", tiny(), "-n", "5"}, "/load " + dir + "/noimg.json\n");
  EXPECT_NE(noimg.err.find("gone.png"), std::string::npos) << noimg.err;
}

TEST(ChatFiles, RegenUnderGreedySaysSoAndSuggestsATemperature) {
  const auto greedy = run_cli({"chat", "-m", tiny(), "-n", "3"}, "hi\n/regen\n");
  ASSERT_EQ(greedy.exit_code, 0) << greedy.err;
  EXPECT_NE(greedy.err.find("greedy"), std::string::npos) << greedy.err;
  EXPECT_NE(greedy.err.find("--temp"), std::string::npos) << greedy.err;
  const auto sampled = run_cli({"chat", "-m", tiny(), "-n", "3", "--temp", "0.8"}, "hi\n/regen\n");
  ASSERT_EQ(sampled.exit_code, 0) << sampled.err;
  EXPECT_EQ(sampled.err.find("greedy"), std::string::npos) << sampled.err;
}

}  // namespace
}  // namespace mvl
