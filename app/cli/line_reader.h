// The chat REPL's input: line editing, Up-arrow history and Ctrl+C handling through libedit
// (readline-compatible API, Debian's libedit-dev) when stdin is a terminal and the build
// found it; plain getline otherwise (pipes, scripts, tests). Both modes join a line that
// ends in a backslash with the next one (multi-line messages).
#pragma once

#include <optional>
#include <string>

namespace mvl::cli {

class LineReader {
 public:
  // `interactive`: stdin is a terminal (prompts are shown, history is kept).
  explicit LineReader(bool interactive);
  ~LineReader();  // writes the history file
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // One message or command (continued lines joined by "\n"). Ctrl+C at the prompt clears
  // the line and prompts again; nullopt at the end of input (Ctrl+D on an empty line).
  std::optional<std::string> read(const std::string& prompt);

  // $XDG_STATE_HOME/minimax-vl/chat_history, else ~/.local/state/minimax-vl/chat_history;
  // empty when neither variable is set.
  static std::string history_path();
  static bool has_line_editing();  // built with libedit

 private:
  std::optional<std::string> read_one(const std::string& prompt);
  bool interactive_;
  bool editing_ = false;
  std::string history_;
};

}  // namespace mvl::cli
