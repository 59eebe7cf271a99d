// LineReader (see line_reader.h). With libedit, Ctrl+C at the prompt works like this: the
// SIGINT handler (signals.cpp) only counts the press while InterruptGuard::set_at_prompt is
// on and is installed without SA_RESTART, so the terminal read fails with EINTR; our getc
// function then reports end of input, readline() returns, and the press is seen here.
#include "app/cli/line_reader.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "app/cli/signals.h"

#if MVL_HAVE_LIBEDIT
#include <editline/readline.h>
#endif

namespace mvl::cli {
namespace {

#if MVL_HAVE_LIBEDIT
int getc_interruptible(FILE*) {
  unsigned char c = 0;
  while (true) {
    const ssize_t n = ::read(STDIN_FILENO, &c, 1);
    if (n == 1) return c;
    if (n < 0 && errno == EINTR && !InterruptGuard::interrupted()) continue;
    return EOF;
  }
}
#endif

constexpr const char* kInterrupted = "\x03";  // read_one's answer for a Ctrl+C

bool continues(std::string& line) {
  if (line.empty() || line.back() != '\\') return false;
  line.pop_back();
  return true;
}

}  // namespace

bool LineReader::has_line_editing() {
  return MVL_HAVE_LIBEDIT != 0;
}

std::string LineReader::history_path() {
  const char* state = std::getenv("XDG_STATE_HOME");
  if (state && state[0] == '/') return std::string(state) + "/minimax-vl/chat_history";
  const char* home = std::getenv("HOME");
  if (home && home[0]) return std::string(home) + "/.local/state/minimax-vl/chat_history";
  return {};
}

LineReader::LineReader(bool interactive) : interactive_(interactive) {
#if MVL_HAVE_LIBEDIT
  if (!interactive_) return;
  editing_ = true;
  rl_readline_name = "minimax-vl";
  rl_catch_signals = 0;  // SIGINT stays ours (see the file comment)
  rl_getc_function = getc_interruptible;
  rl_outstream = stderr;  // prompts on stderr, answers alone on stdout
  using_history();
  stifle_history(1000);
  history_ = history_path();
  if (!history_.empty()) read_history(history_.c_str());  // a missing file is fine
#endif
}

LineReader::~LineReader() {
#if MVL_HAVE_LIBEDIT
  if (!editing_ || history_.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(history_).parent_path(), ec);
  write_history(history_.c_str());
#endif
}

std::optional<std::string> LineReader::read_one(const std::string& prompt) {
  InterruptGuard::reset();
  if (interactive_) InterruptGuard::set_at_prompt(true);
  std::optional<std::string> line;
#if MVL_HAVE_LIBEDIT
  if (editing_) {
    char* s = readline(prompt.c_str());
    if (s) line = s;
    std::free(s);
  }
#endif
  if (!editing_) {
    if (interactive_) {
      std::fputs(prompt.c_str(), stderr);
      std::fflush(stderr);
    }
    std::string l;
    if (std::getline(std::cin, l)) line = std::move(l);
  }
  if (interactive_) InterruptGuard::set_at_prompt(false);
  if (interactive_ && InterruptGuard::interrupted()) {  // Ctrl+C: drop the line
    InterruptGuard::reset();
    std::cin.clear();
    std::clearerr(stdin);
    std::fputs("^C\n", stderr);
    return std::string(kInterrupted);
  }
  return line;
}

std::optional<std::string> LineReader::read(const std::string& prompt) {
  std::string text;
  std::string p = prompt;
  while (true) {
    auto line = read_one(p);
    if (!line) return text.empty() ? std::nullopt : std::optional<std::string>(text);
    if (*line == kInterrupted) {  // Ctrl+C clears everything typed so far, continued lines too
      text.clear();
      p = prompt;
      continue;
    }
    std::string l = std::move(*line);
    const bool more = continues(l);
    text += l;
    if (!more) break;
    text += '\n';
    p = interactive_ ? "... " : "";
  }
#if MVL_HAVE_LIBEDIT
  if (editing_ && text.find_first_not_of(" \t\n") != std::string::npos) add_history(text.c_str());
#endif
  return text;
}

}  // namespace mvl::cli
