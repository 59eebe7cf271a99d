// `minimax-vl chat` on a real terminal, driven through tmux (skipped where tmux or libedit is
// missing): Ctrl+C clears a half-typed line, Up recalls history, a trailing backslash
// continues a message, Ctrl+D on an empty line exits 0, history lands in
// $XDG_STATE_HOME/minimax-vl/chat_history, and Ctrl+C stops a long answer while the session
// goes on. What was sent is read back from a /save, not from the screen.
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

}  // namespace
}  // namespace mvl
