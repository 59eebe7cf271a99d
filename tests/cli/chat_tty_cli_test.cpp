// `minimax-vl chat` on a real terminal, driven through tmux (skipped where tmux or libedit is
// missing): Ctrl+C clears a half-typed line, Up recalls history, a trailing backslash
// continues a message, Ctrl+D on an empty line exits 0, history lands in
// $XDG_STATE_HOME/minimax-vl/chat_history, and Ctrl+C stops a long answer while the session
// goes on; /save with a relative image then /load from another folder, and /regen under
// greedy decoding naming --temp. What was sent is read back from a /save, not the screen.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>

#include "tests/support/test_util.h"

namespace mvl {
namespace {

bool have_tmux() {
  return std::system("tmux -V >/dev/null 2>&1") == 0;
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

class Tmux {
 public:
  Tmux(const std::string& tag, const std::string& command)
      : name_("mvl_" + tag + "_" + std::to_string(::getpid())) {
    run("tmux new-session -d -s " + name_ + " -x 160 -y 50 " + quote(command));
  }
  ~Tmux() { run("tmux kill-session -t " + name_ + " 2>/dev/null"); }
  void keys(const std::string& args) { run("tmux send-keys -t " + name_ + " " + args); }
  std::string screen() const {
    std::string out;
    FILE* p = ::popen(("tmux capture-pane -p -t " + name_ + " 2>/dev/null").c_str(), "r");
    if (!p) return out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
    return out;
  }
  // Waits (up to 30 s) until `done` holds; false on timeout.
  static bool wait(const std::function<bool()>& done) {
    for (int i = 0; i < 600; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  bool wait_screen(const std::string& text) {
    return wait([&] { return screen().find(text) != std::string::npos; });
  }

 private:
  static void run(const std::string& cmd) { (void)!std::system(cmd.c_str()); }
  std::string name_;
};

int count(const std::string& s, const std::string& what) {
  int n = 0;
  for (size_t at = 0; (at = s.find(what, at)) != std::string::npos; at += what.size()) ++n;
  return n;
}

// Prompts shown so far: lines that start with '>' (capture-pane drops trailing spaces).
int prompts(const std::string& screen) {
  return count("\n" + screen, "\n>");
}

bool file_has(const std::string& path, const std::string& text) {
  return ::access(path.c_str(), R_OK) == 0 && test::read_text(path).find(text) != std::string::npos;
}

std::string chat_command(const std::string& dir, const std::string& n) {
  return "env XDG_STATE_HOME=" + dir + "/state " + MVL_CLI_PATH + " chat -m " +
         test::source_path("assets/models/tiny-random") + " -n " + n + " > " + dir +
         "/out.txt; echo EXIT=$? > " + dir + "/exit.txt; sleep 60";
}

TEST(ChatTty, LineEditingHistoryCtrlCAndCtrlD) {
  if (!have_tmux()) GTEST_SKIP() << "tmux is not installed";
  const std::string dir = test::temp_dir("chat_tty");
  Tmux t("edit", chat_command(dir, "3"));
  ASSERT_TRUE(t.wait_screen("/quit to leave")) << t.screen();
  if (t.screen().find("line editing") != std::string::npos) GTEST_SKIP() << "built without libedit";
  t.keys("'half typed then dropped'");
  ASSERT_TRUE(t.wait_screen("dropped"));
  t.keys("C-c");
  ASSERT_TRUE(t.wait_screen("^C")) << t.screen();
  t.keys("first Enter");
  ASSERT_TRUE(Tmux::wait([&] { return prompts(t.screen()) >= 3; })) << t.screen();
  t.keys("Up");
  t.keys("Enter");
  ASSERT_TRUE(Tmux::wait([&] { return prompts(t.screen()) >= 4; })) << t.screen();
  t.keys("'line one\\' Enter 'line two' Enter");
  ASSERT_TRUE(Tmux::wait([&] { return prompts(t.screen()) >= 5; })) << t.screen();
  t.keys("'/save " + dir + "/sent.json' Enter");
  ASSERT_TRUE(t.wait_screen("saved")) << t.screen();
  t.keys("C-d");
  ASSERT_TRUE(Tmux::wait([&] { return file_has(dir + "/exit.txt", "EXIT="); })) << t.screen();
  EXPECT_TRUE(file_has(dir + "/exit.txt", "EXIT=0")) << test::read_text(dir + "/exit.txt");
  const std::string sent = test::read_text(dir + "/sent.json");
  EXPECT_EQ(sent.find("dropped"), std::string::npos) << "Ctrl+C must clear the line:\n" << sent;
  EXPECT_EQ(count(sent, "\"text\": \"first\""), 2) << "Up must recall 'first':\n" << sent;
  EXPECT_NE(sent.find("\"text\": \"line one\\nline two\""), std::string::npos) << sent;
  const std::string history = dir + "/state/minimax-vl/chat_history";
  EXPECT_TRUE(file_has(history, "first")) << "no history in " << history;
}

TEST(ChatTty, CtrlCStopsALongAnswerAndTheSessionGoesOn) {
  if (!have_tmux()) GTEST_SKIP() << "tmux is not installed";
  const std::string dir = test::temp_dir("chat_tty_stop");
  Tmux t("stop", chat_command(dir, "1000000"));
  ASSERT_TRUE(t.wait_screen("/quit to leave")) << t.screen();
  t.keys("'tell me a long story' Enter");
  ASSERT_TRUE(Tmux::wait([&] {
    return ::access((dir + "/out.txt").c_str(), R_OK) == 0 &&
           test::read_text(dir + "/out.txt").size() > 50;
  }));
  t.keys("C-c");
  ASSERT_TRUE(t.wait_screen("[stopped]")) << t.screen();
  t.keys("/stats Enter");
  ASSERT_TRUE(t.wait_screen("cancelled")) << t.screen();
  t.keys("/quit Enter");
  ASSERT_TRUE(Tmux::wait([&] { return file_has(dir + "/exit.txt", "EXIT="); })) << t.screen();
  EXPECT_TRUE(file_has(dir + "/exit.txt", "EXIT=0")) << test::read_text(dir + "/exit.txt");
}

// /save in one folder with an image attached by a relative path, /load in a new chat started
// from another folder: the image resolves (absolute paths were saved), the loaded
// conversation goes on, /regen under greedy decoding says so and suggests --temp, and a
// /load of a missing file leaves the session usable.
TEST(ChatTty, SaveThenLoadFromAnotherFolderAndRegenUnderGreedy) {
  if (!have_tmux()) GTEST_SKIP() << "tmux is not installed";
  const std::string dir = test::temp_dir("chat_tty_files");
  const std::string a = dir + "/a", b = dir + "/b";
  ASSERT_EQ(std::system(("mkdir -p " + a + " " + b + " && cp " +
                         test::source_path("assets/samples/receipt.png") + " " + a + "/page.png")
                            .c_str()),
            0);
  const std::string model = test::source_path("assets/models/tiny-random");
  auto chat_in = [&](const std::string& folder, const std::string& tag) {
    return "cd " + folder + " && env XDG_STATE_HOME=" + dir + "/state " + MVL_CLI_PATH +
           " chat -m " + model + " -n 2 > " + dir + "/" + tag + ".out; echo EXIT=$? > " + dir +
           "/" + tag + ".exit; sleep 60";
  };
  {
    Tmux t("save", chat_in(a, "first"));
    ASSERT_TRUE(t.wait_screen("/quit to leave")) << t.screen();
    t.keys("'/image page.png' Enter");
    ASSERT_TRUE(t.wait_screen("attached page.png")) << t.screen();
    t.keys("'what is on this page' Enter");
    ASSERT_TRUE(Tmux::wait([&] { return prompts(t.screen()) >= 2; })) << t.screen();
    t.keys("'/save conv.json' Enter");
    ASSERT_TRUE(t.wait_screen("saved")) << t.screen();
    t.keys("/quit Enter");
    ASSERT_TRUE(Tmux::wait([&] { return file_has(dir + "/first.exit", "EXIT=0"); })) << t.screen();
  }
  EXPECT_TRUE(file_has(a + "/conv.json", "\"" + a + "/page.png\""))
      << "the image path was not saved absolute:\n" << test::read_text(a + "/conv.json");
  Tmux t("load", chat_in(b, "second"));
  ASSERT_TRUE(t.wait_screen("/quit to leave")) << t.screen();
  t.keys("'/load " + b + "/nothing-here.json' Enter");
  ASSERT_TRUE(t.wait_screen("nothing loaded")) << t.screen();
  t.keys("'/load " + a + "/conv.json' Enter");
  ASSERT_TRUE(t.wait_screen("messages from " + a + "/conv.json")) << t.screen();
  t.keys("'and the total?' Enter");
  ASSERT_TRUE(Tmux::wait([&] { return prompts(t.screen()) >= 4; })) << t.screen();
  t.keys("/regen Enter");
  ASSERT_TRUE(t.wait_screen("greedy")) << t.screen();
  ASSERT_TRUE(t.wait_screen("--temp")) << t.screen();
  ASSERT_TRUE(Tmux::wait([&] { return prompts(t.screen()) >= 5; })) << t.screen();
  t.keys("'/save after.json' Enter");
  ASSERT_TRUE(t.wait_screen("saved")) << t.screen();
  t.keys("C-d");
  ASSERT_TRUE(Tmux::wait([&] { return file_has(dir + "/second.exit", "EXIT="); })) << t.screen();
  EXPECT_TRUE(file_has(dir + "/second.exit", "EXIT=0"));
  const std::string after = test::read_text(b + "/after.json");
  EXPECT_NE(after.find(a + "/page.png"), std::string::npos) << after;
  EXPECT_NE(after.find("and the total?"), std::string::npos) << after;
}

}  // namespace
}  // namespace mvl
